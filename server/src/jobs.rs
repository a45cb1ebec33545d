//! Scheduled jobs. Each run claims its window in `job_runs` (unique on job name and
//! window key) before doing anything, so a restart or a second instance never runs a
//! window twice. A window whose run failed, or whose instance died mid-run (its heartbeat
//! stopped), is taken over by the next run for it: the periodic catch-up retries each recent window.

use chrono::{DateTime, Duration, DurationRound, Timelike, Utc};
use entity::job_runs;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// The jobs this server knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Deletes expired sessions and old login attempts.
    SessionSweep,
    /// Makes tomorrow's tasks from the service plans.
    DailyTasks,
    /// Post-service surveys for the tasks completed in the last 24 hours.
    PostServiceSurveys,
    /// The day's share of the monthly surveys.
    MonthlySurveys,
    /// Reminds about surveys left unanswered.
    SurveyReminders,
    /// Expires surveys left unanswered too long.
    SurveyExpiry,
    /// Escalates overdue cases to the community head.
    CaseEscalation,
    /// Recomputes the coverage roll-ups of the current month.
    CoverageRefresh,
}

impl Job {
    pub const ALL: [Job; 8] = [
        Job::SessionSweep,
        Job::DailyTasks,
        Job::PostServiceSurveys,
        Job::MonthlySurveys,
        Job::SurveyReminders,
        Job::SurveyExpiry,
        Job::CaseEscalation,
        Job::CoverageRefresh,
    ];

    /// The jobs whose window is their cron schedule's latest time; each catches up its
    /// latest window once at start.
    pub const SCHEDULED_WINDOWS: [Job; 6] = [
        Job::PostServiceSurveys,
        Job::MonthlySurveys,
        Job::SurveyReminders,
        Job::SurveyExpiry,
        Job::CaseEscalation,
        Job::CoverageRefresh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::SessionSweep => "session_sweep",
            Job::DailyTasks => "daily_tasks",
            Job::PostServiceSurveys => "post_service_surveys",
            Job::MonthlySurveys => "monthly_surveys",
            Job::SurveyReminders => "survey_reminders",
            Job::SurveyExpiry => "survey_expiry",
            Job::CaseEscalation => "case_escalation",
            Job::CoverageRefresh => "coverage_refresh",
        }
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Self::ALL.into_iter().find(|j| j.name() == name)
    }

    /// Cron expression (six fields, seconds first), in the district's time zone.
    pub fn schedule(self, settings: &crate::config::Settings) -> String {
        let s = &settings.surveys;
        match self {
            Job::SessionSweep => "0 */10 * * * *".to_owned(),
            Job::DailyTasks => settings.dispatch.daily_tasks_cron.clone(),
            Job::PostServiceSurveys => s.post_service_cron.clone(),
            Job::MonthlySurveys => s.monthly_cron.clone(),
            Job::SurveyReminders => s.reminder_cron.clone(),
            Job::SurveyExpiry => s.expiry_cron.clone(),
            Job::CaseEscalation => s.case_escalation_cron.clone(),
            Job::CoverageRefresh => settings.coverage.refresh_cron.clone(),
        }
    }

    /// The latest time the schedule fired at or before `now` (or `now` itself when the
    /// expression cannot be read): the start of the run window that `now` falls in.
    pub fn window_start(self, state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
        let tz = state.settings.tz();
        crate::config::parse_cron(&self.schedule(&state.settings))
            .ok()
            .and_then(|cron| cron.find_previous_occurrence(&now.with_timezone(&tz), true).ok())
            .map_or(now, |t| t.with_timezone(&Utc))
    }

    /// The window a run at `now` belongs to: one run per window, whoever runs it.
    pub fn window_key(self, state: &AppState, now: DateTime<Utc>) -> String {
        match self {
            Job::SessionSweep => {
                let start = now.duration_trunc(Duration::minutes(10)).unwrap_or(now);
                start.format("%Y-%m-%dT%H:%MZ").to_string()
            }
            Job::DailyTasks => tomorrow(state, now).to_string(),
            _ => {
                let start = self.window_start(state, now).with_timezone(&state.settings.tz());
                // Minute-aligned windows keep the keys they always had; a schedule that
                // fires within a minute needs the seconds, or its windows would merge.
                let format = if start.second() == 0 { "%Y-%m-%dT%H:%M%:z" } else { "%Y-%m-%dT%H:%M:%S%:z" };
                start.format(format).to_string()
            }
        }
    }

    async fn execute(self, state: &AppState, now: DateTime<Utc>) -> Result<i64, ApiError> {
        match self {
            Job::SessionSweep => {
                let window = Duration::minutes(state.settings.login_window_minutes);
                let removed = crate::auth::sessions::sweep_expired(&state.db, now, window).await?;
                Ok(removed as i64)
            }
            Job::DailyTasks => crate::dispatch::plans::make_tasks(state, tomorrow(state, now)).await,
            Job::PostServiceSurveys => crate::surveys::schedule::post_service(state).await,
            Job::MonthlySurveys => {
                let day = self.window_start(state, now).with_timezone(&state.settings.tz()).date_naive();
                crate::surveys::schedule::monthly(state, day).await
            }
            Job::SurveyReminders => crate::surveys::schedule::reminders(state).await,
            Job::SurveyExpiry => crate::surveys::schedule::expire(state).await,
            Job::CaseEscalation => crate::cases::escalate_overdue(state).await,
            Job::CoverageRefresh => crate::coverage::refresh::run(state).await,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobRunView {
    pub id: i64,
    pub job_name: String,
    pub window_key: String,
    pub status: String,
    pub instance: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The run's latest sign of life while under way.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// How many things the run made (or removed, for sweeps).
    pub created: i32,
    pub error: Option<String>,
    /// False when this window had already been claimed by an earlier run.
    pub ran_now: bool,
}

impl JobRunView {
    fn from_model(m: job_runs::Model, ran_now: bool) -> Self {
        Self {
            id: m.id,
            job_name: m.job_name,
            window_key: m.window_key,
            status: m.status,
            instance: m.instance,
            started_at: m.started_at,
            finished_at: m.finished_at,
            heartbeat_at: m.heartbeat_at,
            created: m.created_count,
            error: m.error,
            ran_now,
        }
    }
}

/// A new name for an instance: host, process and a random suffix (see `AppState::instance`).
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "linli".to_owned());
    format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn tomorrow(state: &AppState, now: DateTime<Utc>) -> chrono::NaiveDate {
    let today = now.with_timezone(&state.settings.tz()).date_naive();
    today.succ_opt().unwrap_or(today)
}

/// Runs `job` for the window containing now, unless that window is already claimed.
pub async fn run_now(state: &AppState, job: Job) -> Result<JobRunView, ApiError> {
    run_at(state, job, state.clock.now()).await
}

/// How many heartbeats a run may miss before another instance takes its window over:
/// its instance is taken to have died. A run that is only long keeps beating.
const MISSED_HEARTBEATS: i32 = 10;

/// How long a running run may go without a heartbeat before it counts as abandoned.
fn stale_after(state: &AppState) -> Duration {
    Duration::seconds(state.settings.job_heartbeat_secs as i64) * MISSED_HEARTBEATS
}

/// Runs `job` for the window containing `now` (a catch-up passes an earlier time).
/// A window already claimed runs again only when its run failed or was abandoned, and
/// then by exactly one instance.
pub async fn run_at(state: &AppState, job: Job, now: DateTime<Utc>) -> Result<JobRunView, ApiError> {
    let window_key = job.window_key(state, now);
    let claim = job_runs::ActiveModel {
        job_name: Set(job.name().to_owned()),
        window_key: Set(window_key.clone()),
        status: Set("running".to_owned()),
        instance: Set(state.instance.to_string()),
        started_at: Set(state.clock.now()),
        created_count: Set(0),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    let claimed = match claim {
        Ok(row) => row,
        Err(err) if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            let existing = job_runs::Entity::find()
                .filter(job_runs::Column::JobName.eq(job.name()))
                .filter(job_runs::Column::WindowKey.eq(window_key))
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound)?;
            match retake(state, &existing).await? {
                Some(row) => row,
                None => return Ok(JobRunView::from_model(existing, false)),
            }
        }
        Err(err) => return Err(err.into()),
    };
    let started = std::time::Instant::now();
    let result = tokio::select! {
        result = job.execute(state, now) => result,
        never = heartbeat(state, &claimed) => match never {},
    };
    let finished = state.clock.now();
    let (status, created, error) = match &result {
        Ok(n) => ("succeeded", *n, None),
        Err(e) => ("failed", 0, Some(e.to_string())),
    };
    metrics::counter!("linli_job_runs_total", "job" => job.name(), "status" => status).increment(1);
    metrics::histogram!("linli_job_run_seconds", "job" => job.name()).record(started.elapsed().as_secs_f64());
    job_runs::Entity::update_many()
        .col_expr(job_runs::Column::Status, Expr::value(status))
        .col_expr(job_runs::Column::FinishedAt, Expr::value(Some(finished)))
        .col_expr(job_runs::Column::CreatedCount, Expr::value(created as i32))
        .col_expr(job_runs::Column::Error, Expr::value(error))
        // Not over a run that took this one's window over while it was silent.
        .filter(this_run(&claimed))
        .exec(&state.db)
        .await?;
    result?;
    let row = job_runs::Entity::find_by_id(claimed.id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok(JobRunView::from_model(row, true))
}

/// The row of `run` for as long as it is this run's: another instance that takes the
/// window over sets its own instance and start.
fn this_run(run: &job_runs::Model) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(job_runs::Column::Id.eq(run.id))
        .add(job_runs::Column::Instance.eq(run.instance.as_str()))
        .add(job_runs::Column::StartedAt.eq(run.started_at))
}

/// Writes the run's heartbeat every `job_heartbeat_secs` while it is under way; never
/// returns (the run's own future ends first). A beat that fails is only logged: the
/// next may get through, and ten missed in a row let another instance take over.
async fn heartbeat(state: &AppState, run: &job_runs::Model) -> std::convert::Infallible {
    let every = std::time::Duration::from_secs(state.settings.job_heartbeat_secs);
    loop {
        tokio::time::sleep(every).await;
        let beat = job_runs::Entity::update_many()
            .col_expr(job_runs::Column::HeartbeatAt, Expr::value(Some(state.clock.now())))
            .filter(this_run(run))
            .exec(&state.db)
            .await;
        if let Err(e) = beat {
            tracing::warn!(job = %run.job_name, error = %e, "job heartbeat not written");
        }
    }
}

/// Claims a window whose run failed, or has been `running` without a heartbeat for
/// [`stale_after`], for this instance. The update names the row as it was read, so of
/// two instances retaking one window only one changes it; the other gets `None`, as
/// does a window that succeeded or is still running.
async fn retake(state: &AppState, existing: &job_runs::Model) -> Result<Option<job_runs::Model>, ApiError> {
    let now = state.clock.now();
    let last_sign_of_life = existing.heartbeat_at.unwrap_or(existing.started_at);
    let abandoned = existing.status == "running" && last_sign_of_life < now - stale_after(state);
    if existing.status != "failed" && !abandoned {
        return Ok(None);
    }
    let taken = job_runs::Entity::update_many()
        .col_expr(job_runs::Column::Status, Expr::value("running"))
        .col_expr(job_runs::Column::Instance, Expr::value(state.instance.to_string()))
        .col_expr(job_runs::Column::StartedAt, Expr::value(now))
        .col_expr(job_runs::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job_runs::Column::CreatedCount, Expr::value(0))
        .col_expr(job_runs::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(job_runs::Column::HeartbeatAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job_runs::Column::Id.eq(existing.id))
        .filter(job_runs::Column::Status.eq(existing.status.as_str()))
        .filter(job_runs::Column::StartedAt.eq(existing.started_at))
        .filter(match existing.heartbeat_at {
            Some(at) => job_runs::Column::HeartbeatAt.eq(at),
            None => job_runs::Column::HeartbeatAt.is_null(),
        })
        .exec(&state.db)
        .await?;
    if taken.rows_affected != 1 {
        return Ok(None);
    }
    tracing::warn!(
        job = %existing.job_name,
        window = %existing.window_key,
        was = %existing.status,
        previous_instance = %existing.instance,
        "taking over a job window that did not finish"
    );
    Ok(job_runs::Entity::find_by_id(existing.id).one(&state.db).await?)
}

/// Runs a daily window missed while the server was down: today's tasks (yesterday
/// evening's run) and, past today's run time, tomorrow's. Called at start and every ten
/// minutes; windows that already ran are skipped by their lock, and failed or abandoned
/// ones are taken over.
pub async fn catch_up(state: &AppState) {
    let now = state.clock.now();
    let mut times = vec![now - Duration::days(1)];
    let schedule = Job::DailyTasks.schedule(&state.settings);
    if schedule_passed_today(&schedule, state, now) {
        times.push(now);
    }
    for at in times {
        match run_at(state, Job::DailyTasks, at).await {
            Ok(run) if run.ran_now => {
                tracing::info!(window = %run.window_key, created = run.created, "daily tasks caught up")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "daily tasks catch-up failed"),
        }
    }
    // The survey and case jobs: the latest window of each schedule, once (its lock
    // keeps a window that already ran from running again).
    for job in Job::SCHEDULED_WINDOWS {
        match run_at(state, job, now).await {
            Ok(run) if run.ran_now => {
                tracing::info!(job = job.name(), window = %run.window_key, created = run.created, "caught up")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(job = job.name(), error = %e, "catch-up failed"),
        }
    }
}

/// Whether the daily cron's hour and minute (fields 3 and 2) have passed today.
fn schedule_passed_today(schedule: &str, state: &AppState, now: DateTime<Utc>) -> bool {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let (Some(minute), Some(hour)) =
        (fields.get(1).and_then(|m| m.parse::<u32>().ok()), fields.get(2).and_then(|h| h.parse::<u32>().ok()))
    else {
        return false;
    };
    let local = now.with_timezone(&state.settings.tz()).time();
    chrono::NaiveTime::from_hms_opt(hour, minute, 0).is_some_and(|at| local >= at)
}

/// When the catch-up runs again after start: five minutes past every tenth minute.
const CATCH_UP_CRON: &str = "0 5/10 * * * *";

/// Starts the cron scheduler with every job, and the periodic catch-up.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let tz = state.settings.tz();
    for job in Job::ALL {
        let state = state.clone();
        let cron = CronJob::new_async_tz(job.schedule(&state.settings).as_str(), tz, move |_id, _lock| {
            let state = state.clone();
            Box::pin(async move {
                match run_now(&state, job).await {
                    Ok(run) if run.ran_now => tracing::info!(job = job.name(), created = run.created, "job ran"),
                    Ok(_) => tracing::debug!(job = job.name(), "window already taken by another run"),
                    Err(e) => tracing::error!(job = job.name(), error = %e, "job failed"),
                }
            })
        })?;
        scheduler.add(cron).await?;
    }
    // Every ten minutes, between the sweeps: the recent windows again, so that one
    // which failed (the database was away) or was abandoned runs without a restart.
    let retry_state = state.clone();
    let retry = CronJob::new_async_tz(CATCH_UP_CRON, tz, move |_id, _lock| {
        let state = retry_state.clone();
        Box::pin(async move { catch_up(&state).await })
    })?;
    scheduler.add(retry).await?;
    scheduler.start().await?;
    Ok(scheduler)
}
