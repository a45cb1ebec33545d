//! Emergency bells (急救铃): device keys, alarm intake and escalation.
//!
//! An alarm is stored, with its task and the first offers, before the API answers
//! 202. Escalation steps are deadlines on the task, swept by every instance, so they
//! survive a restart: no acceptance by `emergency_widen_secs` widens the offer and
//! alerts the console; none by `emergency_family_secs` notifies the family contacts
//! in call order and flags the alarm for the worker to call 120.

use chrono::{DateTime, Duration, Utc};
use entity::{alarms, contacts, devices, seniors, tasks};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use validator::Validate;

use super::candidates::{self, Need, When};
use super::kinds::{AlarmOutcome, TaskKind, TaskStatus};
use super::notify::{self, SmsTo, Urgency};
use super::tasks::{Actor, Note, event, offer, status_of, transition};
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The body of `POST /api/v1/devices`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct DeviceInput {
    pub senior_id: i64,
    /// A name for the device, e.g. `卧室急救铃`.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedDevice {
    pub id: i64,
    /// Shown once: the device sends it as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    pub api_key_prefix: String,
}

/// Registers an emergency bell for a senior and issues its key.
pub async fn create_device(state: &AppState, caller: &Caller, input: DeviceInput) -> Result<CreatedDevice, ApiError> {
    let senior = crate::registry::service::find_visible(&state.db, caller, input.senior_id)
        .await
        .map_err(|_| ApiError::field("senior_id", "unknown", "is not a senior in your communities"))?;
    let api_key = format!("lld_{}", crate::crypto::new_token());
    let prefix: String = api_key.chars().take(8).collect();
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let row = devices::ActiveModel {
        senior_id: Set(senior.id),
        label: Set(input.label.unwrap_or_else(|| "急救铃".to_owned())),
        api_key_hash: Set(crate::crypto::token_hash(&api_key)),
        api_key_prefix: Set(prefix.clone()),
        created_by: Set(caller.user_id.map(|u| u.0)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    seniors::Entity::update_many()
        .col_expr(seniors::Column::HasBell, Expr::value(true))
        .filter(seniors::Column::Id.eq(senior.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("device.create", "senior", Some(senior.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedDevice { id: row.id, api_key, api_key_prefix: prefix })
}

/// The body of `POST /api/v1/alarms`.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
pub struct AlarmInput {
    /// The device's own id for this press: the idempotency key.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters long"))]
    #[schema(min_length = 1, max_length = 100)]
    pub event_id: String,
    /// When the button was pressed, by the device's clock.
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmAccepted {
    pub alarm_id: i64,
    pub task_id: i64,
    /// How many responders were offered the task at once.
    pub offered: usize,
    /// True when this answers a repeat of an earlier request.
    pub replayed: bool,
}

fn request_hash(input: &AlarmInput) -> String {
    let canonical = json!({"event_id": input.event_id, "occurred_at": input.occurred_at});
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

async fn replay(
    db: &impl ConnectionTrait,
    device_id: i64,
    input: &AlarmInput,
    hash: &str,
) -> Result<Option<AlarmAccepted>, ApiError> {
    let Some(existing) = alarms::Entity::find()
        .filter(alarms::Column::DeviceId.eq(device_id))
        .filter(alarms::Column::EventId.eq(input.event_id.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if existing.request_hash != hash {
        return Err(ApiError::field(
            "event_id",
            "idempotency_mismatch",
            "this event_id was already used with a different body",
        ));
    }
    Ok(Some(AlarmAccepted {
        alarm_id: existing.id,
        task_id: existing.task_id.unwrap_or_default(),
        offered: 0,
        replayed: true,
    }))
}

/// Takes an alarm from a device: stored with its task and first offers before
/// answering. A repeat with the same `event_id` returns the original result.
pub async fn intake(state: &AppState, caller: &Caller, input: AlarmInput) -> Result<AlarmAccepted, ApiError> {
    let device_id = caller.device_id.ok_or(ApiError::Forbidden)?;
    let hash = request_hash(&input);
    if let Some(done) = replay(&state.db, device_id, &input, &hash).await? {
        return Ok(done);
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let device = devices::Entity::find_by_id(device_id).one(&txn).await?.ok_or(ApiError::Unauthenticated)?;
    let senior = seniors::Entity::find_by_id(device.senior_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    if let Some(done) = replay(&txn, device_id, &input, &hash).await? {
        return Ok(done);
    }
    let deadline = now + Duration::seconds(state.settings.dispatch.emergency_widen_secs);
    let task = tasks::ActiveModel {
        service_date: Set(Some(now.with_timezone(&state.settings.tz()).date_naive())),
        priority: Set(0),
        next_deadline_at: Set(Some(deadline)),
        details: Set(json!({"device_id": device_id})),
        ..super::tasks::new_row(TaskKind::Emergency, senior.id, senior.community_id, now)
    }
    .insert(&txn)
    .await?;
    let alarm = alarms::ActiveModel {
        device_id: Set(device_id),
        senior_id: Set(senior.id),
        community_id: Set(senior.community_id),
        event_id: Set(input.event_id.clone()),
        request_hash: Set(hash.clone()),
        task_id: Set(Some(task.id)),
        occurred_at: Set(input.occurred_at),
        received_at: Set(now),
        stage: Set("offered".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let alarm = match alarm {
        Ok(a) => a,
        Err(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            drop(txn);
            return replay(&state.db, device_id, &input, &hash).await?.ok_or(ApiError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    event(
        &txn,
        task.id,
        "created",
        None,
        Some(TaskStatus::Created),
        Actor::of(caller),
        Note::details(json!({"alarm_id": alarm.id})),
        now,
    )
    .await?;
    let need = Need {
        kind: TaskKind::Emergency,
        senior_id: senior.id,
        community_id: senior.community_id,
        point: (senior.latitude, senior.longitude),
        when: When::Now(now),
        radius_m: state.settings.dispatch.emergency_radius_m,
        needs_fresh_position: true,
        include_community: false,
    };
    let (found, _) = candidates::find(state, &txn, &need, &[]).await?;
    let mut nearest = found;
    nearest.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    nearest.truncate(state.settings.dispatch.emergency_offer_count);
    let to: Vec<(i64, i64, f64)> = nearest.iter().map(|c| (c.responder_id, c.user_id, c.distance_m)).collect();
    let offered = offer(&txn, &task, &to, 1, Urgency::High, now).await?;
    if offered > 0 {
        transition(
            &txn,
            &task,
            TaskStatus::Offered,
            "offered",
            Actor::SYSTEM,
            Note::details(json!({"round": 1, "responders": to.iter().map(|t| t.0).collect::<Vec<_>>()})),
            now,
            |_| {},
        )
        .await?;
    }
    notify::console(&txn, senior.community_id, "alarm", json!({"alarm_id": alarm.id, "task_id": task.id}), now).await?;
    devices::Entity::update_many()
        .col_expr(devices::Column::LastSeenAt, Expr::value(Some(now)))
        .filter(devices::Column::Id.eq(device_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    metrics::counter!("linli_alarms_total").increment(1);
    tracing::info!(alarm.id = alarm.id, task.id = task.id, offered, "alarm received");
    Ok(AlarmAccepted { alarm_id: alarm.id, task_id: task.id, offered, replayed: false })
}

/// One escalation step of an emergency task whose deadline has passed; called by
/// the sweeper inside the transaction that claimed the deadline.
pub async fn escalate(
    state: &AppState,
    txn: &impl ConnectionTrait,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(alarm) = alarms::Entity::find().filter(alarms::Column::TaskId.eq(task.id)).one(txn).await? else {
        return Ok(());
    };
    if task.assignee_id.is_some() || alarm.accepted_at.is_some() || status_of(task).is_terminal() {
        return Ok(());
    }
    let senior = seniors::Entity::find_by_id(task.senior_id).one(txn).await?.ok_or(ApiError::NotFound)?;
    let settings = &state.settings.dispatch;
    match alarm.stage.as_str() {
        "offered" => {
            // Widen: farther responders, and every on-duty responder of the community.
            let need = Need {
                kind: TaskKind::Emergency,
                senior_id: senior.id,
                community_id: senior.community_id,
                point: (senior.latitude, senior.longitude),
                when: When::Now(now),
                radius_m: settings.emergency_widened_radius_m,
                needs_fresh_position: true,
                include_community: true,
            };
            let (found, excluded) = candidates::find(state, txn, &need, &[]).await?;
            let mut to: Vec<(i64, i64, f64)> =
                found.iter().map(|c| (c.responder_id, c.user_id, c.distance_m)).collect();
            // On-duty staff of the community without a fresh position still hear of it.
            for x in excluded {
                let Some(e) = state.responders.get(x.responder_id) else { continue };
                if e.on_duty
                    && e.serves(senior.community_id)
                    && x.reasons.iter().all(|r| r == "stale_position" || r == "no_position" || r == "too_far")
                {
                    // Without a fresh position, the distance from home is the best guess.
                    let from_home = super::index::distance_m(e.home, (senior.latitude, senior.longitude));
                    to.push((e.id, e.user_id, x.distance_m.unwrap_or(from_home).round()));
                }
            }
            let made = offer(txn, task, &to, 2, Urgency::High, now).await?;
            let deadline = alarm.received_at + Duration::seconds(settings.emergency_family_secs);
            transition(
                txn,
                task,
                TaskStatus::Escalated,
                "escalated",
                Actor::SYSTEM,
                Note::details(json!({"stage": "widened", "new_offers": made})),
                now,
                |row| {
                    row.escalation_level = Set(1);
                    row.next_deadline_at = Set(Some(deadline));
                },
            )
            .await?;
            alarms::Entity::update_many()
                .col_expr(alarms::Column::Stage, Expr::value("widened"))
                .filter(alarms::Column::Id.eq(alarm.id))
                .exec(txn)
                .await?;
            notify::console(
                txn,
                senior.community_id,
                "alarm_unanswered",
                json!({"alarm_id": alarm.id, "task_id": task.id, "seconds": settings.emergency_widen_secs}),
                now,
            )
            .await?;
        }
        "widened" => {
            let family = contacts::Entity::find()
                .filter(contacts::Column::SeniorId.eq(senior.id))
                .order_by_asc(contacts::Column::CallOrder)
                .order_by_asc(contacts::Column::Id)
                .all(txn)
                .await?;
            for (i, c) in family.iter().enumerate() {
                notify::sms(
                    txn,
                    SmsTo::Contact(c.id),
                    "alarm_family",
                    "【邻里】您的家人按响了急救铃，暂无服务人员接单，请立即联系或前往。",
                    senior.community_id,
                    now,
                )
                .await?;
                event(
                    txn,
                    task.id,
                    "family_notified",
                    None,
                    None,
                    Actor::SYSTEM,
                    Note::details(json!({"contact_id": c.id, "call_order": c.call_order, "position": i + 1})),
                    now,
                )
                .await?;
            }
            transition(
                txn,
                task,
                TaskStatus::Escalated,
                "call_120_flagged",
                Actor::SYSTEM,
                Note::details(json!({"stage": "family", "contacts": family.len()})),
                now,
                |row| {
                    row.escalation_level = Set(2);
                    row.next_deadline_at = Set(None);
                },
            )
            .await?;
            alarms::Entity::update_many()
                .col_expr(alarms::Column::Stage, Expr::value("family"))
                .col_expr(alarms::Column::FamilyNotifiedAt, Expr::value(Some(now)))
                .col_expr(alarms::Column::Call120FlaggedAt, Expr::value(Some(now)))
                .filter(alarms::Column::Id.eq(alarm.id))
                .exec(txn)
                .await?;
            notify::console(
                txn,
                senior.community_id,
                "call_120",
                json!({"alarm_id": alarm.id, "task_id": task.id}),
                now,
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlarmView {
    pub id: i64,
    pub senior_id: i64,
    pub community_id: i64,
    pub task_id: Option<i64>,
    pub event_id: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// `offered`, `widened`, `family` or `closed`.
    pub stage: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub family_notified_at: Option<DateTime<Utc>>,
    pub call_120_flagged_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<alarms::Model> for AlarmView {
    fn from(a: alarms::Model) -> Self {
        Self {
            id: a.id,
            senior_id: a.senior_id,
            community_id: a.community_id,
            task_id: a.task_id,
            event_id: a.event_id,
            occurred_at: a.occurred_at,
            received_at: a.received_at,
            stage: a.stage,
            accepted_at: a.accepted_at,
            arrived_at: a.arrived_at,
            family_notified_at: a.family_notified_at,
            call_120_flagged_at: a.call_120_flagged_at,
            outcome: a.outcome,
            closed_at: a.closed_at,
        }
    }
}

/// The body of `POST /api/v1/alarms/{id}/close`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CloseInput {
    /// The task's version the worker saw: a change made meanwhile is 409, not overwritten.
    pub version: i32,
    pub outcome: AlarmOutcome,
    #[validate(length(max = 2000, message = "must be at most 2000 characters long"))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// Who a logged call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Callee {
    Senior,
    Contact,
    /// The 120 emergency service.
    #[serde(rename = "emergency_120")]
    Emergency120,
}

impl Callee {
    fn as_str(self) -> &'static str {
        match self {
            Callee::Senior => "senior",
            Callee::Contact => "contact",
            Callee::Emergency120 => "emergency_120",
        }
    }
}

/// The body of `POST /api/v1/alarms/{id}/calls`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CallInput {
    pub callee: Callee,
    /// Required when `callee` is `contact`: one of the senior's contacts.
    pub contact_id: Option<i64>,
    /// Whether somebody answered.
    pub reached: bool,
    #[validate(length(max = 500, message = "must be at most 500 characters long"))]
    #[schema(max_length = 500)]
    pub notes: Option<String>,
}

/// One alarm the caller may see (404 outside their communities).
pub async fn find_visible(state: &AppState, caller: &Caller, id: i64) -> Result<alarms::Model, ApiError> {
    visible_alarm(&state.db, caller, id).await
}

async fn visible_alarm(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> Result<alarms::Model, ApiError> {
    let alarm = alarms::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(crate::auth::CommunityId(alarm.community_id))?;
    Ok(alarm)
}

fn closed_already(alarm: &alarms::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_stage".into(), alarm.stage.clone().into());
    ApiError::Conflict { code: "alarm-closed", detail: "The alarm is already closed".into(), extra: Some(extra) }
}

/// A worker closes an alarm with its outcome, whatever stage it is in: the senior was
/// reached by phone, the family or 120 took over, or the responder on site reported
/// back. The task ends `completed`, open offers are withdrawn, and the closure is
/// audited. The task's `version` must be the one the worker saw.
pub async fn close(state: &AppState, caller: &Caller, id: i64, input: CloseInput) -> Result<alarms::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let alarm = visible_alarm(&txn, caller, id).await?;
    if alarm.closed_at.is_some() {
        return Err(closed_already(&alarm));
    }
    let task_id = alarm.task_id.ok_or(ApiError::NotFound)?;
    let task = tasks::Entity::find_by_id(task_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    if task.version != input.version {
        return Err(super::tasks::stale(&task));
    }
    if status_of(&task).is_terminal() {
        return Err(super::tasks::illegal(&task, "be closed again"));
    }
    let notes = input.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let outcome = input.outcome.as_str();
    let done = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(TaskStatus::Completed.as_str()))
        .col_expr(tasks::Column::Outcome, Expr::value(Some(outcome)))
        .col_expr(tasks::Column::Notes, Expr::value(notes.clone()))
        .col_expr(tasks::Column::CompletedAt, Expr::value(Some(now)))
        .col_expr(tasks::Column::NextDeadlineAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .col_expr(tasks::Column::Version, Expr::value(task.version + 1))
        .filter(tasks::Column::Id.eq(task.id))
        .filter(tasks::Column::Version.eq(task.version))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        let current = tasks::Entity::find_by_id(task.id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        return Err(super::tasks::stale(&current));
    }
    event(
        &txn,
        task.id,
        "resolved",
        Some(status_of(&task)),
        Some(TaskStatus::Completed),
        Actor::of(caller),
        Note::details(json!({"outcome": outcome, "by": "worker"})),
        now,
    )
    .await?;
    super::tasks::withdraw_offers(&txn, task.id, None, "closed", now).await?;
    if let Some(holder) = task.assignee_id
        && let Some(r) = entity::responders::Entity::find_by_id(holder).one(&txn).await?
    {
        notify::push(
            &txn,
            r.user_id,
            "closed",
            &format!("task-{}", task.id),
            json!({"task_id": task.id, "kind": task.kind, "outcome": outcome}),
            Urgency::Normal,
            now,
        )
        .await?;
    }
    alarms::Entity::update_many()
        .col_expr(alarms::Column::Outcome, Expr::value(Some(outcome)))
        .col_expr(alarms::Column::Stage, Expr::value("closed"))
        .col_expr(alarms::Column::ClosedAt, Expr::value(Some(now)))
        .filter(alarms::Column::Id.eq(alarm.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("alarm.close", "alarm", Some(alarm.id.to_string())).reason(outcome.to_owned()),
    )
    .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    alarms::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)
}

/// A worker records a call made about an alarm: to the senior, to one of the
/// senior's contacts, or to 120. It becomes an event on the alarm's timeline.
pub async fn log_call(state: &AppState, caller: &Caller, id: i64, input: CallInput) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let alarm = visible_alarm(&txn, caller, id).await?;
    let task_id = alarm.task_id.ok_or(ApiError::NotFound)?;
    let contact = match (input.callee, input.contact_id) {
        (Callee::Contact, None) => {
            return Err(ApiError::field("contact_id", "required", "name the contact that was called"));
        }
        (Callee::Contact, Some(c)) => {
            let found = contacts::Entity::find_by_id(c)
                .filter(contacts::Column::SeniorId.eq(alarm.senior_id))
                .one(&txn)
                .await?
                .ok_or_else(|| ApiError::field("contact_id", "unknown", "is not a contact of this senior"))?;
            Some(found)
        }
        (_, Some(_)) => {
            return Err(ApiError::field("contact_id", "unexpected", "only a call to a contact names a contact"));
        }
        (_, None) => None,
    };
    let notes = input.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let details = json!({
        "callee": input.callee.as_str(),
        "contact_id": contact.as_ref().map(|c| c.id),
        "relation": contact.as_ref().map(|c| c.relation.clone()),
        "reached": input.reached,
        "notes": notes,
    });
    let row = event(&txn, task_id, "call_logged", None, None, Actor::of(caller), Note::details(details), now).await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(row.id)
}
