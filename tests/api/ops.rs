use linli::auth::Role;
use linli_tests::{Backend, TestApp, on_both_backends, on_both_databases, problem};
use serde_json::Value;

on_both_databases!(
    healthz_and_readyz_answer_ok,
    readyz_fails_when_the_database_is_unreachable,
    request_ids_are_echoed_or_generated,
    metrics_count_requests_by_route_and_status,
);
on_both_backends!(a_heavy_report_waits_its_turn_and_leaves_the_pool_to_everyone_else,);

async fn healthz_and_readyz_answer_ok(app: TestApp) {
    let res = app.get("/healthz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], true);
    assert_eq!(body["migrations_current"], true);
}

async fn readyz_fails_when_the_database_is_unreachable(app: TestApp) {
    // Closing the pool makes every connection attempt fail, as when the database is down.
    match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => app.db.get_postgres_connection_pool().close().await,
        _ => app.db.get_sqlite_connection_pool().close().await,
    }
    let started = std::time::Instant::now();
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], false);
    // The liveness probe still answers: the process is up.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
    // An API call answers 503 problem+json instead of hanging.
    let res = app.login("anyone", "whatever-1").await;
    assert_eq!(res.status(), 503);
    problem(res).await;
}

async fn request_ids_are_echoed_or_generated(app: TestApp) {
    let res = app.get("/healthz").header("x-request-id", "call-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "call-123");
    let res = app.get("/healthz").header("x-request-id", "bad id with spaces").send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(generated, "bad id with spaces");
    assert_eq!(generated.len(), 36);
    let res = app.get("/api/v1/nothing-here").send().await.unwrap();
    assert!(res.headers().contains_key("x-request-id"), "errors carry the id too");
}

async fn metrics_count_requests_by_route_and_status(app: TestApp) {
    app.get("/api/v1/auth/me").send().await.unwrap();
    let body = app.get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(body.contains("linli_http_requests_total"), "{body}");
    assert!(body.contains(r#"route="/api/v1/auth/me""#), "{body}");
    assert!(body.contains(r#"status="401""#), "{body}");
    assert!(body.contains("linli_http_request_duration_seconds"));
    assert!(body.contains("linli_db_pool_connections"));
}

/// A city-wide grid count holds a connection for seconds. Reports take turns (one
/// here), so the rest of the pool stays free; a report that cannot get a turn in
/// time answers 503 `busy` while everything else is served.
async fn a_heavy_report_waits_its_turn_and_leaves_the_pool_to_everyone_else(backend: Backend) {
    let app = TestApp::spawn_with(backend, std::sync::Arc::new(linli::clock::SystemClock), |s| {
        s.coverage.max_concurrent_reports = 1;
        s.coverage.report_wait_secs = 1;
    })
    .await;
    let community = app.create_community("新兴社区").await;
    app.create_senior(community, "王秀英").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let grid = "/api/v1/grid/cells?resolution=8";
    assert_eq!(app.get(grid).bearer_auth(&admin).send().await.unwrap().status(), 200);

    // Another report has the only turn.
    let held = app.state.report_turns.acquire().await.unwrap();
    let started = std::time::Instant::now();
    let res = app.get(grid).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "answered after {:?}", started.elapsed());
    assert!(problem(res).await["type"].as_str().unwrap().ends_with("/busy"));
    // Everything else is served meanwhile.
    assert_eq!(app.get("/api/v1/seniors").bearer_auth(&admin).send().await.unwrap().status(), 200);
    assert_eq!(app.get("/readyz").send().await.unwrap().status(), 200);

    drop(held);
    assert_eq!(app.get(grid).bearer_auth(&admin).send().await.unwrap().status(), 200);
}
