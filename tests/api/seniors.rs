use linli::auth::Role;
use linli::registry::id_number::check_character;
use linli_tests::{TestApp, on_both_databases, problem};
use serde_json::{Value, json};

on_both_databases!(
    a_registered_senior_reads_back_with_its_h3_cell,
    each_invalid_field_is_named,
    a_second_senior_with_the_same_id_number_is_409_pointing_at_the_first,
    a_point_outside_the_community_is_flagged_not_rejected,
    a_worker_registers_only_in_their_own_communities,
    an_assessment_is_scored_by_the_server,
    invalid_assessment_items_are_named,
    the_overview_gathers_the_record,
    revealing_an_id_number_needs_a_reason_and_is_audited,
);

/// A valid resident ID number for a birth date and sequence.
fn id_number(birth: &str, seq: &str) -> String {
    let first17 = format!("120101{}{seq}", birth.replace('-', ""));
    format!("{first17}{}", check_character(&first17))
}

fn senior_body(community: i64) -> Value {
    json!({
        "name": "王秀英",
        "gender": "female",
        "birth_date": "1944-05-12",
        "id_number": id_number("1944-05-12", "024"),
        "phone": "13820001234",
        "address": "和平区南京路100号3门201",
        "latitude": 39.1152,
        "longitude": 117.1951,
        "community_id": community,
        "living_arrangement": "alone",
        "economic_status": "subsistence",
        "medical_notes": {"chronic": ["高血压"], "allergies": [], "diet": "低盐"},
        "contacts": [{"name": "李强", "relation": "儿子", "phone": "13920005678", "call_order": 1}]
    })
}

async fn setup(app: &TestApp) -> (i64, String) {
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    (community, worker)
}

async fn register(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/api/v1/seniors").bearer_auth(token).json(body).send().await.unwrap()
}

async fn a_registered_senior_reads_back_with_its_h3_cell(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let res = register(&app, &worker, &senior_body(community)).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();

    let senior: Value =
        app.get(&format!("/api/v1/seniors/{id}")).bearer_auth(&worker).send().await.unwrap().json().await.unwrap();
    let expected_cell = h3o::LatLng::new(39.1152, 117.1951).unwrap().to_cell(h3o::Resolution::Nine).to_string();
    assert_eq!(senior["cell"], expected_cell);
    assert_eq!(created["cell"], expected_cell);
    for (field, value) in [
        ("name", json!("王秀英")),
        ("gender", json!("female")),
        ("birth_date", json!("1944-05-12")),
        ("phone", json!("13820001234")),
        ("address", json!("和平区南京路100号3门201")),
        ("latitude", json!(39.1152)),
        ("longitude", json!(117.1951)),
        ("community_id", json!(community)),
        ("living_arrangement", json!("alone")),
        ("economic_status", json!("subsistence")),
    ] {
        assert_eq!(senior[field], value, "{field}");
    }
    let full = id_number("1944-05-12", "024");
    assert_eq!(senior["id_number"], format!("{}********{}", &full[..6], &full[14..]));
    assert!(senior.get("tier").is_some());
}

async fn each_invalid_field_is_named(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let valid = senior_body(community);
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let mut wrong_check = id_number("1944-05-12", "024");
    let last = wrong_check.pop().unwrap();
    wrong_check.push(if last == '1' { '2' } else { '1' });
    let cases = [
        (with("id_number", json!(wrong_check)), "id_number", "wrong check digit"),
        (with("id_number", json!(id_number("1944-05-13", "024"))), "id_number", "embedded birth date differs"),
        (with("id_number", json!("12010119440512")), "id_number", "too short"),
        (with("birth_date", json!("1990-01-01")), "birth_date", "younger than 60"),
        (with("birth_date", json!("1944-13-01")), "birth_date", "not a date"),
        (with("phone", json!("12345")), "phone", "not a phone number"),
        (with("latitude", json!(31.23)), "latitude", "outside the service area"),
        (with("longitude", json!(121.47)), "longitude", "outside the service area"),
        (with("gender", json!("unknown")), "gender", "not an allowed value"),
        (with("economic_status", json!("rich")), "economic_status", "not an allowed value"),
        (with("name", json!("")), "name", "empty"),
        (with("community_id", json!(999999)), "community_id", "no such community"),
    ];
    for (body, field, why) in cases {
        let res = register(&app, &worker, &body).await;
        assert_eq!(res.status(), 422, "{why}");
        let p = problem(res).await;
        let named: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(named.contains(&field), "{why}: {p}");
    }
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("address");
    let p = problem(register(&app, &worker, &missing).await).await;
    assert_eq!(p["errors"][0]["field"], "address");
    assert_eq!(app.count("SELECT COUNT(*) FROM seniors").await, 0, "nothing stored");

    // A lowercase x check character is accepted.
    let mut body = valid.clone();
    let upper = (0..1000).map(|seq| id_number("1949-12-31", &format!("{seq:03}"))).find(|n| n.ends_with('X')).unwrap();
    body["id_number"] = json!(upper.to_lowercase());
    body["birth_date"] = json!("1949-12-31");
    assert_eq!(register(&app, &worker, &body).await.status(), 201);
}

async fn a_second_senior_with_the_same_id_number_is_409_pointing_at_the_first(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let first: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let mut again = senior_body(community);
    again["name"] = json!("另一个名字");
    let res = register(&app, &worker, &again).await;
    assert_eq!(res.status(), 409);
    let p = problem(res).await;
    assert_eq!(p["existing_id"], first["id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM seniors").await, 1);
}

async fn a_point_outside_the_community_is_flagged_not_rejected(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let mut body = senior_body(community);
    body["latitude"] = json!(39.13);
    let res = register(&app, &worker, &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["outside_boundary"], true);
    let inside: Value = {
        let mut b = senior_body(community);
        b["id_number"] = json!(id_number("1944-05-12", "036"));
        register(&app, &worker, &b).await.json().await.unwrap()
    };
    assert_eq!(inside["outside_boundary"], false);
}

async fn a_worker_registers_only_in_their_own_communities(app: TestApp) {
    let (_, worker) = setup(&app).await;
    let other = app.create_community("南营门社区").await;
    let res = register(&app, &worker, &senior_body(other)).await;
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["errors"][0]["field"], "community_id");
    let caregiver = app.login_as(Role::Caregiver, &[]).await;
    assert_eq!(register(&app, &caregiver, &senior_body(other)).await.status(), 403);
}

fn barthel(total_wanted: u32) -> Value {
    // Fill items in order with their maxima until the total is reached.
    let maxima = [
        ("feeding", 10),
        ("bathing", 5),
        ("grooming", 5),
        ("dressing", 10),
        ("bowels", 10),
        ("bladder", 10),
        ("toilet_use", 10),
        ("transfers", 15),
        ("mobility", 15),
        ("stairs", 10),
    ];
    let mut left = total_wanted;
    let mut out = serde_json::Map::new();
    for (name, max) in maxima {
        let v = left.min(max) / 5 * 5;
        out.insert(name.into(), json!(v));
        left -= v;
    }
    Value::Object(out)
}

async fn an_assessment_is_scored_by_the_server(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let senior: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = senior["id"].as_i64().unwrap();
    let cases = [
        (100, "independent", 0, "intact"),
        (95, "mild", 2, "intact"),
        (65, "mild", 3, "mild"),
        (60, "moderate", 4, "mild"),
        (45, "moderate", 5, "moderate"),
        (40, "severe", 7, "moderate"),
        (0, "severe", 8, "severe"),
        (20, "severe", 10, "severe"),
    ];
    for (total, dependency, spmsq, cognition) in cases {
        let res = app
            .post(&format!("/api/v1/seniors/{id}/assessments"))
            .bearer_auth(&worker)
            .json(&json!({"barthel": barthel(total), "spmsq_errors": spmsq, "reason": "periodic"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "total {total}");
        let a: Value = res.json().await.unwrap();
        assert_eq!(a["barthel_total"], total, "total {total}");
        assert_eq!(a["dependency_level"], dependency, "total {total}");
        assert_eq!(a["cognition_level"], cognition, "{spmsq} errors");
        assert_eq!(a["barthel"]["feeding"], barthel(total)["feeding"]);
    }
    let history = app.get_json(&format!("/api/v1/seniors/{id}/assessments"), &worker).await;
    assert_eq!(history.as_array().unwrap().len(), cases.len());
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM assessments WHERE senior_id = {id}")).await,
        cases.len() as i64
    );
}

async fn invalid_assessment_items_are_named(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let senior: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = senior["id"].as_i64().unwrap();
    let mut items = barthel(100);
    items["bathing"] = json!(10);
    items["mobility"] = json!(12);
    let res = app
        .post(&format!("/api/v1/seniors/{id}/assessments"))
        .bearer_auth(&worker)
        .json(&json!({"barthel": items, "spmsq_errors": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    let named: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(named, ["barthel.bathing", "barthel.mobility", "spmsq_errors"], "{p}");
    let mut missing = barthel(100);
    missing.as_object_mut().unwrap().remove("stairs");
    let res = app
        .post(&format!("/api/v1/seniors/{id}/assessments"))
        .bearer_auth(&worker)
        .json(&json!({"barthel": missing, "spmsq_errors": 0}))
        .send()
        .await
        .unwrap();
    let p = problem(res).await;
    assert_eq!(p["errors"][0]["field"], "barthel.stairs");
    assert_eq!(app.count("SELECT COUNT(*) FROM assessments").await, 0);
}

async fn the_overview_gathers_the_record(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let senior: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = senior["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/seniors/{id}/assessments"))
        .bearer_auth(&worker)
        .json(&json!({"barthel": barthel(55), "spmsq_errors": 1}))
        .send()
        .await
        .unwrap();
    let o = app.get_json(&format!("/api/v1/seniors/{id}/overview"), &worker).await;
    assert_eq!(o["senior"]["id"], id);
    assert_eq!(o["assessment"]["barthel_total"], 55);
    assert_eq!(o["assessment"]["dependency_level"], "moderate");
    assert_eq!(o["contacts"][0]["name"], "李强");
    assert_eq!(o["contacts"][0]["call_order"], 1);
    for key in ["tier", "tier_reasons", "flags", "plans"] {
        assert!(o.get(key).is_some(), "{key}");
    }
    let other = app.create_community("南营门社区").await;
    let other_worker = app.login_as(Role::Worker, &[other]).await;
    assert_eq!(
        app.get(&format!("/api/v1/seniors/{id}/overview")).bearer_auth(&other_worker).send().await.unwrap().status(),
        404
    );
}

async fn revealing_an_id_number_needs_a_reason_and_is_audited(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let senior: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = senior["id"].as_i64().unwrap();
    let path = format!("/api/v1/seniors/{id}/reveal-id-number");

    let res = app.post(&path).bearer_auth(&worker).json(&json!({"reason": ""})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "reason");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'senior.reveal_id_number'").await, 0);

    let bureau = app.login_as(Role::Bureau, &[]).await;
    assert_eq!(
        app.post(&path)
            .bearer_auth(&bureau)
            .json(&json!({"reason": "checking a subsidy claim"}))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    let res = app.post(&path).bearer_auth(&worker).json(&json!({"reason": "医保报销核对"})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id_number"], id_number("1944-05-12", "024"));
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'senior.reveal_id_number' AND object_id = '{id}' AND reason = '医保报销核对'")).await,
        1
    );
    // Every read path stays masked.
    for path in
        [format!("/api/v1/seniors/{id}"), format!("/api/v1/seniors/{id}/overview"), "/api/v1/seniors".to_owned()]
    {
        let text = app.get(&path).bearer_auth(&worker).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains(&id_number("1944-05-12", "024")), "{path}");
    }
}

on_both_databases!(
    an_update_with_the_version_read_applies_and_a_stale_one_is_409,
    the_list_searches_and_filters_by_flag_status_and_due_reassessment,
    every_role_sees_masked_ids_or_nothing,
);

async fn an_update_with_the_version_read_applies_and_a_stale_one_is_409(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let created: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let senior: Value =
        app.get(&format!("/api/v1/seniors/{id}")).bearer_auth(&worker).send().await.unwrap().json().await.unwrap();
    let version = senior["version"].as_i64().unwrap();
    assert_eq!(senior["tier"], "B", "alone and 80+");

    let path = format!("/api/v1/seniors/{id}");
    let res = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&worker)
        .json(&json!({"version": version, "living_arrangement": "with_family", "phone": "022-23456789", "latitude": 39.1160}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["living_arrangement"], "with_family");
    assert_eq!(updated["phone"], "02223456789");
    assert_eq!(updated["version"], version + 1);
    let cell = h3o::LatLng::new(39.1160, 117.1951).unwrap().to_cell(h3o::Resolution::Nine).to_string();
    assert_eq!(updated["cell"], cell);
    assert_eq!(updated["tier"], "C", "no longer alone: oldest-old and subsistence only");

    // A second writer with the old version loses and changes nothing.
    let res = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&worker)
        .json(&json!({"version": version, "name": "改名"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let p = problem(res).await;
    assert_eq!(p["current_version"], version + 1);
    let again = app.get_json(&path, &worker).await;
    assert_eq!(again["name"], "王秀英");

    for (body, field) in [
        (json!({"version": version + 1, "phone": "123"}), "phone"),
        (json!({"version": version + 1, "longitude": 121.5}), "longitude"),
        (json!({"version": version + 1, "status": "gone"}), "status"),
        (json!({"name": "x"}), "version"),
    ] {
        let res = app.client.patch(app.url(&path)).bearer_auth(&worker).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        assert_eq!(problem(res).await["errors"][0]["field"], field, "{body}");
    }
    let res = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&worker)
        .json(&json!({"version": version + 1, "status": "hospitalised", "status_since": "2026-11-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "hospitalised");
    let other = app.create_community("南营门社区").await;
    let stranger = app.login_as(Role::Worker, &[other]).await;
    let res = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&stranger)
        .json(&json!({"version": version + 2, "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

async fn the_list_searches_and_filters_by_flag_status_and_due_reassessment(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let alone: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let mut family = senior_body(community);
    family["name"] = json!("张建国");
    family["gender"] = json!("male");
    family["phone"] = json!("13700001111");
    family["id_number"] = json!(id_number("1944-05-12", "031"));
    family["living_arrangement"] = json!("with_family");
    let family: Value = register(&app, &worker, &family).await.json().await.unwrap();
    let ids = |page: Value| -> Vec<i64> {
        page["items"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect()
    };
    let list = |query: &str| {
        let (app, worker, query) = (&app, worker.clone(), query.to_owned());
        async move { app.get(&format!("/api/v1/seniors?{query}")).bearer_auth(&worker).send().await.unwrap() }
    };
    assert_eq!(
        ids(list("q=%E5%BB%BA%E5%9B%BD").await.json().await.unwrap()),
        vec![family["id"].as_i64().unwrap()],
        "name contains 建国"
    );
    assert_eq!(ids(list("q=1382").await.json().await.unwrap()), vec![alone["id"].as_i64().unwrap()], "phone prefix");
    assert_eq!(ids(list("flag=alone").await.json().await.unwrap()), vec![alone["id"].as_i64().unwrap()]);
    assert_eq!(ids(list("flag=oldest_old").await.json().await.unwrap()).len(), 2);
    assert_eq!(ids(list("status=active").await.json().await.unwrap()).len(), 2);
    assert_eq!(ids(list("status=deceased").await.json().await.unwrap()).len(), 0);
    // Both are unassessed: their first assessment is due today.
    assert_eq!(ids(list("reassessment_due=true").await.json().await.unwrap()).len(), 2);
    let id = alone["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/seniors/{id}/assessments"))
        .bearer_auth(&worker)
        .json(&json!({"barthel": barthel(100), "spmsq_errors": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(list("reassessment_due=true").await.json().await.unwrap()), vec![family["id"].as_i64().unwrap()]);
    for (query, field) in
        [("flag=rich", "flag"), ("status=gone", "status"), ("reassessment_due=maybe", "reassessment_due")]
    {
        let res = list(query).await;
        assert_eq!(res.status(), 422, "{query}");
        assert_eq!(problem(res).await["errors"][0]["field"], field, "{query}");
    }
}

async fn every_role_sees_masked_ids_or_nothing(app: TestApp) {
    let (community, worker) = setup(&app).await;
    let created: Value = register(&app, &worker, &senior_body(community)).await.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let full = id_number("1944-05-12", "024");
    let masked = format!("{}********{}", &full[..6], &full[14..]);
    let admin = app.login_as(Role::Admin, &[]).await;
    let paths = [
        format!("/api/v1/seniors/{id}"),
        format!("/api/v1/seniors/{id}/overview"),
        "/api/v1/seniors".to_owned(),
        "/api/v1/seniors/export?format=csv".to_owned(),
    ];
    for token in [&worker, &admin] {
        for path in &paths {
            let res = app.get(path).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let text = res.text().await.unwrap();
            assert!(!text.contains(&full), "{path} leaks the full number");
            assert!(text.contains(&masked), "{path} shows the masked number");
        }
    }
    for role in [Role::Bureau, Role::Caregiver, Role::Volunteer] {
        let token = app.login_as(role, &[]).await;
        for path in &paths {
            let res = app.get(path).bearer_auth(&token).send().await.unwrap();
            assert_eq!(res.status(), 403, "{role} {path}");
            let text = res.text().await.unwrap();
            assert!(!text.contains("王秀英") && !text.contains("13820001234"), "{role} {path}");
        }
    }
}
