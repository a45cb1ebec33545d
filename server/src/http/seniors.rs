//! `/api/v1/seniors`: reading the registry (registration and assessment build on it).

use actix_web::{get, web};
use chrono::NaiveDate;
use entity::seniors;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, CommunityId, Role};
use crate::error::{ApiError, Problem};
use crate::grid::cell_string;
use crate::http::extract::Query;
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_seniors).service(get_senior);
}

/// A senior as workers see them: the ID number is always masked here.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeniorView {
    pub id: i64,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    /// Masked, e.g. `120101********123X`.
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub community_id: i64,
    pub living_arrangement: String,
    pub economic_status: String,
    pub status: String,
    /// H3 cell, 15 hex digits.
    pub cell: String,
    pub tier: Option<String>,
    pub flags: Vec<String>,
    pub outside_boundary: bool,
}

impl From<seniors::Model> for SeniorView {
    fn from(s: seniors::Model) -> Self {
        Self {
            id: s.id,
            name: s.name,
            gender: s.gender,
            birth_date: s.birth_date,
            id_number: s.id_number_masked,
            phone: s.phone,
            address: s.address,
            latitude: s.latitude,
            longitude: s.longitude,
            community_id: s.community_id,
            living_arrangement: s.living_arrangement,
            economic_status: s.economic_status,
            status: s.status,
            cell: cell_string(s.cell),
            tier: s.tier,
            flags: serde_json::from_value(s.flags).unwrap_or_default(),
            outside_boundary: s.outside_boundary,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeniorFilter {
    /// Only this community (must be in the caller's scope).
    pub community_id: Option<i64>,
    /// Only this care tier.
    pub tier: Option<String>,
    #[validate(range(min = 1))]
    pub page: Option<u64>,
    /// At most 200.
    #[validate(range(min = 1, max = 200))]
    pub per_page: Option<u64>,
}

/// Seniors in the caller's communities, newest first.
#[utoipa::path(
    tag = "seniors",
    params(SeniorFilter),
    responses((status = 200, body = Page<SeniorView>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors")]
async fn list_seniors(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SeniorFilter>,
) -> Result<web::Json<Page<SeniorView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let mut select = seniors::Entity::find().order_by_desc(seniors::Column::Id);
    if let Some(ids) = caller.community_filter() {
        select = select.filter(seniors::Column::CommunityId.is_in(ids));
    }
    if let Some(c) = q.community_id {
        caller.scope(CommunityId(c))?;
        select = select.filter(seniors::Column::CommunityId.eq(c));
    }
    if let Some(tier) = q.tier {
        select = select.filter(seniors::Column::Tier.eq(tier));
    }
    let paginator = select.paginate(&state.db, params.per_page());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(params.page() - 1).await?;
    Ok(web::Json(Page::new(rows.into_iter().map(SeniorView::from).collect(), &params, total)))
}

/// One senior (404 when outside the caller's communities).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = SeniorView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}")]
async fn get_senior(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<SeniorView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let senior = seniors::Entity::find_by_id(id.into_inner()).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(senior.community_id))?;
    Ok(web::Json(senior.into()))
}
