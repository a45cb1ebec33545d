//! `/api/v1/responders`, `/api/v1/me/...` (a responder's own duty, position, offers
//! and tasks) and `/api/v1/seniors/{id}/candidates`.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{contacts, seniors, task_offers, tasks};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::dispatch::candidates::{self, Candidate, Excluded, Need, When};
use crate::dispatch::kinds::{TaskKind, TaskStatus};
use crate::dispatch::meals::MealPlan;
use crate::dispatch::responders::{
    self as service, AbsenceInput, AbsenceView, LocationAck, LocationInput, ResponderInput, ResponderView,
};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_responder)
        .service(list_responders)
        .service(get_responder)
        .service(add_absence)
        .service(me_responder)
        .service(set_duty)
        .service(report_location)
        .service(my_offers)
        .service(my_tasks)
        .service(my_route_sheet)
        .service(senior_candidates);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];
const RESPONDERS: &[Role] = &[Role::Caregiver, Role::Volunteer];

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Register a caregiver or volunteer (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    request_body = ResponderInput,
    responses(
        (status = 201, body = Created),
        (status = 409, description = "Already a responder", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/responders")]
async fn create_responder(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ResponderInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let id = service::create(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResponderFilter {
    /// Only responders serving this community.
    pub community_id: Option<i64>,
}

/// Responders serving the caller's communities (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(ResponderFilter),
    responses((status = 200, body = Vec<ResponderView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/responders")]
async fn list_responders(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ResponderFilter>,
) -> Result<web::Json<Vec<ResponderView>>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(service::list_visible(&state, &caller, query.0.community_id).await?))
}

/// One responder (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Responder id")),
    responses((status = 200, body = ResponderView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/responders/{id}")]
async fn get_responder(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ResponderView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(service::find_visible(&state, &caller, id.into_inner()).await?))
}

/// Record leave or a sick day (worker, admin): the responder gets no planned work
/// and no offers on those days.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Responder id")),
    request_body = AbsenceInput,
    responses((status = 201, body = AbsenceView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/responders/{id}/absences")]
async fn add_absence(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<AbsenceInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    let absence = service::add_absence(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(absence))
}

/// The calling caregiver's or volunteer's own responder record.
#[utoipa::path(
    tag = "dispatch",
    responses((status = 200, body = ResponderView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/responder")]
async fn me_responder(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<ResponderView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let me = service::of_caller(&state.db, &caller).await?;
    let admin_view = Caller { role: Role::Admin, ..caller.clone() };
    Ok(web::Json(service::find_visible(&state, &admin_view, me.id).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct DutyInput {
    pub on_duty: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DutyView {
    pub on_duty: bool,
}

/// Go on or off duty (caregiver, volunteer).
#[utoipa::path(
    tag = "dispatch",
    request_body = DutyInput,
    responses((status = 200, body = DutyView)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/me/duty")]
async fn set_duty(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<DutyInput>,
) -> Result<web::Json<DutyView>, ApiError> {
    caller.allow(RESPONDERS)?;
    let me = service::set_duty(&state, &caller, body.0.on_duty).await?;
    Ok(web::Json(DutyView { on_duty: me.on_duty }))
}

/// Report the current position while on duty (caregiver, volunteer). Reports closer
/// together than the throttle interval are acknowledged without being stored.
#[utoipa::path(
    tag = "dispatch",
    request_body = LocationInput,
    responses((status = 200, body = LocationAck), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/me/location")]
async fn report_location(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<LocationInput>,
) -> Result<web::Json<LocationAck>, ApiError> {
    caller.allow(RESPONDERS)?;
    Ok(web::Json(service::report_location(&state, &caller, body.0).await?))
}

/// An open offer: enough to decide, nothing personal until accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOffer {
    pub task_id: i64,
    pub kind: String,
    pub community_id: i64,
    pub distance_m: Option<f64>,
    pub round: i16,
    pub offered_at: DateTime<Utc>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub priority: i16,
}

/// The caller's open offers, emergencies first (caregiver, volunteer).
#[utoipa::path(
    tag = "dispatch",
    responses((status = 200, body = Vec<MyOffer>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/offers")]
async fn my_offers(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<MyOffer>>, ApiError> {
    caller.allow(RESPONDERS)?;
    let me = service::of_caller(&state.db, &caller).await?;
    let rows = task_offers::Entity::find()
        .filter(task_offers::Column::ResponderId.eq(me.id))
        .filter(task_offers::Column::Status.eq("open"))
        .find_also_related(tasks::Entity)
        .order_by_desc(task_offers::Column::OfferedAt)
        .all(&state.db)
        .await?;
    let mut offers: Vec<MyOffer> = rows
        .into_iter()
        .filter_map(|(o, t)| {
            let t = t?;
            Some(MyOffer {
                task_id: t.id,
                kind: t.kind,
                community_id: t.community_id,
                distance_m: o.distance_m,
                round: o.round,
                offered_at: o.offered_at,
                window_start: t.window_start,
                window_end: t.window_end,
                priority: t.priority,
            })
        })
        .collect();
    offers.sort_by_key(|o| (o.priority, o.window_start));
    Ok(web::Json(offers))
}

/// A task the responder holds, with what they need at the door.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTask {
    pub task_id: i64,
    pub kind: String,
    pub status: String,
    pub version: i32,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub senior_id: i64,
    pub senior_name: String,
    pub address: String,
    pub phone: String,
    pub latitude: f64,
    pub longitude: f64,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub check_in_at: Option<DateTime<Utc>>,
    pub check_out_at: Option<DateTime<Utc>>,
    /// Whom to call besides the senior, in calling order.
    pub contacts: Vec<MyContact>,
}

/// A family member or neighbour to call about a task's senior.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyContact {
    pub name: String,
    pub relation: String,
    pub phone: String,
    /// Holds a key to the home.
    pub is_keyholder: bool,
}

/// The tasks the caller holds and has not finished (caregiver, volunteer).
#[utoipa::path(
    tag = "dispatch",
    responses((status = 200, body = Vec<MyTask>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/tasks")]
async fn my_tasks(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<MyTask>>, ApiError> {
    caller.allow(RESPONDERS)?;
    let me = service::of_caller(&state.db, &caller).await?;
    let rows = tasks::Entity::find()
        .filter(tasks::Column::AssigneeId.eq(me.id))
        .filter(tasks::Column::Status.is_in(TaskStatus::ACTIVE.iter().map(|s| s.as_str())))
        .find_also_related(seniors::Entity)
        .order_by_asc(tasks::Column::Priority)
        .order_by_asc(tasks::Column::WindowStart)
        .all(&state.db)
        .await?;
    let mut contacts: HashMap<i64, Vec<MyContact>> = HashMap::new();
    for c in contacts::Entity::find()
        .filter(contacts::Column::SeniorId.is_in(rows.iter().map(|(t, _)| t.senior_id)))
        .order_by_asc(contacts::Column::CallOrder)
        .order_by_asc(contacts::Column::Id)
        .all(&state.db)
        .await?
    {
        contacts.entry(c.senior_id).or_default().push(MyContact {
            name: c.name,
            relation: c.relation,
            phone: c.phone,
            is_keyholder: c.is_keyholder,
        });
    }
    Ok(web::Json(
        rows.into_iter()
            .filter_map(|(t, s)| {
                let s = s?;
                Some(MyTask {
                    contacts: contacts.remove(&s.id).unwrap_or_default(),
                    task_id: t.id,
                    kind: t.kind,
                    status: t.status,
                    version: t.version,
                    window_start: t.window_start,
                    window_end: t.window_end,
                    senior_id: s.id,
                    senior_name: s.name,
                    address: s.address,
                    phone: s.phone,
                    latitude: s.latitude,
                    longitude: s.longitude,
                    details: t.details,
                    check_in_at: t.check_in_at,
                    check_out_at: t.check_out_at,
                })
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RouteSheetQuery {
    /// The service day (YYYY-MM-DD); today by default.
    pub date: Option<NaiveDate>,
}

/// The caller's meal round for a day: the meals they hold, per canteen, in delivery
/// order with arrival times, diet and allergies (caregiver, volunteer).
#[utoipa::path(
    tag = "dispatch",
    params(RouteSheetQuery),
    responses((status = 200, body = Vec<MealPlan>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/route-sheet")]
async fn my_route_sheet(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<RouteSheetQuery>,
) -> Result<web::Json<Vec<MealPlan>>, ApiError> {
    caller.allow(RESPONDERS)?;
    let me = service::of_caller(&state.db, &caller).await?;
    let date = query.0.date.unwrap_or_else(|| state.clock.now().with_timezone(&state.settings.tz()).date_naive());
    Ok(web::Json(crate::dispatch::meals::my_sheets(&state, &me, date).await?))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateQuery {
    /// The kind of task.
    #[param(inline)]
    pub kind: TaskKind,
    /// Plan for a day (YYYY-MM-DD) instead of now; needs `from` and `to` (HH:MM).
    pub date: Option<NaiveDate>,
    #[param(value_type = Option<String>)]
    pub from: Option<chrono::NaiveTime>,
    #[param(value_type = Option<String>)]
    pub to: Option<chrono::NaiveTime>,
    /// Search radius in metres (default 5000; emergencies 1000).
    #[validate(range(min = 100.0, max = 50000.0))]
    #[param(minimum = 100.0, maximum = 50000.0)]
    pub radius_m: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Candidates {
    /// Who could go, best first, with distance, ETA, load and continuity.
    pub candidates: Vec<Candidate>,
    /// Who was considered and why they cannot go.
    pub excluded: Vec<Excluded>,
}

/// Who could serve this senior now (or in a planned window), and why others could
/// not (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Senior id"), CandidateQuery),
    responses((status = 200, body = Candidates), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/candidates")]
async fn senior_candidates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: Query<CandidateQuery>,
) -> Result<web::Json<Candidates>, ApiError> {
    caller.allow(STAFF)?;
    let q = query.0;
    let senior = crate::registry::service::find_visible(&state.db, &caller, id.into_inner()).await?;
    let emergency = q.kind == TaskKind::Emergency;
    let when = match (q.date, q.from, q.to) {
        (None, None, None) => When::Now(state.clock.now()),
        (Some(day), Some(from), Some(to)) if from < to => When::Window { day, from, to },
        _ => return Err(ApiError::field("date", "invalid", "give date, from and to together, from before to")),
    };
    let default_radius = if emergency { state.settings.dispatch.emergency_radius_m } else { 5000.0 };
    let need = Need {
        kind: q.kind,
        senior_id: senior.id,
        community_id: senior.community_id,
        point: (senior.latitude, senior.longitude),
        when,
        radius_m: q.radius_m.unwrap_or(default_radius),
        needs_fresh_position: emergency,
        include_community: true,
    };
    let (candidates, excluded) = candidates::find(&state, &state.db, &need, &[]).await?;
    Ok(web::Json(Candidates { candidates, excluded }))
}
