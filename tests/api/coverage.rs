//! Coverage reports on a small fixture whose every figure is worked out by hand below.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use linli::auth::Role;
use linli::clock::ManualClock;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, problem};

on_both_backends!(
    every_figure_matches_the_hand_count,
    the_bureau_sees_small_numbers_suppressed_and_drills_down_only_with_a_reason,
    a_worker_sees_only_their_own_communities_in_every_report,
    bad_parameters_name_the_field,
    a_kept_report_gives_way_to_the_figures_of_a_newer_refresh,
);

/// Sunday 20 December 2026, 12:00 in Shanghai.
fn sunday_noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 20, 4, 0, 0).single().unwrap()
}

/// Shanghai local time on a December day.
fn dec(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, h, m, 0).single().unwrap() - Duration::hours(8)
}

const HOME: (f64, f64) = (39.115, 117.195);
/// About 2.2 km north of HOME: another cell, outside the 15-minute circle.
const FAR: (f64, f64) = (39.135, 117.195);

struct Fixture {
    app: TestApp,
    _clock: Arc<ManualClock>,
    a: i64,
    b: i64,
    admin: String,
    bureau: String,
    worker_a: String,
    seniors: Vec<i64>,
    b_senior: i64,
}

fn cell(p: (f64, f64), res: h3o::Resolution) -> String {
    linli::grid::cell_of(p.0, p.1, res).unwrap().to_string()
}

#[allow(clippy::too_many_arguments)]
async fn senior(
    app: &TestApp,
    community: i64,
    at: (f64, f64),
    tier: &str,
    alone: bool,
    economic: &str,
    born: i32,
    flags: Value,
) -> i64 {
    let id = app.create_senior(community, "赵桂兰").await;
    let row = entity::seniors::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
    let mut m: entity::seniors::ActiveModel = row.into();
    m.latitude = Set(at.0);
    m.longitude = Set(at.1);
    m.cell = Set(linli::grid::to_db(linli::grid::cell_of(at.0, at.1, h3o::Resolution::Nine).unwrap()));
    m.tier = Set(Some(tier.to_owned()));
    m.living_arrangement = Set(if alone { "alone" } else { "with_family" }.to_owned());
    m.economic_status = Set(economic.to_owned());
    m.birth_date = Set(NaiveDate::from_ymd_opt(born, 3, 7).unwrap());
    m.flags = Set(flags);
    m.update(&app.db).await.unwrap();
    id
}

async fn responder(app: &TestApp, worker: &str, name: &str, role: Role, community: i64) -> i64 {
    let user = app.create_user(name, role, &[]).await;
    let body = json!({
        "user_id": user, "kind": role.as_str(), "skills": ["housekeeping", "meal_delivery"],
        "home_latitude": HOME.0, "home_longitude": HOME.1,
        "community_ids": [community], "travel_mode": "ebike", "max_concurrent": 2,
    });
    let res = app.post_json("/api/v1/responders", worker, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn task(
    _app: &TestApp,
    kind: &str,
    senior: i64,
    community: i64,
    status: &str,
    assignee: Option<i64>,
    completed_at: Option<DateTime<Utc>>,
    price_fee: (i64, i64),
) -> entity::tasks::ActiveModel {
    let kind = linli::dispatch::kinds::TaskKind::parse(kind).unwrap();
    let created = completed_at.unwrap_or(dec(1, 8, 0)) - Duration::hours(3);
    let mut row = linli::dispatch::tasks::new_row(kind, senior, community, created);
    row.status = Set(status.to_owned());
    row.assignee_id = Set(assignee);
    row.completed_at = Set(completed_at);
    row.price_fen = Set(price_fee.0);
    row.fee_fen = Set(price_fee.1);
    row
}

/// A meal of a December day with the 11:00-12:30 window, priced 15 yuan.
#[allow(clippy::too_many_arguments)]
async fn meal(
    app: &TestApp,
    senior: i64,
    community: i64,
    day: u32,
    status: &str,
    arrived: Option<(u32, u32)>,
    failure: Option<&str>,
    fee: i64,
) {
    let completed = (status == "completed").then(|| arrived.map(|(h, m)| dec(day, h, m + 2))).flatten();
    let mut row = task(app, "meal_delivery", senior, community, status, None, completed, (1500, fee)).await;
    row.service_date = Set(Some(NaiveDate::from_ymd_opt(2026, 12, day).unwrap()));
    row.window_start = Set(Some(dec(day, 11, 0)));
    row.window_end = Set(Some(dec(day, 12, 30)));
    row.check_in_at = Set(arrived.map(|(h, m)| dec(day, h, m)));
    row.failure_reason = Set(failure.map(str::to_owned));
    row.insert(&app.db).await.unwrap();
}

#[allow(clippy::too_many_arguments)]
async fn alarm(
    app: &TestApp,
    device: i64,
    senior: i64,
    community: i64,
    at: DateTime<Utc>,
    accept: Option<i64>,
    arrive: Option<i64>,
    family: bool,
    call_120: bool,
) {
    entity::alarms::ActiveModel {
        device_id: Set(device),
        senior_id: Set(senior),
        community_id: Set(community),
        event_id: Set(uuid::Uuid::new_v4().to_string()),
        request_hash: Set("x".into()),
        received_at: Set(at),
        stage: Set("closed".into()),
        accepted_at: Set(accept.map(|s| at + Duration::seconds(s))),
        arrived_at: Set(arrive.map(|s| at + Duration::seconds(s))),
        family_notified_at: Set(family.then(|| at + Duration::seconds(180))),
        call_120_flagged_at: Set(call_120.then(|| at + Duration::seconds(180))),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn device(app: &TestApp, senior: i64) -> i64 {
    entity::devices::ActiveModel {
        senior_id: Set(senior),
        label: Set("bell".into()),
        api_key_hash: Set(uuid::Uuid::new_v4().to_string()),
        api_key_prefix: Set("k".into()),
        created_at: Set(dec(1, 8, 0)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id
}

async fn answered(app: &TestApp, senior: i64, community: i64, score: i16, at: DateTime<Utc>) {
    let survey = entity::surveys::ActiveModel {
        business_key: Set(uuid::Uuid::new_v4().to_string()),
        kind: Set("periodic".into()),
        template_id: Set(2),
        template_version: Set(1),
        senior_id: Set(senior),
        community_id: Set(community),
        status: Set("answered".into()),
        channel: Set("phone".into()),
        due_on: Set(at.date_naive()),
        expires_at: Set(at + Duration::days(7)),
        reminder_count: Set(0),
        answered_at: Set(Some(at)),
        created_at: Set(at - Duration::hours(1)),
        updated_at: Set(at),
        version: Set(2),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    entity::survey_answers::ActiveModel {
        survey_id: Set(survey.id),
        senior_id: Set(senior),
        community_id: Set(community),
        channel: Set("phone".into()),
        template_id: Set(2),
        template_version: Set(1),
        answers: Set(json!({ "overall": score })),
        overall_score: Set(Some(score)),
        answered_at: Set(at),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn case(
    app: &TestApp,
    senior: i64,
    community: i64,
    opened: DateTime<Utc>,
    due: DateTime<Utc>,
    resolved: DateTime<Utc>,
) {
    entity::cases::ActiveModel {
        senior_id: Set(senior),
        community_id: Set(community),
        category: Set("service_quality".into()),
        severity: Set("normal".into()),
        source: Set("hotline".into()),
        status: Set("resolved".into()),
        summary: Set("送餐晚了".into()),
        due_at: Set(due),
        resolved_at: Set(Some(resolved)),
        created_at: Set(opened),
        updated_at: Set(resolved),
        version: Set(1),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn timebank_earning(app: &TestApp, community: i64, minutes: i64, at: DateTime<Utc>) {
    let account = |kind: &str, community: Option<i64>| entity::timebank_accounts::ActiveModel {
        kind: Set(kind.to_owned()),
        community_id: Set(community),
        balance_minutes: Set(0),
        pending_minutes: Set(0),
        reserved_minutes: Set(0),
        earned_day_minutes: Set(0),
        earned_year_minutes: Set(0),
        created_at: Set(at),
        updated_at: Set(at),
        version: Set(1),
        ..Default::default()
    };
    let volunteer = account("volunteer", Some(community)).insert(&app.db).await.unwrap().id;
    let fund = account("fund", None).insert(&app.db).await.unwrap().id;
    let tx = entity::timebank_transactions::ActiveModel {
        kind: Set("earn".into()),
        business_key: Set(uuid::Uuid::new_v4().to_string()),
        minutes: Set(minutes),
        details: Set(json!({})),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap()
    .id;
    for (account, m) in [(volunteer, minutes), (fund, -minutes)] {
        entity::timebank_entries::ActiveModel {
            transaction_id: Set(tx),
            account_id: Set(account),
            minutes: Set(m),
            created_at: Set(at),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

/// Community A: twelve seniors, nine at HOME (s1-s9) and three FAR (s10-s12).
/// Community B: one tier-A senior at HOME, never served.
async fn fixture(backend: Backend) -> Fixture {
    let clock = manual_clock(sunday_noon());
    let app = TestApp::spawn_with(backend, clock.clone(), |s| s.session_ttl_minutes = 60 * 24 * 365).await;
    let a = app.create_community("新兴社区").await;
    let b = app.create_community("和平社区").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let bureau = app.login_as(Role::Bureau, &[]).await;
    app.create_user("worker-a", Role::Worker, &[a]).await;
    let worker_a = app.token_for("worker-a").await;

    let mut s = Vec::new();
    // s1-s3 tier A, s4-s6 B, s7-s9 C, s10-s12 D; s1-s4 alone; s1 destitute, s2
    // subsistence; s1-s6 born 1945 (81: 高龄), the rest 1955; s1 and s2 disabled.
    for i in 1..=12 {
        let tier = ["A", "B", "C", "D"][(i - 1) / 3];
        let economic = match i {
            1 => "destitute",
            2 => "subsistence",
            _ => "ordinary",
        };
        let flags = if i <= 2 { json!(["disabled", "alone"]) } else { json!([]) };
        let at = if i <= 9 { HOME } else { FAR };
        s.push(senior(&app, a, at, tier, i <= 4, economic, if i <= 6 { 1945 } else { 1955 }, flags).await);
    }
    let b_senior = senior(&app, b, HOME, "A", true, "ordinary", 1950, json!([])).await;

    // Workforce of A: a caregiver with a valid nursing licence and a volunteer.
    let caregiver = responder(&app, &worker_a, "cg-a", Role::Caregiver, a).await;
    let volunteer = responder(&app, &worker_a, "vol-a", Role::Volunteer, a).await;
    let row = entity::responders::Entity::find_by_id(caregiver).one(&app.db).await.unwrap().unwrap();
    let mut m: entity::responders::ActiveModel = row.into();
    m.nursing_licence = Set(Some("津护-0001".into()));
    m.licence_expires_on = Set(NaiveDate::from_ymd_opt(2027, 6, 30));
    m.update(&app.db).await.unwrap();

    // A station at HOME: the 15-minute circle covers s1-s9 and B's senior, not s10-s12.
    entity::stations::ActiveModel {
        community_id: Set(Some(a)),
        kind: Set("canteen".into()),
        name: Set("新兴助餐点".into()),
        address: Set("南京路2号".into()),
        latitude: Set(HOME.0),
        longitude: Set(HOME.1),
        cell: Set(linli::grid::to_db(linli::grid::cell_of(HOME.0, HOME.1, h3o::Resolution::Nine).unwrap())),
        created_at: Set(dec(1, 8, 0)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();

    // Plans: s1, s4 and s6.
    for senior in [s[0], s[3], s[5]] {
        entity::service_plans::ActiveModel {
            senior_id: Set(senior),
            kind: Set("housekeeping".into()),
            weekdays: Set(json!([1, 3, 5])),
            window_start: Set(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
            window_end: Set(NaiveTime::from_hms_opt(11, 0, 0).unwrap()),
            starts_on: Set(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            fee_fen: Set(0),
            price_fen: Set(5000),
            details: Set(json!({})),
            status: Set("active".into()),
            created_at: Set(dec(1, 8, 0)),
            updated_at: Set(dec(1, 8, 0)),
            version: Set(1),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }

    // December's completed work: s1 housekeeping (price 50 yuan, free: destitute),
    // s5 housekeeping by the volunteer (50 yuan, 25 paid), meals for s2 (on time,
    // free) and s4 (late, paid in full); s3's meal failed, nobody home.
    task(&app, "housekeeping", s[0], a, "completed", Some(caregiver), Some(dec(10, 10, 0)), (5000, 0))
        .await
        .insert(&app.db)
        .await
        .unwrap();
    task(&app, "housekeeping", s[4], a, "completed", Some(volunteer), Some(dec(12, 10, 0)), (5000, 2500))
        .await
        .insert(&app.db)
        .await
        .unwrap();
    meal(&app, s[1], a, 18, "completed", Some((11, 30)), None, 0).await;
    meal(&app, s[3], a, 17, "completed", Some((13, 0)), None, 1500).await;
    meal(&app, s[2], a, 19, "failed", None, Some("not_home"), 1500).await;
    // November: s7 served on the 25th (inside 30 days of the 20th), s8 on the 15th (not).
    task(&app, "housekeeping", s[6], a, "completed", None, Some(dec(1, 10, 0) - Duration::days(6)), (0, 0))
        .await
        .insert(&app.db)
        .await
        .unwrap();
    task(&app, "housekeeping", s[7], a, "completed", None, Some(dec(1, 10, 0) - Duration::days(16)), (0, 0))
        .await
        .insert(&app.db)
        .await
        .unwrap();
    // A welfare check opened for s3.
    let mut check = task(&app, "welfare_check", s[2], a, "created", None, None, (0, 0)).await;
    check.created_at = Set(dec(19, 13, 0));
    check.insert(&app.db).await.unwrap();

    // Alarms: three from s1 (accepted after 30, 90 and 200 s; on site after 10, 20
    // and 40 minutes; the third reached the family), one from s10 never accepted
    // (call 120 flagged).
    let bell = device(&app, s[0]).await;
    let far_bell = device(&app, s[9]).await;
    alarm(&app, bell, s[0], a, dec(5, 10, 0), Some(30), Some(600), false, false).await;
    alarm(&app, bell, s[0], a, dec(8, 10, 0), Some(90), Some(1200), false, false).await;
    alarm(&app, bell, s[0], a, dec(9, 10, 0), Some(200), Some(2400), true, false).await;
    alarm(&app, far_bell, s[9], a, dec(11, 10, 0), None, None, false, true).await;

    // Five answers from s1: 5, 4, 4, 3, 2 (mean 3.6).
    for (i, score) in [5, 4, 4, 3, 2].into_iter().enumerate() {
        answered(&app, s[0], a, score, dec(14 + i as u32, 9, 0)).await;
    }
    // Two complaints from s2: one resolved by its deadline, one after it.
    case(&app, s[1], a, dec(10, 9, 0), dec(13, 9, 0), dec(12, 9, 0)).await;
    case(&app, s[1], a, dec(12, 9, 0), dec(15, 9, 0), dec(16, 9, 0)).await;
    // The volunteer earned 90 minutes.
    timebank_earning(&app, a, 90, dec(12, 12, 0)).await;

    let res = app.post("/api/v1/jobs/coverage_refresh/run").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let run: Value = res.json().await.unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(run["created"].as_i64().unwrap() > 0, "{run}");
    Fixture { app, _clock: clock, a, b, admin, bureau, worker_a, seniors: s, b_senior }
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap().clone()
}

fn row_of(rows: &[Value], key: &str, id: i64) -> Value {
    rows.iter().find(|r| r[key] == id).unwrap_or_else(|| panic!("no {key} {id} in {rows:?}")).clone()
}

fn feature(collection: &Value, cell: &str) -> Value {
    collection["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["cell"] == cell)
        .unwrap_or_else(|| panic!("no cell {cell}"))["properties"]
        .clone()
}

async fn every_figure_matches_the_hand_count(backend: Backend) {
    let f = fixture(backend).await;
    let page = f.app.get_json("/api/v1/coverage/communities?month=2026-12", &f.admin).await;
    assert_eq!(page["month"], "2026-12");
    assert_eq!(page["is_final"], false);
    let a = row_of(&items(&page), "community_id", f.a);
    let expected = json!({
        "seniors_total": 12, "seniors_tier_a": 3, "seniors_tier_b": 3, "seniors_tier_c": 3, "seniors_tier_d": 3,
        "seniors_alone": 4, "seniors_oldest_old": 6, "seniors_disabled": 2, "seniors_destitute_or_subsistence": 2,
        // With a plan: s1, s4, s6. Served in 30 days: s1, s5 (housekeeping), s2, s4
        // (meals), s7 (25 November). Tier A not served: s3. Planned, not served: s6.
        "with_plan": 3, "served_30d": 5, "tier_a_unserved_30d": 1, "plan_unserved_30d": 1,
        // Within 1 km of the station: s1-s9 of 12.
        "covered_15min": 9, "covered_15min_share": 0.75,
        // Acceptance 30, 90, 200 s (nearest rank: p50 the 2nd, p90 the 3rd); one of four
        // within 60 s, two within 180 s. Arrival 600, 1200, 2400 s.
        "alarms": 4, "accept_p50_s": 90, "accept_p90_s": 200, "accepted_60s_share": 0.25, "accepted_180s_share": 0.5,
        "arrive_p50_s": 1200, "arrive_p90_s": 2400, "on_site_15m_share": 0.25, "on_site_30m_share": 0.5,
        "alarms_family_or_120": 2,
        // Meals delivered: s2 at 11:30 (on time), s4 at 13:00 (late); s3 not home.
        "meals": 2, "meals_on_time_rate": 0.5, "meals_failed": 1, "welfare_checks": 1,
        "survey_responses": 5, "satisfaction_mean": 3.6,
        // Two complaints per twelve seniors; one of two resolved by its deadline.
        "complaints": 2, "complaints_per_100": 16.67, "cases_resolved": 2, "cases_in_deadline_rate": 0.5,
        // Four tasks completed in December, one by the volunteer.
        "volunteer_task_share": 0.25,
        "caregivers": 1, "volunteers": 1, "certified_nurses": 1, "responders_per_100": 16.67,
        "volunteer_hours_earned": 1.5, "volunteer_hours_redeemed": 0.0,
        // Waived: 50 yuan (s1, destitute), 15 (s2's free meal, subsistence), 25 (s5).
        "subsidy_total_fen": 9000,
        "subsidy_fen": { "destitute": 5000, "subsistence": 1500, "ordinary": 2500 },
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&a[k], v, "community A `{k}`: {a}");
    }
    let b = row_of(&items(&page), "community_id", f.b);
    assert_eq!(
        (b["seniors_total"].clone(), b["seniors_tier_a"].clone(), b["tier_a_unserved_30d"].clone()),
        (json!(1), json!(1), json!(1))
    );

    // Cells at resolution 9: HOME holds s1-s9 of A and B's senior, FAR s10-s12.
    let map = f.app.get_json("/api/v1/coverage/cells?month=2026-12&resolution=9", &f.admin).await;
    assert_eq!(map["type"], "FeatureCollection");
    assert_eq!(map["features"].as_array().unwrap().len(), 2);
    let home = feature(&map, &cell(HOME, h3o::Resolution::Nine));
    assert_eq!(home["seniors_total"], 10);
    assert_eq!(home["seniors_tier_a"], 4);
    assert_eq!(home["served_30d"], 5);
    assert_eq!(home["covered_15min_share"], 1.0);
    assert_eq!(
        (home["alarms"].clone(), home["accept_p50_s"].clone(), home["accept_p90_s"].clone()),
        (json!(3), json!(90), json!(200))
    );
    assert_eq!(home["satisfaction_mean"], 3.6);
    let far = feature(&map, &cell(FAR, h3o::Resolution::Nine));
    assert_eq!(
        (far["seniors_total"].clone(), far["seniors_tier_d"].clone(), far["covered_15min_share"].clone()),
        (json!(3), json!(3), json!(0.0))
    );
    assert_eq!((far["alarms"].clone(), far["accept_p50_s"].clone()), (json!(1), Value::Null));
    // Rolled up to resolution 7 the whole fixture adds up the same.
    let coarse = f.app.get_json("/api/v1/coverage/cells?month=2026-12&resolution=7", &f.admin).await;
    let total: i64 =
        coarse["features"].as_array().unwrap().iter().map(|x| x["properties"]["seniors_total"].as_i64().unwrap()).sum();
    assert_eq!(total, 13);
    let geometry = &coarse["features"][0]["geometry"];
    assert_eq!(geometry["type"], "Polygon");

    // Gaps, worst first: the HOME cell at resolution 8 (two tier-A seniors unserved
    // 20, one slow alarm 5, s6's plan 3, satisfaction (4.5 - 3.6) x 10 = 9: 37),
    // community A (10 + two slow alarms 10 + 3 + 9 + three outside the circle 3:
    // 35), community B (10), the FAR cell (one slow alarm 5, three outside 3: 8).
    let gaps = items(&f.app.get_json("/api/v1/coverage/gaps?month=2026-12&resolution=8", &f.admin).await);
    let order: Vec<(String, f64)> =
        gaps.iter().map(|g| (g["kind"].as_str().unwrap().to_owned(), g["score"].as_f64().unwrap())).collect();
    assert_eq!(
        order,
        vec![("cell".into(), 37.0), ("community".into(), 35.0), ("community".into(), 10.0), ("cell".into(), 8.0)]
    );
    assert_eq!(gaps[0]["cell"], cell(HOME, h3o::Resolution::Eight));
    assert!(gaps[0]["reason"].as_str().unwrap().contains("2 名A级老人30天内没有服务"), "{}", gaps[0]["reason"]);
    assert!(
        gaps[1]["reason_en"].as_str().unwrap().contains("satisfaction 3.60 below the target 4.5"),
        "{}",
        gaps[1]["reason_en"]
    );
    assert_eq!(gaps[2]["community_id"], f.b);

    // The scorecard of A: targets from the settings, this month's actuals, a trend.
    let card =
        f.app.get_json(&format!("/api/v1/coverage/scorecard?month=2026-12&community_id={}", f.a), &f.admin).await;
    let indicator = |code: &str| {
        card["perspectives"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["indicators"].as_array().unwrap().clone())
            .find(|i| i["code"] == code)
            .unwrap()
    };
    assert_eq!(card["perspectives"].as_array().unwrap().len(), 4);
    let satisfaction = indicator("satisfaction_mean");
    assert_eq!(
        (satisfaction["actual"].clone(), satisfaction["target"].clone(), satisfaction["met"].clone()),
        (json!(3.6), json!(4.5), json!(false))
    );
    // 90 yuan waived over 12 seniors: 7.5 a senior, under the 60 target.
    let subsidy = indicator("subsidy_per_senior_yuan");
    assert_eq!((subsidy["actual"].clone(), subsidy["met"].clone()), (json!(7.5), json!(true)));
    assert_eq!(indicator("tier_a_served_share")["actual"], json!(0.6667));
    assert_eq!(indicator("volunteer_hours_per_100")["actual"], json!(12.5));
    let trend = satisfaction["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 12);
    assert_eq!(trend[11], json!({"month": "2026-12", "actual": 3.6}));
    assert_eq!(trend[10], json!({"month": "2026-11", "actual": null}), "no answers in November");

    // Every report downloads as CSV and XLSX.
    for path in ["cells?resolution=8", "communities?x=1", "streets?x=1", "gaps?x=1", "scorecard?x=1"] {
        let res = f
            .app
            .get(&format!("/api/v1/coverage/{path}&month=2026-12&format=csv"))
            .bearer_auth(&f.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let text = res.text().await.unwrap();
        assert!(text.lines().count() >= 2, "{path}: {text}");
        let res = f
            .app
            .get(&format!("/api/v1/coverage/{path}&month=2026-12&format=xlsx"))
            .bearer_auth(&f.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.bytes().await.unwrap().starts_with(b"PK"));
    }
    let gaps_csv = f
        .app
        .get("/api/v1/coverage/gaps?month=2026-12&format=csv")
        .bearer_auth(&f.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(gaps_csv.lines().next().unwrap().contains("reason"));
    assert_eq!(f.seniors.len(), 12);
}

async fn the_bureau_sees_small_numbers_suppressed_and_drills_down_only_with_a_reason(backend: Backend) {
    let f = fixture(backend).await;
    let page = f.app.get_json("/api/v1/coverage/communities?month=2026-12", &f.bureau).await;
    assert_eq!(page["suppressed"], true);
    let a = row_of(&items(&page), "community_id", f.a);
    assert_eq!(a["seniors_total"], 12);
    assert_eq!(a["seniors_tier_a"], "<10", "3 seniors");
    assert_eq!(a["tier_a_unserved_30d"], "<10");
    assert_eq!(a["seniors_tier_b"], "<10");
    assert_eq!(a["covered_15min_share"], 0.75, "rates over 12 seniors are shown");
    let b = row_of(&items(&page), "community_id", f.b);
    assert_eq!(b["seniors_total"], "<10");
    assert_eq!(b["covered_15min_share"], Value::Null, "rates over one senior are not");
    assert_eq!(b["complaints_per_100"], Value::Null);
    let map = f.app.get_json("/api/v1/coverage/cells?month=2026-12&resolution=9", &f.bureau).await;
    let home = feature(&map, &cell(HOME, h3o::Resolution::Nine));
    assert_eq!(home["seniors_total"], 10, "ten is not suppressed");
    assert_eq!(home["accept_p50_s"], 90);
    let far = feature(&map, &cell(FAR, h3o::Resolution::Nine));
    assert_eq!(far["seniors_total"], "<10");
    assert_eq!(far["covered_15min_share"], Value::Null);
    assert_eq!(far["accept_p50_s"], Value::Null);
    let gaps = items(&f.app.get_json("/api/v1/coverage/gaps?month=2026-12", &f.bureau).await);
    assert!(gaps.iter().any(|g| g["reason"].as_str().unwrap().contains("<10 名A级老人")), "{gaps:?}");

    // The list behind a figure needs a reason, and each fetch is audited.
    let far_cell = cell(FAR, h3o::Resolution::Nine);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = 'coverage.drill_down'";
    let res =
        f.app.get(&format!("/api/v1/coverage/seniors?cell={far_cell}")).bearer_auth(&f.bureau).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "reason");
    assert_eq!(f.app.count(audited).await, 0);
    let reason = "核查15分钟服务圈外的老人";
    let list = f.app.get_json(&format!("/api/v1/coverage/seniors?cell={far_cell}&reason={reason}"), &f.bureau).await;
    let people = items(&list);
    assert_eq!(people.len(), 3);
    assert!(people.iter().all(|p| p["name_masked"] == "赵*兰"), "{people:?}");
    assert!(people.iter().all(|p| p["id_number_masked"].as_str().unwrap().contains('*')));
    assert!(people.iter().all(|p| p.get("phone").is_none() && p.get("address").is_none()));
    let coarse = cell(FAR, h3o::Resolution::Seven);
    let again = f.app.get_json(&format!("/api/v1/coverage/seniors?cell={coarse}&reason={reason}"), &f.bureau).await;
    assert!(again["total"].as_i64().unwrap() >= 3);
    assert_eq!(f.app.count(audited).await, 2);
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'coverage.drill_down' AND reason = '{reason}' AND actor_role = 'bureau'"
    );
    assert_eq!(f.app.count(&sql).await, 2);
    assert!(f.b_senior > 0);
}

async fn a_worker_sees_only_their_own_communities_in_every_report(backend: Backend) {
    let f = fixture(backend).await;
    let w = &f.worker_a;
    let page = f.app.get_json("/api/v1/coverage/communities?month=2026-12", w).await;
    let ids: Vec<i64> = items(&page).iter().map(|r| r["community_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![f.a]);
    let map = f.app.get_json("/api/v1/coverage/cells?month=2026-12&resolution=9", w).await;
    assert_eq!(feature(&map, &cell(HOME, h3o::Resolution::Nine))["seniors_total"], 9, "B's senior is not theirs");
    let streets = items(&f.app.get_json("/api/v1/coverage/streets?month=2026-12", w).await);
    assert_eq!(streets.len(), 1);
    assert_eq!(streets[0]["seniors_total"], 12);
    let gaps = items(&f.app.get_json("/api/v1/coverage/gaps?month=2026-12", w).await);
    assert!(gaps.iter().all(|g| g["community_id"] != f.b), "{gaps:?}");
    let card = f.app.get_json("/api/v1/coverage/scorecard?month=2026-12", w).await;
    assert_eq!(card["seniors_total"], 12);
    for path in [
        format!("communities?community_id={}", f.b),
        format!("cells?community_id={}", f.b),
        format!("gaps?community_id={}", f.b),
        format!("scorecard?community_id={}", f.b),
        format!("seniors?community_id={}&reason=看看别的社区", f.b),
    ] {
        let res = f.app.get(&format!("/api/v1/coverage/{path}")).bearer_auth(w).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let list = f.app.get_json(&format!("/api/v1/coverage/seniors?community_id={}&reason=本社区走访名单", f.a), w).await;
    assert_eq!(list["total"], 12);
    // Caregivers do not read coverage.
    f.app.create_user("cg-x", Role::Caregiver, &[]).await;
    let cg = f.app.token_for("cg-x").await;
    let res = f.app.get("/api/v1/coverage/communities").bearer_auth(&cg).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

async fn bad_parameters_name_the_field(backend: Backend) {
    let clock = manual_clock(sunday_noon());
    let app = TestApp::spawn_with(backend, clock, |_| {}).await;
    let admin = app.login_as(Role::Admin, &[]).await;
    for (query, field, why) in [
        ("cells?month=2026-13", "month", "no 13th month"),
        ("communities?month=December", "month", "not YYYY-MM"),
        ("cells?resolution=6", "resolution", "only 7, 8 and 9 are kept"),
        ("gaps?resolution=10", "resolution", "only 7, 8 and 9 are kept"),
        ("scorecard?resolution=6", "resolution", "a report without cells still refuses one it does not keep"),
        ("streets?resolution=6", "resolution", "a report without cells still refuses one it does not keep"),
        ("communities?resolution=10", "resolution", "a report without cells still refuses one it does not keep"),
        ("seniors?reason=", "reason", "a reason is required"),
        ("seniors?reason=为了核查&cell=zz", "cell", "not an H3 index"),
        ("seniors?reason=为了核查", "cell", "neither cell nor community"),
    ] {
        let res = app.get(&format!("/api/v1/coverage/{query}")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(res.status(), 422, "{why}: {query}");
        let p = problem(res).await;
        assert_eq!(p["errors"][0]["field"], field, "{why}: {p}");
    }
    // Nothing refreshed yet: an empty month, not an error.
    let map = app.get_json("/api/v1/coverage/cells", &admin).await;
    assert_eq!(map["features"], json!([]));
    assert_eq!(map["as_of"], Value::Null);
}

/// Rendered reports are kept between refreshes, and never outlive one: not this
/// instance's, and not another instance's over the same database.
async fn a_kept_report_gives_way_to_the_figures_of_a_newer_refresh(backend: Backend) {
    let f = fixture(backend).await;
    let home = cell(HOME, h3o::Resolution::Nine);
    let map = "/api/v1/coverage/cells?month=2026-12&resolution=9";
    let card = "/api/v1/coverage/scorecard?month=2026-12";
    let before = f.app.get_json(map, &f.admin).await;
    // Nine of A's seniors and B's one live at HOME.
    assert_eq!(feature(&before, &home)["seniors_total"], 10);
    let total = f.app.get_json(card, &f.admin).await["seniors_total"].as_i64().unwrap();
    assert_eq!(f.app.state.report_cache.len(), 2, "both kept");
    assert_eq!(f.app.get_json(map, &f.admin).await, before, "the kept map is the map");
    // The bureau's suppressed view is kept apart from the admin's exact one.
    let bureau = f.app.get_json(card, &f.bureau).await;
    assert_eq!(f.app.state.report_cache.len(), 3);
    assert_eq!(bureau["seniors_total"], total);

    // A new senior at HOME, refreshed here in the job's next window: the next read has them.
    senior(&f.app, f.a, HOME, "B", false, "ordinary", 1950, json!([])).await;
    f._clock.advance(Duration::minutes(15));
    let res = f.app.post("/api/v1/jobs/coverage_refresh/run").bearer_auth(&f.admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(feature(&f.app.get_json(map, &f.admin).await, &home)["seniors_total"], 11);
    assert_eq!(f.app.get_json(card, &f.admin).await["seniors_total"], total + 1);

    // Another, refreshed by a second instance a minute later: this one sees it too.
    senior(&f.app, f.a, HOME, "C", false, "ordinary", 1951, json!([])).await;
    f._clock.advance(Duration::minutes(1));
    let other = f.app.another_instance().await;
    linli::coverage::refresh::run(other.state()).await.unwrap();
    assert_eq!(feature(&f.app.get_json(map, &f.admin).await, &home)["seniors_total"], 12);
    assert_eq!(f.app.get_json(card, &f.admin).await["seniors_total"], total + 2);
}
