//! The volunteer time bank through the real server, on SQLite and PostgreSQL: the
//! ledger never goes negative, never loses an update, never double-counts; caps
//! refuse with their rule; reversals keep the original; the database itself refuses
//! edits of the ledger.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::StreamExt;
use linli::auth::Role;
use linli::clock::ManualClock;
use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, problem};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

on_both_backends!(
    contract_fields_and_a_volunteer_sees_only_their_own_account,
    a_confirmed_visit_earns_its_quarter_hours_times_the_multiplier,
    completing_and_confirming_five_times_at_once_earns_once,
    a_thousand_concurrent_redemptions_and_transfers_never_overdraw,
    each_cap_refuses_with_its_rule_and_stores_nothing,
    a_reversal_restores_balances_and_keeps_the_original,
    the_ledger_cannot_be_updated_or_deleted,
    a_flagged_visit_holds_its_credit_until_a_worker_resolves_it,
    a_booking_reserves_settles_on_completion_and_releases_on_cancel,
    the_statement_has_a_running_balance,
    self_confirmed_and_reciprocal_visits_are_flagged_for_review,
);

/// Monday 7 December 2026, 09:00 in Shanghai.
fn monday_nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).single().unwrap()
}

const HOME: (f64, f64) = (39.115, 117.195);

struct World {
    app: TestApp,
    clock: Arc<ManualClock>,
    community: i64,
    worker: String,
    admin: String,
    senior: i64,
    bell: String,
    alarms: std::sync::atomic::AtomicUsize,
}

async fn world_with(backend: Backend, rules: Option<&str>) -> World {
    let clock = manual_clock(monday_nine());
    let rules = rules.map(str::to_owned);
    let app = TestApp::spawn_with(backend, clock.clone(), move |s| {
        s.session_ttl_minutes = 30 * 24 * 60;
        s.database_max_connections = 16;
        s.database_acquire_timeout_secs = 30;
        if let Some(text) = rules {
            let path = s.data_dir.join("timebank.toml");
            std::fs::write(&path, text).unwrap();
            s.timebank_rules_file = Some(path);
        }
    })
    .await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    let res = app.post_json("/api/v1/devices", &worker, &json!({"senior_id": senior})).await;
    assert_eq!(res.status(), 201);
    let bell = res.json::<Value>().await.unwrap()["api_key"].as_str().unwrap().to_owned();
    World { app, clock, community, worker, admin, senior, bell, alarms: Default::default() }
}

async fn world(backend: Backend) -> World {
    world_with(backend, None).await
}

/// Rules with small caps: storage 3 h, yearly 3 h, daily 2 h.
fn small_caps() -> String {
    linli::timebank::rules::DEFAULT_RULES
        .replace("storage_hours = 1500", "storage_hours = 3")
        .replace("yearly_earning_hours = 600", "yearly_earning_hours = 3")
        .replace("daily_earning_hours = 12", "daily_earning_hours = 2")
}

struct Volunteer {
    user: i64,
    responder: i64,
    token: String,
}

impl World {
    async fn volunteer(&self, name: &str) -> Volunteer {
        let user = self.app.create_user(name, Role::Volunteer, &[]).await;
        let token = self.app.token_for(name).await;
        let body = json!({
            "user_id": user, "kind": "volunteer", "skills": ["emergency_response", "companionship", "housekeeping"],
            "home_latitude": HOME.0, "home_longitude": HOME.1,
            "community_ids": [self.community], "travel_mode": "walk",
        });
        let res = self.app.post_json("/api/v1/responders", &self.worker, &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let responder = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        Volunteer { user, responder, token }
    }

    async fn task(&self, id: i64) -> Value {
        self.app.get_json(&format!("/api/v1/tasks/{id}"), &self.worker).await
    }

    /// Assigns `task` to the volunteer, who checks in (at home, or `far` away),
    /// stays `minutes` and checks out. Returns the task id.
    async fn visit_task(&self, task: i64, v: &Volunteer, minutes: i64, far: bool) {
        let version = self.task(task).await["version"].as_i64().unwrap();
        let res = self
            .app
            .post_json(
                &format!("/api/v1/tasks/{task}/assign"),
                &self.worker,
                &json!({"version": version, "reason": "nearest volunteer", "responder_id": v.responder}),
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
        let at = if far {
            json!({"latitude": HOME.0 + 0.01, "longitude": HOME.1})
        } else {
            json!({"latitude": HOME.0, "longitude": HOME.1})
        };
        let res = self.app.post_json(&format!("/api/v1/tasks/{task}/check-in"), &v.token, &at).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
        self.clock.advance(Duration::minutes(minutes));
        let res = self.app.post_json(&format!("/api/v1/tasks/{task}/check-out"), &v.token, &at).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    }

    /// An emergency visit of `minutes` by `v`, completed (not yet confirmed).
    async fn visit(&self, v: &Volunteer, minutes: i64, far: bool) -> i64 {
        let n = self.alarms.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let res = self.app.post_json("/api/v1/alarms", &self.bell, &json!({"event_id": format!("press-{n}")})).await;
        assert_eq!(res.status(), 202);
        let task = res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
        self.visit_task(task, v, minutes, far).await;
        let res = self
            .app
            .post_json(&format!("/api/v1/tasks/{task}/complete"), &v.token, &json!({"outcome": "helped_at_home"}))
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
        task
    }

    async fn confirm(&self, task: i64) -> reqwest::Response {
        self.app.post_json(&format!("/api/v1/tasks/{task}/confirm"), &self.worker, &json!({"source": "senior"})).await
    }

    async fn account_of(&self, v: &Volunteer) -> Value {
        let me = self.app.get_json("/api/v1/me/timebank", &v.token).await;
        me["account"].clone()
    }

    async fn account(&self, id: i64) -> Value {
        self.app.get_json(&format!("/api/v1/timebank/accounts/{id}"), &self.admin).await
    }

    async fn reconciliation(&self) -> Value {
        let r = self.app.get_json("/api/v1/timebank/reconciliation", &self.admin).await;
        assert_eq!(r["sum_minutes"], 0, "{r}");
        assert_eq!(r["negative_accounts"], 0, "{r}");
        assert_eq!(r["mismatched_cached_balances"], 0, "{r}");
        assert_eq!(r["balanced"], true, "{r}");
        r
    }

    async fn ledger_sum(&self) -> i64 {
        self.app.count("SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) FROM timebank_entries").await
    }

    async fn fund_id(&self) -> i64 {
        let page = self.app.get_json("/api/v1/timebank/accounts?kind=fund", &self.admin).await;
        page["items"][0]["id"].as_i64().unwrap()
    }

    /// Makes the world's senior a priority senior (特困) and grants them `minutes`.
    async fn granted_senior_account(&self, minutes: i64) -> i64 {
        self.app
            .db
            .execute_unprepared(&format!("UPDATE seniors SET economic_status = 'destitute' WHERE id = {}", self.senior))
            .await
            .unwrap();
        let res = self
            .app
            .post_json(
                "/api/v1/timebank/grants",
                &self.worker,
                &json!({"senior_id": self.senior, "minutes": minutes, "reason": "特困 senior", "idempotency_key": "g1"}),
            )
            .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        let page =
            self.app.get_json(&format!("/api/v1/timebank/accounts?senior_id={}", self.senior), &self.worker).await;
        page["items"][0]["id"].as_i64().unwrap()
    }
}

async fn contract_fields_and_a_volunteer_sees_only_their_own_account(backend: Backend) {
    let w = world(backend).await;
    let a = w.volunteer("vol-a").await;
    let b = w.volunteer("vol-b").await;
    let task = w.visit(&a, 30, false).await;
    assert_eq!(w.confirm(task).await.status(), 200);
    let mine = w.account_of(&a).await;
    let id = mine["id"].as_i64().unwrap();
    let by_owner = w.app.get_json(&format!("/api/v1/timebank/accounts?owner_user_id={}", a.user), &w.worker).await;
    let item = &by_owner["items"][0];
    for field in ["id", "kind", "balance_minutes", "pending_minutes"] {
        assert!(item.get(field).is_some(), "{field} in {item}");
    }
    assert_eq!(item["id"], id);
    assert_eq!(item["kind"], "volunteer");
    let one = w.app.get_json(&format!("/api/v1/timebank/accounts/{id}"), &a.token).await;
    assert_eq!(one["balance_minutes"], 60);
    assert_eq!(one["pending_minutes"], 0);
    let entries = w.app.get_json(&format!("/api/v1/timebank/accounts/{id}/entries"), &a.token).await;
    assert_eq!(entries["total"], 1);
    assert_eq!(entries["items"][0]["running_balance_minutes"], 60);
    // Another volunteer, a worker elsewhere and the bureau cannot read it.
    let b_id = w.account_of(&b).await["id"].as_i64().unwrap();
    for path in [
        format!("/api/v1/timebank/accounts/{id}"),
        format!("/api/v1/timebank/accounts/{id}/entries"),
        format!("/api/v1/timebank/accounts/{id}/statement.csv"),
    ] {
        let res = w.app.get(&path).bearer_auth(&b.token).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let listed = w.app.get_json(&format!("/api/v1/timebank/accounts?owner_user_id={}", a.user), &b.token).await;
    assert_eq!(listed["total"], 0, "a volunteer lists only their own account");
    let other = w.app.create_community("别的社区").await;
    let outsider = w.app.login_as(Role::Worker, &[other]).await;
    let res = w.app.get(&format!("/api/v1/timebank/accounts/{id}")).bearer_auth(&outsider).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let bureau = w.app.login_as(Role::Bureau, &[]).await;
    let res = w.app.get(&format!("/api/v1/timebank/accounts/{id}")).bearer_auth(&bureau).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = w.app.get("/api/v1/timebank/reconciliation").bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.status(), 403, "reconciliation is for admins");
    // b spends a's minutes? No: not b's account.
    let fund = w.fund_id().await;
    let res = w
        .app
        .post_json(
            "/api/v1/timebank/transfers",
            &b.token,
            &json!({"from_account_id": id, "to_account_id": fund, "minutes": 15, "reason": "donation", "idempotency_key": "x"}),
        )
        .await;
    assert_eq!(res.status(), 404);
    // Transfer contract: 201, then a replay returns the original.
    let body = json!({"from_account_id": id, "to_account_id": fund, "minutes": 15, "reason": "捐给基金", "idempotency_key": "k-1"});
    let res = w.app.post_json("/api/v1/timebank/transfers", &a.token, &body).await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    let again: Value = w.app.post_json("/api/v1/timebank/transfers", &a.token, &body).await.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["replayed"], true);
    let mut other_amount = body.clone();
    other_amount["minutes"] = json!(30);
    let res = w.app.post_json("/api/v1/timebank/transfers", &a.token, &other_amount).await;
    assert_eq!(res.status(), 409, "a key reused for another transfer");
    let too_much = json!({"from_account_id": id, "to_account_id": fund, "minutes": 46, "reason": "too much", "idempotency_key": "k-2"});
    let res = w.app.post_json("/api/v1/timebank/transfers", &a.token, &too_much).await;
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["rule"], "insufficient_balance", "{p}");
    let to_b = json!({"from_account_id": id, "to_account_id": b_id, "minutes": 15, "reason": "gift", "idempotency_key": "k-3"});
    let res = w.app.post_json("/api/v1/timebank/transfers", &a.token, &to_b).await;
    assert_eq!(problem(res).await["rule"], "not_a_relative");
    assert_eq!(w.account(id).await["balance_minutes"], 45);
    let r = w.reconciliation().await;
    for field in ["sum_minutes", "accounts", "negative_accounts", "mismatched_cached_balances"] {
        assert!(r.get(field).is_some(), "{field}");
    }
}

async fn a_confirmed_visit_earns_its_quarter_hours_times_the_multiplier(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    // 52 minutes rounds to 45; an emergency counts double: 90.
    let task = w.visit(&v, 52, false).await;
    assert_eq!(w.account_of(&v).await["balance_minutes"], 0, "not confirmed yet: nothing earned");
    let res = w.confirm(task).await;
    assert_eq!(res.status(), 200);
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["credit"]["status"], "earned", "{c}");
    assert_eq!(c["credit"]["minutes"], 90);
    assert_eq!(c["confirmation_source"], "senior");
    let t = w.task(task).await;
    assert!(t["events"].as_array().unwrap().iter().any(|e| e["kind"] == "confirmed"));
    assert_eq!(w.account_of(&v).await["balance_minutes"], 90);
    // Confirmed before completion: the completion earns.
    let n = 99;
    let res = w.app.post_json("/api/v1/alarms", &w.bell, &json!({"event_id": format!("press-{n}")})).await;
    let task2 = res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    w.visit_task(task2, &v, 30, false).await;
    assert_eq!(w.confirm(task2).await.status(), 200);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 90, "the visit is not completed");
    let res = w
        .app
        .post_json(&format!("/api/v1/tasks/{task2}/complete"), &v.token, &json!({"outcome": "helped_at_home"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 150);
    // A task still under way cannot be confirmed.
    let res = w.app.post_json("/api/v1/alarms", &w.bell, &json!({"event_id": "press-100"})).await;
    let task3 = res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    assert_eq!(w.confirm(task3).await.status(), 409);
    w.reconciliation().await;
    assert_eq!(w.app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'task.confirm'").await, 2);
}

async fn completing_and_confirming_five_times_at_once_earns_once(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    let res = w.app.post_json("/api/v1/alarms", &w.bell, &json!({"event_id": "once"})).await;
    let task = res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
    w.visit_task(task, &v, 60, false).await;
    let second = w.app.another_instance().await;
    let other = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let mut calls = Vec::new();
    for i in 0..5 {
        let base = if i % 2 == 0 { w.app.address.clone() } else { other.clone() };
        let client = w.app.client.clone();
        let token = v.token.clone();
        let here = base.clone();
        calls.push(tokio::spawn(async move {
            let base = here;
            client
                .post(format!("{base}/api/v1/tasks/{task}/complete"))
                .bearer_auth(token)
                .json(&json!({"outcome": "helped_at_home"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
        let client = w.app.client.clone();
        let token = w.worker.clone();
        calls.push(tokio::spawn(async move {
            client
                .post(format!("{base}/api/v1/tasks/{task}/confirm"))
                .bearer_auth(token)
                .json(&json!({"source": "family"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let statuses: Vec<u16> = futures_util::future::join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
    assert!(statuses.iter().all(|s| [200, 409].contains(s)), "{statuses:?}");
    // Whatever the interleaving, one more confirmation settles it (a no-op when earned).
    assert_eq!(w.confirm(task).await.status(), 200);
    assert_eq!(
        w.app
            .count(&format!("SELECT COUNT(*) FROM timebank_transactions WHERE kind = 'earn' AND task_id = {task}"))
            .await,
        1
    );
    assert_eq!(w.account_of(&v).await["balance_minutes"], 120);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM task_events WHERE kind = 'completed'").await, 1);
    w.reconciliation().await;
}

async fn a_thousand_concurrent_redemptions_and_transfers_never_overdraw(backend: Backend) {
    let w = world(backend).await;
    let account = w.granted_senior_account(6000).await;
    let fund = w.fund_id().await;
    let second = w.app.another_instance().await;
    let other = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let bases = [w.app.address.clone(), other];
    let senior = w.senior;
    let worker = w.worker.clone();
    let client = w.app.client.clone();
    let results: Vec<(bool, u16, Value)> = futures_util::stream::iter(0..1000)
        .map(|i| {
            let base = bases[i % 2].clone();
            let client = client.clone();
            let worker = worker.clone();
            async move {
                let transfer = i % 2 == 0;
                let (path, body) = if transfer {
                    (
                        "/api/v1/timebank/transfers",
                        json!({"from_account_id": account, "to_account_id": fund, "minutes": 30,
                               "reason": "donation", "idempotency_key": format!("t-{i}")}),
                    )
                } else {
                    (
                        "/api/v1/timebank/bookings",
                        json!({"account_id": account, "senior_id": senior, "kind": "housekeeping", "minutes": 30,
                               "idempotency_key": format!("b-{i}")}),
                    )
                };
                let res = client.post(format!("{base}{path}")).bearer_auth(worker).json(&body).send().await.unwrap();
                let status = res.status().as_u16();
                (transfer, status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let mut transfers = 0;
    let mut bookings = 0;
    for (transfer, status, body) in &results {
        match status {
            201 if *transfer => transfers += 1,
            201 => bookings += 1,
            422 => assert_eq!(body["rule"], "insufficient_balance", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // 6000 minutes buy exactly 200 half hours: none lost, none overdrawn.
    assert_eq!(transfers + bookings, 200, "{transfers} transfers, {bookings} bookings");
    let a = w.account(account).await;
    assert_eq!(a["balance_minutes"], 6000 - 30 * transfers);
    assert_eq!(a["reserved_minutes"], 30 * bookings);
    assert_eq!(a["available_minutes"], 0);
    assert_eq!(
        w.app
            .count(&format!("SELECT CAST(SUM(minutes) AS BIGINT) FROM timebank_entries WHERE account_id = {account}"))
            .await,
        6000 - 30 * transfers
    );
    assert_eq!(w.ledger_sum().await, 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_bookings").await, bookings);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM tasks WHERE kind = 'housekeeping'").await, bookings);
    // Replays post nothing more.
    for i in [0, 2, 4] {
        let body = json!({"from_account_id": account, "to_account_id": fund, "minutes": 30,
                          "reason": "donation", "idempotency_key": format!("t-{i}")});
        let res = w.app.post_json("/api/v1/timebank/transfers", &w.worker, &body).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        if status == 201 {
            assert_eq!(body["replayed"], true);
        } else {
            assert_eq!(body["rule"], "insufficient_balance");
        }
    }
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_transactions WHERE kind = 'transfer'").await, transfers);
    w.reconciliation().await;
}

async fn each_cap_refuses_with_its_rule_and_stores_nothing(backend: Backend) {
    let w = world_with(backend, Some(&small_caps())).await;
    let v = w.volunteer("vol").await;
    let first = w.visit(&v, 60, false).await;
    assert_eq!(w.confirm(first).await.status(), 200);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 120);
    // Same day, 60 more: the daily cap (2 h) refuses; the confirmation is not stored.
    let second = w.visit(&v, 30, false).await;
    let res = w.confirm(second).await;
    assert_eq!(res.status(), 422);
    let p = problem(res).await;
    assert_eq!(p["rule"], "daily_cap", "{p}");
    assert!(w.task(second).await["events"].as_array().unwrap().iter().all(|e| e["kind"] != "confirmed"));
    assert_eq!(w.account_of(&v).await["balance_minutes"], 120, "never trimmed");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_transactions").await, 1);
    // Next day it fits: 180 of the 180 allowed a year and in storage.
    w.clock.advance(Duration::days(1));
    assert_eq!(w.confirm(second).await.status(), 200);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 180);
    // Storage: a third visit would hold 210 minutes.
    w.clock.advance(Duration::days(1));
    let third = w.visit(&v, 15, false).await;
    let res = w.confirm(third).await;
    assert_eq!(problem(res).await["rule"], "storage_cap");
    // Give 60 away: storage has room, but the year's 180 minutes are earned.
    let id = w.account_of(&v).await["id"].as_i64().unwrap();
    let fund = w.fund_id().await;
    let res = w
        .app
        .post_json(
            "/api/v1/timebank/transfers",
            &v.token,
            &json!({"from_account_id": id, "to_account_id": fund, "minutes": 60, "reason": "donation", "idempotency_key": "d"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = w.confirm(third).await;
    assert_eq!(problem(res).await["rule"], "yearly_cap");
    // Grants obey the storage cap too.
    w.app
        .db
        .execute_unprepared(&format!("UPDATE seniors SET economic_status = 'destitute' WHERE id = {}", w.senior))
        .await
        .unwrap();
    let res = w
        .app
        .post_json(
            "/api/v1/timebank/grants",
            &w.worker,
            &json!({"senior_id": w.senior, "minutes": 181, "reason": "too much", "idempotency_key": "g"}),
        )
        .await;
    assert_eq!(problem(res).await["rule"], "storage_cap");
    let other = w.app.create_senior(w.community, "钱大爷").await;
    let res = w
        .app
        .post_json(
            "/api/v1/timebank/grants",
            &w.worker,
            &json!({"senior_id": other, "minutes": 60, "reason": "not a priority senior", "idempotency_key": "g2"}),
        )
        .await;
    assert_eq!(problem(res).await["rule"], "not_priority_senior");
    w.reconciliation().await;
}

async fn a_reversal_restores_balances_and_keeps_the_original(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    let task = w.visit(&v, 60, false).await;
    let c: Value = w.confirm(task).await.json().await.unwrap();
    let tx = c["credit"]["transaction_id"].as_i64().unwrap();
    let fund = w.fund_id().await;
    assert_eq!(w.account(fund).await["balance_minutes"], -120, "the fund issued the credit");
    let path = format!("/api/v1/timebank/transactions/{tx}/reverse");
    let res = w.app.post_json(&path, &w.worker, &json!({"reason": "x"})).await;
    assert_eq!(res.status(), 422, "a reason is required");
    let res = w.app.post_json(&path, &v.token, &json!({"reason": "my mistake"})).await;
    assert_eq!(res.status(), 403, "volunteers do not reverse");
    let res = w.app.post_json(&path, &w.worker, &json!({"reason": "visit did not happen"})).await;
    assert_eq!(res.status(), 201);
    let reversal: Value = res.json().await.unwrap();
    assert_eq!(reversal["reverses_id"], tx);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 0);
    assert_eq!(w.account(fund).await["balance_minutes"], 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_entries").await, 4, "the original entries stay");
    let again = w.app.post_json(&path, &w.worker, &json!({"reason": "visit did not happen"})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], reversal["id"]);
    let res = w
        .app
        .post_json(
            &format!("/api/v1/timebank/transactions/{}/reverse", reversal["id"]),
            &w.worker,
            &json!({"reason": "undo the undo"}),
        )
        .await;
    assert_eq!(problem(res).await["rule"], "not_reversible");
    let entries = w
        .app
        .get_json(&format!("/api/v1/timebank/accounts/{}/entries?order=asc", w.account_of(&v).await["id"]), &v.token)
        .await;
    let running: Vec<i64> =
        entries["items"].as_array().unwrap().iter().map(|e| e["running_balance_minutes"].as_i64().unwrap()).collect();
    assert_eq!(running, [120, 0]);
    // Confirming again does not earn the reversed visit twice.
    assert_eq!(w.confirm(task).await.status(), 200);
    assert_eq!(w.account_of(&v).await["balance_minutes"], 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'timebank.reverse'").await, 1);
    w.reconciliation().await;
}

async fn the_ledger_cannot_be_updated_or_deleted(backend: Backend) {
    let w = world(backend).await;
    w.granted_senior_account(600).await;
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_entries").await, 2);
    for sql in [
        "UPDATE timebank_entries SET minutes = minutes + 1",
        "DELETE FROM timebank_entries",
        "UPDATE timebank_transactions SET minutes = 1",
        "DELETE FROM timebank_transactions",
    ] {
        let err = w.app.db.execute_unprepared(sql).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(w.app.count("SELECT COUNT(*) FROM timebank_entries").await, 2);
    assert_eq!(w.ledger_sum().await, 0);
}

async fn a_flagged_visit_holds_its_credit_until_a_worker_resolves_it(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    let task = w.visit(&v, 60, true).await;
    assert_eq!(w.task(task).await["visit_flagged"], true);
    let c: Value = w.confirm(task).await.json().await.unwrap();
    assert_eq!(c["credit"]["status"], "pending", "{c}");
    let account = w.account_of(&v).await;
    assert_eq!(account["balance_minutes"], 0);
    assert_eq!(account["pending_minutes"], 120);
    let pending = w.app.get_json("/api/v1/timebank/pending?status=pending", &w.worker).await;
    let id = pending[0]["id"].as_i64().unwrap();
    w.reconciliation().await;
    let resolve = format!("/api/v1/timebank/pending/{id}/resolve");
    let res =
        w.app.post_json(&resolve, &w.worker, &json!({"release": true, "reason": "GPS drift, senior confirmed"})).await;
    assert_eq!(res.status(), 200);
    let account = w.account_of(&v).await;
    assert_eq!(account["balance_minutes"], 120);
    assert_eq!(account["pending_minutes"], 0);
    let res = w.app.post_json(&resolve, &w.worker, &json!({"release": false, "reason": "again"})).await;
    assert_eq!(res.status(), 409);
    // A rejected credit never reaches the balance.
    let task2 = w.visit(&v, 30, true).await;
    w.confirm(task2).await;
    let pending = w.app.get_json("/api/v1/timebank/pending?status=pending", &w.worker).await;
    let id2 = pending[0]["id"].as_i64().unwrap();
    let res = w
        .app
        .post_json(
            &format!("/api/v1/timebank/pending/{id2}/resolve"),
            &w.worker,
            &json!({"release": false, "reason": "not there"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let account = w.account_of(&v).await;
    assert_eq!((account["balance_minutes"].as_i64(), account["pending_minutes"].as_i64()), (Some(120), Some(0)));
    w.reconciliation().await;
}

async fn a_booking_reserves_settles_on_completion_and_releases_on_cancel(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    let helper = w.volunteer("helper").await;
    for _ in 0..2 {
        let t = w.visit(&v, 60, false).await;
        w.confirm(t).await;
        w.clock.advance(Duration::hours(1));
    }
    let account = w.account_of(&v).await["id"].as_i64().unwrap();
    assert_eq!(w.account(account).await["balance_minutes"], 240);
    let mother = w.app.create_senior(w.community, "母亲").await;
    let book = |key: &str| json!({"account_id": account, "senior_id": mother, "kind": "housekeeping", "minutes": 90, "idempotency_key": key});
    let res = w.app.post_json("/api/v1/timebank/bookings", &v.token, &book("b1")).await;
    assert_eq!(problem(res).await["rule"], "not_a_relative", "no link yet");
    let res = w
        .app
        .post_json("/api/v1/timebank/relatives", &v.token, &json!({"senior_id": mother, "relation": "parent"}))
        .await;
    assert_eq!(res.status(), 201);
    let link = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = w.app.post_json("/api/v1/timebank/bookings", &v.token, &book("b1")).await;
    assert_eq!(problem(res).await["rule"], "not_a_relative", "not approved yet");
    let queue = w.app.get_json("/api/v1/timebank/relatives?status=pending", &w.worker).await;
    assert_eq!(queue.as_array().unwrap().len(), 1);
    let res = w
        .app
        .post_json(&format!("/api/v1/timebank/relatives/{link}/decide"), &w.worker, &json!({"approve": true}))
        .await;
    assert_eq!(res.status(), 200);
    let approved: Value = res.json().await.unwrap();
    assert!(approved["approved_by"].is_i64());
    // Minutes can now go to the mother's account too; a senior's account gives only to the fund.
    let mother_account = approved["senior_account_id"].as_i64().unwrap();
    let gift = json!({"from_account_id": account, "to_account_id": mother_account, "minutes": 30, "reason": "给妈妈", "idempotency_key": "gift"});
    assert_eq!(w.app.post_json("/api/v1/timebank/transfers", &v.token, &gift).await.status(), 201);
    assert_eq!(w.account(mother_account).await["balance_minutes"], 30);
    let back = json!({"from_account_id": mother_account, "to_account_id": account, "minutes": 30, "reason": "back", "idempotency_key": "g"});
    let res = w.app.post_json("/api/v1/timebank/transfers", &w.worker, &back).await;
    assert_eq!(problem(res).await["rule"], "not_a_relative");
    let me = w.app.get_json("/api/v1/me/timebank", &v.token).await;
    assert_eq!(me["relatives"][0]["senior_account_id"], mother_account);
    // Booked, reserved, dispatched as a task.
    let res = w.app.post_json("/api/v1/timebank/bookings", &v.token, &book("b1")).await;
    assert_eq!(res.status(), 201);
    let booking: Value = res.json().await.unwrap();
    assert_eq!(booking["status"], "reserved");
    let a = w.account(account).await;
    assert_eq!((a["balance_minutes"].as_i64(), a["reserved_minutes"].as_i64()), (Some(210), Some(90)));
    let task = booking["task_id"].as_i64().unwrap();
    assert_eq!(w.task(task).await["kind"], "housekeeping");
    // Cancelled: released, and the task with it.
    let res = w
        .app
        .post_json(
            &format!("/api/v1/timebank/bookings/{}/cancel", booking["id"]),
            &v.token,
            &json!({"reason": "plans changed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(w.task(task).await["status"], "cancelled");
    assert_eq!(w.account(account).await["reserved_minutes"], 0);
    // Booked again and delivered by another volunteer: settled to the fund.
    let res = w.app.post_json("/api/v1/timebank/bookings", &v.token, &book("b2")).await;
    let booking: Value = res.json().await.unwrap();
    let task = booking["task_id"].as_i64().unwrap();
    w.visit_task(task, &helper, 90, false).await;
    let res =
        w.app.post_json(&format!("/api/v1/tasks/{task}/complete"), &helper.token, &json!({"outcome": "done"})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    let a = w.account(account).await;
    assert_eq!((a["balance_minutes"].as_i64(), a["reserved_minutes"].as_i64()), (Some(120), Some(0)));
    let me = w.app.get_json("/api/v1/me/timebank", &v.token).await;
    assert_eq!(me["bookings"][0]["status"], "settled");
    assert_eq!(me["recent_entries"][0]["kind"], "redeem");
    assert_eq!(me["recent_entries"][0]["running_balance_minutes"], 120);
    // The helper earns once the visit is confirmed.
    assert_eq!(w.confirm(task).await.status(), 200);
    assert_eq!(w.account_of(&helper).await["balance_minutes"], 90);
    // Self-care waits for the redemption age.
    let me_senior = w.app.create_senior(w.community, "本人").await;
    let res = w
        .app
        .post_json("/api/v1/timebank/members", &w.worker, &json!({"user_id": v.user, "birth_date": "1980-05-01"}))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.unwrap()["approved_by"].is_i64());
    let res = w
        .app
        .post_json("/api/v1/timebank/relatives", &v.token, &json!({"senior_id": me_senior, "relation": "self_care"}))
        .await;
    let link = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    w.app.post_json(&format!("/api/v1/timebank/relatives/{link}/decide"), &w.worker, &json!({"approve": true})).await;
    let res = w
        .app
        .post_json(
            "/api/v1/timebank/bookings",
            &v.token,
            &json!({"account_id": account, "senior_id": me_senior, "kind": "companionship", "minutes": 30, "idempotency_key": "self"}),
        )
        .await;
    assert_eq!(problem(res).await["rule"], "redemption_age");
    w.reconciliation().await;
}

async fn the_statement_has_a_running_balance(backend: Backend) {
    let w = world(backend).await;
    let v = w.volunteer("vol").await;
    for minutes in [60, 30] {
        let t = w.visit(&v, minutes, false).await;
        w.confirm(t).await;
    }
    let id = w.account_of(&v).await["id"].as_i64().unwrap();
    let fund = w.fund_id().await;
    w.app
        .post_json(
            "/api/v1/timebank/transfers",
            &v.token,
            &json!({"from_account_id": id, "to_account_id": fund, "minutes": 45, "reason": "=cmd|x", "idempotency_key": "s"}),
        )
        .await;
    let res =
        w.app.get(&format!("/api/v1/timebank/accounts/{id}/statement.csv")).bearer_auth(&v.token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].contains("running_balance_minutes"), "{}", lines[0]);
    let running: Vec<i64> = lines[1..].iter().map(|l| l.split(',').nth(4).unwrap().parse().unwrap()).collect();
    assert_eq!(running, [120, 180, 135]);
    assert!(lines[3].contains("'=cmd|x"), "formulas are defused: {}", lines[3]);
    let res = w
        .app
        .get(&format!("/api/v1/timebank/accounts/{id}/statement.xlsx"))
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an XLSX is a zip");
}

async fn self_confirmed_and_reciprocal_visits_are_flagged_for_review(backend: Backend) {
    let w = world(backend).await;
    let a = w.volunteer("vol-a").await;
    let b = w.volunteer("vol-b").await;
    // a's mother and b's mother.
    let a_mother = w.app.create_senior(w.community, "甲母").await;
    let b_mother = w.app.create_senior(w.community, "乙母").await;
    for (v, senior) in [(&a, a_mother), (&b, b_mother)] {
        let body = json!({"volunteer_user_id": v.user, "senior_id": senior, "relation": "parent"});
        let res = w.app.post_json("/api/v1/timebank/relatives", &w.worker, &body).await;
        let link = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        w.app
            .post_json(&format!("/api/v1/timebank/relatives/{link}/decide"), &w.worker, &json!({"approve": true}))
            .await;
    }
    let mut keys = Vec::new();
    for senior in [a_mother, b_mother] {
        let res = w.app.post_json("/api/v1/devices", &w.worker, &json!({"senior_id": senior})).await;
        keys.push(res.json::<Value>().await.unwrap()["api_key"].as_str().unwrap().to_owned());
    }
    // Each serves the other's mother three times, and relays the mother's confirmation itself.
    for round in 0..3 {
        for (server, key) in [(&a, &keys[1]), (&b, &keys[0])] {
            let res =
                w.app.post_json("/api/v1/alarms", key, &json!({"event_id": format!("r{round}-{}", server.user)})).await;
            let task = res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap();
            w.visit_task(task, server, 30, false).await;
            w.app
                .post_json(
                    &format!("/api/v1/tasks/{task}/complete"),
                    &server.token,
                    &json!({"outcome": "helped_at_home"}),
                )
                .await;
            let res = w
                .app
                .post_json(&format!("/api/v1/tasks/{task}/confirm"), &server.token, &json!({"source": "worker"}))
                .await;
            assert_eq!(res.status(), 422, "a responder cannot confirm as a worker");
            let res = w
                .app
                .post_json(&format!("/api/v1/tasks/{task}/confirm"), &server.token, &json!({"source": "senior"}))
                .await;
            assert_eq!(res.status(), 200);
            w.clock.advance(Duration::hours(2));
        }
    }
    assert_eq!(w.account_of(&a).await["balance_minutes"], 180, "flags never block");
    let flags = w.app.get_json("/api/v1/timebank/flags?status=open", &w.worker).await;
    assert_eq!(flags.as_array().unwrap().iter().filter(|f| f["kind"] == "self_confirmed").count(), 6);
    let res = w.app.post("/api/v1/timebank/flags/scan").bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["raised"], 1);
    let flags = w.app.get_json("/api/v1/timebank/flags?status=open", &w.worker).await;
    let reciprocal = flags.as_array().unwrap().iter().find(|f| f["kind"] == "reciprocal").unwrap().clone();
    let res = w
        .app
        .post_json(
            &format!("/api/v1/timebank/flags/{}/review", reciprocal["id"]),
            &w.worker,
            &json!({"upheld": false, "reason": "neighbours, checked by phone"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "dismissed");
    let res = w.app.post("/api/v1/timebank/flags/scan").bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["raised"], 0, "a pair is flagged once");
}
