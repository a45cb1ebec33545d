//! The task state machine, shared by every kind of task. Every transition is a
//! conditional update (on the version read, or on the state and assignee for
//! acceptance) plus a task event, in one transaction; an illegal transition is 409
//! naming the current state.

use chrono::{DateTime, Utc};
use entity::{alarms, seniors, task_events, task_offers, tasks};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use super::index::distance_m;
use super::kinds::{AlarmOutcome, FailureReason, TaskKind, TaskStatus};
use super::notify::{self, Urgency};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// Who made a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub kind: &'static str,
}

impl Actor {
    pub const SYSTEM: Actor = Actor { user_id: None, kind: "system" };

    pub fn of(caller: &Caller) -> Actor {
        match caller.role {
            Role::Device => Actor { user_id: None, kind: "device" },
            _ => Actor { user_id: caller.user_id.map(|u| u.0), kind: "user" },
        }
    }
}

/// What an event records besides its kind.
#[derive(Debug, Clone, Default)]
pub struct Note {
    pub position: Option<(f64, f64)>,
    pub details: Value,
}

impl Note {
    pub fn details(details: Value) -> Self {
        Self { position: None, details }
    }
}

pub fn status_of(task: &tasks::Model) -> TaskStatus {
    TaskStatus::parse(&task.status).unwrap_or(TaskStatus::Created)
}

pub fn kind_of(task: &tasks::Model) -> TaskKind {
    TaskKind::parse(&task.kind).unwrap_or(TaskKind::Companionship)
}

/// A new task in `created` with nothing assigned, no fee and no flags; callers set
/// what their kind needs (window, plan, deadline, details).
pub fn new_row(kind: TaskKind, senior_id: i64, community_id: i64, now: DateTime<Utc>) -> tasks::ActiveModel {
    tasks::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        senior_id: Set(senior_id),
        community_id: Set(community_id),
        priority: Set(5),
        status: Set(TaskStatus::Created.as_str().to_owned()),
        escalation_level: Set(0),
        visit_flagged: Set(false),
        fee_fen: Set(0),
        price_fen: Set(0),
        details: Set(json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
}

/// Appends one task event.
#[allow(clippy::too_many_arguments)]
pub async fn event(
    db: &impl ConnectionTrait,
    task_id: i64,
    kind: &str,
    from: Option<TaskStatus>,
    to: Option<TaskStatus>,
    actor: Actor,
    note: Note,
    at: DateTime<Utc>,
) -> Result<task_events::Model, ApiError> {
    let row = task_events::ActiveModel {
        task_id: Set(task_id),
        kind: Set(kind.to_owned()),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.map(|s| s.as_str().to_owned())),
        actor_user_id: Set(actor.user_id),
        actor_kind: Set(actor.kind.to_owned()),
        latitude: Set(note.position.map(|p| p.0)),
        longitude: Set(note.position.map(|p| p.1)),
        details: Set(if Value::is_null(&note.details) { json!({}) } else { note.details }),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row)
}

pub fn illegal(task: &tasks::Model, action: &str) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), task.status.clone().into());
    extra.insert("current_version".into(), task.version.into());
    ApiError::Conflict {
        code: "illegal-transition",
        detail: format!("The task is {}; it cannot {action}", task.status),
        extra: Some(extra),
    }
}

pub fn stale(task: &tasks::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), task.status.clone().into());
    extra.insert("current_version".into(), task.version.into());
    ApiError::Conflict {
        code: "stale-version",
        detail: "The task was changed by someone else; reload it".into(),
        extra: Some(extra),
    }
}

/// Moves `task` to `to` if the state machine allows it and nobody changed the task
/// since it was read; `change` sets any other columns. Returns the updated row.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    db: &impl ConnectionTrait,
    task: &tasks::Model,
    to: TaskStatus,
    event_kind: &str,
    actor: Actor,
    note: Note,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut tasks::ActiveModel),
) -> Result<tasks::Model, ApiError> {
    let from = status_of(task);
    // Staying put records an event (a check-out on site); a finished task stays finished.
    let stays = from == to && !from.is_terminal();
    if !stays && !from.can_become(to) {
        return Err(illegal(task, &format!("become {to}")));
    }
    let mut row = task.clone().into_active_model();
    row.status = Set(to.as_str().to_owned());
    row.updated_at = Set(now);
    row.version = Set(task.version + 1);
    if to.is_terminal() {
        row.next_deadline_at = Set(None);
    }
    change(&mut row);
    let done = tasks::Entity::update_many()
        .set(row)
        .filter(tasks::Column::Id.eq(task.id))
        .filter(tasks::Column::Version.eq(task.version))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        let current = tasks::Entity::find_by_id(task.id).one(db).await?.ok_or(ApiError::NotFound)?;
        return Err(stale(&current));
    }
    event(db, task.id, event_kind, Some(from), Some(to), actor, note, now).await?;
    tasks::Entity::find_by_id(task.id).one(db).await?.ok_or(ApiError::NotFound)
}

/// Withdraws every open offer of a task except `keep`, telling each responder.
pub async fn withdraw_offers(
    db: &impl ConnectionTrait,
    task_id: i64,
    keep: Option<i64>,
    why: &str,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut open = task_offers::Entity::find()
        .filter(task_offers::Column::TaskId.eq(task_id))
        .filter(task_offers::Column::Status.eq("open"));
    if let Some(keep) = keep {
        open = open.filter(task_offers::Column::ResponderId.ne(keep));
    }
    let open = open.find_also_related(entity::responders::Entity).all(db).await?;
    for (offer, responder) in &open {
        task_offers::Entity::update_many()
            .col_expr(task_offers::Column::Status, Expr::value("withdrawn"))
            .col_expr(task_offers::Column::RespondedAt, Expr::value(Some(now)))
            .filter(task_offers::Column::Id.eq(offer.id))
            .exec(db)
            .await?;
        if let Some(r) = responder {
            notify::push(
                db,
                r.user_id,
                "offer_withdrawn",
                &format!("task-{task_id}"),
                json!({"task_id": task_id, "reason": why}),
                Urgency::Normal,
                now,
            )
            .await?;
        }
    }
    Ok(open.len())
}

/// Offers a task to responders (round `round`), skipping anyone already offered it.
/// Returns how many new offers were made.
pub async fn offer(
    db: &impl ConnectionTrait,
    task: &tasks::Model,
    to: &[(i64, i64, f64)],
    round: i16,
    urgency: Urgency,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let already: Vec<i64> = task_offers::Entity::find()
        .filter(task_offers::Column::TaskId.eq(task.id))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.responder_id)
        .collect();
    let mut made = 0;
    for (responder_id, user_id, distance) in to {
        if already.contains(responder_id) {
            continue;
        }
        task_offers::ActiveModel {
            task_id: Set(task.id),
            responder_id: Set(*responder_id),
            status: Set("open".to_owned()),
            round: Set(round),
            distance_m: Set(Some(*distance)),
            offered_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        notify::push(
            db,
            *user_id,
            "offer",
            &format!("task-{}", task.id),
            json!({"task_id": task.id, "kind": task.kind, "distance_m": distance.round()}),
            urgency,
            now,
        )
        .await?;
        made += 1;
    }
    Ok(made)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskEventView {
    pub id: i64,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor_user_id: Option<i64>,
    pub actor_kind: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub at: DateTime<Utc>,
}

impl From<task_events::Model> for TaskEventView {
    fn from(e: task_events::Model) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            from_status: e.from_status,
            to_status: e.to_status,
            actor_user_id: e.actor_user_id,
            actor_kind: e.actor_kind,
            latitude: e.latitude,
            longitude: e.longitude,
            details: e.details,
            at: e.at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferView {
    pub responder_id: i64,
    pub status: String,
    pub round: i16,
    pub distance_m: Option<f64>,
    pub offered_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub kind: String,
    pub senior_id: i64,
    pub community_id: i64,
    pub plan_id: Option<i64>,
    pub service_date: Option<chrono::NaiveDate>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub priority: i16,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub escalation_level: i16,
    pub check_in_at: Option<DateTime<Utc>>,
    pub check_in_distance_m: Option<f64>,
    pub check_out_at: Option<DateTime<Utc>>,
    pub check_out_distance_m: Option<f64>,
    /// A check-in or check-out too far from the senior's home: review it.
    pub visit_flagged: bool,
    pub outcome: Option<String>,
    pub failure_reason: Option<String>,
    pub notes: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Who confirmed the visit took place (time bank), when, and on whose word:
    /// `senior`, `family` or `worker`.
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmation_source: Option<String>,
    pub version: i32,
    pub events: Vec<TaskEventView>,
    pub offers: Vec<OfferView>,
}

pub fn summary(t: tasks::Model) -> TaskView {
    TaskView {
        id: t.id,
        kind: t.kind,
        senior_id: t.senior_id,
        community_id: t.community_id,
        plan_id: t.plan_id,
        service_date: t.service_date,
        window_start: t.window_start,
        window_end: t.window_end,
        priority: t.priority,
        status: t.status,
        assignee_id: t.assignee_id,
        escalation_level: t.escalation_level,
        check_in_at: t.check_in_at,
        check_in_distance_m: t.check_in_distance_m,
        check_out_at: t.check_out_at,
        check_out_distance_m: t.check_out_distance_m,
        visit_flagged: t.visit_flagged,
        outcome: t.outcome,
        failure_reason: t.failure_reason,
        notes: t.notes,
        details: t.details,
        created_at: t.created_at,
        completed_at: t.completed_at,
        confirmed_by: t.confirmed_by,
        confirmed_at: t.confirmed_at,
        confirmation_source: t.confirmation_source,
        version: t.version,
        events: Vec::new(),
        offers: Vec::new(),
    }
}

/// A task with its events and offers.
pub async fn view(db: &impl ConnectionTrait, task: tasks::Model) -> Result<TaskView, ApiError> {
    let (events, offers) = futures_util::try_join!(
        task_events::Entity::find()
            .filter(task_events::Column::TaskId.eq(task.id))
            .order_by_asc(task_events::Column::Id)
            .all(db),
        task_offers::Entity::find()
            .filter(task_offers::Column::TaskId.eq(task.id))
            .order_by_asc(task_offers::Column::Id)
            .all(db),
    )?;
    let mut v = summary(task);
    v.events = events.into_iter().map(TaskEventView::from).collect();
    v.offers = offers
        .into_iter()
        .map(|o| OfferView {
            responder_id: o.responder_id,
            status: o.status,
            round: o.round,
            distance_m: o.distance_m,
            offered_at: o.offered_at,
            responded_at: o.responded_at,
        })
        .collect();
    Ok(v)
}

/// Loads a task the caller may see: workers their communities, responders the tasks
/// they hold or were offered, admins everything.
pub async fn find_visible(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> Result<tasks::Model, ApiError> {
    let task = tasks::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    match caller.role {
        Role::Admin => Ok(task),
        Role::Worker => {
            caller.scope(CommunityId(task.community_id))?;
            Ok(task)
        }
        Role::Caregiver | Role::Volunteer => {
            let me = super::responders::of_caller(db, caller).await?;
            let offered = task_offers::Entity::find()
                .filter(task_offers::Column::TaskId.eq(id))
                .filter(task_offers::Column::ResponderId.eq(me.id))
                .one(db)
                .await?
                .is_some();
            if task.assignee_id == Some(me.id) || offered { Ok(task) } else { Err(ApiError::NotFound) }
        }
        _ => Err(ApiError::Forbidden),
    }
}

fn taken(task: &tasks::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), task.status.clone().into());
    ApiError::Conflict {
        code: "already-taken",
        detail: "Someone else accepted this task first".into(),
        extra: Some(extra),
    }
}

/// The calling responder accepts an offer. The first acceptance wins: the update is
/// conditional on the task still being unassigned (inside an immediate transaction
/// on SQLite), so concurrent acceptances get exactly one winner.
pub async fn accept(state: &AppState, caller: &Caller, id: i64) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let me = super::responders::of_caller(&txn, caller).await?;
    let task = tasks::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    let offer = task_offers::Entity::find()
        .filter(task_offers::Column::TaskId.eq(id))
        .filter(task_offers::Column::ResponderId.eq(me.id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    if task.assignee_id.is_some_and(|a| a != me.id) || offer.status == "withdrawn" {
        return Err(taken(&task));
    }
    if task.assignee_id == Some(me.id) {
        return Ok(task);
    }
    if offer.status != "open" {
        return Err(illegal(&task, &format!("be accepted on an offer that is {}", offer.status)));
    }
    let open_states = [TaskStatus::Created, TaskStatus::Offered, TaskStatus::Escalated];
    let kind = kind_of(&task);
    let won = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(TaskStatus::Accepted.as_str()))
        .col_expr(tasks::Column::AssigneeId, Expr::value(Some(me.id)))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .col_expr(tasks::Column::Version, Expr::col(tasks::Column::Version).add(1))
        .col_expr(
            tasks::Column::NextDeadlineAt,
            Expr::value(if kind == TaskKind::Emergency { None } else { task.next_deadline_at }),
        )
        .filter(tasks::Column::Id.eq(id))
        .filter(tasks::Column::AssigneeId.is_null())
        .filter(tasks::Column::Status.is_in(open_states.iter().map(|s| s.as_str())))
        .exec(&txn)
        .await?;
    if won.rows_affected != 1 {
        let current = tasks::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        return Err(if current.assignee_id.is_some() { taken(&current) } else { illegal(&current, "be accepted") });
    }
    task_offers::Entity::update_many()
        .col_expr(task_offers::Column::Status, Expr::value("accepted"))
        .col_expr(task_offers::Column::RespondedAt, Expr::value(Some(now)))
        .filter(task_offers::Column::Id.eq(offer.id))
        .exec(&txn)
        .await?;
    withdraw_offers(&txn, id, Some(me.id), "taken", now).await?;
    event(
        &txn,
        id,
        "accepted",
        Some(status_of(&task)),
        Some(TaskStatus::Accepted),
        Actor::of(caller),
        Note::details(json!({"responder_id": me.id})),
        now,
    )
    .await?;
    if kind == TaskKind::Emergency {
        alarms::Entity::update_many()
            .col_expr(alarms::Column::AcceptedAt, Expr::value(Some(now)))
            .filter(alarms::Column::TaskId.eq(id))
            .filter(alarms::Column::AcceptedAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    state.events.notify_waiters();
    metrics::counter!("linli_task_accepted_total", "kind" => kind.as_str()).increment(1);
    tasks::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)
}

/// The calling responder declines an offer. A routine task whose offers are all
/// declined goes to the next candidate, or back to the worker's board.
pub async fn decline(state: &AppState, caller: &Caller, id: i64) -> Result<(), ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let me = super::responders::of_caller(&txn, caller).await?;
    let task = tasks::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    let declined = task_offers::Entity::update_many()
        .col_expr(task_offers::Column::Status, Expr::value("declined"))
        .col_expr(task_offers::Column::RespondedAt, Expr::value(Some(now)))
        .filter(task_offers::Column::TaskId.eq(id))
        .filter(task_offers::Column::ResponderId.eq(me.id))
        .filter(task_offers::Column::Status.eq("open"))
        .exec(&txn)
        .await?;
    if declined.rows_affected != 1 {
        return Err(ApiError::NotFound);
    }
    event(&txn, id, "declined", None, None, Actor::of(caller), Note::details(json!({"responder_id": me.id})), now)
        .await?;
    let open_left = task_offers::Entity::find()
        .filter(task_offers::Column::TaskId.eq(id))
        .filter(task_offers::Column::Status.eq("open"))
        .one(&txn)
        .await?
        .is_some();
    if !open_left && status_of(&task) == TaskStatus::Offered && kind_of(&task).is_routine() {
        let task = tasks::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        super::plans::offer_to_best(state, &txn, &task, now).await?;
    }
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(())
}

/// A position reported at the door.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct Position {
    #[validate(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: f64,
    #[validate(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: f64,
    #[validate(range(min = 0.0, max = 10000.0))]
    #[schema(minimum = 0.0, maximum = 10000.0)]
    pub accuracy_m: Option<f64>,
    /// When it happened on the phone, if it is sent later (an offline queue); at most
    /// 12 hours old and not in the future. Default: when the server receives it.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Position {
    /// The time to record: the phone's, when it is believable.
    fn time(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
        match self.recorded_at {
            None => Ok(now),
            Some(at) if at <= now + chrono::Duration::minutes(2) && at >= now - chrono::Duration::hours(12) => {
                Ok(Ord::min(at, now))
            }
            Some(_) => Err(ApiError::field("recorded_at", "implausible", "must be within the last 12 hours")),
        }
    }
}

async fn held_by_caller(
    db: &impl ConnectionTrait,
    caller: &Caller,
    id: i64,
) -> Result<(tasks::Model, seniors::Model), ApiError> {
    let me = super::responders::of_caller(db, caller).await?;
    let task = tasks::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    if task.assignee_id != Some(me.id) {
        return Err(ApiError::NotFound);
    }
    let senior = seniors::Entity::find_by_id(task.senior_id).one(db).await?.ok_or(ApiError::NotFound)?;
    Ok((task, senior))
}

/// On the way: accepted -> en route.
pub async fn start(state: &AppState, caller: &Caller, id: i64) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (task, _) = held_by_caller(&txn, caller, id).await?;
    if status_of(&task) != TaskStatus::Accepted {
        return Err(illegal(&task, "set off again"));
    }
    let task =
        transition(&txn, &task, TaskStatus::EnRoute, "en_route", Actor::of(caller), Note::default(), now, |_| {})
            .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(task)
}

/// Arrival: records time and position and the distance to the senior's home; a
/// check-in beyond the configured distance is flagged for review, never refused.
pub async fn check_in(state: &AppState, caller: &Caller, id: i64, at: Position) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (task, senior) = held_by_caller(&txn, caller, id).await?;
    if status_of(&task) == TaskStatus::OnSite {
        return Err(illegal(&task, "check in twice"));
    }
    let at_time = at.time(now)?;
    let distance = distance_m((at.latitude, at.longitude), (senior.latitude, senior.longitude)).round();
    let far = distance > state.settings.dispatch.visit_max_distance_m;
    let note = Note {
        position: Some((at.latitude, at.longitude)),
        details: json!({"distance_m": distance, "accuracy_m": at.accuracy_m, "flagged": far, "recorded_at": at_time}),
    };
    let task = transition(&txn, &task, TaskStatus::OnSite, "check_in", Actor::of(caller), note, now, |row| {
        row.check_in_at = Set(Some(at_time));
        row.check_in_latitude = Set(Some(at.latitude));
        row.check_in_longitude = Set(Some(at.longitude));
        row.check_in_distance_m = Set(Some(distance));
        row.next_deadline_at = Set(None);
        if far {
            row.visit_flagged = Set(true);
        }
    })
    .await?;
    if kind_of(&task) == TaskKind::Emergency {
        alarms::Entity::update_many()
            .col_expr(alarms::Column::ArrivedAt, Expr::value(Some(now)))
            .filter(alarms::Column::TaskId.eq(id))
            .filter(alarms::Column::ArrivedAt.is_null())
            .exec(&txn)
            .await?;
    }
    if far {
        notify::console(&txn, task.community_id, "visit_flagged", json!({"task_id": id, "distance_m": distance}), now)
            .await?;
    }
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(task)
}

/// Leaving: records time, position and distance (flagged like a check-in).
pub async fn check_out(state: &AppState, caller: &Caller, id: i64, at: Position) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (task, senior) = held_by_caller(&txn, caller, id).await?;
    if status_of(&task) != TaskStatus::OnSite {
        return Err(illegal(&task, "check out before checking in"));
    }
    if task.check_out_at.is_some() {
        return Err(illegal(&task, "check out twice"));
    }
    let at_time = at.time(now)?;
    let distance = distance_m((at.latitude, at.longitude), (senior.latitude, senior.longitude)).round();
    let far = distance > state.settings.dispatch.visit_max_distance_m;
    let note = Note {
        position: Some((at.latitude, at.longitude)),
        details: json!({"distance_m": distance, "accuracy_m": at.accuracy_m, "flagged": far, "recorded_at": at_time}),
    };
    let task = transition(&txn, &task, TaskStatus::OnSite, "check_out", Actor::of(caller), note, now, |row| {
        row.check_out_at = Set(Some(Ord::max(at_time, task.check_in_at.unwrap_or(at_time))));
        row.check_out_latitude = Set(Some(at.latitude));
        row.check_out_longitude = Set(Some(at.longitude));
        row.check_out_distance_m = Set(Some(distance));
        if far {
            row.visit_flagged = Set(true);
        }
    })
    .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(task)
}

/// The body of `POST /api/v1/tasks/{id}/complete`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CompleteInput {
    /// For emergencies: `false_alarm`, `helped_at_home` or `sent_to_hospital`.
    /// For routine visits: free text, e.g. `done`.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub outcome: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    /// Vital signs taken at a nursing visit (each optional, each within a plausible range).
    #[validate(nested)]
    pub vitals: Option<Vitals>,
}

/// Vital signs; a value outside its range is a typing mistake, not a reading.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
pub struct Vitals {
    /// mmHg
    #[validate(range(min = 60, max = 260, message = "systolic pressure is 60 to 260 mmHg"))]
    #[schema(minimum = 60, maximum = 260)]
    pub systolic: Option<u16>,
    /// mmHg
    #[validate(range(min = 30, max = 160, message = "diastolic pressure is 30 to 160 mmHg"))]
    #[schema(minimum = 30, maximum = 160)]
    pub diastolic: Option<u16>,
    /// beats per minute
    #[validate(range(min = 30, max = 220, message = "pulse is 30 to 220 per minute"))]
    #[schema(minimum = 30, maximum = 220)]
    pub pulse: Option<u16>,
    /// °C
    #[validate(range(min = 34.0, max = 42.5, message = "temperature is 34.0 to 42.5 °C"))]
    #[schema(minimum = 34.0, maximum = 42.5)]
    pub temperature: Option<f64>,
    /// %
    #[validate(range(min = 50, max = 100, message = "SpO2 is 50 to 100 %"))]
    #[schema(minimum = 50, maximum = 100)]
    pub spo2: Option<u8>,
    /// Blood glucose, mmol/L.
    #[validate(range(min = 1.0, max = 35.0, message = "glucose is 1.0 to 35.0 mmol/L"))]
    #[schema(minimum = 1.0, maximum = 35.0)]
    pub glucose: Option<f64>,
}

/// Completion by the responder on site. A routine visit needs its check-out (the
/// six elements of a verified visit); an emergency closes its alarm with the outcome.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: CompleteInput,
) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (task, _) = held_by_caller(&txn, caller, id).await?;
    let kind = kind_of(&task);
    if kind == TaskKind::Emergency && AlarmOutcome::parse(&input.outcome).is_none() {
        return Err(ApiError::field("outcome", "invalid", format!("one of {}", AlarmOutcome::choices())));
    }
    if status_of(&task) == TaskStatus::OnSite && kind.is_routine() && task.check_out_at.is_none() {
        return Err(illegal(&task, "be completed before the check-out"));
    }
    let notes = input.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(v) = &input.vitals
        && let (Some(sys), Some(dia)) = (v.systolic, v.diastolic)
        && dia >= sys
    {
        return Err(ApiError::field("vitals.diastolic", "invalid", "must be below the systolic pressure"));
    }
    let vitals = input.vitals.as_ref().map(|v| serde_json::to_value(v).unwrap_or_default());
    let note = Note::details(json!({"outcome": input.outcome, "vitals": vitals}));
    let mut details = task.details.clone();
    if let (Some(map), Some(v)) = (details.as_object_mut(), vitals) {
        map.insert("vitals".into(), v);
    }
    let task = transition(&txn, &task, TaskStatus::Completed, "completed", Actor::of(caller), note, now, |row| {
        row.outcome = Set(Some(input.outcome.clone()));
        row.notes = Set(notes);
        row.details = Set(details);
        row.completed_at = Set(Some(now));
        if kind == TaskKind::Emergency {
            row.check_out_at = Set(task.check_out_at.or(Some(now)));
        }
    })
    .await?;
    if kind == TaskKind::Emergency {
        alarms::Entity::update_many()
            .col_expr(alarms::Column::Outcome, Expr::value(Some(input.outcome)))
            .col_expr(alarms::Column::Stage, Expr::value("closed"))
            .col_expr(alarms::Column::ClosedAt, Expr::value(Some(now)))
            .filter(alarms::Column::TaskId.eq(id))
            .exec(&txn)
            .await?;
    }
    crate::timebank::earning::on_completed(state, &txn, &task, now).await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(task)
}

/// The body of `POST /api/v1/tasks/{id}/fail`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct FailInput {
    pub reason: FailureReason,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// The visit could not happen. A meal courier who finds nobody at home opens a
/// welfare check in the same transaction.
pub async fn fail(state: &AppState, caller: &Caller, id: i64, input: FailInput) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (task, _) = held_by_caller(&txn, caller, id).await?;
    let position = input.latitude.zip(input.longitude);
    let note = Note { position, details: json!({"reason": input.reason.as_str()}) };
    let notes = input.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let task = transition(&txn, &task, TaskStatus::Failed, "failed", Actor::of(caller), note, now, |row| {
        row.failure_reason = Set(Some(input.reason.as_str().to_owned()));
        row.notes = Set(notes);
    })
    .await?;
    if kind_of(&task) == TaskKind::MealDelivery && input.reason == FailureReason::NotHome {
        super::welfare::open(state, &txn, &task, now).await?;
    }
    crate::timebank::redemption::release_for_task(&txn, id, now).await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(task)
}

/// The body of worker actions on a task: the version read, and why.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct WorkerAction {
    pub version: i32,
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
    /// For `assign`: the responder who takes the task.
    pub responder_id: Option<i64>,
}

/// A worker assigns (or reassigns) a task by hand, with the reason recorded.
pub async fn assign(state: &AppState, caller: &Caller, id: i64, input: WorkerAction) -> Result<tasks::Model, ApiError> {
    let responder_id =
        input.responder_id.ok_or_else(|| ApiError::field("responder_id", "required", "name the responder"))?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let task = find_visible(&txn, caller, id).await?;
    if task.version != input.version {
        return Err(stale(&task));
    }
    let responder = entity::responders::Entity::find_by_id(responder_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::field("responder_id", "unknown", "no such responder"))?;
    let serves = entity::responder_communities::Entity::find()
        .filter(entity::responder_communities::Column::ResponderId.eq(responder_id))
        .filter(entity::responder_communities::Column::CommunityId.eq(task.community_id))
        .one(&txn)
        .await?
        .is_some();
    if !serves {
        return Err(ApiError::field(
            "responder_id",
            "other_community",
            "this responder does not serve the task's community",
        ));
    }
    let status = status_of(&task);
    if status.is_terminal() || status == TaskStatus::OnSite {
        return Err(illegal(&task, "be reassigned"));
    }
    let previous = task.assignee_id;
    // Reassignment passes through `created` so the state machine stays one graph.
    let mut current = task.clone();
    if status.is_active() {
        current = transition(
            &txn,
            &current,
            TaskStatus::Created,
            "unassigned",
            Actor::of(caller),
            Note::default(),
            now,
            |row| {
                row.assignee_id = Set(None);
            },
        )
        .await?;
    }
    withdraw_offers(&txn, id, None, "reassigned", now).await?;
    let reason = input.reason.trim().to_owned();
    let note = Note::details(json!({"responder_id": responder_id, "previous": previous, "reason": reason}));
    let updated = transition(&txn, &current, TaskStatus::Accepted, "assigned", Actor::of(caller), note, now, |row| {
        row.assignee_id = Set(Some(responder_id));
    })
    .await?;
    notify::push(
        &txn,
        responder.user_id,
        "assigned",
        &format!("task-{id}"),
        json!({"task_id": id, "kind": updated.kind}),
        Urgency::Normal,
        now,
    )
    .await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("task.assign", "task", Some(id.to_string())).reason(reason),
    )
    .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(updated)
}

/// A worker cancels a task, with the reason recorded.
pub async fn cancel(state: &AppState, caller: &Caller, id: i64, input: WorkerAction) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let task = find_visible(&txn, caller, id).await?;
    if task.version != input.version {
        return Err(stale(&task));
    }
    let reason = input.reason.trim().to_owned();
    let updated = transition(
        &txn,
        &task,
        TaskStatus::Cancelled,
        "cancelled",
        Actor::of(caller),
        Note::details(json!({"reason": reason})),
        now,
        |_| {},
    )
    .await?;
    withdraw_offers(&txn, id, None, "cancelled", now).await?;
    crate::timebank::redemption::release_for_task(&txn, id, now).await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("task.cancel", "task", Some(id.to_string())).reason(reason),
    )
    .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(updated)
}
