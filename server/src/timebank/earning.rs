//! Earning: a completed, verified visit (check-in and check-out), done by a
//! volunteer and confirmed by the senior, a family member or a worker, credits its
//! duration (rounded to the quarter hour, times the kind's multiplier). A flagged
//! visit holds its credit as pending until a worker releases or rejects it.
//!
//! Completion and confirmation may arrive in either order and at the same time: each
//! re-reads the task after its own update of the task row (which the database
//! serialises), so whichever comes second sees both and posts; the posting's key
//! (the task) makes a second posting a replay.

use chrono::{DateTime, Utc};
use entity::{responders, tasks, timebank_pending_credits as pending};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::ledger::{self, CreditLimit, DebitFrom, Leg, Posting};
use super::{ConfirmationSource, TxKind, accounts as accts, flags};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::dispatch::TaskStatus;
use crate::dispatch::kinds::ResponderKind;
use crate::dispatch::tasks::{self as task_service, Actor, Note};
use crate::error::ApiError;
use crate::state::AppState;

/// What became of a visit's credit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreditOutcome {
    /// `earned`, `pending`, `not_eligible` or `refused`.
    pub status: String,
    pub minutes: i64,
    pub account_id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub pending_credit_id: Option<i64>,
    /// Why not earned (the rule, for `refused`).
    pub reason: Option<String>,
}

impl CreditOutcome {
    fn not_eligible(reason: &str) -> Self {
        Self {
            status: "not_eligible".into(),
            minutes: 0,
            account_id: None,
            transaction_id: None,
            pending_credit_id: None,
            reason: Some(reason.into()),
        }
    }
}

/// Posts (or holds) the credit of a task if it is due; idempotent.
pub async fn credit_for_task(
    state: &AppState,
    txn: &DatabaseTransaction,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<CreditOutcome, ApiError> {
    if task_service::status_of(task) != TaskStatus::Completed {
        return Ok(CreditOutcome::not_eligible("the task is not completed"));
    }
    if task.confirmed_at.is_none() {
        return Ok(CreditOutcome::not_eligible("the visit is not confirmed"));
    }
    let (Some(check_in), Some(check_out)) = (task.check_in_at, task.check_out_at) else {
        return Ok(CreditOutcome::not_eligible("the visit has no check-in and check-out"));
    };
    let Some(responder_id) = task.assignee_id else {
        return Ok(CreditOutcome::not_eligible("nobody held the task"));
    };
    let responder = responders::Entity::find_by_id(responder_id).one(txn).await?.ok_or(ApiError::NotFound)?;
    if responder.kind != ResponderKind::Volunteer.as_str() {
        return Ok(CreditOutcome::not_eligible("paid staff do not earn credits"));
    }
    let minutes = state.timebank.credit_minutes(task_service::kind_of(task), (check_out - check_in).num_minutes());
    if minutes <= 0 {
        return Ok(CreditOutcome::not_eligible("the visit was shorter than 8 minutes"));
    }
    let account = accts::of_volunteer(txn, responder.user_id, now).await?;
    let key = format!("task:{}", task.id);
    let mut outcome = CreditOutcome {
        status: "earned".into(),
        minutes,
        account_id: Some(account.id),
        transaction_id: None,
        pending_credit_id: None,
        reason: None,
    };
    if let Some(done) = ledger::by_key(txn, TxKind::Earn, &key).await? {
        outcome.transaction_id = Some(done.id);
        outcome.minutes = done.minutes;
        return Ok(outcome);
    }
    if task.visit_flagged {
        let inserted = pending::Entity::insert(pending::ActiveModel {
            task_id: Set(task.id),
            account_id: Set(account.id),
            minutes: Set(minutes),
            status: Set("pending".into()),
            reason: Set("visit_flagged".into()),
            created_at: Set(now),
            ..Default::default()
        })
        .on_conflict(OnConflict::column(pending::Column::TaskId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        if inserted == 1 {
            ledger::add_pending(txn, account.id, minutes, now).await?;
        }
        let held = pending::Entity::find().filter(pending::Column::TaskId.eq(task.id)).one(txn).await?;
        outcome.status = "pending".into();
        outcome.pending_credit_id = held.as_ref().map(|p| p.id);
        outcome.minutes = held.map_or(minutes, |p| p.minutes);
        outcome.reason = Some("the visit was flagged; a worker resolves the credit".into());
        return Ok(outcome);
    }
    let tx = post_earning(state, txn, task.id, account.id, minutes, task.confirmed_by, now).await?;
    outcome.transaction_id = Some(tx);
    Ok(outcome)
}

async fn post_earning(
    state: &AppState,
    txn: &DatabaseTransaction,
    task_id: i64,
    account_id: i64,
    minutes: i64,
    approved_by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let fund = accts::fund(txn, now).await?;
    let day = now.with_timezone(&state.settings.tz()).date_naive();
    let mut posting = Posting::new(
        TxKind::Earn,
        format!("task:{task_id}"),
        vec![
            Leg::Debit { account_id: fund.id, minutes, from: DebitFrom::Available },
            Leg::Credit { account_id, minutes, limit: CreditLimit::Earning { day } },
        ],
    );
    posting.task_id = Some(task_id);
    posting.approved_by = approved_by;
    posting.reason = Some(format!("task {task_id}"));
    Ok(ledger::post(txn, &state.timebank, posting, now).await?.transaction().id)
}

/// Called in the completion's transaction: settles a booking paid in credits and
/// earns the visit's credit if it is already confirmed. A cap refusing the credit
/// does not undo the completion: the refusal is recorded on the task, and a later
/// confirmation retries it.
pub async fn on_completed(
    state: &AppState,
    txn: &DatabaseTransaction,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    super::redemption::settle_for_task(state, txn, task, now).await?;
    let savepoint = txn.begin().await?;
    match credit_for_task(state, &savepoint, task, now).await {
        Ok(_) => savepoint.commit().await?,
        Err(ApiError::Refused { rule, detail, .. }) => {
            savepoint.rollback().await?;
            task_service::event(
                txn,
                task.id,
                "credit_refused",
                None,
                None,
                Actor::SYSTEM,
                Note::details(json!({"rule": rule, "detail": detail})),
                now,
            )
            .await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The body of `POST /api/v1/tasks/{id}/confirm`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ConfirmInput {
    /// Who vouches for the visit: `senior`, `family` or `worker` (workers only).
    pub source: ConfirmationSource,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfirmView {
    pub task_id: i64,
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirmation_source: Option<String>,
    pub credit: CreditOutcome,
}

/// Confirms that a visit took place (worker of the task's community, admin; or the
/// responder holding it, relaying the senior's or family's confirmation — flagged
/// for review). Confirming again retries a credit a cap refused.
pub async fn confirm(state: &AppState, caller: &Caller, id: i64, input: ConfirmInput) -> Result<ConfirmView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer, Role::Caregiver])?;
    let responder_confirms = matches!(caller.role, Role::Volunteer | Role::Caregiver);
    if responder_confirms && input.source == ConfirmationSource::Worker {
        return Err(ApiError::field(
            "source",
            "invalid",
            "a responder relays the senior's or the family's confirmation",
        ));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let task = task_service::find_visible(&txn, caller, id).await?;
        if responder_confirms {
            let me = crate::dispatch::responders::of_caller(&txn, caller).await?;
            if task.assignee_id != Some(me.id) {
                return Err(ApiError::NotFound);
            }
        }
        let status = task_service::status_of(&task);
        let visited = status == TaskStatus::Completed || (status == TaskStatus::OnSite && task.check_out_at.is_some());
        if !visited {
            return Err(task_service::illegal(&task, "be confirmed before the visit is over"));
        }
        let user = caller.user_id.map(|u| u.0);
        let recorded = tasks::Entity::update_many()
            .col_expr(tasks::Column::ConfirmedBy, Expr::value(user))
            .col_expr(tasks::Column::ConfirmedAt, Expr::value(Some(now)))
            .col_expr(tasks::Column::ConfirmationSource, Expr::value(Some(input.source.as_str())))
            .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
            .filter(tasks::Column::Id.eq(id))
            .filter(tasks::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        if recorded.rows_affected == 1 {
            task_service::event(
                &txn,
                id,
                "confirmed",
                None,
                None,
                Actor::of(caller),
                Note::details(json!({"source": input.source.as_str(), "note": note})),
                now,
            )
            .await?;
            if responder_confirms {
                flags::raise_self_confirmed(&txn, &task, user, now).await?;
            } else {
                audit::record(
                    &txn,
                    &state.clock,
                    caller,
                    audit::Entry::new("task.confirm", "task", Some(id.to_string())),
                )
                .await?;
            }
        }
        let task = tasks::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let credit = credit_for_task(state, &txn, &task, now).await?;
        txn.commit().await?;
        state.events.notify_waiters();
        Ok(ConfirmView {
            task_id: id,
            confirmed_by: task.confirmed_by,
            confirmed_at: task.confirmed_at,
            confirmation_source: task.confirmation_source,
            credit,
        })
    })
    .await
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingView {
    pub id: i64,
    pub task_id: i64,
    pub account_id: i64,
    pub minutes: i64,
    /// `pending`, `released` or `rejected`.
    pub status: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    pub transaction_id: Option<i64>,
}

impl From<pending::Model> for PendingView {
    fn from(p: pending::Model) -> Self {
        Self {
            id: p.id,
            task_id: p.task_id,
            account_id: p.account_id,
            minutes: p.minutes,
            status: p.status,
            reason: p.reason,
            created_at: p.created_at,
            resolved_by: p.resolved_by,
            resolved_at: p.resolved_at,
            resolution: p.resolution,
            transaction_id: p.transaction_id,
        }
    }
}

/// Held credits of the caller's communities (worker, admin), oldest first.
pub async fn list_pending(
    db: &impl ConnectionTrait,
    caller: &Caller,
    status: Option<&str>,
) -> Result<Vec<PendingView>, ApiError> {
    use sea_orm::{QuerySelect, QueryTrait};
    caller.allow(&[Role::Admin, Role::Worker])?;
    let mut q = pending::Entity::find().order_by_asc(pending::Column::Id);
    if let Some(s) = status {
        q = q.filter(pending::Column::Status.eq(s));
    }
    if let Some(communities) = caller.community_filter() {
        let in_scope = tasks::Entity::find()
            .select_only()
            .column(tasks::Column::Id)
            .filter(tasks::Column::CommunityId.is_in(communities))
            .into_query();
        q = q.filter(pending::Column::TaskId.in_subquery(in_scope));
    }
    Ok(q.all(db).await?.into_iter().map(PendingView::from).collect())
}

/// The body of `POST /api/v1/timebank/pending/{id}/resolve`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ResolvePendingInput {
    /// `true` posts the credit; `false` rejects it.
    pub release: bool,
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

/// A worker releases (posts, under the caps) or rejects a held credit.
pub async fn resolve_pending(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: ResolvePendingInput,
) -> Result<PendingView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let reason = input.reason.trim().to_owned();
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let held = pending::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let task = tasks::Entity::find_by_id(held.task_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        caller.scope(CommunityId(task.community_id))?;
        let status = if input.release { "released" } else { "rejected" };
        let moved = pending::Entity::update_many()
            .col_expr(pending::Column::Status, Expr::value(status))
            .col_expr(pending::Column::ResolvedBy, Expr::value(caller.user_id.map(|u| u.0)))
            .col_expr(pending::Column::ResolvedAt, Expr::value(Some(now)))
            .col_expr(pending::Column::Resolution, Expr::value(Some(reason.clone())))
            .filter(pending::Column::Id.eq(id))
            .filter(pending::Column::Status.eq("pending"))
            .exec(&txn)
            .await?;
        if moved.rows_affected != 1 {
            return Err(ApiError::conflict("already-resolved", format!("This credit is already {}", held.status)));
        }
        ledger::add_pending(&txn, held.account_id, -held.minutes, now).await?;
        if input.release {
            let tx =
                post_earning(state, &txn, task.id, held.account_id, held.minutes, caller.user_id.map(|u| u.0), now)
                    .await?;
            pending::Entity::update_many()
                .col_expr(pending::Column::TransactionId, Expr::value(Some(tx)))
                .filter(pending::Column::Id.eq(id))
                .exec(&txn)
                .await?;
        }
        audit::record(
            &txn,
            &state.clock,
            caller,
            audit::Entry::new(
                if input.release { "timebank.pending.release" } else { "timebank.pending.reject" },
                "timebank_pending_credit",
                Some(id.to_string()),
            )
            .reason(reason.clone()),
        )
        .await?;
        let row = pending::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        txn.commit().await?;
        Ok(row.into())
    })
    .await
}
