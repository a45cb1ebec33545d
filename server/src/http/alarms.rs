//! `/api/v1/devices` (emergency bells and their keys), `/api/v1/alarms` (intake
//! from a device, the list for workers) and `/api/v1/seniors/{id}/plans`.

use actix_web::{HttpResponse, get, post, web};
use entity::alarms;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::dispatch::alarms::{
    self as service, AlarmAccepted, AlarmInput, AlarmView, CallInput, CloseInput, CreatedDevice, DeviceInput,
};
use crate::dispatch::plans::{self, PlanInput, PlanView, SuspendInput};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_device)
        .service(raise_alarm)
        .service(list_alarms)
        .service(get_alarm)
        .service(close_alarm)
        .service(log_call)
        .service(create_plan)
        .service(list_plans)
        .service(suspend_plan);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];

/// Register an emergency bell for a senior (worker, admin). The key is shown once.
#[utoipa::path(
    tag = "dispatch",
    request_body = DeviceInput,
    responses((status = 201, body = CreatedDevice), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/devices")]
async fn create_device(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let device = service::create_device(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(device))
}

/// An emergency bell was pressed (device key). The alarm, its task and the first
/// offers are stored before the 202; a repeat with the same `event_id` returns the
/// original answer, and the same `event_id` with a different body is 422.
#[utoipa::path(
    tag = "dispatch",
    request_body = AlarmInput,
    responses(
        (status = 202, body = AlarmAccepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/alarms")]
async fn raise_alarm(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<AlarmInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Device])?;
    let accepted = service::intake(&state, &caller, body.0).await?;
    Ok(HttpResponse::Accepted().json(accepted))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmFilter {
    /// Only alarms not yet closed.
    #[serde(default)]
    pub open: bool,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Alarms in the caller's communities, newest first (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(AlarmFilter),
    responses((status = 200, body = Page<AlarmView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/alarms")]
async fn list_alarms(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AlarmFilter>,
) -> Result<web::Json<Page<AlarmView>>, ApiError> {
    caller.allow(STAFF)?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let mut select = alarms::Entity::find();
    if caller.role == Role::Worker {
        select = select.filter(alarms::Column::CommunityId.is_in(caller.communities.iter().map(|c| c.0)));
    }
    if q.open {
        select = select.filter(alarms::Column::ClosedAt.is_null());
    }
    let paginator = select.order_by_desc(alarms::Column::Id).paginate(&state.db, params.per_page());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(params.page() - 1).await?;
    Ok(web::Json(Page::new(rows.into_iter().map(AlarmView::from).collect(), &params, total)))
}

/// One alarm (worker, admin): its stage and clock; the task has the timeline.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Alarm id")),
    responses((status = 200, body = AlarmView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/alarms/{id}")]
async fn get_alarm(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<AlarmView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(service::find_visible(&state, &caller, id.into_inner()).await?.into()))
}

/// Close an alarm with its outcome (worker, admin), whatever stage it is in. Send the
/// task's `version` as read: a change made meanwhile is 409 `stale-version`.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Alarm id")),
    request_body = CloseInput,
    responses(
        (status = 200, body = AlarmView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/alarms/{id}/close")]
async fn close_alarm(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CloseInput>,
) -> Result<web::Json<AlarmView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(service::close(&state, &caller, id.into_inner(), body.0).await?.into()))
}

/// The event a logged call became.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LoggedCall {
    pub event_id: i64,
}

/// Record a call made about an alarm: to the senior, a contact, or 120 (worker, admin).
/// It appears on the alarm task's timeline as `call_logged`.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Alarm id")),
    request_body = CallInput,
    responses((status = 201, body = LoggedCall), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/alarms/{id}/calls")]
async fn log_call(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CallInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let event_id = service::log_call(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(LoggedCall { event_id }))
}

/// Give a senior a service plan (worker, admin). The fee comes from the
/// segmentation rules for the senior's tier and economic status.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = PlanInput,
    responses((status = 201, body = PlanView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/plans")]
async fn create_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let plan = plans::create(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(plan))
}

/// A senior's service plans (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Vec<PlanView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/plans")]
async fn list_plans(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<PlanView>>, ApiError> {
    caller.allow(STAFF)?;
    let senior = crate::registry::service::find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(plans::list_for(&state.db, senior.id).await?))
}

/// Suspend a plan for a date range (a hospital stay); it resumes by itself after
/// `until`, and tasks already made for those days are cancelled (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Plan id")),
    request_body = SuspendInput,
    responses((status = 200, body = PlanView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/plans/{id}/suspend")]
async fn suspend_plan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<SuspendInput>,
) -> Result<web::Json<PlanView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(plans::suspend(&state, &caller, id.into_inner(), body.0).await?))
}
