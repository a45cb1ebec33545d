use linli::auth::Role;
use linli_tests::{PASSWORD, TestApp, on_both_databases, problem};
use serde_json::{Value, json};

on_both_databases!(
    logging_in_returns_a_token_and_an_http_only_strict_cookie,
    a_wrong_password_is_401_problem_json,
    the_sixth_wrong_password_is_429_with_retry_after,
    a_correct_password_is_refused_while_locked_out,
    logout_revokes_the_token,
    a_password_change_revokes_every_session,
    requests_without_credentials_are_401,
    the_session_cookie_authenticates_like_a_bearer_token,
    a_bad_password_change_names_the_field_and_changes_nothing,
);

async fn logging_in_returns_a_token_and_an_http_only_strict_cookie(app: TestApp) {
    let community = app.create_community("五大道社区").await;
    app.create_user("wang.worker", Role::Worker, &[community]).await;
    let res = app.login("wang.worker", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap().to_owned();
    assert!(cookie.starts_with("linli_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["role"], "worker");
    assert_eq!(body["user"]["community_ids"], json!([community]));
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 40);

    let me = app.get_json("/api/v1/auth/me", token).await;
    assert_eq!(me["username"], "wang.worker");
    assert_eq!(me["role"], "worker");

    // The token is stored only as a hash.
    let stored = app.count(&format!("SELECT COUNT(*) FROM sessions WHERE token_hash = '{token}'")).await;
    assert_eq!(stored, 0);
}

async fn a_wrong_password_is_401_problem_json(app: TestApp) {
    app.create_user("li.admin", Role::Admin, &[]).await;
    let res = app.login("li.admin", "not-the-password").await;
    assert_eq!(res.status(), 401);
    let p = problem(res).await;
    assert_eq!(p["status"], 401);
    assert!(p["type"].as_str().unwrap().ends_with("/unauthenticated"));
    // An unknown user looks the same.
    let res = app.login("nobody", "whatever-it-is").await;
    assert_eq!(res.status(), 401);
}

async fn the_sixth_wrong_password_is_429_with_retry_after(app: TestApp) {
    app.create_user("zhao.cg", Role::Caregiver, &[]).await;
    for attempt in 1..=5 {
        let res = app.login("zhao.cg", "wrong-password").await;
        assert_eq!(res.status(), 401, "attempt {attempt}");
    }
    let res = app.login("zhao.cg", "wrong-password").await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "retry-after {retry}");
    let p = problem(res).await;
    assert_eq!(p["status"], 429);
    // Another username is unaffected.
    app.create_user("qian.cg", Role::Caregiver, &[]).await;
    assert_eq!(app.login("qian.cg", PASSWORD).await.status(), 200);
}

async fn a_correct_password_is_refused_while_locked_out(app: TestApp) {
    app.create_user("sun.vol", Role::Volunteer, &[]).await;
    for _ in 0..5 {
        app.login("sun.vol", "wrong-password").await;
    }
    assert_eq!(app.login("sun.vol", PASSWORD).await.status(), 429);
}

async fn logout_revokes_the_token(app: TestApp) {
    let token = app.login_as(Role::Admin, &[]).await;
    assert_eq!(app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap().status(), 200);
    let res = app.post("/api/v1/auth/logout").bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    problem(res).await;
}

async fn a_password_change_revokes_every_session(app: TestApp) {
    app.create_user("zhou.bureau", Role::Bureau, &[]).await;
    let first = app.token_for("zhou.bureau").await;
    let second = app.token_for("zhou.bureau").await;
    let res = app
        .post("/api/v1/auth/password")
        .bearer_auth(&first)
        .json(&json!({"current_password": PASSWORD, "new_password": "a-new-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for token in [&first, &second] {
        assert_eq!(app.get("/api/v1/auth/me").bearer_auth(token).send().await.unwrap().status(), 401);
    }
    assert_eq!(app.login("zhou.bureau", PASSWORD).await.status(), 401);
    assert_eq!(app.login("zhou.bureau", "a-new-password-1").await.status(), 200);
}

async fn requests_without_credentials_are_401(app: TestApp) {
    for path in ["/api/v1/auth/me", "/api/v1/users", "/api/v1/communities", "/api/v1/seniors"] {
        let res = app.get(path).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        problem(res).await;
    }
    let res = app.get("/api/v1/auth/me").bearer_auth("made-up-token").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

async fn the_session_cookie_authenticates_like_a_bearer_token(app: TestApp) {
    let token = app.login_as(Role::Admin, &[]).await;
    let res = app.get("/api/v1/auth/me").header("cookie", format!("linli_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn a_bad_password_change_names_the_field_and_changes_nothing(app: TestApp) {
    app.create_user("he.worker", Role::Admin, &[]).await;
    let token = app.token_for("he.worker").await;
    let cases = [
        (json!({"current_password": PASSWORD, "new_password": "short"}), "new_password", "too short"),
        (
            json!({"current_password": "not-mine-at-all", "new_password": "long-enough-2"}),
            "current_password",
            "wrong current password",
        ),
        (json!({"new_password": "long-enough-2"}), "current_password", "current password missing"),
    ];
    for (body, field, why) in cases {
        let res = app.post("/api/v1/auth/password").bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{why}");
        assert_eq!(problem(res).await["errors"][0]["field"], field, "{why}");
    }
    // The session survived and the old password still works.
    assert_eq!(app.get("/api/v1/auth/me").bearer_auth(&token).send().await.unwrap().status(), 200);
    assert_eq!(app.login("he.worker", PASSWORD).await.status(), 200);
}
