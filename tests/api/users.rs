use linli::auth::Role;
use linli_tests::{TestApp, on_both_databases};
use serde_json::{Value, json};

on_both_databases!(an_admin_creates_a_worker_who_can_then_log_in);

async fn an_admin_creates_a_worker_who_can_then_log_in(app: TestApp) {
    let a = app.create_community("新兴社区").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let res = app
        .post("/api/v1/users")
        .bearer_auth(&admin)
        .json(&json!({"username": "wu.worker", "display_name": "吴社工", "password": "long-enough-1", "role": "worker", "community_ids": [a]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert!(created["id"].as_i64().unwrap() > 0);
    let res = app.login("wu.worker", "long-enough-1").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["display_name"], "吴社工");
    assert_eq!(body["user"]["community_ids"], json!([a]));
    let audit = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'").await;
    assert_eq!(audit, 1);
}
