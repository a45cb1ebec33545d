//! Responders, emergency bells, the task state machine, escalation, welfare checks
//! and the daily job, through the real server with a manual clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use linli::auth::Role;
use linli::clock::ManualClock;
use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, problem};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

on_both_backends!(
    a_nursing_responder_needs_a_licence_and_a_caregiver_account,
    location_reports_are_throttled,
    alarm_idempotency,
    an_alarm_is_offered_to_the_three_nearest_able_responders,
    twenty_concurrent_acceptances_have_one_winner,
    escalation_widens_then_calls_the_family_even_after_a_restart,
    a_check_in_500_m_away_is_flagged,
    illegal_transitions_are_409_with_the_current_state,
    a_missed_meal_runs_the_welfare_check_in_order,
    the_daily_job_makes_each_task_once_on_two_instances,
    the_event_stream_resumes_from_last_event_id,
    route_sheets_split_a_days_meals_among_couriers,
    a_missed_visit_alerts_then_proposes_a_replacement_and_a_worker_reassigns,
    a_missed_daily_run_catches_up_when_the_server_starts,
    a_text_left_by_a_dead_sender_is_sent_once_its_lease_runs_out,
    a_queued_check_in_keeps_the_phones_time_and_counts_once,
    bad_plans_bells_and_route_requests_name_the_field,
    a_responders_stream_carries_only_their_tasks,
    a_held_task_carries_the_contacts_and_a_courier_gets_the_round_in_order,
    a_worker_makes_a_one_off_visit_and_it_is_offered,
    publishing_the_rounds_gives_each_free_meal_to_its_courier_once,
    a_worker_logs_the_calls_and_closes_an_alarm_with_its_outcome,
    today_lists_open_alarms_late_and_missed_visits_unassigned_tasks_and_cases_due,
);

/// Monday 23 November 2026, 10:00 in Shanghai.
fn monday_ten() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).single().unwrap()
}

const HOME: (f64, f64) = (39.115, 117.195);

struct World {
    app: TestApp,
    clock: Arc<ManualClock>,
    community: i64,
    worker: String,
    senior: i64,
}

/// A point `north_m` metres north of the senior's home.
fn north(m: f64) -> (f64, f64) {
    (HOME.0 + m / 111_195.0, HOME.1)
}

async fn world(backend: Backend) -> World {
    let clock = manual_clock(monday_ten());
    let app = TestApp::spawn_with(backend, clock.clone(), |s| {
        s.session_ttl_minutes = 30 * 24 * 60;
        s.dispatch.emergency_widen_secs = 60;
        s.dispatch.emergency_family_secs = 180;
        s.dispatch.welfare_step_secs = 30;
        s.dispatch.location_min_interval_secs = 15;
    })
    .await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    World { app, clock, community, worker, senior }
}

impl World {
    /// Registers a responder on duty at `at` with a weekday shift; returns (id, token).
    async fn responder(&self, name: &str, kind: &str, skills: &[&str], at: (f64, f64)) -> (i64, String) {
        let role = if kind == "caregiver" { Role::Caregiver } else { Role::Volunteer };
        let user = self.app.create_user(name, role, &[]).await;
        let token = self.app.token_for(name).await;
        let mut body = json!({
            "user_id": user, "kind": kind, "skills": skills,
            "home_latitude": at.0, "home_longitude": at.1,
            "community_ids": [self.community], "travel_mode": "ebike", "max_concurrent": 2,
            "shifts": (1..=5).map(|d| json!({"weekday": d, "starts_at": "08:00:00", "ends_at": "18:00:00"})).collect::<Vec<_>>(),
        });
        if skills.contains(&"nursing") {
            body["nursing_licence"] = json!("RN-12345");
            body["licence_expires_on"] = json!("2030-01-01");
        }
        let res = self.app.post_json("/api/v1/responders", &self.worker, &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(self.app.post_json("/api/v1/me/duty", &token, &json!({"on_duty": true})).await.status(), 200);
        let fix = json!({"latitude": at.0, "longitude": at.1, "accuracy_m": 8});
        assert_eq!(self.app.post_json("/api/v1/me/location", &token, &fix).await.status(), 200);
        (id, token)
    }

    async fn bell(&self) -> String {
        let res = self.app.post_json("/api/v1/devices", &self.worker, &json!({"senior_id": self.senior})).await;
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()["api_key"].as_str().unwrap().to_owned()
    }

    async fn alarm(&self, key: &str, event_id: &str) -> Value {
        let res = self.app.post_json("/api/v1/alarms", key, &json!({"event_id": event_id})).await;
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
        res.json().await.unwrap()
    }

    async fn task(&self, id: i64) -> Value {
        self.app.get_json(&format!("/api/v1/tasks/{id}"), &self.worker).await
    }

    async fn offered_to(&self, task: i64) -> Vec<i64> {
        let t = self.task(task).await;
        let mut ids: Vec<i64> =
            t["offers"].as_array().unwrap().iter().map(|o| o["responder_id"].as_i64().unwrap()).collect();
        ids.sort_unstable();
        ids
    }

    async fn sweep(&self) -> usize {
        linli::dispatch::sweep::run_once(&self.app.state).await.unwrap()
    }

    async fn add_contacts(&self) {
        for (name, order) in [("大女儿", 1), ("小儿子", 2)] {
            let body = json!({"name": name, "relation": "子女", "phone": "13920005678", "call_order": order});
            let res =
                self.app.post_json(&format!("/api/v1/seniors/{}/contacts", self.senior), &self.worker, &body).await;
            assert_eq!(res.status(), 201);
        }
    }
}

fn event_kinds(task: &Value) -> Vec<String> {
    task["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

async fn a_nursing_responder_needs_a_licence_and_a_caregiver_account(backend: Backend) {
    let w = world(backend).await;
    let user = w.app.create_user("nurse-li", Role::Caregiver, &[]).await;
    let body = json!({"user_id": user, "kind": "caregiver", "skills": ["nursing"], "home_latitude": HOME.0,
        "home_longitude": HOME.1, "community_ids": [w.community], "travel_mode": "walk"});
    let res = w.app.post_json("/api/v1/responders", &w.worker, &body).await;
    assert_eq!(res.status(), 422);
    let fields: Vec<String> = problem(res).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["nursing_licence", "licence_expires_on"]);
    let mut as_volunteer = body.clone();
    as_volunteer["kind"] = json!("volunteer");
    as_volunteer["skills"] = json!(["companionship"]);
    let res = w.app.post_json("/api/v1/responders", &w.worker, &as_volunteer).await;
    assert_eq!(problem(res).await["errors"][0]["field"], "user_id", "a caregiver account is not a volunteer");
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM responders").await, 0);
}

async fn location_reports_are_throttled(backend: Backend) {
    let w = world(backend).await;
    let (id, token) = w.responder("walker", "volunteer", &["companionship"], HOME).await;
    let moved = json!({"latitude": 39.12, "longitude": 117.2, "accuracy_m": 5});
    let ack: Value = w.app.post_json("/api/v1/me/location", &token, &moved).await.json().await.unwrap();
    assert_eq!(ack["stored"], false, "{ack}");
    w.clock.advance(Duration::seconds(16));
    let ack: Value = w.app.post_json("/api/v1/me/location", &token, &moved).await.json().await.unwrap();
    assert_eq!(ack["stored"], true);
    let r = w.app.get_json(&format!("/api/v1/responders/{id}"), &w.worker).await;
    assert_eq!(r["last_latitude"], 39.12);
    let res = w.app.post_json("/api/v1/me/location", &token, &json!({"latitude": 31.2, "longitude": 121.4})).await;
    assert_eq!(res.status(), 422, "outside the service area");
}

async fn alarm_idempotency(backend: Backend) {
    let w = world(backend).await;
    let key = w.bell().await;
    let first = w.alarm(&key, "press-1").await;
    let again = w.alarm(&key, "press-1").await;
    assert_eq!(again["alarm_id"], first["alarm_id"]);
    assert_eq!(again["task_id"], first["task_id"]);
    assert_eq!(again["replayed"], true);
    let res = w
        .app
        .post_json("/api/v1/alarms", &key, &json!({"event_id": "press-1", "occurred_at": "2026-11-23T01:59:00Z"}))
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "event_id");
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM alarms").await, 1);
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM tasks").await, 1);
    let res = w.app.post_json("/api/v1/alarms", "lld_not-a-key", &json!({"event_id": "x"})).await;
    assert_eq!(res.status(), 401);
    let res = w.app.post_json("/api/v1/alarms", &w.worker, &json!({"event_id": "x"})).await;
    assert_eq!(res.status(), 403, "people do not raise alarms through the device endpoint");
}

async fn an_alarm_is_offered_to_the_three_nearest_able_responders(backend: Backend) {
    let w = world(backend).await;
    let (near1, _) = w.responder("r100", "caregiver", &["emergency_response"], north(100.0)).await;
    let (near2, _) = w.responder("r300", "volunteer", &["emergency_response", "companionship"], north(300.0)).await;
    let (near3, _) = w.responder("r500", "caregiver", &["emergency_response"], north(500.0)).await;
    let (_fourth, _) = w.responder("r700", "caregiver", &["emergency_response"], north(700.0)).await;
    let (_unskilled, _) = w.responder("r50", "caregiver", &["housekeeping"], north(50.0)).await;
    let (_far, _) = w.responder("r1500", "caregiver", &["emergency_response"], north(1500.0)).await;
    let (off_duty, off_token) = w.responder("r60", "caregiver", &["emergency_response"], north(60.0)).await;
    w.app.post_json("/api/v1/me/duty", &off_token, &json!({"on_duty": false})).await;
    let key = w.bell().await;
    let alarm = w.alarm(&key, "e-1").await;
    assert_eq!(alarm["offered"], 3);
    let task = alarm["task_id"].as_i64().unwrap();
    let mut expected = vec![near1, near2, near3];
    expected.sort_unstable();
    assert_eq!(w.offered_to(task).await, expected);
    assert!(!w.offered_to(task).await.contains(&off_duty));
    assert_eq!(w.task(task).await["status"], "offered");

    let candidates =
        w.app.get_json(&format!("/api/v1/seniors/{}/candidates?kind=emergency", w.senior), &w.worker).await;
    let excluded = candidates["excluded"].as_array().unwrap();
    let reasons_of = |id: i64| {
        excluded.iter().find(|x| x["responder_id"] == id).map(|x| x["reasons"].clone()).unwrap_or(Value::Null)
    };
    assert_eq!(reasons_of(off_duty), json!(["off_duty"]));

    // Sunday: the caregivers' weekday shifts do not cover it; the volunteer needs none.
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).single().unwrap());
    for token in ["r100", "r300"] {
        let t = w.app.token_for(token).await;
        w.app.post_json("/api/v1/me/location", &t, &json!({"latitude": HOME.0, "longitude": HOME.1})).await;
    }
    let sunday = w.alarm(&key, "e-2").await;
    assert_eq!(w.offered_to(sunday["task_id"].as_i64().unwrap()).await, vec![near2], "only the volunteer on Sunday");
}

async fn twenty_concurrent_acceptances_have_one_winner(backend: Backend) {
    let w = world(backend).await;
    let mut tokens = Vec::new();
    for i in 0..20 {
        let (_, t) =
            w.responder(&format!("fast{i}"), "volunteer", &["emergency_response"], north(20.0 * i as f64)).await;
        tokens.push(t);
    }
    let key = w.bell().await;
    let task = w.alarm(&key, "race").await["task_id"].as_i64().unwrap();
    // Offer the alarm to all twenty: the widened round reaches everyone on duty.
    w.clock.advance(Duration::seconds(61));
    assert_eq!(w.sweep().await, 1);
    assert_eq!(w.offered_to(task).await.len(), 20);
    let url = w.app.url(&format!("/api/v1/tasks/{task}/accept"));
    let attempts = tokens.iter().map(|t| {
        let req = w.app.client.post(&url).bearer_auth(t).send();
        async move { req.await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let t = w.task(task).await;
    assert_eq!(t["status"], "accepted");
    let accepted = t["offers"].as_array().unwrap().iter().filter(|o| o["status"] == "accepted").count();
    assert_eq!(accepted, 1);
    assert_eq!(event_kinds(&t).iter().filter(|k| *k == "accepted").count(), 1);
    assert!(w.app.count("SELECT COUNT(*) AS n FROM alarms WHERE accepted_at IS NOT NULL").await == 1);
}

async fn escalation_widens_then_calls_the_family_even_after_a_restart(backend: Backend) {
    let w = world(backend).await;
    w.add_contacts().await;
    let (_, _) = w.responder("near", "caregiver", &["emergency_response"], north(200.0)).await;
    let (wide, _) = w.responder("wide", "caregiver", &["emergency_response"], north(2500.0)).await;
    let key = w.bell().await;
    let task = w.alarm(&key, "help").await["task_id"].as_i64().unwrap();
    assert_eq!(w.offered_to(task).await.len(), 1);

    w.clock.advance(Duration::seconds(59));
    assert_eq!(w.sweep().await, 0, "nothing before the deadline");
    w.clock.advance(Duration::seconds(2));
    assert_eq!(w.sweep().await, 1);
    let t = w.task(task).await;
    assert_eq!(t["status"], "escalated");
    assert!(w.offered_to(task).await.contains(&wide));
    assert_eq!(
        w.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'console' AND kind = 'alarm_unanswered'").await,
        1
    );

    // A new instance with nothing in memory takes over; the deadline is in the database.
    let restarted = w.app.another_instance().await;
    w.clock.advance(Duration::seconds(118));
    assert_eq!(linli::dispatch::sweep::run_once(restarted.state()).await.unwrap(), 0);
    w.clock.advance(Duration::seconds(2));
    assert_eq!(linli::dispatch::sweep::run_once(restarted.state()).await.unwrap(), 1);
    let t = w.task(task).await;
    let kinds = event_kinds(&t);
    let notified: Vec<i64> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "family_notified")
        .map(|e| e["details"]["call_order"].as_i64().unwrap())
        .collect();
    assert_eq!(notified, vec![1, 2], "in call order: {kinds:?}");
    assert!(kinds.contains(&"call_120_flagged".to_owned()));
    let alarms = w.app.get_json("/api/v1/alarms?open=true", &w.worker).await;
    assert_eq!(alarms["items"][0]["stage"], "family");
    assert!(alarms["items"][0]["call_120_flagged_at"].is_string());
    // The SMS rows were delivered through the log channel by the sweep.
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'sms' AND status = 'sent'").await, 2);
    // Nothing more to do, however often anyone sweeps.
    w.clock.advance(Duration::seconds(600));
    assert_eq!(w.sweep().await, 0);
}

async fn a_check_in_500_m_away_is_flagged(backend: Backend) {
    let w = world(backend).await;
    let (_, token) = w.responder("door", "caregiver", &["emergency_response"], north(100.0)).await;
    let key = w.bell().await;
    let task = w.alarm(&key, "fall").await["task_id"].as_i64().unwrap();
    assert_eq!(
        w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&token).send().await.unwrap().status(),
        200
    );
    let far = north(500.0);
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{task}/check-in"),
            &token,
            &json!({"latitude": far.0, "longitude": far.1, "accuracy_m": 10}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["status"], "on_site");
    assert_eq!(t["visit_flagged"], true);
    let d = t["check_in_distance_m"].as_f64().unwrap();
    assert!((490.0..=510.0).contains(&d), "{d}");
    let flagged = w.app.get_json("/api/v1/tasks?flagged=true", &w.worker).await;
    assert_eq!(flagged["total"], 1);
    let complete = format!("/api/v1/tasks/{task}/complete");
    let res =
        w.app.post_json(&complete, &token, &json!({"outcome": "helped_at_home", "vitals": {"systolic": 400}})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "vitals.systolic");
    let upside_down = json!({"outcome": "helped_at_home", "vitals": {"systolic": 80, "diastolic": 120}});
    let res = w.app.post_json(&complete, &token, &upside_down).await;
    assert_eq!(problem(res).await["errors"][0]["field"], "vitals.diastolic");
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{task}/complete"),
            &token,
            &json!({"outcome": "helped_at_home", "notes": "扶起，无外伤", "vitals": {"systolic": 142, "diastolic": 88, "pulse": 92, "temperature": 36.6, "spo2": 96, "glucose": 6.1}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(w.task(task).await["details"]["vitals"]["pulse"], 92);
    let alarms = w.app.get_json("/api/v1/alarms", &w.worker).await;
    assert_eq!(alarms["items"][0]["outcome"], "helped_at_home");
    assert!(alarms["items"][0]["arrived_at"].is_string());
}

async fn illegal_transitions_are_409_with_the_current_state(backend: Backend) {
    let w = world(backend).await;
    let (_, token) = w.responder("strict", "caregiver", &["emergency_response"], north(100.0)).await;
    let key = w.bell().await;
    let task = w.alarm(&key, "x").await["task_id"].as_i64().unwrap();
    let pos = json!({"latitude": HOME.0, "longitude": HOME.1});
    // Not held yet: nothing to check into.
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/check-in"), &token, &pos).await;
    assert_eq!(res.status(), 404);
    w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&token).send().await.unwrap();
    let res =
        w.app.post_json(&format!("/api/v1/tasks/{task}/complete"), &token, &json!({"outcome": "helped_at_home"})).await;
    assert_eq!(res.status(), 409);
    let body = problem(res).await;
    assert_eq!(body["current_status"], "accepted");
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/check-out"), &token, &pos).await;
    assert_eq!(res.status(), 409);
    let version = w.task(task).await["version"].as_i64().unwrap();
    let cancel = json!({"version": version - 1, "reason": "误报"});
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/cancel"), &w.worker, &cancel).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await["current_version"], version);
    let cancel = json!({"version": version, "reason": "误报"});
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/cancel"), &w.worker, &cancel).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["version"], version + 1);
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{task}/cancel"),
            &w.worker,
            &json!({"version": version + 1, "reason": "再次"}),
        )
        .await;
    assert_eq!(problem(res).await["current_status"], "cancelled");
}

/// A canteen of the community at the senior's home.
async fn canteen(w: &World) -> i64 {
    use sea_orm::{ActiveModelTrait, Set};
    entity::stations::ActiveModel {
        community_id: Set(Some(w.community)),
        kind: Set("canteen".to_owned()),
        name: Set("新兴社区食堂".to_owned()),
        address: Set("和平区".to_owned()),
        latitude: Set(HOME.0),
        longitude: Set(HOME.1),
        cell: Set(0),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&w.app.db)
    .await
    .unwrap()
    .id
}

/// Gives a senior a tier and a weekday meal plan from `canteen`; returns the plan id.
async fn meal_plan_for(w: &World, senior: i64, canteen: i64) -> i64 {
    let items = json!({"feeding": 10, "bathing": 0, "grooming": 5, "dressing": 5, "bowels": 10, "bladder": 10,
        "toilet_use": 5, "transfers": 10, "mobility": 10, "stairs": 0});
    let assessment = json!({"barthel": items, "spmsq_errors": 1});
    let res = w.app.post_json(&format!("/api/v1/seniors/{senior}/assessments"), &w.worker, &assessment).await;
    assert_eq!(res.status(), 201);
    let plan = json!({"kind": "meal_delivery", "weekdays": [1, 2, 3, 4, 5], "window_start": "11:00:00",
        "window_end": "12:30:00", "starts_on": "2026-11-01", "station_id": canteen,
        "details": {"diet": "low_salt", "allergies": ["花生"]}});
    let res = w.app.post_json(&format!("/api/v1/seniors/{senior}/plans"), &w.worker, &plan).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn meal_plan(w: &World) -> i64 {
    let canteen = canteen(w).await;
    meal_plan_for(w, w.senior, canteen).await
}

async fn route_sheets_split_a_days_meals_among_couriers(backend: Backend) {
    let w = world(backend).await;
    let (a, _) = w.responder("courier-a", "caregiver", &["meal_delivery"], north(200.0)).await;
    let (b, _) = w.responder("courier-b", "volunteer", &["meal_delivery"], north(400.0)).await;
    w.responder("nurse", "caregiver", &["nursing"], north(100.0)).await;
    let kitchen = canteen(&w).await;
    let mut seniors = vec![w.senior];
    for i in 0..13 {
        seniors.push(w.app.create_senior(w.community, &format!("老人{i}")).await);
    }
    // One senior lives 20 km out: no trip gets there and back in its window.
    let far = *seniors.last().unwrap();
    w.app.db.execute_unprepared(&format!("UPDATE seniors SET latitude = 39.30 WHERE id = {far}")).await.unwrap();
    for s in &seniors {
        meal_plan_for(&w, *s, kitchen).await;
    }
    linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    let plan = w.app.get_json(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"), &w.worker).await;
    assert_eq!(plan["meals"], 14);
    assert_eq!(plan["couriers"], 2, "the nurse carries no meals");
    assert_eq!(
        plan["unplanned"],
        json!([{"task_id": plan["unplanned"][0]["task_id"], "senior_name": "老人12", "reason": "window_unreachable"}])
    );
    let sheets = plan["sheets"].as_array().unwrap();
    let served: usize = sheets.iter().map(|s| s["stops"].as_array().unwrap().len()).sum();
    assert_eq!(served, 13);
    for sheet in sheets {
        assert!([a, b].contains(&sheet["responder_id"].as_i64().unwrap()));
        assert!(sheet["stops"].as_array().unwrap().len() <= 12, "a trip carries at most 12 meals");
        for stop in sheet["stops"].as_array().unwrap() {
            let eta = stop["eta"].as_str().unwrap();
            assert!(("11:00"..="12:30").contains(&eta), "{eta}");
            assert_eq!(stop["diet"], "low_salt");
            assert_eq!(stop["allergies"], json!(["花生"]));
        }
    }
    for sheet in sheets {
        for stop in sheet["stops"].as_array().unwrap() {
            assert_eq!(stop["visible"], true, "all in the worker's community");
        }
    }
    let again = w.app.get_json(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"), &w.worker).await;
    assert_eq!(again["sheets"], plan["sheets"], "the same input plans the same routes");
    // A senior of a neighbouring community eats from the same canteen: this worker's
    // sheets carry the stop but not who lives there.
    let neighbours = w.app.create_community("小白楼社区").await;
    let neighbour = w.app.create_senior(neighbours, "钱老太").await;
    let admin = w.app.login_as(Role::Admin, &[]).await;
    let items = json!({"feeding": 10, "bathing": 0, "grooming": 5, "dressing": 5, "bowels": 10, "bladder": 10,
        "toilet_use": 5, "transfers": 10, "mobility": 10, "stairs": 0});
    w.app
        .post_json(
            &format!("/api/v1/seniors/{neighbour}/assessments"),
            &admin,
            &json!({"barthel": items, "spmsq_errors": 1}),
        )
        .await;
    let plan_body = json!({"kind": "meal_delivery", "weekdays": [2], "window_start": "11:00:00", "window_end": "12:30:00",
        "starts_on": "2026-11-01", "station_id": kitchen, "details": {"diet": "soft"}});
    assert_eq!(w.app.post_json(&format!("/api/v1/seniors/{neighbour}/plans"), &admin, &plan_body).await.status(), 201);
    linli::dispatch::plans::make_tasks(&w.app.state, chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
        .await
        .unwrap();
    let mixed = w.app.get_json(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"), &w.worker).await;
    let stops: Vec<&Value> =
        mixed["sheets"].as_array().unwrap().iter().flat_map(|s| s["stops"].as_array().unwrap()).collect();
    let theirs: Vec<&&Value> = stops.iter().filter(|s| s["senior_id"] == neighbour).collect();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["visible"], false);
    assert_eq!(theirs[0]["senior_name"], "");
    assert_eq!(theirs[0]["phone"], "");
    let full = w.app.get_json(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"), &admin).await;
    let named = full["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["stops"].as_array().unwrap().clone())
        .any(|s| s["senior_name"] == "钱老太");
    assert!(named, "an admin sees every stop");

    let elsewhere = w.app.create_community("南营门社区").await;
    let other = w.app.login_as(Role::Worker, &[elsewhere]).await;
    let res = w
        .app
        .get(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

async fn a_missed_meal_runs_the_welfare_check_in_order(backend: Backend) {
    let w = world(backend).await;
    w.add_contacts().await;
    let (courier, token) = w.responder("courier", "caregiver", &["meal_delivery"], north(300.0)).await;
    meal_plan(&w).await;
    // Monday 10:00: tomorrow's tasks; Tuesday's meal is offered to the courier.
    let run = linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    assert_eq!(run.created, 1);
    let offers = w.app.get_json("/api/v1/me/offers", &token).await;
    let task = offers[0]["task_id"].as_i64().unwrap();
    assert_eq!(w.offered_to(task).await, vec![courier]);
    w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&token).send().await.unwrap();
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 3, 5, 0).single().unwrap());
    let res = w
        .app
        .post_json(&format!("/api/v1/tasks/{task}/check-in"), &token, &json!({"latitude": HOME.0, "longitude": HOME.1}))
        .await;
    assert_eq!(res.status(), 200);
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/fail"), &token, &json!({"reason": "not_home"})).await;
    assert_eq!(res.status(), 200);

    let welfare_id = w.app.count("SELECT MAX(id) AS n FROM tasks WHERE kind = 'welfare_check'").await;
    let steps = |t: &Value| -> Vec<String> {
        t["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "welfare_step")
            .map(|e| {
                let d = &e["details"];
                match d["call_order"].as_i64() {
                    Some(order) => format!("{}#{order}", d["action"].as_str().unwrap()),
                    None => d["action"].as_str().unwrap().to_owned(),
                }
            })
            .collect()
    };
    assert_eq!(steps(&w.task(welfare_id).await), ["call_senior"]);
    for _ in 0..3 {
        w.clock.advance(Duration::seconds(31));
        w.sweep().await;
    }
    assert_eq!(steps(&w.task(welfare_id).await), ["call_senior", "call_contact#1", "call_contact#2", "alert_worker"]);
    w.clock.advance(Duration::seconds(300));
    assert_eq!(w.sweep().await, 0, "the chain ends with the worker");
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{welfare_id}/resolve"),
            &w.worker,
            &json!({"outcome": "reached_contact", "notes": "在女儿家"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "completed");
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'sms' AND status = 'sent'").await, 3);
}

async fn the_daily_job_makes_each_task_once_on_two_instances(backend: Backend) {
    let w = world(backend).await;
    w.responder("courier", "caregiver", &["meal_delivery"], north(300.0)).await;
    let plan = meal_plan(&w).await;
    let second = w.app.another_instance().await;
    let (a, b) = tokio::join!(
        linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks),
        linli::jobs::run_now(second.state(), linli::jobs::Job::DailyTasks),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(u8::from(a.ran_now) + u8::from(b.ran_now), 1, "one instance wins the window");
    // Even without the window lock the unique (plan, date) index holds.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let (x, y) = tokio::join!(
        linli::dispatch::plans::make_tasks(&w.app.state, day),
        linli::dispatch::plans::make_tasks(second.state(), day),
    );
    assert_eq!(x.unwrap() + y.unwrap(), 0);
    assert_eq!(w.app.count(&format!("SELECT COUNT(*) AS n FROM tasks WHERE plan_id = {plan}")).await, 1);
    // Suspended for Wednesday: no task; Thursday it resumes by itself.
    let version = w.app.get_json(&format!("/api/v1/seniors/{}/plans", w.senior), &w.worker).await[0]["version"].clone();
    let body = json!({"version": version, "from": "2026-11-25", "until": "2026-11-25", "reason": "住院"});
    assert_eq!(w.app.post_json(&format!("/api/v1/plans/{plan}/suspend"), &w.worker, &body).await.status(), 200);
    let wed = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    assert_eq!(linli::dispatch::plans::make_tasks(&w.app.state, wed).await.unwrap(), 0);
    assert_eq!(linli::dispatch::plans::make_tasks(&w.app.state, wed.succ_opt().unwrap()).await.unwrap(), 1);
    let plans = w.app.get_json(&format!("/api/v1/seniors/{}/plans", w.senior), &w.worker).await;
    assert_eq!(plans[0]["status"], "active");
}

async fn the_event_stream_resumes_from_last_event_id(backend: Backend) {
    let w = world(backend).await;
    w.responder("sse", "caregiver", &["emergency_response"], north(100.0)).await;
    let key = w.bell().await;
    let first = w.alarm(&key, "a").await["task_id"].as_i64().unwrap();
    let first_events = w.task(first).await["events"].as_array().unwrap().len();
    assert!(first_events >= 2);
    let seen = w.task(first).await["events"][0]["id"].as_i64().unwrap();
    let second = w.alarm(&key, "b").await["task_id"].as_i64().unwrap();
    let mut res = w
        .app
        .get("/api/v1/events")
        .bearer_auth(&w.worker)
        .header("Last-Event-ID", seen.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains(&format!("\"task_id\":{second}")) {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(5), res.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let ids: Vec<i64> = text.lines().filter_map(|l| l.strip_prefix("id: ")).map(|v| v.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "in order: {ids:?}");
    assert_eq!(ids[0], seen + 1, "resumes right after the last event seen");
    // Another community's worker sees none of it.
    let elsewhere = w.app.create_community("南营门社区").await;
    let other = w.app.login_as(Role::Worker, &[elsewhere]).await;
    let mut res = w.app.get("/api/v1/events?last_event_id=0").bearer_auth(&other).send().await.unwrap();
    let mut theirs = String::new();
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(1500);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, res.chunk()).await {
        theirs.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(theirs.contains("linli events"), "the stream opened: {theirs}");
    assert!(!theirs.contains("task_id"), "{theirs}");
}

async fn a_missed_visit_alerts_then_proposes_a_replacement_and_a_worker_reassigns(backend: Backend) {
    let w = world(backend).await;
    let (late, late_token) = w.responder("late", "caregiver", &["meal_delivery"], north(200.0)).await;
    w.responder("nurse", "caregiver", &["nursing"], north(50.0)).await;
    meal_plan(&w).await;
    linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    let task = w.app.get_json("/api/v1/me/offers", &late_token).await[0]["task_id"].as_i64().unwrap();
    assert_eq!(w.offered_to(task).await, vec![late], "the nurse has no meal skill");
    w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&late_token).send().await.unwrap();
    // A second courier joins in time to stand in.
    let (spare, _) = w.responder("spare", "volunteer", &["meal_delivery"], north(100.0)).await;

    // Tuesday: the window opens at 11:00 (03:00 UTC).
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 3, 7, 59).single().unwrap());
    assert_eq!(w.sweep().await, 0);
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 3, 8, 1).single().unwrap());
    assert_eq!(w.sweep().await, 1);
    assert!(event_kinds(&w.task(task).await).contains(&"missed_visit_alert".to_owned()));
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 3, 13, 1).single().unwrap());
    assert_eq!(w.sweep().await, 1);
    let t = w.task(task).await;
    let proposal = t["events"].as_array().unwrap().iter().find(|e| e["kind"] == "replacement_proposed").unwrap();
    assert_eq!(proposal["details"]["proposal"]["responder_id"], spare);
    assert_eq!(
        w.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'console' AND kind LIKE '%missed%'").await,
        1
    );

    let body = json!({"version": t["version"], "reason": "原送餐员未到", "responder_id": spare});
    let res = w.app.post_json(&format!("/api/v1/tasks/{task}/assign"), &w.worker, &body).await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["assignee_id"], spare);
    assert_eq!(t["status"], "accepted");
    let assigned = t["events"].as_array().unwrap().iter().find(|e| e["kind"] == "assigned").unwrap();
    assert_eq!(assigned["details"]["reason"], "原送餐员未到");
    assert_eq!(assigned["details"]["previous"], late);
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'task.assign'").await, 1);
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{task}/check-in"),
            &late_token,
            &json!({"latitude": HOME.0, "longitude": HOME.1}),
        )
        .await;
    assert_eq!(res.status(), 404, "the first courier no longer holds it");
}

async fn a_missed_daily_run_catches_up_when_the_server_starts(backend: Backend) {
    let w = world(backend).await;
    w.responder("courier", "caregiver", &["meal_delivery"], north(200.0)).await;
    let plan = meal_plan(&w).await;
    // Monday 21:00: last night's run (today's meals) and tonight's (tomorrow's) were missed.
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0).single().unwrap());
    let mut settings = w.app.settings.clone();
    settings.jobs_enabled = true;
    let server = linli::Application::build_with_clock(settings, w.clock.clone()).await.unwrap();
    let running = tokio::spawn(server.run_until_stopped());
    let runs = "SELECT COUNT(*) AS n FROM job_runs WHERE job_name = 'daily_tasks' AND status = 'succeeded'";
    for _ in 0..100 {
        if w.app.count(runs).await == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(w.app.count(runs).await, 2);
    let days =
        w.app.count(&format!("SELECT COUNT(DISTINCT service_date) AS n FROM tasks WHERE plan_id = {plan}")).await;
    assert_eq!(days, 2, "Monday's and Tuesday's meals");
    // Starting again changes nothing.
    linli::jobs::catch_up(&w.app.state).await;
    assert_eq!(w.app.count(&format!("SELECT COUNT(*) AS n FROM tasks WHERE plan_id = {plan}")).await, 2);
    running.abort();
}

async fn a_text_left_by_a_dead_sender_is_sent_once_its_lease_runs_out(backend: Backend) {
    use sea_orm::{ActiveModelTrait, Set};
    let w = world(backend).await;
    w.add_contacts().await;
    let contact = w.app.count("SELECT MIN(id) AS n FROM contacts").await;
    let now = linli::clock::Clock::now(w.clock.as_ref());
    let row = entity::outbox::ActiveModel {
        channel: Set("sms".to_owned()),
        kind: Set("alarm_family".to_owned()),
        payload: Set(json!({"to": {"contact_id": contact}, "text": "test"})),
        urgency: Set("high".to_owned()),
        ttl_seconds: Set(3600),
        status: Set("sending".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(Some(now + Duration::seconds(30))),
        leased_by: Set(Some("a-crashed-instance".to_owned())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&w.app.db)
    .await
    .unwrap();
    let status = format!("SELECT COUNT(*) AS n FROM outbox WHERE id = {} AND status = 'sent'", row.id);
    w.sweep().await;
    assert_eq!(w.app.count(&status).await, 0, "the lease still holds");
    w.clock.advance(Duration::seconds(31));
    w.sweep().await;
    assert_eq!(w.app.count(&status).await, 1);
    w.sweep().await;
    let attempts =
        w.app.count(&format!("SELECT CAST(attempts AS BIGINT) AS n FROM outbox WHERE id = {}", row.id)).await;
    assert_eq!(attempts, 1, "sent once");
}

async fn a_queued_check_in_keeps_the_phones_time_and_counts_once(backend: Backend) {
    let w = world(backend).await;
    let (_, token) = w.responder("offline", "volunteer", &["emergency_response"], north(100.0)).await;
    let key = w.bell().await;
    let task = w.alarm(&key, "basement").await["task_id"].as_i64().unwrap();
    w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&token).send().await.unwrap();
    let start = w.app.post(&format!("/api/v1/tasks/{task}/start")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(start.status(), 200);
    let again = w.app.post(&format!("/api/v1/tasks/{task}/start")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(problem(again).await["current_status"], "en_route");
    // The phone checked in three minutes ago without a signal; the queue sends it now.
    w.clock.advance(Duration::minutes(3));
    let tapped = linli::clock::Clock::now(w.clock.as_ref()) - Duration::minutes(3);
    let path = format!("/api/v1/tasks/{task}/check-in");
    let stale = json!({"latitude": HOME.0, "longitude": HOME.1, "recorded_at": tapped - Duration::hours(13)});
    let res = w.app.post_json(&path, &token, &stale).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "recorded_at");
    let body = json!({"latitude": HOME.0, "longitude": HOME.1, "recorded_at": tapped});
    let res = w.app.post_json(&path, &token, &body).await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    let recorded: DateTime<Utc> = t["check_in_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(recorded, tapped);
    // Replayed: refused with the state it already reached, nothing recorded twice.
    let res = w.app.post_json(&path, &token, &body).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await["current_status"], "on_site");
    assert_eq!(event_kinds(&w.task(task).await).iter().filter(|k| *k == "check_in").count(), 1);
}

async fn bad_plans_bells_and_route_requests_name_the_field(backend: Backend) {
    let w = world(backend).await;
    let kitchen = canteen(&w).await;
    meal_plan_for(&w, w.senior, kitchen).await;
    let plans = format!("/api/v1/seniors/{}/plans", w.senior);
    let base = json!({"kind": "meal_delivery", "weekdays": [1], "window_start": "11:00:00", "window_end": "12:30:00",
        "starts_on": "2026-11-01", "station_id": kitchen, "details": {"diet": "soft"}});
    for (change, field) in [
        (json!({"weekdays": [8]}), "weekdays"),
        (json!({"window_end": "10:00:00"}), "window_end"),
        (json!({"station_id": null}), "station_id"),
        (json!({"details": {}}), "details.diet"),
        (json!({"kind": "emergency"}), "kind"),
    ] {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = w.app.post_json(&plans, &w.worker, &body).await;
        assert_eq!(res.status(), 422, "{field}");
        let fields: Vec<Value> =
            problem(res).await["errors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
        assert!(fields.contains(&json!(field)), "{field}: {fields:?}");
    }
    assert_eq!(w.app.get_json(&plans, &w.worker).await.as_array().unwrap().len(), 1, "nothing stored");
    let res = w.app.post_json("/api/v1/devices", &w.worker, &json!({"senior_id": 999999})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "senior_id");
    let res = w
        .app
        .get(&format!("/api/v1/routing/meals?station_id={kitchen}&date=tomorrow"))
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "date");
}

/// Reads a server-sent event stream for `for_ms` milliseconds.
async fn read_stream(w: &World, token: &str, for_ms: u64) -> String {
    let mut res = w.app.get("/api/v1/events?last_event_id=0").bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut text = String::new();
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(for_ms);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(until, res.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

async fn a_responders_stream_carries_only_their_tasks(backend: Backend) {
    let w = world(backend).await;
    let (_, near) = w.responder("near", "caregiver", &["emergency_response"], north(100.0)).await;
    let (_, cook) = w.responder("cook", "volunteer", &["meal_delivery"], north(50.0)).await;
    let key = w.bell().await;
    let task = w.alarm(&key, "stream").await["task_id"].as_i64().unwrap();
    let mine = read_stream(&w, &near, 1500).await;
    let offered = mine
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|e| e["task_id"] == task && e["kind"] == "offered")
        .unwrap_or_else(|| panic!("the offer reaches the phone's stream: {mine}"));
    assert_eq!(offered["task_kind"], "emergency");
    for field in ["senior_id", "details", "community_id"] {
        assert!(offered.get(field).is_none(), "{field} stays off the phone's stream: {offered}");
    }
    let theirs = read_stream(&w, &cook, 1500).await;
    assert!(theirs.contains("linli events"), "the stream opened: {theirs}");
    assert!(!theirs.contains("task_id"), "not offered, not held, not shown: {theirs}");
    // Once accepted, what happens to the task next reaches the holder.
    assert_eq!(w.app.post_json(&format!("/api/v1/tasks/{task}/accept"), &near, &json!({})).await.status(), 200);
    let after = read_stream(&w, &near, 1500).await;
    assert!(after.contains("\"kind\":\"accepted\""), "{after}");
    let bell = w.app.get("/api/v1/events").bearer_auth(&key).send().await.unwrap();
    assert_eq!(bell.status(), 403, "a bell has no stream");
}

async fn a_held_task_carries_the_contacts_and_a_courier_gets_the_round_in_order(backend: Backend) {
    let w = world(backend).await;
    w.add_contacts().await;
    let (courier, token) = w.responder("courier", "volunteer", &["meal_delivery"], north(300.0)).await;
    let (_, idle) = w.responder("idle", "volunteer", &["meal_delivery"], north(900.0)).await;
    let kitchen = canteen(&w).await;
    let mut seniors = vec![w.senior];
    for (i, metres) in [600.0, 1200.0].into_iter().enumerate() {
        let s = w.app.create_senior(w.community, &format!("街坊{i}")).await;
        let (lat, lng) = north(metres);
        w.app
            .db
            .execute_unprepared(&format!("UPDATE seniors SET latitude = {lat}, longitude = {lng} WHERE id = {s}"))
            .await
            .unwrap();
        seniors.push(s);
    }
    for s in &seniors {
        meal_plan_for(&w, *s, kitchen).await;
    }
    linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    let plan = w.app.get_json(&format!("/api/v1/routing/meals?station_id={kitchen}&date=2026-11-24"), &w.worker).await;
    let ids: Vec<i64> = plan["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["stops"].as_array().unwrap().iter().map(|x| x["task_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        let version = w.task(*id).await["version"].clone();
        let body = json!({"version": version, "reason": "今天由他送餐", "responder_id": courier});
        let res = w.app.post_json(&format!("/api/v1/tasks/{id}/assign"), &w.worker, &body).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }
    // The held tasks carry whom to call besides the senior, in calling order.
    let held = w.app.get_json("/api/v1/me/tasks", &token).await;
    let home = held.as_array().unwrap().iter().find(|x| x["senior_id"] == w.senior).unwrap();
    let names: Vec<&str> = home["contacts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["大女儿", "小儿子"]);
    assert_eq!(home["contacts"][0]["phone"], "13920005678");
    let other = held.as_array().unwrap().iter().find(|x| x["senior_id"] != w.senior).unwrap();
    assert_eq!(other["contacts"], json!([]));

    let round = w.app.get_json("/api/v1/me/route-sheet?date=2026-11-24", &token).await;
    let round = round.as_array().unwrap();
    assert_eq!(round.len(), 1, "one canteen");
    assert_eq!(round[0]["station_id"], kitchen);
    assert_eq!(round[0]["couriers"], 1);
    assert_eq!(round[0]["unplanned"], json!([]));
    let stops: Vec<&Value> =
        round[0]["sheets"].as_array().unwrap().iter().flat_map(|s| s["stops"].as_array().unwrap()).collect();
    assert_eq!(stops.len(), 3);
    let etas: Vec<&str> = stops.iter().map(|s| s["eta"].as_str().unwrap()).collect();
    assert!(etas.windows(2).all(|p| p[0] <= p[1]), "in delivery order: {etas:?}");
    let mut served: Vec<i64> = stops.iter().map(|s| s["senior_id"].as_i64().unwrap()).collect();
    served.sort_unstable();
    assert_eq!(served, seniors, "every meal held, once");
    for stop in &stops {
        assert_eq!(stop["visible"], true);
        assert_ne!(stop["senior_name"], "");
        assert_eq!(stop["diet"], "low_salt");
    }
    assert_eq!(w.app.get_json("/api/v1/me/route-sheet?date=2026-11-24", &idle).await, json!([]));
    assert_eq!(w.app.get_json("/api/v1/me/route-sheet?date=2026-11-25", &token).await, json!([]));
    let res = w.app.get("/api/v1/me/route-sheet?date=tomorrow").bearer_auth(&token).send().await.unwrap();
    assert_eq!(problem(res).await["errors"][0]["field"], "date");
}

async fn a_worker_makes_a_one_off_visit_and_it_is_offered(backend: Backend) {
    let w = world(backend).await;
    let (nurse, token) = w.responder("nurse", "caregiver", &["nursing"], north(300.0)).await;
    let assessment = json!({"barthel": {"feeding": 10, "bathing": 0, "grooming": 5, "dressing": 5, "bowels": 10,
        "bladder": 10, "toilet_use": 5, "transfers": 10, "mobility": 10, "stairs": 0}, "spmsq_errors": 1});
    let res = w.app.post_json(&format!("/api/v1/seniors/{}/assessments", w.senior), &w.worker, &assessment).await;
    assert_eq!(res.status(), 201);
    let good = json!({"senior_id": w.senior, "kind": "home_bed", "date": "2026-11-23", "window_start": "14:00:00",
        "window_end": "16:00:00", "details": {"nursing_items": ["测血压", "换药"]}, "reason": "出院后第一天"});
    let elsewhere = w.app.create_community("南营门社区").await;
    let stranger = w.app.create_senior(elsewhere, "孙老伯").await;
    let before = w.app.count("SELECT CAST(COUNT(*) AS BIGINT) FROM tasks").await;
    for (change, field) in [
        (json!({"kind": "emergency"}), "kind"),
        (json!({"date": "2026-11-22"}), "date"),
        (json!({"date": "2027-01-30"}), "date"),
        (json!({"window_start": "08:00:00", "window_end": "09:30:00"}), "window_end"),
        (json!({"window_end": "13:00:00"}), "window_end"),
        (json!({"details": {}}), "details.nursing_items"),
        (json!({"reason": ""}), "reason"),
        (json!({"senior_id": stranger}), "senior_id"),
    ] {
        let mut body = good.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = w.app.post_json("/api/v1/tasks", &w.worker, &body).await;
        assert_eq!(res.status(), 422, "{change}");
        let p = problem(res).await;
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{change}: {p}");
    }
    assert_eq!(w.app.count("SELECT CAST(COUNT(*) AS BIGINT) FROM tasks").await, before, "nothing stored");

    let res = w.app.post_json("/api/v1/tasks", &w.worker, &good).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let task: Value = res.json().await.unwrap();
    let id = task["id"].as_i64().unwrap();
    assert_eq!(task["status"], "offered");
    assert_eq!(task["details"]["nursing_items"], json!(["测血压", "换药"]));
    assert_eq!(w.offered_to(id).await, vec![nurse]);
    let created = &w.task(id).await["events"][0];
    assert_eq!(created["kind"], "created");
    assert_eq!(created["details"]["reason"], "出院后第一天");
    let offers = w.app.get_json("/api/v1/me/offers", &token).await;
    assert_eq!(offers[0]["task_id"], id);
    let caregiver = w.app.login_as(Role::Caregiver, &[]).await;
    let res = w.app.post_json("/api/v1/tasks", &caregiver, &good).await;
    assert_eq!(res.status(), 403);
}

async fn publishing_the_rounds_gives_each_free_meal_to_its_courier_once(backend: Backend) {
    let w = world(backend).await;
    let (a, token_a) = w.responder("courier-a", "caregiver", &["meal_delivery"], north(200.0)).await;
    let (b, token_b) = w.responder("courier-b", "volunteer", &["meal_delivery"], north(400.0)).await;
    let kitchen = canteen(&w).await;
    let mut seniors = vec![w.senior];
    for i in 0..5 {
        seniors.push(w.app.create_senior(w.community, &format!("食客{i}")).await);
    }
    for s in &seniors {
        meal_plan_for(&w, *s, kitchen).await;
    }
    linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    // One meal is already accepted from its offer: publishing leaves it with its courier.
    let offers = w.app.get_json("/api/v1/me/offers", &token_a).await;
    let (held, holder_token, holder) = match offers.as_array().unwrap().first() {
        Some(o) => (o["task_id"].as_i64().unwrap(), &token_a, a),
        None => (w.app.get_json("/api/v1/me/offers", &token_b).await[0]["task_id"].as_i64().unwrap(), &token_b, b),
    };
    let res = w.app.post_json(&format!("/api/v1/tasks/{held}/accept"), holder_token, &json!({})).await;
    assert_eq!(res.status(), 200);

    let body = json!({"station_id": kitchen, "date": "2026-11-24"});
    let res = w.app.post_json("/api/v1/routing/meals/publish", &w.worker, &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let published: Value = res.json().await.unwrap();
    assert_eq!(published["assigned"], 5);
    assert_eq!(published["kept"], 1);
    let sheets = published["plan"]["sheets"].as_array().unwrap();
    let couriers: std::collections::BTreeSet<i64> = sheets
        .iter()
        .filter(|s| s["stops"].as_array().unwrap().iter().any(|x| x["task_id"] != held))
        .map(|s| s["responder_id"].as_i64().unwrap())
        .collect();
    assert_eq!(published["notified"], couriers.len());
    for sheet in sheets {
        for stop in sheet["stops"].as_array().unwrap() {
            let id = stop["task_id"].as_i64().unwrap();
            let task = w.task(id).await;
            assert_eq!(task["status"], "accepted");
            let expected = if id == held { holder } else { sheet["responder_id"].as_i64().unwrap() };
            assert_eq!(task["assignee_id"], expected, "meal {id}");
            if id != held {
                let assigned = task["events"].as_array().unwrap().iter().find(|e| e["kind"] == "assigned").unwrap();
                assert_eq!(assigned["details"]["route"]["eta"], stop["eta"]);
                assert!(
                    task["offers"].as_array().unwrap().iter().all(|o| o["status"] != "open"),
                    "no offer of a published meal stays open: {}",
                    task["offers"]
                );
            }
        }
    }
    let pushes = "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE channel = 'push' AND kind = 'route_sheet'";
    assert_eq!(w.app.count(pushes).await, couriers.len() as i64);
    // Each courier's own round now holds their meals.
    let mut on_rounds = 0;
    for token in [&token_a, &token_b] {
        let round = w.app.get_json("/api/v1/me/route-sheet?date=2026-11-24", token).await;
        on_rounds += round
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["sheets"].as_array().unwrap())
            .map(|s| s["stops"].as_array().unwrap().len())
            .sum::<usize>();
    }
    assert_eq!(on_rounds, 6);

    // Publishing again changes nothing and tells nobody again.
    let again: Value = w.app.post_json("/api/v1/routing/meals/publish", &w.worker, &body).await.json().await.unwrap();
    assert_eq!(again["assigned"], 0);
    assert_eq!(again["kept"], 6);
    assert_eq!(w.app.count(pushes).await, couriers.len() as i64);

    let elsewhere = w.app.create_community("南营门社区").await;
    let other = w.app.login_as(Role::Worker, &[elsewhere]).await;
    assert_eq!(w.app.post_json("/api/v1/routing/meals/publish", &other, &body).await.status(), 404);
    let res = w
        .app
        .post_json("/api/v1/routing/meals/publish", &w.worker, &json!({"station_id": kitchen, "date": "soon"}))
        .await;
    assert_eq!(problem(res).await["errors"][0]["field"], "date");
    assert_eq!(w.app.post_json("/api/v1/routing/meals/publish", &token_a, &body).await.status(), 403);
}

async fn a_worker_logs_the_calls_and_closes_an_alarm_with_its_outcome(backend: Backend) {
    let w = world(backend).await;
    w.add_contacts().await;
    let (near, near_token) = w.responder("near", "caregiver", &["emergency_response"], north(200.0)).await;
    let (other, _) = w.responder("other", "volunteer", &["emergency_response"], north(300.0)).await;
    let key = w.bell().await;
    let raised = w.alarm(&key, "fall").await;
    let (alarm, task) = (raised["alarm_id"].as_i64().unwrap(), raised["task_id"].as_i64().unwrap());
    assert_eq!(w.offered_to(task).await, {
        let mut both = vec![near, other];
        both.sort_unstable();
        both
    });
    let res = w.app.post(&format!("/api/v1/tasks/{task}/accept")).bearer_auth(&near_token).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // The calls: the senior (no answer), the first contact (answered), then 120.
    let contacts = w.app.get_json(&format!("/api/v1/seniors/{}/contacts", w.senior), &w.worker).await;
    let first = contacts.as_array().unwrap().iter().find(|c| c["call_order"] == 1).unwrap()["id"].as_i64().unwrap();
    let calls = format!("/api/v1/alarms/{alarm}/calls");
    for body in [
        json!({"callee": "senior", "reached": false}),
        json!({"callee": "contact", "contact_id": first, "reached": true, "notes": "女儿十分钟后到"}),
        json!({"callee": "emergency_120", "reached": true}),
    ] {
        let res = w.app.post_json(&calls, &w.worker, &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    }
    for (body, field) in [
        (json!({"callee": "contact", "reached": true}), "contact_id"),
        (json!({"callee": "contact", "contact_id": 999_999, "reached": true}), "contact_id"),
        (json!({"callee": "senior", "contact_id": first, "reached": true}), "contact_id"),
        (json!({"callee": "police", "reached": true}), "callee"),
    ] {
        let res = w.app.post_json(&calls, &w.worker, &body).await;
        assert_eq!(res.status(), 422, "{body}");
        assert_eq!(problem(res).await["errors"][0]["field"], field, "{body}");
    }
    let t = w.task(task).await;
    let logged: Vec<(String, bool)> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "call_logged")
        .map(|e| (e["details"]["callee"].as_str().unwrap().to_owned(), e["details"]["reached"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        logged,
        vec![("senior".to_owned(), false), ("contact".to_owned(), true), ("emergency_120".to_owned(), true)]
    );

    // Closing on a version someone has moved past is refused and changes nothing.
    let close = format!("/api/v1/alarms/{alarm}/close");
    let version = t["version"].as_i64().unwrap();
    let res = w.app.post_json(&close, &w.worker, &json!({"version": version - 1, "outcome": "sent_to_hospital"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await["type"], "https://linli.dev/problems/stale-version");
    let res = w.app.post_json(&close, &w.worker, &json!({"version": version, "outcome": "fine"})).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "outcome");
    assert_eq!(w.task(task).await["status"], "accepted");

    // Another community's worker cannot see it.
    let elsewhere = w.app.create_community("别的社区").await;
    let stranger = w.app.login_as(Role::Worker, &[elsewhere]).await;
    let res = w.app.post_json(&close, &stranger, &json!({"version": version, "outcome": "false_alarm"})).await;
    assert_eq!(res.status(), 404);
    let res = w.app.post_json(&calls, &stranger, &json!({"callee": "senior", "reached": true})).await;
    assert_eq!(res.status(), 404);
    let res = w.app.get(&format!("/api/v1/alarms/{alarm}")).bearer_auth(&stranger).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let body = json!({"version": version, "outcome": "sent_to_hospital", "notes": "120 已送医"});
    let res = w.app.post_json(&close, &w.worker, &body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let closed: Value = res.json().await.unwrap();
    assert_eq!(closed["stage"], "closed");
    assert_eq!(closed["outcome"], "sent_to_hospital");
    assert!(closed["closed_at"].is_string());
    let t = w.task(task).await;
    assert_eq!(t["status"], "completed");
    assert_eq!(t["outcome"], "sent_to_hospital");
    let resolved = t["events"].as_array().unwrap().iter().find(|e| e["kind"] == "resolved").unwrap();
    assert_eq!(resolved["actor_kind"], "user");
    assert_eq!(resolved["from_status"], "accepted");
    let open: Vec<&Value> = t["offers"].as_array().unwrap().iter().filter(|o| o["status"] == "pending").collect();
    assert!(open.is_empty(), "no offer stays open: {open:?}");
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'alarm.close'").await, 1);
    assert_eq!(w.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'push' AND kind = 'closed'").await, 1);
    assert_eq!(w.app.get_json("/api/v1/alarms?open=true", &w.worker).await["total"], 0);
    let read = w.app.get_json(&format!("/api/v1/alarms/{alarm}"), &w.worker).await;
    assert_eq!((&read["stage"], &read["outcome"]), (&json!("closed"), &json!("sent_to_hospital")));

    let res = w.app.post_json(&close, &w.worker, &json!({"version": version + 1, "outcome": "false_alarm"})).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await["type"], "https://linli.dev/problems/alarm-closed");
    w.clock.advance(Duration::seconds(600));
    assert_eq!(w.sweep().await, 0, "a closed alarm does not escalate");
}

async fn today_lists_open_alarms_late_and_missed_visits_unassigned_tasks_and_cases_due(backend: Backend) {
    let w = world(backend).await;
    let empty = w.app.get_json("/api/v1/console/today", &w.worker).await;
    assert_eq!(empty["date"], "2026-11-23");
    assert_eq!(
        empty["counts"],
        json!({"alarms": 0, "late_visits": 0, "missed_visits": 0, "unassigned": 0, "cases_due": 0})
    );

    // An alarm nobody accepts: the clock shows the widening, then the family step.
    let key = w.bell().await;
    let raised = w.alarm(&key, "press").await;
    let today = w.app.get_json("/api/v1/console/today", &w.worker).await;
    assert_eq!(today["counts"]["alarms"], 1);
    let a = &today["alarms"][0];
    assert_eq!(a["id"], raised["alarm_id"]);
    assert_eq!(a["next_step"], "widen");
    assert_eq!(a["next_step_at"], "2026-11-23T02:01:00Z", "received at 02:00 plus 60 s");
    w.clock.advance(Duration::seconds(61));
    assert_eq!(w.sweep().await, 1);
    let a = w.app.get_json("/api/v1/console/today", &w.worker).await["alarms"][0].clone();
    assert_eq!(a["next_step"], "family");
    assert_eq!(a["next_step_at"], "2026-11-23T02:03:00Z");

    // A serious case opened now is due in 24 hours: tomorrow's list, not today's.
    let body = json!({"senior_id": w.senior, "category": "attitude", "severity": "serious", "source": "hotline",
        "summary": "家属来电：送餐太晚"});
    let res = w.app.post_json("/api/v1/cases", &w.worker, &body).await;
    assert_eq!(res.status(), 201);
    let case = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(w.app.get_json("/api/v1/console/today", &w.worker).await["counts"]["cases_due"], 0);

    // Two meal plans and one courier, who accepts only the first senior's meal.
    let (_, courier) = w.responder("courier", "caregiver", &["meal_delivery"], north(200.0)).await;
    let canteen = canteen(&w).await;
    meal_plan_for(&w, w.senior, canteen).await;
    let second = w.app.create_senior(w.community, "钱淑芬").await;
    meal_plan_for(&w, second, canteen).await;
    linli::jobs::run_now(&w.app.state, linli::jobs::Job::DailyTasks).await.unwrap();
    let offers = w.app.get_json("/api/v1/me/offers", &courier).await;
    let mut held = None;
    let mut waiting = None;
    for o in offers.as_array().unwrap() {
        let id = o["task_id"].as_i64().unwrap();
        if w.task(id).await["senior_id"] == w.senior { held = Some(id) } else { waiting = Some(id) }
    }
    let (held, waiting) = (held.expect("the first meal"), waiting.expect("the second meal"));
    w.app.post(&format!("/api/v1/tasks/{held}/accept")).bearer_auth(&courier).send().await.unwrap();

    // Tuesday 11:09: both windows opened 9 minutes ago; the held one is late, the other
    // is late and also nobody's; the case is an hour overdue.
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 3, 9, 0).single().unwrap());
    let today = w.app.get_json("/api/v1/console/today", &w.worker).await;
    assert_eq!(today["date"], "2026-11-24");
    assert_eq!(today["counts"]["late_visits"], 2);
    assert_eq!(today["counts"]["missed_visits"], 0);
    let late: Vec<(i64, i64, bool)> = today["late_visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_i64().unwrap(), v["minutes_late"].as_i64().unwrap(), v["missed"].as_bool().unwrap()))
        .collect();
    assert!(late.contains(&(held, 9, false)) && late.contains(&(waiting, 9, false)), "{late:?}");
    let unassigned: Vec<i64> =
        today["unassigned"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(unassigned, vec![waiting], "the alarm is listed above, not here");
    assert_eq!(today["counts"]["cases_due"], 1);
    assert_eq!(today["cases_due"][0]["id"], case);
    assert_eq!(today["cases_due"][0]["overdue"], true);
    assert_eq!(today["counts"]["alarms"], 1);

    // 12:31: the windows have closed: missed.
    w.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 4, 31, 0).single().unwrap());
    let today = w.app.get_json("/api/v1/console/today", &w.worker).await;
    assert_eq!(today["counts"]["missed_visits"], 2);
    assert!(today["late_visits"].as_array().unwrap().iter().all(|v| v["missed"] == true));

    // A checked-in visit is no longer late.
    let res = w
        .app
        .post_json(
            &format!("/api/v1/tasks/{held}/check-in"),
            &courier,
            &json!({"latitude": HOME.0, "longitude": HOME.1}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    assert_eq!(w.app.get_json("/api/v1/console/today", &w.worker).await["counts"]["late_visits"], 1);

    // Another community's worker has nothing; bureau and caregivers may not ask.
    let elsewhere = w.app.create_community("别的社区").await;
    let stranger = w.app.login_as(Role::Worker, &[elsewhere]).await;
    let theirs = w.app.get_json("/api/v1/console/today", &stranger).await;
    assert_eq!(
        theirs["counts"],
        json!({"alarms": 0, "late_visits": 0, "missed_visits": 0, "unassigned": 0, "cases_due": 0})
    );
    let bureau = w.app.login_as(Role::Bureau, &[]).await;
    let res = w.app.get("/api/v1/console/today").bearer_auth(&bureau).send().await.unwrap();
    assert_eq!(res.status(), 403);
}
