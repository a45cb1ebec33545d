//! The deadline sweeper. Escalations, missed-visit alerts and welfare-check steps
//! are deadlines stored on their tasks; every instance sweeps them every few
//! seconds. A step first claims its task with a conditional update of the version,
//! so when two instances see the same deadline exactly one acts on it, and a
//! restart loses nothing: the deadline is still in the database.

use chrono::{DateTime, Duration, Utc};
use entity::{responders, tasks};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::kinds::{TaskKind, TaskStatus};
use super::tasks::kind_of;
use crate::error::ApiError;
use crate::state::AppState;

/// Takes every step that is due now. Returns how many tasks moved.
pub async fn run_once(state: &AppState) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let due: Vec<tasks::Model> = tasks::Entity::find()
        .filter(tasks::Column::NextDeadlineAt.lte(now))
        .filter(tasks::Column::Status.is_in(TaskStatus::OPEN.iter().map(|s| s.as_str())))
        .order_by_asc(tasks::Column::NextDeadlineAt)
        .limit(200)
        .all(&state.db)
        .await?;
    let mut moved = 0;
    for task in due {
        match step(state, &task, now).await {
            Ok(true) => moved += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(task.id = task.id, error = %e, "deadline step failed; retried next sweep"),
        }
    }
    super::notify::deliver_sms(state, 100).await?;
    if moved > 0 {
        state.events.notify_waiters();
    }
    Ok(moved)
}

async fn step(state: &AppState, seen: &tasks::Model, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let claimed = tasks::Entity::update_many()
        .col_expr(tasks::Column::Version, Expr::col(tasks::Column::Version).add(1))
        .filter(tasks::Column::Id.eq(seen.id))
        .filter(tasks::Column::Version.eq(seen.version))
        .filter(tasks::Column::NextDeadlineAt.lte(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    let task = tasks::Entity::find_by_id(seen.id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    match kind_of(&task) {
        TaskKind::Emergency => super::alarms::escalate(state, &txn, &task, now).await?,
        TaskKind::WelfareCheck => {
            super::welfare::step(state, &txn, &task, now).await?;
        }
        _ => super::plans::missed(state, &txn, &task, now).await?,
    }
    // A step that left its deadline as it was must not be swept again. A new deadline
    // that is already past (the step itself ran late, after a restart or a backlog)
    // stays: the next sweep takes that step at once.
    let after = tasks::Entity::find_by_id(seen.id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    if after.next_deadline_at.is_some() && after.next_deadline_at == task.next_deadline_at {
        tasks::Entity::update_many()
            .col_expr(tasks::Column::NextDeadlineAt, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(tasks::Column::Id.eq(seen.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Re-reads responders another instance changed since `since` into this instance's
/// index (duty toggles, positions, new registrations).
pub async fn refresh_index(state: &AppState, since: DateTime<Utc>) -> Result<usize, ApiError> {
    let ids: Vec<i64> = responders::Entity::find()
        .select_only()
        .column(responders::Column::Id)
        .filter(
            Condition::any()
                .add(responders::Column::UpdatedAt.gte(since))
                .add(responders::Column::LastSeenAt.gte(since)),
        )
        .into_tuple()
        .all(&state.db)
        .await?;
    super::responders::refresh(state, &ids).await?;
    Ok(ids.len())
}

/// Sweeps forever on this instance.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = std::time::Duration::from_millis(state.settings.dispatch.sweep_interval_ms);
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watermark = state.clock.now();
        loop {
            ticker.tick().await;
            let started = state.clock.now();
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %e, "deadline sweep failed");
            }
            match refresh_index(&state, watermark - Duration::seconds(5)).await {
                Ok(_) => watermark = started,
                Err(e) => tracing::warn!(error = %e, "responder index refresh failed"),
            }
        }
    })
}
