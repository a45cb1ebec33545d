//! Alarm intake under a steady load: 50 emergency bells per second for 20 seconds
//! against the real server on loopback, each with a unique event id, on SQLite and
//! (when `TEST_DATABASE_URL` is set) PostgreSQL. The offers are queued in the same
//! transaction that stores the alarm, so the time to the 202 is the time from
//! intake to offers queued. Prints p50/p99/max and checks every alarm got offers.
//!
//! `cargo bench -p linli-tests --bench alarm_intake`

use std::time::{Duration, Instant};

use linli::auth::Role;
use linli_tests::{Backend, TestApp};
use serde_json::{Value, json};

const RATE: u64 = 50;
const SECONDS: u64 = 20;
const DEVICES: usize = 200;
const RESPONDERS: usize = 40;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(backend: Backend, label: &str) {
    let app = TestApp::spawn(backend).await;
    let community = app.create_community("负载社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    for i in 0..RESPONDERS {
        let name = format!("bench-r{i}");
        let user = app.create_user(&name, Role::Volunteer, &[]).await;
        let token = app.token_for(&name).await;
        let at = (39.115 + (i as f64 - 20.0) * 0.0004, 117.195);
        let body = json!({"user_id": user, "kind": "volunteer", "skills": ["emergency_response"],
            "home_latitude": at.0, "home_longitude": at.1, "community_ids": [community], "travel_mode": "ebike",
            "max_concurrent": 20});
        assert_eq!(app.post_json("/api/v1/responders", &worker, &body).await.status(), 201);
        app.post_json("/api/v1/me/duty", &token, &json!({"on_duty": true})).await;
        app.post_json("/api/v1/me/location", &token, &json!({"latitude": at.0, "longitude": at.1})).await;
    }
    let mut keys = Vec::new();
    for i in 0..DEVICES {
        let senior = app.create_senior(community, &format!("老人{i}")).await;
        let res = app.post_json("/api/v1/devices", &worker, &json!({"senior_id": senior})).await;
        let device: Value = res.json().await.unwrap();
        keys.push(device["api_key"].as_str().unwrap().to_owned());
    }
    let total = (RATE * SECONDS) as usize;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let request = app
            .post("/api/v1/alarms")
            .bearer_auth(&keys[n % DEVICES])
            .json(&json!({"event_id": format!("bench-{n}")}))
            .send();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let res = request.await;
            let ok = res.as_ref().map(|r| r.status().as_u16() == 202).unwrap_or(false);
            (t.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut times = Vec::with_capacity(total);
    let mut errors = 0;
    for h in handles {
        let (ms, ok) = h.await.unwrap();
        if ok { times.push(ms) } else { errors += 1 }
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let alarms = app.count("SELECT COUNT(*) AS n FROM alarms").await;
    let without_offers = app
        .count("SELECT COUNT(*) AS n FROM tasks t WHERE t.kind = 'emergency' AND NOT EXISTS (SELECT 1 FROM task_offers o WHERE o.task_id = t.id)")
        .await;
    println!(
        "{label:<11} {total} alarms at {RATE}/s in {elapsed:.1} s: intake to offers queued p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} errors; {alarms} stored; {without_offers} without offers",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        run(Backend::Sqlite, "SQLite").await;
        if let Some(pg) = Backend::postgres() {
            run(pg, "PostgreSQL").await;
        }
    });
}
