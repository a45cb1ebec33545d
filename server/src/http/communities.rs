//! `/api/v1/communities`: the communities of the street, scoped by role.

use actix_web::{get, web};
use entity::communities;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, CommunityId, Role};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_communities).service(get_community);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityView {
    pub id: i64,
    pub name: String,
    pub street: String,
    pub district: String,
    /// The boundary as a GeoJSON geometry.
    #[schema(value_type = Object)]
    pub boundary: serde_json::Value,
}

impl From<communities::Model> for CommunityView {
    fn from(c: communities::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            street: c.street,
            district: c.district,
            boundary: serde_json::from_str(&c.boundary_geojson).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Communities visible to the caller: workers see their own, admins and the bureau all.
#[utoipa::path(
    tag = "communities",
    responses((status = 200, body = Vec<CommunityView>), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/communities")]
async fn list_communities(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<CommunityView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Bureau, Role::Worker])?;
    let mut query = communities::Entity::find().order_by_asc(communities::Column::Id);
    if let Some(ids) = caller.community_filter() {
        query = query.filter(communities::Column::Id.is_in(ids));
    }
    let rows = query.all(&state.db).await?;
    Ok(web::Json(rows.into_iter().map(CommunityView::from).collect()))
}

/// One community (404 outside the caller's scope).
#[utoipa::path(
    tag = "communities",
    params(("id" = i64, Path, description = "Community id")),
    responses((status = 200, body = CommunityView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/communities/{id}")]
async fn get_community(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<CommunityView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Bureau, Role::Worker])?;
    let id = id.into_inner();
    caller.scope(CommunityId(id))?;
    let row = communities::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(row.into()))
}
