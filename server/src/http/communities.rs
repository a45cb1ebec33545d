//! `/api/v1/communities`: the communities of the street, scoped by role.

use actix_web::{HttpResponse, get, post, web};
use entity::{communities, community_cells};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, CommunityId, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_communities).service(create_community).service(get_community);
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

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CommunityInput {
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// The street (街道) the community belongs to.
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub street: String,
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub district: String,
    /// A GeoJSON Polygon or MultiPolygon (longitude, latitude).
    #[schema(value_type = Object)]
    pub boundary: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCommunity {
    pub id: i64,
    /// Number of H3 cells covering the boundary at the configured resolution.
    pub cells: usize,
}

/// Create a community with its boundary (admin); the covering H3 cells are computed and stored.
#[utoipa::path(
    tag = "communities",
    request_body = CommunityInput,
    responses(
        (status = 201, body = CreatedCommunity),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/communities")]
async fn create_community(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CommunityInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin])?;
    let input = body.0;
    let boundary_text = input.boundary.to_string();
    let boundary =
        crate::grid::parse_boundary(&boundary_text).map_err(|e| ApiError::field("boundary", "invalid", e))?;
    let cells = crate::grid::covering_cells(&boundary, state.settings.resolution())
        .map_err(|e| ApiError::field("boundary", "invalid", e))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let community = communities::ActiveModel {
        name: Set(input.name.trim().to_owned()),
        street: Set(input.street.trim().to_owned()),
        district: Set(input.district.trim().to_owned()),
        boundary_geojson: Set(boundary_text),
        cell_resolution: Set(i16::from(state.settings.h3_resolution)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => {
            ApiError::conflict("duplicate-community", "This street already has a community of that name")
        }
        other => other,
    })?;
    for chunk in cells.chunks(1000) {
        community_cells::Entity::insert_many(
            chunk.iter().map(|&cell| community_cells::ActiveModel { community_id: Set(community.id), cell: Set(cell) }),
        )
        .exec(&txn)
        .await?;
    }
    crate::audit::record(
        &txn,
        &state.clock,
        &caller,
        crate::audit::Entry::new("community.create", "community", Some(community.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created().json(CreatedCommunity { id: community.id, cells: cells.len() }))
}
