use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use linli::auth::Role;
use linli::jobs::{self, Job};
use linli_tests::{Backend, TestApp, manual_clock, on_both_databases, problem};
use serde_json::Value;

on_both_databases!(a_job_run_by_hand_runs_once_per_window, two_instances_running_one_window_run_it_once,);

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
