use linli::auth::Role;
use linli::registry::id_number::check_character;
use linli::segmentation::DEFAULT_RULES;
use linli_tests::{TestApp, on_both_databases, problem};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

on_both_databases!(
    registration_and_assessment_set_the_tier_with_its_rule_and_reasons,
    a_preview_counts_who_would_move_without_applying,
    a_preview_of_a_broken_rules_file_names_the_line,
    start_up_resegments_seniors_decided_under_other_rules,
);

fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("120101{}{seq:03}", birth.replace('-', ""));
    format!("{first17}{}", check_character(&first17))
}

/// 82 years old on the test date, alone, 低保: tier B by `oldest_old` + `alone`.
async fn register_alone_82(app: &TestApp, worker: &str, community: i64, seq: u32) -> i64 {
    let body = json!({
        "name": "赵桂芳", "gender": "female", "birth_date": "1944-01-15", "id_number": id_number("1944-01-15", seq),
        "phone": "13800000001", "address": "和平区西康路8号", "latitude": 39.115, "longitude": 117.195,
        "community_id": community, "living_arrangement": "alone", "economic_status": "subsistence"
    });
    let res = app.post("/api/v1/seniors").bearer_auth(worker).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn registration_and_assessment_set_the_tier_with_its_rule_and_reasons(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let id = register_alone_82(&app, &worker, community, 12).await;

    let o = app.get_json(&format!("/api/v1/seniors/{id}/overview"), &worker).await;
    assert_eq!(o["tier"], "B");
    assert_eq!(o["flags"], json!(["alone", "oldest_old", "subsistence"]));
    assert!(!o["tier_reasons"].as_array().unwrap().is_empty(), "{o}");
    assert!(!o["tier_reasons_zh"].as_array().unwrap().is_empty(), "{o}");
    assert_eq!(o["tier_rule"], "B.oldest_old_alone");
    let first_rule = app
        .count("SELECT COUNT(*) FROM tier_changes WHERE rule = 'B.oldest_old_alone' AND rules_version = '2026-11-1'")
        .await;
    assert_eq!(first_rule, 1);

    // Severe dependency moves the senior to tier A, with a second tier change.
    let severe = json!({"feeding": 5, "bathing": 0, "grooming": 0, "dressing": 5, "bowels": 5, "bladder": 5, "toilet_use": 0, "transfers": 5, "mobility": 5, "stairs": 0});
    let res = app
        .post(&format!("/api/v1/seniors/{id}/assessments"))
        .bearer_auth(&worker)
        .json(&json!({"barthel": severe, "spmsq_errors": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let senior: Value =
        app.get(&format!("/api/v1/seniors/{id}")).bearer_auth(&worker).send().await.unwrap().json().await.unwrap();
    assert_eq!(senior["tier"], "A");
    assert!(senior["flags"].as_array().unwrap().contains(&json!("disabled")));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM tier_changes WHERE senior_id = {id}")).await, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM tier_changes WHERE senior_id = {id} AND from_tier = 'B' AND to_tier = 'A'"
        ))
        .await,
        1
    );
}

async fn a_preview_counts_who_would_move_without_applying(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let admin = app.login_as(Role::Admin, &[]).await;
    register_alone_82(&app, &worker, community, 21).await;
    register_alone_82(&app, &worker, community, 33).await;
    let proposed = DEFAULT_RULES
        .replace("version = \"2026-11-1\"", "version = \"2026-12-1\"")
        .replace("oldest_old_age = 80", "oldest_old_age = 90");
    let res = app
        .post("/api/v1/segmentation/preview")
        .bearer_auth(&admin)
        .json(&json!({"rules": proposed}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["seniors"], 2);
    assert_eq!(p["moved"], 2);
    assert_eq!(p["proposed_version"], "2026-12-1");
    assert_eq!(p["transitions"], json!([{"from": "B", "to": "C", "seniors": 2}]));
    // Nothing was applied.
    assert_eq!(app.count("SELECT COUNT(*) FROM seniors WHERE tier = 'B'").await, 2);
    assert_eq!(
        app.post("/api/v1/segmentation/preview")
            .bearer_auth(&worker)
            .json(&json!({"rules": "x"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

async fn a_preview_of_a_broken_rules_file_names_the_line(app: TestApp) {
    let admin = app.login_as(Role::Admin, &[]).await;
    let broken = DEFAULT_RULES.replace("oldest_old_age = 80", "oldest_old_age = \"eighty\"");
    let line = broken.lines().position(|l| l.contains("\"eighty\"")).unwrap() + 1;
    let res = app
        .post("/api/v1/segmentation/preview")
        .bearer_auth(&admin)
        .json(&json!({"rules": broken}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["errors"][0]["field"], "rules");
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&format!("line {line}")), "{message}");
}

async fn start_up_resegments_seniors_decided_under_other_rules(app: TestApp) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let id = register_alone_82(&app, &worker, community, 45).await;
    app.db
        .execute_unprepared(&format!("UPDATE seniors SET tier = 'D', tier_rules_version = 'old-rules' WHERE id = {id}"))
        .await
        .unwrap();
    let _second = app.another_instance().await;
    let senior: Value =
        app.get(&format!("/api/v1/seniors/{id}")).bearer_auth(&worker).send().await.unwrap().json().await.unwrap();
    assert_eq!(senior["tier"], "B");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM tier_changes WHERE senior_id = {id} AND from_tier = 'D' AND to_tier = 'B'"
        ))
        .await,
        1
    );
}

#[test]
fn a_bad_rules_file_stops_start_up_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, DEFAULT_RULES.replace("disabled_from = \"moderate\"", "disabled_from = \"very\"")).unwrap();
    let settings = linli::config::Settings { rules_file: Some(path), ..Default::default() };
    let err = linli::load_rules(&settings).unwrap_err().to_string();
    assert!(err.contains("rules.toml"), "{err}");
    assert!(err.contains("line"), "{err}");
}
