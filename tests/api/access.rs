//! Access control, generated from the OpenAPI document: every operation that takes an
//! id is called, by every role of one community, with the id of something that
//! belongs to another community, and must answer 403 or 404. A new endpoint is
//! covered as soon as it is documented; one whose id this test cannot supply fails
//! it until a fixture is added below.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use linli_tests::{TestApp, on_both_databases};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, Statement};
use serde_json::{Map, Value, json};

on_both_databases!(every_id_endpoint_refuses_another_communitys_id, caregivers_see_only_allow_listed_fields,);

/// The demo's logins of community 1 (兴安路社区; the worker also has 滨江道社区).
const ROLES: [&str; 4] = ["worker", "caregiver", "volunteer", "bureau"];

/// Operations whose path parameter is not an id of anything a community owns.
const NOT_COMMUNITY_IDS: [(&str, &str); 2] = [
    // The token is the credential: whoever holds the link may answer, by design.
    ("/api/v1/public/surveys/{token}", "a family link's token is its own permission"),
    ("/api/v1/public/surveys/{token}/answers", "a family link's token is its own permission"),
];

/// A small demo district: eight communities, 300 seniors, two weeks of history.
async fn demo(app: &TestApp) {
    let today = app.state.clock.now().date_naive();
    let mut options = linli_seed::DemoOptions::new(20261123, today);
    options.seniors = 300;
    options.history_days = 14;
    options.h3_resolution = app.settings.resolution();
    let services = linli::seeding::Services::new(app.state.data_key.clone());
    linli_seed::seed_demo(&app.db, &options, &services, false).await.expect("seed the demo");
}

/// A bearer token for one of the demo's logins.
async fn demo_login(app: &TestApp, username: &str) -> String {
    let res = app.login(username, "linli-demo").await;
    assert_eq!(res.status(), 200, "login of {username}");
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn one(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no row: {sql}"));
    row.try_get_by_index::<Option<i64>>(0).unwrap().unwrap_or_else(|| panic!("nothing found: {sql}"))
}

/// Community 8 (开封道社区): served by none of the demo's community-1 logins. Returns
/// the id of one thing of each kind that belongs to it, by the path segment naming it.
async fn other_community(app: &TestApp) -> BTreeMap<&'static str, i64> {
    let b = one(app, "SELECT MAX(id) FROM communities").await;
    let served = one(
        app,
        &format!(
            "SELECT COUNT(*) FROM responder_communities rc JOIN responders r ON r.id = rc.responder_id \
             JOIN users u ON u.id = r.user_id WHERE u.username IN ('caregiver', 'volunteer') AND rc.community_id = {b}"
        ),
    )
    .await;
    assert_eq!(served, 0, "the demo's responders must not serve community {b}");
    let now = Utc::now();
    let senior = one(app, &format!("SELECT MIN(id) FROM seniors WHERE community_id = {b}")).await;
    let task = one(app, &format!("SELECT MIN(id) FROM tasks WHERE community_id = {b}")).await;
    let volunteer_user = one(
        app,
        &format!(
            "SELECT MIN(r.user_id) FROM responders r JOIN responder_communities rc ON rc.responder_id = r.id \
             WHERE r.kind = 'volunteer' AND rc.community_id = {b} AND r.id NOT IN \
             (SELECT responder_id FROM responder_communities WHERE community_id <> {b})"
        ),
    )
    .await;
    let worker_b = one(
        app,
        &format!(
            "SELECT MIN(u.id) FROM users u JOIN user_communities uc ON uc.user_id = u.id WHERE uc.community_id = {b}"
        ),
    )
    .await;

    // What the demo does not make: the time bank, surveys, a push subscription.
    let account = entity::timebank_accounts::ActiveModel {
        kind: Set("volunteer".to_owned()),
        owner_user_id: Set(Some(volunteer_user)),
        community_id: Set(Some(b)),
        balance_minutes: Set(60),
        pending_minutes: Set(30),
        reserved_minutes: Set(0),
        earned_day_minutes: Set(0),
        earned_year_minutes: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let transaction = entity::timebank_transactions::ActiveModel {
        kind: Set("earn".to_owned()),
        business_key: Set(format!("task:{task}")),
        minutes: Set(60),
        task_id: Set(Some(task)),
        details: Set(json!({})),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    entity::timebank_entries::ActiveModel {
        transaction_id: Set(transaction),
        account_id: Set(account),
        minutes: Set(60),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    let booking = entity::timebank_bookings::ActiveModel {
        account_id: Set(account),
        senior_id: Set(senior),
        kind: Set("housekeeping".to_owned()),
        minutes: Set(30),
        status: Set("reserved".to_owned()),
        idempotency_key: Set("access-booking".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let flag = entity::timebank_flags::ActiveModel {
        kind: Set("self_confirmed".to_owned()),
        subject_key: Set(format!("task:{task}")),
        account_id: Set(Some(account)),
        task_id: Set(Some(task)),
        community_id: Set(Some(b)),
        details: Set(json!({})),
        status: Set("open".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let pending = entity::timebank_pending_credits::ActiveModel {
        task_id: Set(task),
        account_id: Set(account),
        minutes: Set(30),
        status: Set("pending".to_owned()),
        reason: Set("check-in far from home".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let relative = entity::timebank_relatives::ActiveModel {
        volunteer_user_id: Set(volunteer_user),
        senior_id: Set(senior),
        relation: Set("parent".to_owned()),
        status: Set("pending".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let template = one(app, "SELECT MIN(id) FROM survey_templates WHERE code = 'monthly'").await;
    let survey = entity::surveys::ActiveModel {
        business_key: Set(format!("monthly:{senior}:access")),
        kind: Set("periodic".to_owned()),
        template_id: Set(template),
        template_version: Set(1),
        senior_id: Set(senior),
        community_id: Set(b),
        status: Set("pending".to_owned()),
        channel: Set("phone".to_owned()),
        due_on: Set(now.date_naive()),
        expires_at: Set(now + Duration::days(7)),
        reminder_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    let subscription = entity::push_subscriptions::ActiveModel {
        user_id: Set(worker_b),
        endpoint: Set("https://push.example.invalid/worker-b".to_owned()),
        p256dh: Set(
            "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM".to_owned()
        ),
        auth: Set("tBHItJI5svbpez7KI4CCXg".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    // A case through the API, as the admin.
    let admin = demo_login(app, "admin").await;
    let body = json!({"senior_id": senior, "category": "attitude", "severity": "normal", "source": "hotline",
        "summary": "送餐员态度不好"});
    let res = app.post_json("/api/v1/cases", &admin, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let case = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    BTreeMap::from([
        ("alarms", one(app, &format!("SELECT MIN(id) FROM alarms WHERE community_id = {b}")).await),
        ("cases", case),
        ("communities", b),
        (
            "plans",
            one(
                app,
                &format!(
                    "SELECT MIN(p.id) FROM service_plans p JOIN seniors s ON s.id = p.senior_id WHERE s.community_id = {b}"
                ),
            )
            .await,
        ),
        ("subscriptions", subscription),
        (
            "responders",
            one(
                app,
                &format!(
                    "SELECT MIN(r.id) FROM responders r JOIN responder_communities rc ON rc.responder_id = r.id \
                     WHERE rc.community_id = {b} AND r.id NOT IN \
                     (SELECT responder_id FROM responder_communities WHERE community_id <> {b})"
                ),
            )
            .await,
        ),
        ("seniors", senior),
        ("contacts", one(app, &format!("SELECT MIN(id) FROM contacts WHERE senior_id = {senior}")).await),
        ("surveys", survey),
        ("tasks", task),
        ("accounts", account),
        ("bookings", booking),
        ("flags", flag),
        ("pending", pending),
        ("relatives", relative),
        ("transactions", transaction),
        ("jobs", 0),
    ])
}

/// The concrete path: each `{param}` replaced by the id of the thing the segment
/// before it names (`/seniors/{id}/contacts/{contact_id}`: a senior, then one of
/// its contacts). `None` when the test has no such thing.
fn concrete(path: &str, ids: &BTreeMap<&str, i64>) -> Result<String, String> {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in path.split('/') {
        if segment.starts_with('{') {
            if segment == "{name}" && previous == "jobs" {
                out.push("session_sweep".to_owned());
                continue;
            }
            let id = ids.get(previous).ok_or_else(|| format!("no fixture for the id after `{previous}` in {path}"))?;
            out.push(id.to_string());
        } else {
            out.push(segment.to_owned());
        }
        previous = segment;
    }
    Ok(out.join("/"))
}

/// A value that satisfies `schema`: every property, the first enum value or the example,
/// minimums, plausible formats. Good enough to get past deserialisation and
/// validation, so that the answer is about access and nothing else.
fn example(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return example(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) =
            schema[key].as_array().and_then(|alts| alts.iter().find(|a| a["type"] != "null").or(alts.first()))
        {
            return example(doc, first);
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(fields) = example(doc, part) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if !schema["example"].is_null() {
        return schema["example"].clone();
    }
    let kind = match &schema["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema["properties"].is_object() => "object",
        _ => "null",
    };
    match kind {
        "object" => {
            let mut fields = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let value = match name.as_str() {
                    "phone" => json!("13912345678"),
                    "version" => json!(1),
                    _ => example(doc, property),
                };
                fields.insert(name.clone(), value);
            }
            Value::Object(fields)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1);
            Value::Array((0..n).map(|_| example(doc, &schema["items"])).collect())
        }
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(1.0).max(1.0)),
        "boolean" => json!(true),
        "string" => match schema["format"].as_str() {
            Some("date") => json!("2026-12-10"),
            Some("date-time") => json!("2026-12-10T09:00:00Z"),
            Some("time") | Some("partial-time") => json!("09:00:00"),
            Some("uuid") => json!("00000000-0000-4000-8000-000000000001"),
            Some("uri") => json!("https://push.example.invalid/x"),
            _ => {
                let n = schema["minLength"].as_u64().unwrap_or(2).max(2) as usize;
                json!("说明".repeat(n.div_ceil(2)))
            }
        },
        _ => Value::Null,
    }
}

fn request_body(doc: &Value, operation: &Value) -> Option<Value> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then(|| example(doc, schema))
}

/// The operation's required query parameters, with example values.
fn query(doc: &Value, operation: &Value) -> Vec<(String, String)> {
    let parameters = operation["parameters"].as_array().into_iter().flatten();
    parameters
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let value = match example(doc, &p["schema"]) {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (p["name"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

/// Answers other than 403/404 that are right: (role, path, why).
const ALLOWED: [(&str, &str, &str); 1] = [(
    "bureau",
    "/api/v1/communities/{id}",
    "the bureau reviews the whole district; a community's name and boundary are not personal",
)];

async fn every_id_endpoint_refuses_another_communitys_id(app: TestApp) {
    demo(&app).await;
    let ids = other_community(&app).await;
    let doc: Value = app.get("/api/openapi.json").send().await.unwrap().json().await.unwrap();
    let skipped: BTreeMap<&str, &str> = NOT_COMMUNITY_IDS.into_iter().collect();
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, demo_login(&app, role).await));
    }

    let before = snapshot(&app).await;
    let mut calls = 0;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') || skipped.contains_key(path.as_str()) {
            continue;
        }
        let url = concrete(path, &ids).unwrap_or_else(|e| panic!("{e}: add a fixture to `other_community`"));
        for (method, operation) in item.as_object().unwrap() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = request_body(&doc, operation);
            let query = query(&doc, operation);
            for (role, token) in &tokens {
                if ALLOWED.iter().any(|(r, p, _)| r == role && p == path) {
                    continue;
                }
                let mut request = app.client.request(method.clone(), app.url(&url)).query(&query).bearer_auth(token);
                if let Some(body) = &body {
                    request = request.json(body);
                }
                let res = request.send().await.unwrap();
                calls += 1;
                let status = res.status().as_u16();
                if status != 403 && status != 404 {
                    let text = res.text().await.unwrap_or_default();
                    wrong.push(format!(
                        "{role}: {method} {url} -> {status} {}",
                        text.chars().take(200).collect::<String>()
                    ));
                }
            }
        }
    }
    eprintln!("{calls} calls with another community's ids");
    assert!(calls > 150, "only {calls} calls: is the document complete?");
    assert!(wrong.is_empty(), "{} answers other than 403/404:\n{}", wrong.len(), wrong.join("\n"));
    // The refused writes changed nothing.
    assert_eq!(snapshot(&app).await, before, "a refused call wrote something");
}

/// Row counts that any successful write would move.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "audit_log",
        "task_events",
        "task_offers",
        "outbox",
        "case_actions",
        "timebank_entries",
        "contacts",
        "consents",
        "senior_changes",
        "assessments",
        "service_plans",
        "responder_absences",
        "survey_answers",
    ] {
        counts.push(app.count(&format!("SELECT COUNT(*) AS n FROM {table}")).await);
    }
    counts
}

/// Every field name a caregiver may see anywhere in a response: the visit, the
/// senior's name, address and contacts for the visit they hold, meal and nursing
/// instructions, their own profile, shifts and time bank. Health detail
/// (assessments, Barthel items), ID numbers, economic status and tiers are not
/// among them. A new field in a caregiver's response fails here until it is added
/// on purpose.
const CAREGIVER_FIELDS: &[&str] = &[
    "absences",
    "actor_kind",
    "actor_user_id",
    "address",
    "allergies",
    "assignee_id",
    "at",
    "case_category",
    "check_in_at",
    "check_in_distance_m",
    "check_out_at",
    "check_out_distance_m",
    "code",
    "community_id",
    "community_ids",
    "completed_at",
    "confirmation_source",
    "confirmed_at",
    "confirmed_by",
    "contacts",
    "created_at",
    "database",
    "details",
    "diet",
    "display_name",
    "duration_minutes",
    "en",
    "ends_at",
    "escalation_level",
    "events",
    "failure_reason",
    "from_status",
    "home_latitude",
    "home_longitude",
    "id",
    "is_keyholder",
    "items",
    "kind",
    "last_accuracy_m",
    "last_latitude",
    "last_longitude",
    "last_seen_at",
    "latitude",
    "licence_expires_on",
    "longitude",
    "max_concurrent",
    "migrations_current",
    "name",
    "notes",
    "nursing_items",
    "nursing_licence",
    "offers",
    "on_duty",
    "one_off",
    "options",
    "outcome",
    "overall_question",
    "page",
    "per_page",
    "phone",
    "plan_id",
    "previous",
    "priority",
    "public_key",
    "questions",
    "reason",
    "relation",
    "required",
    "responder_id",
    "role",
    "senior_id",
    "senior_name",
    "serious_answers",
    "service_date",
    "shifts",
    "skills",
    "starts_at",
    "status",
    "task_id",
    "text",
    "title",
    "to_status",
    "total",
    "travel_mode",
    "user_id",
    "username",
    "value",
    "version",
    "visit_flagged",
    "weekday",
    "window_end",
    "window_start",
    "zh",
];

/// Named on their own as well, so that widening the allow-list by mistake still fails.
const NEVER_FOR_CAREGIVERS: &[&str] = &[
    "id_number",
    "id_number_masked",
    "id_number_hash",
    "barthel",
    "barthel_score",
    "spmsq_errors",
    "assessments",
    "conditions",
    "diagnoses",
    "economic_status",
    "income",
    "tier",
    "flags",
    "birth_date",
    "consents",
    "password_hash",
];

fn field_names(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => {
            for (name, v) in fields {
                out.insert(name.clone());
                field_names(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

async fn caregivers_see_only_allow_listed_fields(app: TestApp) {
    demo(&app).await;
    let token = demo_login(&app, "caregiver").await;
    let doc: Value = app.get("/api/openapi.json").send().await.unwrap().json().await.unwrap();
    // A visit the caregiver holds, so that the held task's contacts are read too.
    let me =
        one(&app, "SELECT MIN(r.id) FROM responders r JOIN users u ON u.id = r.user_id WHERE u.username = 'caregiver'")
            .await;
    let senior = one(&app, "SELECT MIN(id) FROM seniors WHERE community_id = 1").await;
    let worker = demo_login(&app, "worker").await;
    let tomorrow = app.state.clock.now().date_naive() + Duration::days(1);
    let visit = json!({"senior_id": senior, "kind": "housekeeping", "date": tomorrow, "window_start": "14:00:00",
        "window_end": "16:00:00", "details": {"duration_minutes": 90}, "reason": "家里需要打扫"});
    let res = app.post_json("/api/v1/tasks", &worker, &visit).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let task: Value = res.json().await.unwrap();
    let assign = json!({"version": task["version"], "reason": "熟悉这位老人", "responder_id": me});
    let res = app.post_json(&format!("/api/v1/tasks/{}/assign", task["id"]), &worker, &assign).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let own = BTreeMap::from([("tasks", task["id"].as_i64().unwrap()), ("responders", me)]);

    let mut seen = BTreeSet::new();
    let mut read = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("get").is_none() {
            continue;
        }
        let Ok(url) = concrete(path, &own) else { continue };
        if path.contains("/public/") || path.ends_with("/stream") || path.contains("events") {
            continue;
        }
        let res = app.get(&url).bearer_auth(&token).send().await.unwrap();
        if res.status() != 200 {
            continue;
        }
        let is_json = res.headers().get("content-type").is_some_and(|c| c.to_str().unwrap_or("").contains("json"));
        if !is_json {
            continue;
        }
        let body: Value = res.json().await.unwrap();
        field_names(&body, &mut seen);
        read.push(url);
    }
    eprintln!("a caregiver reads {}: {read:?}", read.len());
    assert!(seen.contains("contacts"), "the held task's contacts were not read: {read:?}");
    for secret in NEVER_FOR_CAREGIVERS {
        assert!(!seen.contains(*secret), "a caregiver sees `{secret}`");
    }
    let allowed: BTreeSet<String> = CAREGIVER_FIELDS.iter().map(|s| s.to_string()).collect();
    let extra: Vec<&String> = seen.difference(&allowed).collect();
    assert!(extra.is_empty(), "fields outside the caregiver's allow-list: {extra:?}");
}
