//! `/api/v1/tasks`: the board, one task with its events, and every transition.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use entity::tasks;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::dispatch::events::Audience;
use crate::dispatch::kinds::{TaskKind, TaskStatus};
use crate::dispatch::plans::OneOffInput;
use crate::dispatch::tasks::{self as service, CompleteInput, FailInput, Position, TaskView, WorkerAction};
use crate::dispatch::welfare::{self, ResolveInput};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_tasks)
        .service(create_task)
        .service(events)
        .service(get_task)
        .service(accept)
        .service(decline)
        .service(start)
        .service(check_in)
        .service(check_out)
        .service(complete)
        .service(fail)
        .service(assign)
        .service(cancel)
        .service(resolve);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];
const RESPONDERS: &[Role] = &[Role::Caregiver, Role::Volunteer];

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    pub community_id: Option<i64>,
    #[param(inline)]
    pub status: Option<TaskStatus>,
    #[param(inline)]
    pub kind: Option<TaskKind>,
    /// Service date (YYYY-MM-DD) of planned tasks.
    pub date: Option<NaiveDate>,
    /// Only tasks whose visit was flagged for review.
    #[serde(default)]
    pub flagged: bool,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// The dispatch board: tasks in the caller's communities, most urgent first
/// (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(TaskFilter),
    responses((status = 200, body = Page<TaskView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks")]
async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<TaskFilter>,
) -> Result<web::Json<Page<TaskView>>, ApiError> {
    caller.allow(STAFF)?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let mut select = tasks::Entity::find();
    if let Some(c) = q.community_id {
        caller.scope(crate::auth::CommunityId(c))?;
        select = select.filter(tasks::Column::CommunityId.eq(c));
    } else if caller.role == Role::Worker {
        select = select.filter(tasks::Column::CommunityId.is_in(caller.communities.iter().map(|c| c.0)));
    }
    if let Some(s) = q.status {
        select = select.filter(tasks::Column::Status.eq(s.as_str()));
    }
    if let Some(k) = q.kind {
        select = select.filter(tasks::Column::Kind.eq(k.as_str()));
    }
    if let Some(d) = q.date {
        select = select.filter(tasks::Column::ServiceDate.eq(d));
    }
    if q.flagged {
        select = select.filter(tasks::Column::VisitFlagged.eq(true));
    }
    let select = select.order_by_asc(tasks::Column::Priority).order_by_desc(tasks::Column::Id);
    let paginator = select.paginate(&state.db, params.per_page());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(params.page() - 1).await?;
    Ok(web::Json(Page::new(rows.into_iter().map(service::summary).collect(), &params, total)))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins when both are sent).
    pub last_event_id: Option<i64>,
}

/// Server-sent events of the caller's communities: every task transition, offer,
/// escalation and alert (worker, admin). A caregiver or volunteer gets the events of
/// the tasks offered to them or held by them, with ids and statuses only.
/// Reconnect with `Last-Event-ID` to resume.
#[utoipa::path(
    tag = "dispatch",
    params(EventsQuery),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/events")]
async fn events(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let audience = if caller.allow(RESPONDERS).is_ok() {
        Audience::Responder(crate::dispatch::responders::of_caller(&state.db, &caller).await?.id)
    } else {
        caller.allow(STAFF)?;
        Audience::Staff(caller)
    };
    let header = req.headers().get("Last-Event-ID").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let after = match header.or(query.0.last_event_id) {
        Some(id) => id,
        None => crate::dispatch::events::latest_id(&state).await?,
    };
    let stream = crate::dispatch::events::stream(state.get_ref().clone(), audience, after);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// One task with its events and offers: workers of its community, its responders.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    responses((status = 200, body = TaskView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}")]
async fn get_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Caregiver, Role::Volunteer])?;
    let task = service::find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(service::view(&state.db, task).await?))
}

async fn viewed(state: &AppState, task: tasks::Model) -> Result<web::Json<TaskView>, ApiError> {
    Ok(web::Json(service::view(&state.db, task).await?))
}

/// Accept an offer (caregiver, volunteer). The first acceptance wins; later ones
/// are 409 `already-taken`.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    responses(
        (status = 200, body = TaskView),
        (status = 404, description = "No offer to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Someone else won", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/accept")]
async fn accept(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::accept(&state, &caller, id.into_inner()).await?;
    viewed(&state, task).await
}

/// Decline an offer (caregiver, volunteer).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/decline")]
async fn decline(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    caller.allow(RESPONDERS)?;
    service::decline(&state, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// On the way (caregiver, volunteer holding the task).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/start")]
async fn start(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::start(&state, &caller, id.into_inner()).await?;
    viewed(&state, task).await
}

/// Check in at the door with the current position; too far from the home is
/// flagged for review, never refused.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = Position,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/check-in")]
async fn check_in(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<Position>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::check_in(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// Check out when leaving, with the current position.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = Position,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/check-out")]
async fn check_out(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<Position>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::check_out(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// Complete the task with its outcome (and close the alarm of an emergency).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = CompleteInput,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/complete")]
async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CompleteInput>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::complete(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// The visit could not happen: `not_home`, `refused` or `unsafe`. A meal nobody
/// answered the door for opens a welfare check.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = FailInput,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/fail")]
async fn fail(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<FailInput>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let task = service::fail(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// A one-off visit outside any plan (worker, admin): made now and offered to the best
/// candidate, like a planned task.
#[utoipa::path(
    tag = "dispatch",
    request_body = OneOffInput,
    responses((status = 201, body = TaskView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks")]
async fn create_task(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<OneOffInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let task = crate::dispatch::plans::one_off(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(service::view(&state.db, task).await?))
}

/// Assign or reassign by hand, with the reason (worker, admin). Send the version read.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = WorkerAction,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/assign")]
async fn assign(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<WorkerAction>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(STAFF)?;
    let task = service::assign(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// Cancel, with the reason (worker, admin). Send the version read.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = WorkerAction,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/cancel")]
async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<WorkerAction>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(STAFF)?;
    let task = service::cancel(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}

/// Close a welfare check once someone is reached (worker, admin); the chain stops.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = ResolveInput,
    responses((status = 200, body = TaskView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/resolve")]
async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ResolveInput>,
) -> Result<web::Json<TaskView>, ApiError> {
    caller.allow(STAFF)?;
    let task = welfare::resolve(&state, &caller, id.into_inner(), body.0).await?;
    viewed(&state, task).await
}
