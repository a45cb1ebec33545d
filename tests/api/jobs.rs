use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use linli::auth::Role;
use linli::clock::{Clock, SystemClock};
use linli::jobs::{self, Job};
use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, on_both_databases, problem};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, TransactionTrait};
use serde_json::Value;

on_both_databases!(a_job_run_by_hand_runs_once_per_window, two_instances_running_one_window_run_it_once,);
on_both_backends!(
    a_failed_or_abandoned_window_runs_again_once,
    two_schedulers_tick_thirty_times_and_run_each_window_once,
    three_schedulers_tick_thirty_times_and_run_each_window_once,
);

async fn a_job_run_by_hand_runs_once_per_window(app: TestApp) {
    let admin = app.login_as(Role::Admin, &[]).await;
    let first: Value =
        app.post("/api/v1/jobs/session_sweep/run").bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["ran_now"], true);
    let second: Value =
        app.post("/api/v1/jobs/session_sweep/run").bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["ran_now"], false);
    assert_eq!(second["id"], first["id"]);
    let res = app.post("/api/v1/jobs/no_such_job/run").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 404);
    problem(res).await;
    let worker_community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[worker_community]).await;
    assert_eq!(app.post("/api/v1/jobs/session_sweep/run").bearer_auth(&worker).send().await.unwrap().status(), 403);
}

async fn two_instances_running_one_window_run_it_once(app: TestApp) {
    let other = app.another_instance().await;
    let (a, b) =
        tokio::join!(jobs::run_now(&app.state, Job::SessionSweep), jobs::run_now(other.state(), Job::SessionSweep));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.id, b.id);
    assert!(a.ran_now ^ b.ran_now, "exactly one of the two ran");
    assert_eq!(app.count("SELECT COUNT(*) FROM job_runs").await, 1);
}

/// A window whose run failed (the database was away) or whose instance died mid-run
/// (its heartbeat stopped) is not lost: the next run for it takes it over, exactly one
/// of two instances does, and a long run that is still beating is left alone.
async fn a_failed_or_abandoned_window_runs_again_once(backend: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let app = TestApp::spawn_with(backend, manual_clock(now) as Arc<_>, |_| {}).await;
    let other = app.another_instance().await;
    let dead = "gone:1:dead";
    let plant = |job: Job, window_at, status: &str, started_at, heartbeat_at| {
        entity::job_runs::ActiveModel {
            job_name: Set(job.name().to_owned()),
            window_key: Set(job.window_key(&app.state, window_at)),
            status: Set(status.to_owned()),
            instance: Set(dead.to_owned()),
            started_at: Set(started_at),
            finished_at: Set((status == "failed").then_some(started_at)),
            heartbeat_at: Set(heartbeat_at),
            created_count: Set(0),
            error: Set((status == "failed").then(|| "service unavailable".to_owned())),
            ..Default::default()
        }
        .insert(&app.db)
    };
    let two_hours_ago = now - Duration::hours(2);
    plant(Job::SessionSweep, now, "failed", now - Duration::minutes(5), None).await.unwrap();
    // Long, but it beat a minute ago: its instance is alive.
    plant(Job::SurveyExpiry, now, "running", two_hours_ago, Some(now - Duration::minutes(1))).await.unwrap();
    // Silent for longer than ten heartbeats (ten minutes by default).
    plant(Job::CaseEscalation, now, "running", two_hours_ago, Some(now - Duration::minutes(11))).await.unwrap();
    plant(Job::SurveyReminders, now, "running", two_hours_ago, None).await.unwrap();

    for (job, retaken) in [
        (Job::SessionSweep, true),
        (Job::SurveyExpiry, false),
        (Job::CaseEscalation, true),
        (Job::SurveyReminders, true),
    ] {
        let (a, b) = tokio::join!(jobs::run_now(&app.state, job), jobs::run_now(other.state(), job));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.id, b.id, "{}: one window", job.name());
        if retaken {
            assert!(a.ran_now ^ b.ran_now, "{}: exactly one instance takes the window over", job.name());
            let run = if a.ran_now { a } else { b };
            assert_eq!(run.status, "succeeded", "{}", job.name());
            assert_eq!(run.error, None);
            assert_eq!(run.started_at, now);
            assert_ne!(run.instance, dead);
        } else {
            assert!(!a.ran_now && !b.ran_now, "{}: a run still beating is left alone", job.name());
            assert_eq!((a.status.as_str(), a.instance.as_str()), ("running", dead));
        }
        // A window that succeeded is never run again.
        assert!(!jobs::run_now(&app.state, job).await.unwrap().ran_now);
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM job_runs").await, 4);

    // The periodic catch-up retries the day's task window that failed.
    let today =
        plant(Job::DailyTasks, now - Duration::days(1), "failed", now - Duration::hours(15), None).await.unwrap();
    jobs::catch_up(&app.state).await;
    let row = entity::job_runs::Entity::find_by_id(today.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.error), ("succeeded", None));
}

/// A run held up for longer than ten heartbeats' worth of clock keeps its window while
/// it keeps beating, then finishes as its own instance's run. PostgreSQL only: a lock
/// on the sessions table holds the sweep up while the heartbeat (another table) goes
/// on, which SQLite's one writer cannot show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_run_keeps_its_window_while_its_heartbeat_lasts() {
    let Some(backend) = Backend::postgres() else { return };
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let clock = manual_clock(now);
    let app = TestApp::spawn_with(backend, clock.clone() as Arc<_>, |s| s.job_heartbeat_secs = 1).await;
    let other = app.another_instance().await;
    let lock = app.db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let state = app.state.clone();
    let run = tokio::spawn(async move { jobs::run_now(&state, Job::SessionSweep).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.count("SELECT COUNT(*) AS n FROM job_runs").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the run never claimed its window");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Ten heartbeats' worth of clock, three times over, a second of real time apiece.
    let mut last_beat = None;
    for _ in 0..3 {
        clock.advance(Duration::seconds(10));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let row = entity::job_runs::Entity::find().one(&app.db).await.unwrap().expect("the run's row");
            if row.heartbeat_at.is_some() && row.heartbeat_at != last_beat && row.heartbeat_at >= Some(clock.now()) {
                last_beat = row.heartbeat_at;
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no heartbeat after the clock moved: {row:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let second = jobs::run_now(other.state(), Job::SessionSweep).await.unwrap();
        assert!(!second.ran_now, "a run that is beating keeps its window");
        assert_eq!(second.status, "running");
        assert_eq!(second.instance, app.state.instance.to_string());
    }
    lock.commit().await.unwrap();
    let done = run.await.unwrap().unwrap();
    assert!(done.ran_now);
    assert_eq!((done.status.as_str(), done.instance), ("succeeded", app.state.instance.to_string()));
    assert_eq!(done.started_at, now);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM job_runs").await, 1);
}

/// The sweep, driven by an injected clock instead of waiting half a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_refused_and_swept() {
    for backend in [Some(Backend::Sqlite), Backend::postgres()].into_iter().flatten() {
        let clock = manual_clock(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap());
        let app = TestApp::spawn_with(backend, clock.clone() as Arc<_>, |_| {}).await;
        let token = app.login_as(Role::Admin, &[]).await;
        assert_eq!(app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap().status(), 200);
        clock.advance(Duration::minutes(app.settings.session_ttl_minutes + 1));
        assert_eq!(app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap().status(), 401);
        let run = jobs::run_now(&app.state, Job::SessionSweep).await.unwrap();
        assert!(run.ran_now);
        assert_eq!(run.created, 1, "one expired session removed");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    }
}

/// Scheduler ticks the test waits for; every schedulable job fires once a second.
const TICKS: i64 = 30;

async fn two_schedulers_tick_thirty_times_and_run_each_window_once(backend: Backend) {
    schedulers_run_each_window_once(backend, 2).await;
}

async fn three_schedulers_tick_thirty_times_and_run_each_window_once(backend: Backend) {
    schedulers_run_each_window_once(backend, 3).await;
}

/// `instances` servers on one database, each with its own real cron scheduler, as
/// behind a load balancer: every window of every job is claimed by exactly one of
/// them, runs to success, and no tick's window goes missing.
async fn schedulers_run_each_window_once(backend: Backend, instances: usize) {
    let every_second = "* * * * * *".to_owned();
    let app = TestApp::spawn_with(backend, Arc::new(SystemClock), |s| {
        s.dispatch.daily_tasks_cron = every_second.clone();
        s.surveys.post_service_cron = every_second.clone();
        s.surveys.monthly_cron = every_second.clone();
        s.surveys.reminder_cron = every_second.clone();
        s.surveys.expiry_cron = every_second.clone();
        s.surveys.case_escalation_cron = every_second.clone();
        s.coverage.refresh_cron = every_second.clone();
    })
    .await;
    let community = app.create_community("新兴社区").await;
    for name in ["王秀英", "李建国", "张桂兰"] {
        app.create_senior(community, name).await;
    }
    let mut others = Vec::new();
    for _ in 1..instances {
        others.push(app.another_instance().await);
    }
    let mut states = vec![app.state.clone()];
    states.extend(others.iter().map(|o| o.state().clone()));
    let names: Vec<String> = states.iter().map(|s| s.instance.to_string()).collect();

    let started = Utc::now();
    let mut schedulers = Vec::new();
    for state in &states {
        schedulers.push(jobs::start(state.clone()).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_secs(TICKS as u64 + 1)).await;
    for scheduler in &mut schedulers {
        scheduler.shutdown().await.unwrap();
    }
    // Let runs already under way finish.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.count("SELECT COUNT(*) AS n FROM job_runs WHERE status = 'running'").await > 0 {
        assert!(std::time::Instant::now() < deadline, "runs still running 30 s after the schedulers stopped");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let runs = entity::job_runs::Entity::find().all(&app.db).await.unwrap();
    let mut windows = std::collections::HashMap::<(String, String), usize>::new();
    for run in &runs {
        *windows.entry((run.job_name.clone(), run.window_key.clone())).or_default() += 1;
        assert_eq!(run.status, "succeeded", "{} {} failed: {:?}", run.job_name, run.window_key, run.error);
        assert!(names.contains(&run.instance), "run by an unknown instance {}", run.instance);
    }
    assert!(windows.values().all(|&n| n == 1), "a window ran twice: {windows:?}");
    for job in Job::SCHEDULED_WINDOWS {
        let ran: Vec<&entity::job_runs::Model> = runs.iter().filter(|r| r.job_name == job.name()).collect();
        // One window per tick; a tick that fires late merges into the next window, so
        // allow a few fewer than the ticks, never more.
        let count = ran.len() as i64;
        assert!((TICKS - 5..=TICKS + 2).contains(&count), "{}: {count} windows in {TICKS} ticks", job.name());
        let by: std::collections::HashSet<&str> = ran.iter().map(|r| r.instance.as_str()).collect();
        eprintln!("{}: {count} windows, run by {} of {instances} instances", job.name(), by.len());
    }
    // Tomorrow's tasks are one window however often the job fires. (The periodic
    // catch-up, when the run spans one, also makes today's: another window.)
    let tomorrow = Job::DailyTasks.window_key(&app.state, Utc::now());
    let daily = runs.iter().filter(|r| r.job_name == Job::DailyTasks.name() && r.window_key == tomorrow).count();
    assert_eq!(daily, 1);
    assert!(runs.iter().all(|r| r.started_at >= started - Duration::seconds(1)));
}
