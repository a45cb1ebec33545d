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
    a_wrong_method_is_answered_with_the_allowed_ones,
    a_wrong_method_on_a_fixed_path_is_405_not_a_bad_id,
    a_page_number_past_the_last_possible_page_is_422_naming_page,
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

async fn a_wrong_method_is_answered_with_the_allowed_ones(app: TestApp) {
    // RFC 9110: a 405 must say in `Allow` which methods the path has.
    for (method, path, allow) in [
        ("DELETE", "/api/v1/auth/login", "POST"),
        ("TRACE", "/api/v1/seniors/1", "GET, PATCH"),
        ("PUT", "/api/v1/seniors", "GET, POST"),
        ("POST", "/healthz", "GET"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        let header = res.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header.as_deref(), Some(allow), "{method} {path}");
        let p = problem(res).await;
        assert!(p["type"].as_str().unwrap().ends_with("/method-not-allowed"), "{p}");
    }
}

async fn a_wrong_method_on_a_fixed_path_is_405_not_a_bad_id(app: TestApp) {
    // `/seniors/{id}` has PATCH; `/seniors/export` is a path of its own, not an id.
    let admin = app.login_as(Role::Admin, &[]).await;
    for (path, allow) in [("/api/v1/seniors/export", "GET"), ("/api/v1/seniors/import", "POST")] {
        let res = app.client.patch(app.url(path)).bearer_auth(&admin).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 405, "PATCH {path}");
        assert_eq!(res.headers().get("allow").unwrap(), allow, "PATCH {path}");
        problem(res).await;
    }
}

async fn a_page_number_past_the_last_possible_page_is_422_naming_page(app: TestApp) {
    // The offset of such a page overflowed: the worker thread panicked and dropped
    // the connection without an answer.
    let admin = app.login_as(Role::Admin, &[]).await;
    let community = app.create_community("页码社区").await;
    for list in [
        "/api/v1/alarms",
        "/api/v1/cases",
        "/api/v1/seniors",
        "/api/v1/surveys",
        "/api/v1/tasks",
        "/api/v1/timebank/accounts",
        "/api/v1/users",
        &format!("/api/v1/coverage/seniors?community_id={community}&reason=核查覆盖"),
    ] {
        let sep = if list.contains('?') { '&' } else { '?' };
        let path = format!("{list}{sep}per_page=171&page=2432902008176639999");
        let res = app.get(&path).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 422, "{path}");
        let p = problem(res).await;
        assert_eq!(p["errors"][0]["field"], "page", "{path}: {p}");
        let res = app.get(&format!("{list}{sep}page=1000000")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 200, "{list}: the last allowed page is an empty page");
    }
}
