//! Personal data stays out of the logs, and the audit log cannot be rewritten.
//!
//! Every test's servers log to `target/test-logs/` at debug level for our own code;
//! `tests/privacy-scan.sh` reads a whole run's logs afterwards. This test pushes
//! planted ID numbers and phone numbers through the paths that handle them and
//! checks this process's log as it goes.

use linli::auth::Role;
use linli::registry::id_number::check_character;
use linli_tests::{
    PLANTED_ID_NUMBER, PLANTED_ID_NUMBER_2, PLANTED_PHONE, PLANTED_PHONE_2, TestApp, log_file, on_both_databases,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

on_both_databases!(planted_personal_data_never_reaches_the_logs, the_audit_log_cannot_be_changed_by_the_application,);

#[test]
fn the_scan_knows_every_planted_value() {
    let listed = include_str!("../planted.txt");
    for value in [PLANTED_ID_NUMBER, PLANTED_ID_NUMBER_2, PLANTED_PHONE, PLANTED_PHONE_2] {
        assert!(listed.lines().any(|l| l == value), "{value} is missing from tests/planted.txt");
    }
}

/// The planted values that this process's log holds.
fn leaked() -> Vec<&'static str> {
    let path = log_file().expect("the test logs are captured");
    let text = std::fs::read_to_string(path).unwrap();
    [PLANTED_ID_NUMBER, PLANTED_ID_NUMBER_2, PLANTED_PHONE, PLANTED_PHONE_2]
        .into_iter()
        .filter(|v| text.contains(v))
        .collect()
}

async fn planted_personal_data_never_reaches_the_logs(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let senior = json!({
        "name": "赵玉兰", "gender": "female", "birth_date": "1941-03-15", "id_number": PLANTED_ID_NUMBER_2,
        "phone": PLANTED_PHONE_2, "address": "和平区南京路100号3门201", "latitude": 39.1152, "longitude": 117.1951,
        "community_id": community, "living_arrangement": "alone", "economic_status": "subsistence",
        "medical_notes": {"chronic": ["高血压"], "allergies": [], "diet": "低盐"},
        "contacts": [{"name": "赵强", "relation": "儿子", "phone": PLANTED_PHONE_2, "call_order": 1}]
    });
    let res = app.post_json("/api/v1/seniors", &worker, &senior).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // The same ID number again (409), a wrong check character and a bad phone (422).
    assert_eq!(app.post_json("/api/v1/seniors", &worker, &senior).await.status(), 409);
    let mut bad = senior.clone();
    let first17 = &PLANTED_ID_NUMBER_2[..17];
    let wrong = if check_character(first17) == '0' { '1' } else { '0' };
    bad["id_number"] = json!(format!("{first17}{wrong}"));
    bad["phone"] = json!(format!("{PLANTED_PHONE_2}9"));
    assert_eq!(app.post_json("/api/v1/seniors", &worker, &bad).await.status(), 422);

    // Searches by ID number and by phone, an ID revealed, a contact changed.
    for q in [PLANTED_ID_NUMBER_2, PLANTED_PHONE_2, PLANTED_ID_NUMBER, PLANTED_PHONE] {
        let res = app.get("/api/v1/seniors").query(&[("q", q)]).bearer_auth(&worker).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = app
        .post_json(&format!("/api/v1/seniors/{id}/reveal-id-number"), &worker, &json!({"reason": "办理补贴核对身份"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id_number"], PLANTED_ID_NUMBER_2);
    let contact = json!({"name": "赵敏", "relation": "女儿", "phone": PLANTED_PHONE_2, "call_order": 2});
    assert_eq!(app.post_json(&format!("/api/v1/seniors/{id}/contacts"), &worker, &contact).await.status(), 201);

    // An import whose rows repeat the planted ID number and carry the phone.
    let csv = format!(
        "name,gender,birth_date,id_number,phone,address,latitude,longitude,community_id,living_arrangement,\
         economic_status,contact_name,contact_relation,contact_phone\n\
         赵玉兰,female,1941-03-15,{PLANTED_ID_NUMBER_2},{PLANTED_PHONE_2},和平区南京路1号,39.115,117.195,{community},\
         alone,subsistence,赵强,儿子,{PLANTED_PHONE_2}\n\
         钱老伯,male,1945-03-07,{PLANTED_ID_NUMBER},{PLANTED_PHONE},和平区南京路2号,39.115,117.195,{community},\
         alone,ordinary,钱强,儿子,{PLANTED_PHONE}x\n"
    );
    let res = app
        .post("/api/v1/seniors/import")
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv.into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "the repeated ID number and the bad phone are row errors");

    // Someone types an ID number or a phone into the login form.
    for username in [PLANTED_ID_NUMBER_2, PLANTED_PHONE_2] {
        assert_eq!(app.login(username, "not-the-password").await.status(), 401);
    }

    // A bell: the alarm, its offers and the family's text (nobody is on duty).
    let res = app.post_json("/api/v1/devices", &worker, &json!({"senior_id": id})).await;
    assert_eq!(res.status(), 201);
    let key = res.json::<Value>().await.unwrap()["api_key"].as_str().unwrap().to_owned();
    let res = app.post_json("/api/v1/alarms", &key, &json!({"event_id": "privacy-1"})).await;
    assert_eq!(res.status(), 202);
    linli::dispatch::notify::deliver_sms(&app.state, 10).await.unwrap();

    // The export a worker downloads.
    let res = app.get("/api/v1/seniors/export?format=csv").bearer_auth(&worker).send().await.unwrap();
    assert_eq!(res.status(), 200);

    assert!(leaked().is_empty(), "planted personal data in the log: {:?}", leaked());
}

async fn the_audit_log_cannot_be_changed_by_the_application(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "王秀英").await;
    let res = app
        .post_json(&format!("/api/v1/seniors/{senior}/reveal-id-number"), &worker, &json!({"reason": "核对身份"}))
        .await;
    assert_eq!(res.status(), 200);
    let before = app.count("SELECT COUNT(*) AS n FROM audit_log").await;
    assert!(before > 0);
    // The application's own connection: the user it runs as.
    let mut statements = vec!["UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"];
    if app.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        statements.push("TRUNCATE audit_log");
    }
    for sql in statements {
        let err = app.db.execute_unprepared(sql).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM audit_log").await, before);
    let actions = app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'senior.reveal_id_number'").await;
    assert_eq!(actions, 1);
}
