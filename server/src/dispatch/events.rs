//! The live board's event stream: task events (every transition, offer, escalation
//! and alert) in id order, filtered by the caller's communities; a caregiver or
//! volunteer sees the events of the tasks offered to them or held by them, reduced
//! to ids and statuses (the phone app reloads its lists on each). The id of each
//! server-sent event is the task event's id, so a client reconnecting with
//! `Last-Event-ID` resumes exactly where it stopped. The stream reads the database,
//! so events written by another instance arrive too; a local write wakes it at
//! once, otherwise it polls every second.

use std::time::Duration;

use actix_web::web::Bytes;
use entity::{task_events, task_offers, tasks};
use futures_util::Stream;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::json;

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

const BATCH: u64 = 200;
const POLL: Duration = Duration::from_secs(1);
const HEARTBEAT_POLLS: u32 = 15;

/// The newest task event id: where a stream without `Last-Event-ID` starts.
pub async fn latest_id(state: &AppState) -> Result<i64, ApiError> {
    let last: Option<i64> = task_events::Entity::find()
        .select_only()
        .column(task_events::Column::Id)
        .order_by_desc(task_events::Column::Id)
        .limit(1)
        .into_tuple()
        .one(&state.db)
        .await?;
    Ok(last.unwrap_or(0))
}

/// Whose events a stream carries.
#[derive(Clone, Debug)]
pub enum Audience {
    /// Admin, or a worker (scoped to the caller's communities): everything.
    Staff(Caller),
    /// A caregiver or volunteer (responder id): their offers and tasks, ids only.
    Responder(i64),
}

/// Events after `after` that the audience may see, rendered as SSE frames.
pub async fn batch(state: &AppState, audience: &Audience, after: i64) -> Result<(Vec<String>, i64), ApiError> {
    let mut q = task_events::Entity::find()
        .find_also_related(tasks::Entity)
        .filter(task_events::Column::Id.gt(after))
        .order_by_asc(task_events::Column::Id)
        .limit(BATCH);
    match audience {
        Audience::Staff(caller) if caller.role == Role::Worker => {
            q = q.filter(tasks::Column::CommunityId.is_in(caller.communities.iter().map(|c| c.0)));
        }
        Audience::Staff(_) => {}
        Audience::Responder(id) => {
            let offered = Query::select()
                .column(task_offers::Column::TaskId)
                .from(task_offers::Entity)
                .and_where(task_offers::Column::ResponderId.eq(*id))
                .to_owned();
            q = q.filter(
                Condition::any()
                    .add(tasks::Column::AssigneeId.eq(*id))
                    .add(task_events::Column::TaskId.in_subquery(offered)),
            );
        }
    }
    let rows = q.all(&state.db).await?;
    let mut last = after;
    let mut frames = Vec::with_capacity(rows.len());
    for (e, task) in rows {
        last = e.id;
        let Some(task) = task else { continue };
        if matches!(audience, Audience::Responder(_)) {
            // What changed, not who or why: the app fetches what it may see.
            let data = json!({"id": e.id, "task_id": e.task_id, "task_kind": task.kind, "status": task.status, "kind": e.kind, "at": e.at});
            frames.push(format!("id: {}\nevent: task\ndata: {}\n\n", e.id, data));
            continue;
        }
        let data = json!({
            "id": e.id,
            "task_id": e.task_id,
            "task_kind": task.kind,
            "community_id": task.community_id,
            "senior_id": task.senior_id,
            "status": task.status,
            "kind": e.kind,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "details": e.details,
            "at": e.at,
        });
        frames.push(format!("id: {}\nevent: task\ndata: {}\n\n", e.id, data));
    }
    Ok((frames, last))
}

/// The endless stream for one client.
pub fn stream(state: AppState, audience: Audience, after: i64) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold(
        (state, audience, after, 0u32, true),
        |(state, audience, after, idle, first)| async move {
            if first {
                // Tell the browser how soon to reconnect, and open the stream at once.
                return Some((
                    Ok(Bytes::from_static(b"retry: 2000\n: linli events\n\n")),
                    (state, audience, after, 0, false),
                ));
            }
            let mut idle = idle;
            loop {
                match batch(&state, &audience, after).await {
                    Ok((frames, last)) if !frames.is_empty() || last != after => {
                        return Some((Ok(Bytes::from(frames.concat())), (state, audience, last, 0, false)));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "event stream read failed; retrying"),
                }
                idle += 1;
                if idle >= HEARTBEAT_POLLS {
                    return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (state, audience, after, 0, false)));
                }
                let _ = tokio::time::timeout(POLL, state.events.notified()).await;
            }
        },
    )
}
