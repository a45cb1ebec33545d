use linli::auth::Role;
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::json;

on_both_databases!(
    an_unknown_route_is_404_problem_json,
    a_known_path_with_the_wrong_method_is_405,
    malformed_json_is_400_problem_json,
    the_wrong_content_type_is_415,
    an_oversized_body_is_413,
    validation_failures_name_each_field,
    a_field_of_the_wrong_type_is_named,
    a_duplicate_username_is_409_and_stores_nothing_new,
);

async fn an_unknown_route_is_404_problem_json(app: TestApp) {
    for path in ["/api/v1/no-such-thing", "/api/nothing", "/api/v2/seniors"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let p = problem(res).await;
        assert!(p["type"].as_str().unwrap().ends_with("/route-not-found"), "{p}");
        assert_eq!(p["status"], 404);
        assert!(p["title"].is_string());
    }
}

async fn a_known_path_with_the_wrong_method_is_405(app: TestApp) {
    let res = app.client.delete(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let p = problem(res).await;
    assert!(p["type"].as_str().unwrap().ends_with("/method-not-allowed"));
}

async fn malformed_json_is_400_problem_json(app: TestApp) {
    let res = app
        .post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(r#"{"username": "a", "password": "#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let p = problem(res).await;
    assert!(p["type"].as_str().unwrap().ends_with("/bad-request"));
    assert!(p["detail"].as_str().unwrap().contains("Malformed JSON"));
}

async fn the_wrong_content_type_is_415(app: TestApp) {
    let res = app
        .post("/api/v1/auth/login")
        .header("content-type", "text/plain")
        .body(r#"{"username":"a","password":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    problem(res).await;
}

async fn an_oversized_body_is_413(app: TestApp) {
    let huge = "x".repeat(app.settings.max_body_bytes + 1);
    let res = app.post("/api/v1/auth/login").json(&json!({"username": huge, "password": "p"})).send().await.unwrap();
    assert_eq!(res.status(), 413);
    problem(res).await;
}

async fn validation_failures_name_each_field(app: TestApp) {
    // Each row: body, the fields that must be named, why.
    let cases = [
        (json!({"username": "", "password": ""}), vec!["password", "username"], "both empty"),
        (json!({"password": "x"}), vec!["username"], "username missing"),
        (json!({"username": "someone"}), vec!["password"], "password missing"),
    ];
    for (body, fields, why) in cases {
        let res = app.post("/api/v1/auth/login").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{why}");
        let p = problem(res).await;
        let named: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(named, fields, "{why}: {p}");
        for e in p["errors"].as_array().unwrap() {
            assert!(!e["message"].as_str().unwrap().is_empty(), "{why}");
        }
    }

    let admin = app.login_as(Role::Admin, &[]).await;
    let cases = [
        (
            json!({"username": "Bad Name", "display_name": "x", "password": "long-enough-1", "role": "admin"}),
            "username",
            "bad characters",
        ),
        (
            json!({"username": "ok.name", "display_name": "x", "password": "short", "role": "admin"}),
            "password",
            "short password",
        ),
        (
            json!({"username": "ok.name", "display_name": "x", "password": "long-enough-1", "role": "worker"}),
            "community_ids",
            "worker without community",
        ),
        (
            json!({"username": "ok.name", "display_name": "x", "password": "long-enough-1", "role": "admin", "community_ids": [999999]}),
            "community_ids",
            "unknown community",
        ),
        (
            json!({"username": "ok.name", "display_name": "x", "password": "long-enough-1", "role": "emperor"}),
            "role",
            "unknown role",
        ),
        (
            json!({"username": "ok.name", "display_name": "", "password": "long-enough-1", "role": "admin"}),
            "display_name",
            "empty display name",
        ),
    ];
    for (body, field, why) in cases {
        let res = app.post("/api/v1/users").bearer_auth(&admin).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{why}");
        let p = problem(res).await;
        let named: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(named.contains(&field), "{why}: {p}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE username = 'ok.name'").await, 0);
}

async fn a_field_of_the_wrong_type_is_named(app: TestApp) {
    let res = app.post("/api/v1/auth/login").json(&json!({"username": 42, "password": "x"})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["errors"][0]["field"], "username", "{p}");
}

async fn a_duplicate_username_is_409_and_stores_nothing_new(app: TestApp) {
    let admin = app.login_as(Role::Admin, &[]).await;
    let body = json!({"username": "chen.w", "display_name": "陈", "password": "long-enough-1", "role": "bureau"});
    let res = app.post("/api/v1/users").bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let first: serde_json::Value = res.json().await.unwrap();
    let res = app.post("/api/v1/users").bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let p = problem(res).await;
    assert_eq!(p["existing_id"], first["id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE username = 'chen.w'").await, 1);
}
