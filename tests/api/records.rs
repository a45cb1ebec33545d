//! Contacts, consents and marked changes: the parts of the record kept after registration.

use linli::auth::Role;
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::{Value, json};

on_both_databases!(
    contacts_are_added_edited_and_removed_in_call_order,
    a_bad_contact_names_the_field_and_changes_nothing,
    consents_keep_their_history_and_the_latest_answer_counts,
    a_guardian_consent_needs_the_guardians_name,
    marking_a_fall_makes_the_reassessment_due_today,
    another_communitys_records_are_404,
);

async fn setup(app: &TestApp) -> (i64, String, i64) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    (community, worker, senior)
}

fn contact(name: &str, order: i32) -> Value {
    json!({"name": name, "relation": "女儿", "phone": "13920005678", "call_order": order, "is_keyholder": false})
}

async fn contacts_are_added_edited_and_removed_in_call_order(app: TestApp) {
    let (_, worker, senior) = setup(&app).await;
    let path = format!("/api/v1/seniors/{senior}/contacts");
    let second = app.post_json(&path, &worker, &contact("钱二", 2)).await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    let first: Value = app.post_json(&path, &worker, &contact("钱一", 1)).await.json().await.unwrap();
    let names = |list: &Value| list.as_array().unwrap().iter().map(|c| c["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&app.get_json(&path, &worker).await), vec![json!("钱一"), json!("钱二")]);

    // Swap the order and make the second one the keyholder.
    let res = app
        .client
        .put(app.url(&format!("{path}/{}", second["id"])))
        .bearer_auth(&worker)
        .json(&json!({"name": "钱二", "relation": "邻居", "phone": "022-23456789", "call_order": 0, "is_keyholder": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "call_order starts at 1");
    assert_eq!(problem(res).await["errors"][0]["field"], "call_order");
    let res = app
        .client
        .put(app.url(&format!("{path}/{}", second["id"])))
        .bearer_auth(&worker)
        .json(&json!({"name": "钱二", "relation": "邻居", "phone": "022-23456789", "call_order": 1, "is_keyholder": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["relation"], "邻居");
    assert_eq!(updated["is_keyholder"], true);
    let res = app.client.delete(app.url(&format!("{path}/{}", first["id"]))).bearer_auth(&worker).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let overview = app.get_json(&format!("/api/v1/seniors/{senior}/overview"), &worker).await;
    assert_eq!(names(&overview["contacts"]), vec![json!("钱二")]);
    assert_eq!(overview["contacts"][0]["phone"], "02223456789", "stored normalised");
    let audited = app
        .count(&format!("SELECT COUNT(*) AS n FROM audit_log WHERE object_id = '{senior}' AND action LIKE 'contact.%'"))
        .await;
    assert_eq!(audited, 4, "two adds, one update, one delete, and no row for the refused update");
}

async fn a_bad_contact_names_the_field_and_changes_nothing(app: TestApp) {
    let (_, worker, senior) = setup(&app).await;
    let path = format!("/api/v1/seniors/{senior}/contacts");
    app.post_json(&path, &worker, &contact("孙一", 1)).await;
    let mut bad = contact("孙二", 2);
    bad["phone"] = json!("12345");
    let res = app.post_json(&path, &worker, &bad).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "phone");
    let res = app.post_json(&path, &worker, &json!({"relation": "子", "phone": "13920005678", "call_order": 1})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "name");
    assert_eq!(app.get_json(&path, &worker).await.as_array().unwrap().len(), 1);
    let missing = app.client.delete(app.url(&format!("{path}/999999"))).bearer_auth(&worker).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

async fn consents_keep_their_history_and_the_latest_answer_counts(app: TestApp) {
    let (_, worker, senior) = setup(&app).await;
    let path = format!("/api/v1/seniors/{senior}/consents");
    let granted = json!({"scope": "health_to_responders", "granted": true, "granted_by": "senior"});
    let res = app.post_json(&path, &worker, &granted).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    assert!(first["recorded_by_name"].as_str().unwrap().starts_with("Test worker-"), "{first}");
    app.post_json(&path, &worker, &json!({"scope": "surveys", "granted": true, "granted_by": "senior"})).await;
    let withdrawn = json!({"scope": "health_to_responders", "granted": false, "granted_by": "senior"});
    assert_eq!(app.post_json(&path, &worker, &withdrawn).await.status(), 201);

    let consents = app.get_json(&path, &worker).await;
    assert_eq!(consents["history"].as_array().unwrap().len(), 3);
    let current = consents["current"].as_array().unwrap();
    assert_eq!(current.len(), 2, "two scopes answered: {current:?}");
    let health = current.iter().find(|c| c["scope"] == "health_to_responders").unwrap();
    assert_eq!(health["granted"], false, "the withdrawal is the current answer");
    let overview = app.get_json(&format!("/api/v1/seniors/{senior}/overview"), &worker).await;
    assert_eq!(overview["consents"], consents["current"]);

    let res =
        app.post_json(&path, &worker, &json!({"scope": "everything", "granted": true, "granted_by": "senior"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "scope");
    assert_eq!(app.get_json(&path, &worker).await["history"].as_array().unwrap().len(), 3);
}

async fn a_guardian_consent_needs_the_guardians_name(app: TestApp) {
    let (_, worker, senior) = setup(&app).await;
    let path = format!("/api/v1/seniors/{senior}/consents");
    let res =
        app.post_json(&path, &worker, &json!({"scope": "photos", "granted": true, "granted_by": "guardian"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "guardian_name");
    let res = app
        .post_json(
            &path,
            &worker,
            &json!({"scope": "photos", "granted": true, "granted_by": "senior", "guardian_name": "周明"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "guardian_name");
    let res = app
        .post_json(
            &path,
            &worker,
            &json!({"scope": "photos", "granted": true, "granted_by": "guardian", "guardian_name": " 周明 "}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["guardian_name"], "周明");
}

async fn marking_a_fall_makes_the_reassessment_due_today(app: TestApp) {
    let (_, worker, senior) = setup(&app).await;
    let due = || async {
        let list = app.get_json("/api/v1/seniors?reassessment_due=true", &worker).await;
        list["items"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert!(due().await.is_empty(), "not due before the fall");
    let before = app.get_json(&format!("/api/v1/seniors/{senior}"), &worker).await;

    let path = format!("/api/v1/seniors/{senior}/changes");
    let res = app.post_json(&path, &worker, &json!({"kind": "fall", "occurred_on": "2999-01-01"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "occurred_on");
    assert!(due().await.is_empty(), "a refused mark changes nothing");

    let res = app.post_json(&path, &worker, &json!({"kind": "fall", "note": "在卫生间滑倒"})).await;
    assert_eq!(res.status(), 201);
    assert_eq!(due().await, vec![senior]);
    let after = app.get_json(&format!("/api/v1/seniors/{senior}"), &worker).await;
    assert!(after["reassessment_due_on"].is_string());
    assert_eq!(after["version"], before["version"], "a derived date does not make the worker's edit stale");
    let overview = app.get_json(&format!("/api/v1/seniors/{senior}/overview"), &worker).await;
    assert_eq!(overview["changes"][0]["kind"], "fall");
    assert_eq!(overview["changes"][0]["note"], "在卫生间滑倒");

    // The reassessment clears it.
    let items = json!({"feeding": 5, "bathing": 0, "grooming": 5, "dressing": 5, "bowels": 10, "bladder": 10,
        "toilet_use": 5, "transfers": 10, "mobility": 10, "stairs": 0});
    let res = app
        .post_json(
            &format!("/api/v1/seniors/{senior}/assessments"),
            &worker,
            &json!({"barthel": items, "spmsq_errors": 1, "reason": "fall"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert!(due().await.is_empty());
}

async fn another_communitys_records_are_404(app: TestApp) {
    let (_, _, senior) = setup(&app).await;
    let elsewhere = app.create_community("南营门社区").await;
    let other = app.login_as(Role::Worker, &[elsewhere]).await;
    for path in ["contacts", "consents", "changes"] {
        let url = format!("/api/v1/seniors/{senior}/{path}");
        assert_eq!(app.get(&url).bearer_auth(&other).send().await.unwrap().status(), 404, "{path}");
    }
    let res = app.post_json(&format!("/api/v1/seniors/{senior}/changes"), &other, &json!({"kind": "fall"})).await;
    assert_eq!(res.status(), 404);
    let bureau = app.login_as(Role::Bureau, &[]).await;
    let res = app.get(&format!("/api/v1/seniors/{senior}/contacts")).bearer_auth(&bureau).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM senior_changes").await, 0);
}
