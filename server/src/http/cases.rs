//! `/api/v1/cases`: the complaints queue, opening a case, its timeline, resolving it.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::cases::{self, ActionInput, CaseFilter, CaseInput, CaseResolveInput, CaseStatus, CaseView};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_cases).service(create_case).service(get_case).service(add_action).service(resolve_case);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    #[param(inline)]
    pub status: Option<CaseStatus>,
    /// Only this owner's cases (a worker's own queue).
    pub owner_id: Option<i64>,
    pub community_id: Option<i64>,
    /// Only open cases past their deadline (true) or the others (false).
    pub overdue: Option<bool>,
    /// Only escalated cases (true) or the others (false).
    pub escalated: Option<bool>,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Cases in the caller's communities: open ones first, soonest deadline first
/// (worker, admin).
#[utoipa::path(
    tag = "cases",
    params(CaseQuery),
    responses((status = 200, body = Page<CaseView>), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/cases")]
async fn list_cases(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CaseQuery>,
) -> Result<web::Json<Page<CaseView>>, ApiError> {
    caller.allow(STAFF)?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let filter = CaseFilter {
        status: q.status,
        owner_id: q.owner_id,
        community_id: q.community_id,
        overdue: q.overdue,
        escalated: q.escalated,
        due_before: None,
    };
    let (items, total) = cases::list(&state, &caller, filter, params.page(), params.per_page()).await?;
    Ok(web::Json(Page::new(items, &params, total)))
}

/// Open a case for a complaint received by hotline, walk-in, web (worker, admin) or
/// from the phone app (caregiver, volunteer: source `pwa`). Whoever received it owns it
/// (首问负责) unless they name another worker; app complaints go to the senior's
/// community worker. Due in 24 hours when serious, else 72 (configurable).
#[utoipa::path(
    tag = "cases",
    request_body = CaseInput,
    responses(
        (status = 201, body = CaseView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/cases")]
async fn create_case(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CaseInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Caregiver, Role::Volunteer])?;
    let case = cases::create(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(case))
}

/// One case with its timeline (worker, admin).
#[utoipa::path(
    tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, body = CaseView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/cases/{id}")]
async fn get_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<CaseView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(cases::find(&state, &caller, id.into_inner()).await?))
}

/// Add a note, call or visit to an open case, or reassign it (worker, admin).
#[utoipa::path(
    tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = ActionInput,
    responses(
        (status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/cases/{id}/actions")]
async fn add_action(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ActionInput>,
) -> Result<web::Json<CaseView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(cases::add_action(&state, &caller, id.into_inner(), body.0).await?))
}

/// Resolve a case with the senior's confirmation (worker, admin); schedules the
/// follow-up survey.
#[utoipa::path(
    tag = "cases",
    params(("id" = i64, Path, description = "Case id")),
    request_body = CaseResolveInput,
    responses(
        (status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/cases/{id}/resolve")]
async fn resolve_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CaseResolveInput>,
) -> Result<web::Json<CaseView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(cases::resolve(&state, &caller, id.into_inner(), body.0).await?))
}
