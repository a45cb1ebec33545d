//! Service plans and the tasks they make: which service a senior receives, on which
//! days, in which window, at what fee. The daily job turns tomorrow's plans into
//! tasks and offers each to its best candidate; it is idempotent per (plan, date) by
//! a unique index, and the job's window lock keeps a second instance out.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use entity::{seniors, service_plans, stations, task_offers, tasks};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::candidates::{self, Need, When};
use super::kinds::{TaskKind, TaskStatus};
use super::notify::{self, Urgency};
use super::tasks::{Actor, Note, event, offer, status_of, transition};
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::registry::EconomicStatus;
use crate::state::AppState;

/// How far from home a planned visit may send a responder.
pub const ROUTINE_RADIUS_M: f64 = 5000.0;

crate::registry::kinds::vocabulary!(
    /// Meal textures and diets a canteen prepares.
    Diet {
        Normal = "normal",
        LowSalt = "low_salt",
        Diabetic = "diabetic",
        Soft = "soft",
        Minced = "minced",
        Pureed = "pureed",
    }
);

/// Kind-specific details of a plan.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq)]
pub struct PlanDetails {
    /// Meals: the diet.
    pub diet: Option<Diet>,
    /// Meals: allergies the canteen must avoid.
    #[serde(default)]
    pub allergies: Vec<String>,
    /// Home-bed nursing (家庭病床): the nursing items, e.g. 换药, 测血糖.
    #[serde(default)]
    pub nursing_items: Vec<String>,
    /// Housekeeping: minutes per visit.
    pub duration_minutes: Option<u32>,
}

/// The body of `POST /api/v1/seniors/{id}/plans`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct PlanInput {
    /// `meal_delivery`, `home_bed`, `housekeeping`, `bathing` or `companionship`.
    pub kind: TaskKind,
    /// 1 = Monday .. 7 = Sunday.
    #[schema(min_items = 1)]
    pub weekdays: Vec<u8>,
    #[schema(value_type = String, example = "11:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub window_start: NaiveTime,
    #[schema(value_type = String, example = "12:30", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub window_end: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// Meals: the canteen that cooks them.
    pub station_id: Option<i64>,
    #[serde(default)]
    pub details: PlanDetails,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    pub id: i64,
    pub senior_id: i64,
    pub kind: String,
    pub weekdays: Vec<u8>,
    #[schema(value_type = String)]
    pub window_start: NaiveTime,
    #[schema(value_type = String)]
    pub window_end: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// What the senior pays per visit, in fen.
    pub fee_fen: i64,
    /// The list price per visit, in fen; the difference is subsidy.
    pub price_fen: i64,
    pub station_id: Option<i64>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub status: String,
    pub suspended_from: Option<NaiveDate>,
    pub suspended_until: Option<NaiveDate>,
    pub version: i32,
}

impl From<service_plans::Model> for PlanView {
    fn from(p: service_plans::Model) -> Self {
        Self {
            id: p.id,
            senior_id: p.senior_id,
            kind: p.kind,
            weekdays: serde_json::from_value(p.weekdays).unwrap_or_default(),
            window_start: p.window_start,
            window_end: p.window_end,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            fee_fen: p.fee_fen,
            price_fen: p.price_fen,
            station_id: p.station_id,
            details: p.details,
            status: p.status,
            suspended_from: p.suspended_from,
            suspended_until: p.suspended_until,
            version: p.version,
        }
    }
}

/// The price and fee of a service for a senior, from the segmentation rules.
fn pricing(state: &AppState, senior: &seniors::Model, kind: TaskKind) -> Result<(i64, i64), ApiError> {
    let tier_id = senior.tier.as_deref().ok_or_else(|| {
        ApiError::field("kind", "not_assessed", "assess the senior first: the tier decides eligibility")
    })?;
    let rules = &state.rules;
    let tier = rules.tiers().iter().find(|t| t.id() == tier_id);
    let eligible = tier.is_some_and(|t| t.services().any(|s| s == kind.as_str()));
    if !eligible {
        return Err(ApiError::field(
            "kind",
            "not_eligible",
            format!("tier {tier_id} is not eligible for {kind} under rules {}", rules.version()),
        ));
    }
    let price = rules.services().iter().find(|s| s.key() == kind.as_str()).map_or(0, |s| s.price_fen());
    let status = EconomicStatus::parse(&senior.economic_status).unwrap_or(EconomicStatus::Ordinary);
    let ratio = tier.map_or(100, |t| t.fee_ratio_percent(status));
    Ok((price, price * i64::from(ratio) / 100))
}

pub async fn create(state: &AppState, caller: &Caller, senior_id: i64, input: PlanInput) -> Result<PlanView, ApiError> {
    let senior = crate::registry::service::find_visible(&state.db, caller, senior_id).await?;
    let mut errors = Vec::new();
    if !input.kind.is_routine() {
        errors.push(FieldError::new(
            "kind",
            "invalid",
            "plans are for meal_delivery, home_bed, housekeeping, bathing or companionship",
        ));
    }
    let mut weekdays = input.weekdays.clone();
    weekdays.sort_unstable();
    weekdays.dedup();
    if weekdays.is_empty() || weekdays.iter().any(|d| !(1..=7).contains(d)) {
        errors.push(FieldError::new("weekdays", "invalid", "one or more of 1 (Monday) to 7 (Sunday)"));
    }
    if input.window_end <= input.window_start {
        errors.push(FieldError::new("window_end", "invalid", "must be after window_start"));
    }
    if input.ends_on.is_some_and(|e| e < input.starts_on) {
        errors.push(FieldError::new("ends_on", "invalid", "must not be before starts_on"));
    }
    check_details(state, input.kind, input.station_id, &input.details, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (price, fee) = pricing(state, &senior, input.kind)?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let row = service_plans::ActiveModel {
        senior_id: Set(senior.id),
        kind: Set(input.kind.as_str().to_owned()),
        weekdays: Set(json!(weekdays)),
        window_start: Set(input.window_start),
        window_end: Set(input.window_end),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        fee_fen: Set(fee),
        price_fen: Set(price),
        station_id: Set(input.station_id),
        details: Set(serde_json::to_value(&input.details).unwrap_or_default()),
        status: Set("active".to_owned()),
        created_by: Set(caller.user_id.map(|u| u.0)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, &state.clock, caller, audit::Entry::new("plan.create", "senior", Some(senior.id.to_string())))
        .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// What a service of `kind` must say: a meal its diet and canteen, a nursing visit
/// its items, housekeeping its length.
async fn check_details(
    state: &AppState,
    kind: TaskKind,
    station_id: Option<i64>,
    details: &PlanDetails,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    match kind {
        TaskKind::MealDelivery => {
            if details.diet.is_none() {
                errors.push(FieldError::new("details.diet", "required", format!("one of {}", Diet::choices())));
            }
            match station_id {
                None => errors.push(FieldError::new("station_id", "required", "name the canteen that cooks the meals")),
                Some(id) => {
                    let canteen = stations::Entity::find_by_id(id).one(&state.db).await?;
                    if canteen.is_none_or(|s| s.kind != "canteen") {
                        errors.push(FieldError::new("station_id", "unknown", "is not a canteen"));
                    }
                }
            }
        }
        TaskKind::HomeBed if details.nursing_items.is_empty() => {
            errors.push(FieldError::new("details.nursing_items", "required", "name the nursing items"));
        }
        TaskKind::Housekeeping if details.duration_minutes.is_none_or(|m| !(15..=480).contains(&m)) => {
            errors.push(FieldError::new("details.duration_minutes", "invalid", "15 to 480 minutes"));
        }
        _ => {}
    }
    Ok(())
}

/// The body of `POST /api/v1/tasks`: one visit outside any plan (after a fall, a
/// request by phone, a plan's extra day).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct OneOffInput {
    pub senior_id: i64,
    /// `meal_delivery`, `home_bed`, `housekeeping`, `bathing` or `companionship`.
    pub kind: TaskKind,
    /// The service day: today or up to 30 days ahead.
    pub date: NaiveDate,
    #[schema(value_type = String, example = "14:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub window_start: NaiveTime,
    #[schema(value_type = String, example = "16:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub window_end: NaiveTime,
    /// Meals: the canteen that cooks it.
    pub station_id: Option<i64>,
    #[serde(default)]
    pub details: PlanDetails,
    /// Why the visit is needed (kept in the task's history).
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

/// Makes a one-off task and offers it like a planned one (worker, admin).
pub async fn one_off(state: &AppState, caller: &Caller, input: OneOffInput) -> Result<tasks::Model, ApiError> {
    let senior =
        crate::registry::service::find_visible(&state.db, caller, input.senior_id).await.map_err(|e| match e {
            ApiError::NotFound => ApiError::field("senior_id", "unknown", "no such senior in your communities"),
            other => other,
        })?;
    let tz = state.settings.tz();
    let now = state.clock.now();
    let today = now.with_timezone(&tz).date_naive();
    let mut errors = Vec::new();
    if !input.kind.is_routine() {
        errors.push(FieldError::new(
            "kind",
            "invalid",
            "one-off tasks are meal_delivery, home_bed, housekeeping, bathing or companionship; a bell raises emergencies",
        ));
    }
    if input.date < today || input.date > today + Duration::days(30) {
        errors.push(FieldError::new("date", "invalid", "today or up to 30 days ahead"));
    }
    if input.window_end <= input.window_start {
        errors.push(FieldError::new("window_end", "invalid", "must be after window_start"));
    } else if local(tz, input.date, input.window_end) <= now {
        errors.push(FieldError::new("window_end", "invalid", "the window has already passed"));
    }
    check_details(state, input.kind, input.station_id, &input.details, &mut errors).await?;
    if senior.status != "active" {
        errors.push(FieldError::new("senior_id", "inactive", "the senior is not active in the registry"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (price, fee) = pricing(state, &senior, input.kind)?;
    let window_start = local(tz, input.date, input.window_start);
    let alert = Duration::minutes(state.settings.dispatch.missed_alert_minutes);
    let txn = crate::db::begin_write(&state.db).await?;
    let task = tasks::ActiveModel {
        station_id: Set(input.station_id),
        service_date: Set(Some(input.date)),
        window_start: Set(Some(window_start)),
        window_end: Set(Some(local(tz, input.date, input.window_end))),
        next_deadline_at: Set(Some(window_start + alert)),
        fee_fen: Set(fee),
        price_fen: Set(price),
        details: Set(serde_json::to_value(&input.details).unwrap_or_default()),
        ..super::tasks::new_row(input.kind, senior.id, senior.community_id, now)
    }
    .insert(&txn)
    .await?;
    event(
        &txn,
        task.id,
        "created",
        None,
        Some(TaskStatus::Created),
        Actor::of(caller),
        Note::details(json!({"one_off": true, "reason": input.reason.trim()})),
        now,
    )
    .await?;
    audit::record(&txn, &state.clock, caller, audit::Entry::new("task.create", "task", Some(task.id.to_string())))
        .await?;
    offer_to_best(state, &txn, &task, now).await?;
    txn.commit().await?;
    state.events.notify_waiters();
    let task = tasks::Entity::find_by_id(task.id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok(task)
}

/// The body of `POST /api/v1/plans/{id}/suspend`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct SuspendInput {
    pub version: i32,
    pub from: NaiveDate,
    /// The last day without service; the plan resumes by itself the day after.
    pub until: NaiveDate,
    #[validate(length(min = 2, max = 200))]
    #[schema(min_length = 2, max_length = 200)]
    pub reason: String,
}

/// Suspends a plan for a date range (a hospital stay) and cancels the tasks already
/// made for those days.
pub async fn suspend(state: &AppState, caller: &Caller, id: i64, input: SuspendInput) -> Result<PlanView, ApiError> {
    if input.until < input.from {
        return Err(ApiError::field("until", "invalid", "must not be before from"));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let plan = service_plans::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    crate::registry::service::find_visible(&txn, caller, plan.senior_id).await?;
    let done = service_plans::Entity::update_many()
        .col_expr(service_plans::Column::Status, Expr::value("suspended"))
        .col_expr(service_plans::Column::SuspendedFrom, Expr::value(Some(input.from)))
        .col_expr(service_plans::Column::SuspendedUntil, Expr::value(Some(input.until)))
        .col_expr(service_plans::Column::UpdatedAt, Expr::value(now))
        .col_expr(service_plans::Column::Version, Expr::value(plan.version + 1))
        .filter(service_plans::Column::Id.eq(id))
        .filter(service_plans::Column::Version.eq(input.version))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        let mut extra = serde_json::Map::new();
        extra.insert("current_version".into(), plan.version.into());
        return Err(ApiError::Conflict {
            code: "stale-version",
            detail: "The plan was changed; reload it".into(),
            extra: Some(extra),
        });
    }
    let affected = tasks::Entity::find()
        .filter(tasks::Column::PlanId.eq(id))
        .filter(tasks::Column::ServiceDate.between(input.from, input.until))
        .filter(
            tasks::Column::Status
                .is_in([TaskStatus::Created, TaskStatus::Offered, TaskStatus::Accepted].map(|s| s.as_str())),
        )
        .all(&txn)
        .await?;
    for t in affected {
        transition(
            &txn,
            &t,
            TaskStatus::Cancelled,
            "cancelled",
            Actor::of(caller),
            Note::details(json!({"reason": "plan suspended"})),
            now,
            |_| {},
        )
        .await?;
        super::tasks::withdraw_offers(&txn, t.id, None, "cancelled", now).await?;
    }
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("plan.suspend", "senior", Some(plan.senior_id.to_string())).reason(input.reason.trim()),
    )
    .await?;
    txn.commit().await?;
    let plan = service_plans::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok(plan.into())
}

pub async fn list_for(db: &impl ConnectionTrait, senior_id: i64) -> Result<Vec<PlanView>, ApiError> {
    Ok(service_plans::Entity::find()
        .filter(service_plans::Column::SeniorId.eq(senior_id))
        .order_by_asc(service_plans::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(PlanView::from)
        .collect())
}

/// Whether a plan delivers on `day`.
pub fn runs_on(plan: &service_plans::Model, day: NaiveDate) -> bool {
    let weekdays: Vec<u8> = serde_json::from_value(plan.weekdays.clone()).unwrap_or_default();
    let suspended = matches!((plan.suspended_from, plan.suspended_until), (Some(f), Some(u)) if (f..=u).contains(&day));
    plan.status != "ended"
        && plan.starts_on <= day
        && plan.ends_on.is_none_or(|e| day <= e)
        && weekdays.contains(&(day.weekday().number_from_monday() as u8))
        && !suspended
}

fn local(tz: chrono_tz::Tz, day: NaiveDate, at: NaiveTime) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(at))
        .earliest()
        .map_or_else(|| day.and_time(at).and_utc(), |t| t.with_timezone(&Utc))
}

/// Makes the tasks of `day` from active plans and offers each to its best
/// candidate. Safe to repeat: a (plan, date) that already has a task is skipped.
pub async fn make_tasks(state: &AppState, day: NaiveDate) -> Result<i64, ApiError> {
    let tz = state.settings.tz();
    let plans = service_plans::Entity::find()
        .filter(service_plans::Column::Status.is_in(["active", "suspended"]))
        .filter(service_plans::Column::StartsOn.lte(day))
        .order_by_asc(service_plans::Column::Id)
        .all(&state.db)
        .await?;
    let alert = Duration::minutes(state.settings.dispatch.missed_alert_minutes);
    // The seniors of the day's plans, read in batches rather than one query per plan.
    let mut senior_ids: Vec<i64> = plans.iter().filter(|p| runs_on(p, day)).map(|p| p.senior_id).collect();
    senior_ids.sort_unstable();
    senior_ids.dedup();
    let mut seniors_by_id = std::collections::HashMap::with_capacity(senior_ids.len());
    for chunk in senior_ids.chunks(1000) {
        for s in seniors::Entity::find().filter(seniors::Column::Id.is_in(chunk.iter().copied())).all(&state.db).await?
        {
            seniors_by_id.insert(s.id, s);
        }
    }
    let mut made = 0;
    for plan in plans {
        // A suspension that has ended resumes the plan by itself.
        if plan.status == "suspended" && plan.suspended_until.is_some_and(|u| u < day) {
            service_plans::Entity::update_many()
                .col_expr(service_plans::Column::Status, Expr::value("active"))
                .filter(service_plans::Column::Id.eq(plan.id))
                .filter(service_plans::Column::Version.eq(plan.version))
                .exec(&state.db)
                .await?;
        }
        if !runs_on(&plan, day) {
            continue;
        }
        let Some(senior) = seniors_by_id.get(&plan.senior_id) else { continue };
        if senior.status != "active" {
            continue;
        }
        let now = state.clock.now();
        let window_start = local(tz, day, plan.window_start);
        let txn = crate::db::begin_write(&state.db).await?;
        let Some(kind) = TaskKind::parse(&plan.kind) else { continue };
        let inserted = tasks::Entity::insert(tasks::ActiveModel {
            plan_id: Set(Some(plan.id)),
            station_id: Set(plan.station_id),
            service_date: Set(Some(day)),
            window_start: Set(Some(window_start)),
            window_end: Set(Some(local(tz, day, plan.window_end))),
            next_deadline_at: Set(Some(window_start + alert)),
            fee_fen: Set(plan.fee_fen),
            price_fen: Set(plan.price_fen),
            details: Set(plan.details.clone()),
            ..super::tasks::new_row(kind, senior.id, senior.community_id, now)
        })
        .on_conflict(OnConflict::columns([tasks::Column::PlanId, tasks::Column::ServiceDate]).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
        if inserted == 0 {
            continue;
        }
        let task = tasks::Entity::find()
            .filter(tasks::Column::PlanId.eq(plan.id))
            .filter(tasks::Column::ServiceDate.eq(day))
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound)?;
        event(
            &txn,
            task.id,
            "created",
            None,
            Some(TaskStatus::Created),
            Actor::SYSTEM,
            Note::details(json!({"plan_id": plan.id})),
            now,
        )
        .await?;
        offer_to_best(state, &txn, &task, now).await?;
        txn.commit().await?;
        made += 1;
    }
    if made > 0 {
        state.events.notify_waiters();
    }
    Ok(made)
}

/// The need a routine task describes.
pub fn need_of(state: &AppState, task: &tasks::Model, senior: &seniors::Model) -> Need {
    let tz = state.settings.tz();
    let kind = super::tasks::kind_of(task);
    let when = match (task.service_date, task.window_start, task.window_end) {
        (Some(day), Some(from), Some(to)) => {
            When::Window { day, from: from.with_timezone(&tz).time(), to: to.with_timezone(&tz).time() }
        }
        _ => When::Now(state.clock.now()),
    };
    Need {
        kind,
        senior_id: senior.id,
        community_id: senior.community_id,
        point: (senior.latitude, senior.longitude),
        when,
        radius_m: ROUTINE_RADIUS_M,
        needs_fresh_position: false,
        include_community: false,
    }
}

/// Offers a routine task to the best candidate nobody has offered it to yet; with
/// no candidate left, the task waits on the worker's board.
pub async fn offer_to_best(
    state: &AppState,
    txn: &impl ConnectionTrait,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<Option<i64>, ApiError> {
    let senior = seniors::Entity::find_by_id(task.senior_id).one(txn).await?.ok_or(ApiError::NotFound)?;
    let asked: Vec<(i64, i16)> = task_offers::Entity::find()
        .select_only()
        .column(task_offers::Column::ResponderId)
        .column(task_offers::Column::Round)
        .filter(task_offers::Column::TaskId.eq(task.id))
        .into_tuple()
        .all(txn)
        .await?;
    let skip: Vec<i64> = asked.iter().map(|a| a.0).collect();
    let round = asked.iter().map(|a| a.1).max().unwrap_or(0) + 1;
    let (found, _) = candidates::find(state, txn, &need_of(state, task, &senior), &skip).await?;
    match found.first() {
        Some(best) => {
            offer(txn, task, &[(best.responder_id, best.user_id, best.distance_m)], round, Urgency::Normal, now)
                .await?;
            if status_of(task) != TaskStatus::Offered {
                transition(
                    txn,
                    task,
                    TaskStatus::Offered,
                    "offered",
                    Actor::SYSTEM,
                    Note::details(json!({"round": round, "responders": [best.responder_id]})),
                    now,
                    |_| {},
                )
                .await?;
            } else {
                event(
                    txn,
                    task.id,
                    "offered",
                    None,
                    None,
                    Actor::SYSTEM,
                    Note::details(json!({"round": round, "responders": [best.responder_id]})),
                    now,
                )
                .await?;
            }
            Ok(Some(best.responder_id))
        }
        None => {
            if status_of(task) == TaskStatus::Offered {
                transition(
                    txn,
                    task,
                    TaskStatus::Created,
                    "unassigned",
                    Actor::SYSTEM,
                    Note::details(json!({"reason": "no candidate left"})),
                    now,
                    |_| {},
                )
                .await?;
            } else {
                event(
                    txn,
                    task.id,
                    "unassigned",
                    None,
                    None,
                    Actor::SYSTEM,
                    Note::details(json!({"reason": "no candidate"})),
                    now,
                )
                .await?;
            }
            notify::console(txn, task.community_id, "no_candidate", json!({"task_id": task.id}), now).await?;
            Ok(None)
        }
    }
}

/// A routine task not checked in by its deadline: first alert the worker, then
/// propose a replacement responder.
pub async fn missed(
    state: &AppState,
    txn: &impl ConnectionTrait,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if task.check_in_at.is_some() || status_of(task).is_terminal() {
        return Ok(());
    }
    let settings = &state.settings.dispatch;
    let Some(window_start) = task.window_start else { return Ok(()) };
    let (kind, level, next, details) = if task.escalation_level == 0 {
        let next = window_start + Duration::minutes(settings.missed_replace_minutes);
        (
            "missed_visit_alert",
            1,
            Some(next),
            json!({"minutes_late": settings.missed_alert_minutes, "assignee_id": task.assignee_id}),
        )
    } else {
        let senior = seniors::Entity::find_by_id(task.senior_id).one(txn).await?.ok_or(ApiError::NotFound)?;
        let mut need = need_of(state, task, &senior);
        need.when = When::Now(now);
        let skip: Vec<i64> = task.assignee_id.into_iter().collect();
        let (found, _) = candidates::find(state, txn, &need, &skip).await?;
        let proposal = found.first().map(|c| json!({"responder_id": c.responder_id, "eta_minutes": c.eta_minutes}));
        (
            "replacement_proposed",
            2,
            None,
            json!({"minutes_late": settings.missed_replace_minutes, "proposal": proposal}),
        )
    };
    let done = tasks::Entity::update_many()
        .col_expr(tasks::Column::EscalationLevel, Expr::value(level))
        .col_expr(tasks::Column::NextDeadlineAt, Expr::value(next))
        .col_expr(tasks::Column::Version, Expr::value(task.version + 1))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(tasks::Column::Id.eq(task.id))
        .filter(tasks::Column::Version.eq(task.version))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Ok(());
    }
    event(txn, task.id, kind, None, None, Actor::SYSTEM, Note::details(details.clone()), now).await?;
    let mut payload = details;
    payload["task_id"] = json!(task.id);
    notify::console(txn, task.community_id, kind, payload, now).await?;
    Ok(())
}
