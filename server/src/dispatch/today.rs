//! The worker console's "Today": what needs a worker now, most urgent first. Open
//! alarms with their escalation clock, routine visits not checked in after the alert
//! time (late while the window is open, missed once it has closed), tasks nobody
//! holds, and cases due by the end of the day.

use chrono::{DateTime, Duration, Utc};
use entity::{alarms, tasks};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::alarms::AlarmView;
use super::kinds::{TaskKind, TaskStatus};
use super::tasks::{TaskView, summary};
use crate::auth::Caller;
use crate::cases::{self, CaseFilter, CaseView};
use crate::error::ApiError;
use crate::state::AppState;

/// How many rows each list carries; `counts` has the totals.
pub const LIST_LIMIT: u64 = 50;

/// An open alarm and when its next escalation step falls due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenAlarm {
    #[serde(flatten)]
    pub alarm: AlarmView,
    pub task_status: Option<String>,
    pub task_version: Option<i32>,
    pub assignee_id: Option<i64>,
    /// The next escalation step: `widen` (more responders and the console), `family`
    /// (the contacts are texted and 120 is flagged), or none once both have happened
    /// or somebody accepted.
    pub next_step: Option<String>,
    pub next_step_at: Option<DateTime<Utc>>,
}

/// A routine visit not checked in on time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LateVisit {
    #[serde(flatten)]
    pub task: TaskView,
    /// Minutes since the window opened.
    pub minutes_late: i64,
    /// The window has closed without a check-in.
    pub missed: bool,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TodayCounts {
    pub alarms: u64,
    /// Every visit listed in `late_visits`, missed ones included.
    pub late_visits: u64,
    /// Of those, the ones whose window has closed.
    pub missed_visits: u64,
    pub unassigned: u64,
    pub cases_due: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Today {
    /// The service date in the district's time zone.
    pub date: chrono::NaiveDate,
    pub now: DateTime<Utc>,
    pub counts: TodayCounts,
    /// Flagged for 120 first, then the longest waiting.
    pub alarms: Vec<OpenAlarm>,
    /// Missed first, then the latest.
    pub late_visits: Vec<LateVisit>,
    /// Earliest window first.
    pub unassigned: Vec<TaskView>,
    /// Overdue first, by deadline.
    pub cases_due: Vec<CaseView>,
}

fn scoped<E: EntityTrait>(select: sea_orm::Select<E>, column: impl ColumnTrait, caller: &Caller) -> sea_orm::Select<E> {
    match caller.community_filter() {
        Some(mine) => select.filter(column.is_in(mine)),
        None => select,
    }
}

fn statuses(list: &[TaskStatus]) -> Vec<&'static str> {
    list.iter().map(|s| s.as_str()).collect()
}

/// The day's worklist for the caller's communities.
pub async fn today(state: &AppState, caller: &Caller) -> Result<Today, ApiError> {
    let now = state.clock.now();
    let tz = state.settings.tz();
    let date = now.with_timezone(&tz).date_naive();
    let end_of_day = crate::clock::start_of_day(date + Duration::days(1), tz).unwrap_or(now);
    let db = &state.db;

    // Alarms.
    let open_alarms = scoped(alarms::Entity::find(), alarms::Column::CommunityId, caller)
        .filter(alarms::Column::ClosedAt.is_null())
        .order_by_asc(alarms::Column::ReceivedAt)
        .all(db)
        .await?;
    let task_ids: Vec<i64> = open_alarms.iter().filter_map(|a| a.task_id).collect();
    let alarm_tasks: std::collections::HashMap<i64, tasks::Model> = tasks::Entity::find()
        .filter(tasks::Column::Id.is_in(task_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut alarm_rows: Vec<OpenAlarm> = open_alarms
        .into_iter()
        .map(|a| {
            let task = a.task_id.and_then(|id| alarm_tasks.get(&id));
            let waiting = task.is_some_and(|t| t.assignee_id.is_none()) && a.accepted_at.is_none();
            let next_step = match a.stage.as_str() {
                "offered" if waiting => Some("widen"),
                "widened" if waiting => Some("family"),
                _ => None,
            };
            OpenAlarm {
                task_status: task.map(|t| t.status.clone()),
                task_version: task.map(|t| t.version),
                assignee_id: task.and_then(|t| t.assignee_id),
                next_step: next_step.map(str::to_owned),
                next_step_at: next_step.and(task.and_then(|t| t.next_deadline_at)),
                alarm: AlarmView::from(a),
            }
        })
        .collect();
    alarm_rows.sort_by(|a, b| {
        b.alarm
            .call_120_flagged_at
            .is_some()
            .cmp(&a.alarm.call_120_flagged_at.is_some())
            .then(a.alarm.received_at.cmp(&b.alarm.received_at))
    });

    // Late and missed visits: routine kinds, not checked in, window opened longer ago
    // than the alert time, not finished. Yesterday's too: a visit missed late in the
    // evening still needs a word with the senior in the morning.
    let routine: Vec<&str> = TaskKind::ALL.iter().filter(|k| k.is_routine()).map(|k| k.as_str()).collect();
    let alert_at = now - Duration::minutes(state.settings.dispatch.missed_alert_minutes);
    let late = scoped(tasks::Entity::find(), tasks::Column::CommunityId, caller)
        .filter(tasks::Column::Kind.is_in(routine.clone()))
        .filter(tasks::Column::Status.is_in(statuses(&TaskStatus::OPEN)))
        .filter(tasks::Column::CheckInAt.is_null())
        .filter(tasks::Column::WindowStart.lte(alert_at))
        .filter(tasks::Column::ServiceDate.gte(date - Duration::days(1)));
    let late_total = late.clone().count(db).await?;
    let missed_total = late.clone().filter(tasks::Column::WindowEnd.lte(now)).count(db).await?;
    let mut late_rows: Vec<LateVisit> = late
        .order_by_desc(tasks::Column::WindowStart)
        .limit(LIST_LIMIT)
        .all(db)
        .await?
        .into_iter()
        .map(|t| LateVisit {
            minutes_late: t.window_start.map_or(0, |w| (now - w).num_minutes()),
            missed: t.window_end.is_some_and(|w| w <= now),
            task: summary(t),
        })
        .collect();
    late_rows.sort_by(|a, b| b.missed.cmp(&a.missed).then(a.minutes_late.cmp(&b.minutes_late)));

    // Unassigned: nobody holds it, it is due today or earlier, and it is not an alarm
    // (those are above).
    let unassigned = scoped(tasks::Entity::find(), tasks::Column::CommunityId, caller)
        .filter(tasks::Column::Kind.ne(TaskKind::Emergency.as_str()))
        .filter(tasks::Column::Status.is_in(statuses(&[
            TaskStatus::Created,
            TaskStatus::Offered,
            TaskStatus::Escalated,
        ])))
        .filter(tasks::Column::AssigneeId.is_null())
        .filter(Condition::any().add(tasks::Column::ServiceDate.is_null()).add(tasks::Column::ServiceDate.lte(date)));
    let unassigned_total = unassigned.clone().count(db).await?;
    let unassigned_rows: Vec<TaskView> = unassigned
        .order_by_asc(tasks::Column::WindowStart)
        .order_by_asc(tasks::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?
        .into_iter()
        .map(summary)
        .collect();

    let (cases_due, cases_total) =
        cases::list(state, caller, CaseFilter { due_before: Some(end_of_day), ..CaseFilter::default() }, 1, LIST_LIMIT)
            .await?;

    Ok(Today {
        date,
        now,
        counts: TodayCounts {
            alarms: alarm_rows.len() as u64,
            late_visits: late_total,
            missed_visits: missed_total,
            unassigned: unassigned_total,
            cases_due: cases_total,
        },
        alarms: alarm_rows,
        late_visits: late_rows,
        unassigned: unassigned_rows,
        cases_due,
    })
}
