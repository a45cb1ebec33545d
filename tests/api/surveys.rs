//! Satisfaction surveys and complaint cases through the real server, with a manual
//! clock and explicit run triggers: the scheduled jobs and their window locks, the
//! sampling rule, answers and the cases they open, family links, escalation and the
//! analysis.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use linli::auth::Role;
use linli::clock::ManualClock;
use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, problem};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    post_service_surveys_go_to_exactly_the_sampled_tasks_never_to_the_server,
    two_instances_running_the_monthly_job_make_each_survey_once,
    a_missed_run_catches_up_once_at_start,
    a_family_link_works_once_then_refuses,
    a_low_score_opens_a_case_with_the_right_owner_and_deadline,
    an_overdue_case_escalates_to_the_community_head_and_a_resolved_one_is_followed_up,
    analysis_matches_hand_computed_numbers,
    bad_answers_name_the_question_and_store_nothing,
    a_caregiver_at_the_door_takes_the_pending_survey_of_someone_elses_visit,
);

/// Tuesday 15 December 2026, 10:00 in Shanghai.
fn tuesday_ten() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 15, 2, 0, 0).single().unwrap()
}

const HOME: (f64, f64) = (39.115, 117.195);

struct World {
    app: TestApp,
    clock: Arc<ManualClock>,
    community: i64,
    /// The community's first worker (user id, token).
    worker_id: i64,
    worker: String,
    admin: String,
    senior: i64,
}

async fn world(backend: Backend) -> World {
    let clock = manual_clock(tuesday_ten());
    let app = TestApp::spawn_with(backend, clock.clone(), |s| {
        s.session_ttl_minutes = 60 * 24 * 60;
    })
    .await;
    let community = app.create_community("新兴社区").await;
    let worker_id = app.create_user("worker-a", Role::Worker, &[community]).await;
    let worker = app.token_for("worker-a").await;
    let admin = app.login_as(Role::Admin, &[]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    World { app, clock, community, worker_id, worker, admin, senior }
}

impl World {
    /// A caregiver serving the community: (responder id, user id, token).
    async fn responder(&self, name: &str) -> (i64, i64, String) {
        let user = self.app.create_user(name, Role::Caregiver, &[]).await;
        let token = self.app.token_for(name).await;
        let body = json!({
            "user_id": user, "kind": "caregiver", "skills": ["emergency_response", "housekeeping", "meal_delivery"],
            "home_latitude": HOME.0, "home_longitude": HOME.1,
            "community_ids": [self.community], "travel_mode": "ebike", "max_concurrent": 2,
        });
        let res = self.app.post_json("/api/v1/responders", &self.worker, &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
        (res.json::<Value>().await.unwrap()["id"].as_i64().unwrap(), user, token)
    }

    /// A task of `kind` for `senior`, held by `responder`, in `status`, completed at
    /// `completed_at` (when completed).
    async fn task(&self, kind: &str, senior: i64, responder: i64, status: &str, completed_at: DateTime<Utc>) -> i64 {
        let kind = linli::dispatch::kinds::TaskKind::parse(kind).unwrap();
        let mut row = linli::dispatch::tasks::new_row(kind, senior, self.community, completed_at - Duration::hours(2));
        row.status = Set(status.to_owned());
        row.assignee_id = Set(Some(responder));
        if status == "completed" {
            row.completed_at = Set(Some(completed_at));
            row.check_in_at = Set(Some(completed_at - Duration::minutes(40)));
            row.check_out_at = Set(Some(completed_at));
        }
        row.insert(&self.app.db).await.unwrap().id
    }

    async fn run(&self, job: &str) -> Value {
        let res = self.app.post(&format!("/api/v1/jobs/{job}/run")).bearer_auth(&self.admin).send().await.unwrap();
        assert_eq!(res.status(), 200, "{job}");
        let run: Value = res.json().await.unwrap();
        assert_eq!(run["status"], "succeeded", "{run}");
        run
    }

    async fn surveys(&self, query: &str) -> Vec<Value> {
        let page = self.app.get_json(&format!("/api/v1/surveys?per_page=200&{query}"), &self.worker).await;
        page["items"].as_array().unwrap().clone()
    }

    /// A pending post-service survey about an emergency response (always surveyed).
    async fn emergency_survey(&self, senior: i64, responder: i64) -> i64 {
        let task = self.task("emergency", senior, responder, "completed", self.now() - Duration::hours(1)).await;
        linli::surveys::schedule::post_service(&self.app.state).await.unwrap();
        let rows = self.surveys("status=pending").await;
        rows.iter().find(|s| s["task_id"] == task).unwrap()["id"].as_i64().unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        linli::clock::Clock::now(self.clock.as_ref())
    }

    async fn answer(&self, token: &str, survey: i64, body: &Value) -> reqwest::Response {
        self.app.post_json(&format!("/api/v1/surveys/{survey}/answers"), token, body).await
    }

    async fn ids(&self, sql: &str) -> BTreeSet<i64> {
        let backend = self.app.db.get_database_backend();
        let rows = self.app.db.query_all_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap();
        rows.iter().map(|r| r.try_get_by_index::<i64>(0).unwrap()).collect()
    }
}

/// The documented sampling rule, computed here independently of the server.
fn in_sample(task: i64, percent: u64) -> bool {
    let digest = Sha256::digest(format!("post-service:{task}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100 < percent
}

async fn post_service_surveys_go_to_exactly_the_sampled_tasks_never_to_the_server(backend: Backend) {
    let w = world(backend).await;
    let second = w.app.create_user("worker-b", Role::Worker, &[w.community]).await;
    let (r1, u1, t1) = w.responder("carer-1").await;
    let (r2, u2, _) = w.responder("carer-2").await;
    let (_, _, other_carer) = w.responder("carer-3").await;
    let now = w.now();
    let mut expected = BTreeSet::new();
    let mut served_by = std::collections::HashMap::new();
    for i in 0..40 {
        let kind = ["meal_delivery", "home_bed", "housekeeping"][i % 3];
        let (r, u) = if i % 2 == 0 { (r1, u1) } else { (r2, u2) };
        let id = w.task(kind, w.senior, r, "completed", now - Duration::minutes(20 * i as i64 + 5)).await;
        served_by.insert(id, u);
        if in_sample(id, 30) {
            expected.insert(id);
        }
    }
    for _ in 0..2 {
        let id = w.task("emergency", w.senior, r1, "completed", now - Duration::hours(3)).await;
        served_by.insert(id, u1);
        expected.insert(id);
    }
    // Yesterday at 01:00, more than 24 hours ago: still yesterday's, still surveyed.
    let early = w.task("emergency", w.senior, r2, "completed", now - Duration::hours(33)).await;
    served_by.insert(early, u2);
    expected.insert(early);
    // Not surveyed: completed the day before yesterday (18:00 and 23:59), not
    // completed, a welfare check.
    for _ in 0..3 {
        w.task("emergency", w.senior, r1, "completed", now - Duration::hours(40)).await;
    }
    w.task("emergency", w.senior, r1, "completed", now - Duration::hours(34) - Duration::minutes(1)).await;
    w.task("emergency", w.senior, r2, "on_site", now).await;
    w.task("welfare_check", w.senior, r2, "completed", now - Duration::hours(1)).await;
    assert!(expected.len() > 5 && expected.len() < 43, "a real sample: {}", expected.len());

    let run = w.run("post_service_surveys").await;
    assert_eq!(run["ran_now"], true);
    assert_eq!(run["created"], expected.len() as i64);
    let surveyed = w.ids("SELECT task_id FROM surveys WHERE kind = 'post_service'").await;
    assert_eq!(surveyed, expected, "exactly the emergencies and the sampled visits");
    for s in w.surveys("kind=post_service").await {
        let task = s["task_id"].as_i64().unwrap();
        let conductor = s["conductor_id"].as_i64().unwrap();
        assert_ne!(conductor, served_by[&task], "never the responder who served");
        assert!(conductor == w.worker_id || conductor == second, "a worker of the community");
        assert_eq!(s["due_on"], "2026-12-15");
    }
    // The same window again is the same run; the next window makes nothing new.
    assert_eq!(w.run("post_service_surveys").await["ran_now"], false);
    w.clock.advance(Duration::hours(1));
    let again = w.run("post_service_surveys").await;
    assert_eq!((again["ran_now"].clone(), again["created"].clone()), (json!(true), json!(0)));

    // At the door: the caregiver who served may not survey their own visit; another may.
    let own = *expected.iter().find(|t| served_by[t] == u1).unwrap();
    let survey = w.ids(&format!("SELECT id FROM surveys WHERE task_id = {own}")).await.pop_first().unwrap();
    let body =
        json!({"channel": "in_person", "answers": {"overall": 5, "punctuality": 5, "attitude": 5, "quality": 5}});
    let res = w.answer(&t1, survey, &body).await;
    assert_eq!(res.status(), 409);
    assert!(problem(res).await["type"].as_str().unwrap().ends_with("own-visit"));
    let res = w.answer(&other_carer, survey, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
}

/// Working days of December 2026 (no holidays configured): Monday to Friday.
fn december_working_days() -> Vec<NaiveDate> {
    (1..=31)
        .map(|d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap())
        .filter(|d| !matches!(chrono::Datelike::weekday(d), chrono::Weekday::Sat | chrono::Weekday::Sun))
        .collect()
}

async fn two_instances_running_the_monthly_job_make_each_survey_once(backend: Backend) {
    let w = world(backend).await;
    let other_community = w.app.create_community("南营门社区").await;
    w.app.create_user("worker-c", Role::Worker, &[other_community]).await;
    let mut seniors = vec![w.senior];
    for i in 0..12 {
        let c = if i % 2 == 0 { w.community } else { other_community };
        seniors.push(w.app.create_senior(c, &format!("老人{i}")).await);
    }
    let moved = w.app.create_senior(w.community, "已搬走").await;
    w.app.db.execute_unprepared(&format!("UPDATE seniors SET status = 'moved_away' WHERE id = {moved}")).await.unwrap();
    seniors.sort_unstable();
    // By hand: 13 active seniors over 23 working days; the i-th is called on day i*23/13.
    let days = december_working_days();
    assert_eq!(days.len(), 23);
    let due = |i: usize| days[i * days.len() / seniors.len()];
    let by = |day: NaiveDate| -> BTreeSet<i64> {
        seniors.iter().enumerate().filter(|(i, _)| due(*i) <= day).map(|(_, s)| *s).collect()
    };
    let monday = NaiveDate::from_ymd_opt(2026, 12, 14).unwrap();
    let tuesday = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();

    let other = w.app.another_instance().await;
    let other_state = other.state().clone();
    let other_url = format!("http://127.0.0.1:{}", other.port());
    let running = tokio::spawn(other.run_until_stopped());

    // Without the window lock, the unique business key alone keeps them apart.
    let (a, b) = tokio::join!(
        linli::surveys::schedule::monthly(&w.app.state, monday),
        linli::surveys::schedule::monthly(&other_state, monday),
    );
    assert_eq!(a.unwrap() + b.unwrap(), by(monday).len() as i64);
    assert_eq!(w.ids("SELECT senior_id FROM surveys").await, by(monday));

    // Both instances triggered at once for today's window: one runs it.
    let trigger = |base: String| {
        let req = w.app.client.post(format!("{base}/api/v1/jobs/monthly_surveys/run")).bearer_auth(&w.admin).send();
        async move { req.await.unwrap().json::<Value>().await.unwrap() }
    };
    let (x, y) = tokio::join!(trigger(w.app.address.clone()), trigger(other_url));
    assert_eq!(x["id"], y["id"], "one window, one run record");
    assert!(x["ran_now"].as_bool().unwrap() ^ y["ran_now"].as_bool().unwrap(), "{x} {y}");
    // The loser reads the claim as it stands (perhaps still running): count the winner's.
    let winner = if x["ran_now"] == true { &x } else { &y };
    assert_eq!(winner["window_key"], "2026-12-15T07:30+08:00");
    assert_eq!(winner["status"], "succeeded");
    let created = winner["created"].as_i64().unwrap();
    assert_eq!(created, (by(tuesday).len() - by(monday).len()) as i64, "today's share");
    assert_eq!(w.ids("SELECT senior_id FROM surveys").await, by(tuesday));
    assert!(!w.ids("SELECT senior_id FROM surveys").await.contains(&moved));
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM surveys").await,
        w.app.count("SELECT COUNT(DISTINCT senior_id) FROM surveys").await
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM job_runs WHERE job_name = 'monthly_surveys'").await, 1);
    // Each survey is due on its senior's working day.
    for (i, s) in seniors.iter().enumerate().filter(|(i, _)| due(*i) <= tuesday) {
        let on = w.ids(&format!("SELECT id FROM surveys WHERE senior_id = {s}")).await.pop_first().unwrap();
        let row = w.app.get_json(&format!("/api/v1/surveys/{on}"), &w.admin).await;
        assert_eq!(row["due_on"], due(i).to_string(), "senior #{i}");
        assert_eq!(row["kind"], "periodic");
    }
    running.abort();
}

async fn a_missed_run_catches_up_once_at_start(backend: Backend) {
    let w = world(backend).await;
    for i in 0..5 {
        w.app.create_senior(w.community, &format!("老人{i}")).await;
    }
    // Today's 07:30 run was missed (the server was down); it is 10:00 now.
    let monthly = "SELECT COUNT(*) FROM job_runs WHERE job_name = 'monthly_surveys' AND status = 'succeeded'";
    assert_eq!(w.app.count(monthly).await, 0);
    linli::jobs::catch_up(&w.app.state).await;
    assert_eq!(w.app.count(monthly).await, 1);
    let window: Value = w
        .app
        .db
        .query_one_raw(Statement::from_string(
            w.app.db.get_database_backend(),
            "SELECT window_key FROM job_runs WHERE job_name = 'monthly_surveys'".to_owned(),
        ))
        .await
        .unwrap()
        .map(|r| json!(r.try_get_by_index::<String>(0).unwrap()))
        .unwrap();
    assert_eq!(window, "2026-12-15T07:30+08:00", "only the latest missed window");
    let surveys = w.app.count("SELECT COUNT(*) FROM surveys").await;
    assert!(surveys > 0);
    // A second start, and the scheduler's own tick in the same window, change nothing.
    linli::jobs::catch_up(&w.app.state).await;
    assert_eq!(w.run("monthly_surveys").await["ran_now"], false);
    assert_eq!(w.app.count(monthly).await, 1);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM surveys").await, surveys);
    for job in ["post_service_surveys", "survey_reminders", "survey_expiry", "case_escalation"] {
        let runs = w.app.count(&format!("SELECT COUNT(*) FROM job_runs WHERE job_name = '{job}'")).await;
        assert_eq!(runs, 1, "{job} caught up once");
    }
}

async fn a_family_link_works_once_then_refuses(backend: Backend) {
    let w = world(backend).await;
    let (r, _, _) = w.responder("carer").await;
    let survey = w.emergency_survey(w.senior, r).await;
    let res = w.app.post(&format!("/api/v1/surveys/{survey}/family-link")).bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let link: Value = res.json().await.unwrap();
    let token = link["token"].as_str().unwrap().to_owned();
    assert_eq!(link["path"], format!("/s/{token}"));
    assert_eq!(w.app.count(&format!("SELECT COUNT(*) FROM survey_links WHERE token_hash = '{token}'")).await, 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM survey_links").await, 1, "stored, but only as a hash");

    let page = w.app.get(&format!("/api/v1/public/surveys/{token}")).send().await.unwrap();
    assert_eq!(page.status(), 200, "no login needed");
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["senior"], "赵**");
    assert_eq!(page["template"]["questions"][0]["id"], "overall");
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('0') { '1' } else { '0' });
    assert_eq!(w.app.get(&format!("/api/v1/public/surveys/{forged}")).send().await.unwrap().status(), 404);

    let answer = |body: Value| w.app.post(&format!("/api/v1/public/surveys/{token}/answers")).json(&body).send();
    let res = answer(json!({"answers": {"overall": 9, "punctuality": 4, "attitude": 4, "quality": 4}})).await.unwrap();
    assert_eq!(res.status(), 422, "a bad answer does not use the link up");
    let good = json!({"answers": {"overall": 4, "punctuality": 4, "attitude": 5, "quality": 4, "comments": "很好"}});
    let res = answer(good.clone()).await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let res = answer(good).await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(problem(res).await["type"].as_str().unwrap().ends_with("link-used"));
    assert_eq!(w.app.get(&format!("/api/v1/public/surveys/{token}")).send().await.unwrap().status(), 410);
    let stored = w.app.get_json(&format!("/api/v1/surveys/{survey}"), &w.worker).await;
    assert_eq!(stored["status"], "answered");
    assert_eq!(stored["channel"], "family_link");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM survey_answers WHERE recorded_by IS NULL").await, 1);

    // An expired link refuses, and a link for an answered survey cannot be made.
    let res = w.app.post(&format!("/api/v1/surveys/{survey}/family-link")).bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let later = w.emergency_survey(w.senior, r).await;
    let res = w.app.post(&format!("/api/v1/surveys/{later}/family-link")).bearer_auth(&w.worker).send().await.unwrap();
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    w.clock.advance(Duration::hours(73));
    let res = w.app.get(&format!("/api/v1/public/surveys/{token}")).send().await.unwrap();
    assert_eq!(res.status(), 410);
    assert!(problem(res).await["type"].as_str().unwrap().ends_with("link-expired"));
    let res = w
        .app
        .post(&format!("/api/v1/public/surveys/{token}/answers"))
        .json(&json!({"answers": {"overall": 5, "punctuality": 5, "attitude": 5, "quality": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM survey_answers").await, 1);
}

async fn a_low_score_opens_a_case_with_the_right_owner_and_deadline(backend: Backend) {
    let w = world(backend).await;
    w.app.create_user("worker-b", Role::Worker, &[w.community]).await;
    let second = w.app.token_for("worker-b").await;
    let second_id = w.app.get_json("/api/v1/auth/me", &second).await["id"].as_i64().unwrap();
    let (r, _, _) = w.responder("carer").await;
    let survey = w.emergency_survey(w.senior, r).await;

    // The call list shows whom to call, their phone and the script.
    let conductor = w.app.get_json(&format!("/api/v1/surveys/{survey}"), &w.worker).await["conductor_id"].as_i64();
    let caller_token = if conductor == Some(second_id) { &second } else { &w.worker };
    let list = w.app.get_json("/api/v1/surveys/call-list?date=2026-12-15", caller_token).await;
    let item = list["items"].as_array().unwrap().iter().find(|i| i["survey_id"] == survey).unwrap().clone();
    assert_eq!(item["phone"], "13800138000");
    assert_eq!(item["served_by"], "Test carer");
    let script = list["templates"].as_array().unwrap().iter().find(|t| t["id"] == item["template_id"]).unwrap();
    assert!(script["questions"][0]["text"]["zh"].as_str().unwrap().starts_with("总体"));

    // Worker B records a 2 out of 5 by phone: B heard it first and owns the case.
    let body = json!({"channel": "phone", "answers": {"overall": 2, "punctuality": 2, "attitude": 3, "quality": 2,
        "comments": "来得太晚了"}});
    let res = w.answer(&second, survey, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let result: Value = res.json().await.unwrap();
    let case = result["case_id"].as_i64().expect("a case");
    assert_eq!(result["case_owner_id"], second_id);
    let cases = w.app.get_json(&format!("/api/v1/cases?status=open&owner_id={second_id}"), &w.worker).await;
    assert_eq!(cases["total"], 1);
    let c = &cases["items"][0];
    assert_eq!(c["id"], case);
    assert_eq!(
        (c["owner_id"].clone(), c["severity"].clone(), c["source"].clone()),
        (json!(second_id), json!("normal"), json!("survey"))
    );
    let due: DateTime<Utc> = c["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, w.now() + Duration::hours(72), "normal cases are due in 72 hours");
    assert_eq!(c["description"], "来得太晚了");
    assert!(
        w.app.get_json("/api/v1/surveys/call-list", caller_token).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["survey_id"] != survey),
        "answered surveys leave the call list"
    );

    // A serious answer through a family link: nobody heard it in person, so the
    // survey's conductor (a worker of the community) owns it, due in 24 hours.
    linli::surveys::schedule::monthly(&w.app.state, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).await.unwrap();
    let periodic = w.surveys("kind=periodic").await[0].clone();
    let monthly = periodic["id"].as_i64().unwrap();
    let link: Value = w
        .app
        .post(&format!("/api/v1/surveys/{monthly}/family-link"))
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers =
        json!({"answers": {"overall": 4, "health": "same", "meals": "always", "lonely": false, "mistreated": true}});
    let res = w
        .app
        .post(&format!("/api/v1/public/surveys/{}/answers", link["token"].as_str().unwrap()))
        .json(&answers)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let serious = w.app.get_json("/api/v1/cases?status=open&per_page=10", &w.worker).await;
    let s = serious["items"].as_array().unwrap().iter().find(|c| c["severity"] == "serious").unwrap();
    assert_eq!(s["category"], "safety");
    assert_eq!(s["owner_id"], periodic["conductor_id"], "the conductor");
    assert!([json!(w.worker_id), json!(second_id)].contains(&s["owner_id"]));
    let due: DateTime<Utc> = s["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, w.now() + Duration::hours(24));
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cases").await, 2);
}

async fn an_overdue_case_escalates_to_the_community_head_and_a_resolved_one_is_followed_up(backend: Backend) {
    let w = world(backend).await;
    let head = w.app.create_user("head", Role::Worker, &[w.community]).await;
    w.app
        .db
        .execute_unprepared(&format!("UPDATE communities SET head_user_id = {head} WHERE id = {}", w.community))
        .await
        .unwrap();
    let body = json!({"senior_id": w.senior, "category": "attitude", "severity": "serious", "source": "hotline",
        "summary": "家属来电：护理员态度差"});
    let res = w.app.post_json("/api/v1/cases", &w.worker, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let case: Value = res.json().await.unwrap();
    let id = case["id"].as_i64().unwrap();
    assert_eq!(case["owner_id"], w.worker_id, "whoever took the call owns it");
    assert_eq!(case["source"], "hotline");

    assert_eq!(w.run("case_escalation").await["created"], 0, "not yet due");
    w.clock.advance(Duration::hours(25));
    let run = w.run("case_escalation").await;
    assert_eq!(run["created"], 1);
    let c = w.app.get_json(&format!("/api/v1/cases/{id}"), &w.worker).await;
    assert_eq!(c["escalated_to"], head);
    assert_eq!(c["overdue"], true);
    assert!(c["escalated_at"].is_string());
    let kinds: Vec<&str> = c["actions"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["opened", "escalated"]);
    let overdue = w.app.get_json("/api/v1/cases?overdue=true", &w.worker).await;
    assert_eq!(overdue["total"], 1);
    w.clock.advance(Duration::minutes(10));
    assert_eq!(w.run("case_escalation").await["created"], 0, "escalated once");

    // Notes, then a resolution the senior confirms; it schedules a follow-up survey.
    let note = json!({"kind": "call", "note": "已回电致歉，更换护理员"});
    assert_eq!(w.app.post_json(&format!("/api/v1/cases/{id}/actions"), &w.worker, &note).await.status(), 200);
    let unconfirmed = json!({"resolution": "更换护理员", "senior_confirmed": false});
    let res = w.app.post_json(&format!("/api/v1/cases/{id}/resolve"), &w.worker, &unconfirmed).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "senior_confirmed");
    let confirmed = json!({"resolution": "更换护理员", "senior_confirmed": true, "confirmation_note": "老人表示满意"});
    let res = w.app.post_json(&format!("/api/v1/cases/{id}/resolve"), &w.worker, &confirmed).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "resolved");
    let follow = w.surveys("kind=follow_up").await;
    assert_eq!(follow.len(), 1);
    assert_eq!(follow[0]["case_id"], id);
    assert_eq!(follow[0]["conductor_id"], w.worker_id);
    let res = w.app.post_json(&format!("/api/v1/cases/{id}/resolve"), &w.worker, &confirmed).await;
    assert_eq!(res.status(), 409, "resolved once");
    assert_eq!(w.surveys("kind=follow_up").await.len(), 1);
}

async fn analysis_matches_hand_computed_numbers(backend: Backend) {
    let w = world(backend).await;
    let (r1, _, _) = w.responder("carer-1").await;
    let (r2, _, _) = w.responder("carer-2").await;
    for i in 0..3 {
        w.app.create_senior(w.community, &format!("老人{i}")).await;
    }
    // Carer 1: six surveys, five answered (5, 4, 4, 3, 2). Carer 2: three, two answered (1, 5).
    let mut mine = Vec::new();
    for _ in 0..6 {
        mine.push(w.emergency_survey(w.senior, r1).await);
    }
    let mut theirs = Vec::new();
    for _ in 0..3 {
        theirs.push(w.emergency_survey(w.senior, r2).await);
    }
    let comments = ["饭菜很凉", "饭菜很香", "态度很好", "", ""];
    for (survey, (score, text)) in mine.iter().zip([5, 4, 4, 3, 2].into_iter().zip(comments)) {
        let body = json!({"channel": "phone", "answers": {"overall": score, "punctuality": 4, "attitude": 4,
            "quality": 4, "comments": text}});
        assert_eq!(w.answer(&w.worker, *survey, &body).await.status(), 201);
    }
    for (survey, score) in theirs.iter().zip([1, 5]) {
        let body =
            json!({"channel": "phone", "answers": {"overall": score, "punctuality": 4, "attitude": 4, "quality": 4}});
        assert_eq!(w.answer(&w.worker, *survey, &body).await.status(), 201);
    }
    let a = w.app.get_json("/api/v1/surveys/analysis?group_by=responder", &w.worker).await;
    let group = |id: i64| {
        a["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"].as_str() == Some(id.to_string().as_str()))
            .unwrap()
            .clone()
    };
    let g1 = group(r1);
    assert_eq!((g1["surveys"].clone(), g1["responses"].clone()), (json!(6), json!(5)));
    assert_eq!(g1["mean_overall"], 3.6, "(5+4+4+3+2)/5");
    assert_eq!(g1["response_rate"], 0.833, "5/6");
    assert_eq!(g1["insufficient"], false);
    assert_eq!(g1["label"], "Test carer-1");
    let g2 = group(r2);
    assert_eq!((g2["surveys"].clone(), g2["responses"].clone()), (json!(3), json!(2)));
    assert_eq!(g2["insufficient"], true);
    assert_eq!(g2["mean_overall"], Value::Null, "fewer than five responses: no number");
    assert_eq!(a["total"]["mean_overall"], 3.43, "24/7");
    assert_eq!(a["total"]["response_rate"], 0.778, "7/9");
    // Two low scores opened two cases among four active seniors: 50 per 100 seniors.
    assert_eq!(a["complaints"]["cases"], 2);
    assert_eq!(a["complaints"]["seniors"], 4);
    assert_eq!(a["complaints"]["per_100_seniors"], 50.0);
    assert_eq!(a["categories"], json!([{"term": "service_quality", "count": 2}]));
    let words = a["words"].as_array().unwrap();
    assert_eq!(words[0], json!({"term": "饭菜", "count": 2}), "{words:?}");
    assert!(!words.iter().any(|w| w["term"] == "很"), "stop words removed");

    let by_month = w.app.get_json("/api/v1/surveys/analysis?group_by=month", &w.worker).await;
    assert_eq!(by_month["groups"][0]["key"], "2026-12");
    assert_eq!(by_month["groups"][0]["responses"], 7);
    let by_kind = w.app.get_json("/api/v1/surveys/analysis?group_by=task_kind", &w.worker).await;
    assert_eq!(by_kind["groups"][0]["key"], "emergency");
    let by_community = w.app.get_json("/api/v1/surveys/analysis?group_by=community", &w.worker).await;
    assert_eq!(by_community["groups"][0]["label"], "新兴社区");
    let empty =
        w.app.get_json("/api/v1/surveys/analysis?group_by=month&from=2026-11-01&to=2026-11-30", &w.worker).await;
    assert_eq!(empty["total"]["surveys"], 0);

    let res = w
        .app
        .get("/api/v1/surveys/analysis/export?group_by=responder&format=csv")
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.contains("Test carer-1,6,5,0.833,5,3.6"), "{csv}");
    assert!(csv.contains("insufficient"));
    let res = w
        .app
        .get("/api/v1/surveys/analysis/export?group_by=responder&format=xlsx")
        .bearer_auth(&w.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "a workbook");
    let res = w.app.get("/api/v1/surveys/analysis?group_by=senior").bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "group_by");
}

async fn bad_answers_name_the_question_and_store_nothing(backend: Backend) {
    let w = world(backend).await;
    let (r, _, _) = w.responder("carer").await;
    let survey = w.emergency_survey(w.senior, r).await;
    let ok = json!({"overall": 4, "punctuality": 4, "attitude": 4, "quality": 4});
    let with = |key: &str, value: Value| {
        let mut a = ok.clone();
        a[key] = value;
        json!({"channel": "phone", "answers": a})
    };
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("quality");
    let cases = [
        (with("overall", json!(6)), "answers.overall", "a rating above 5"),
        (with("overall", json!(0)), "answers.overall", "a rating below 1"),
        (with("overall", json!(1.5)), "answers.overall", "half a point"),
        (with("attitude", json!("好")), "answers.attitude", "a rating in words"),
        (with("mood", json!(3)), "answers.mood", "a question the template does not have"),
        (with("comments", json!(12)), "answers.comments", "free text that is not text"),
        (with("comments", json!("长".repeat(2001))), "answers.comments", "free text too long"),
        (json!({"channel": "phone", "answers": missing}), "answers.quality", "a required question left out"),
        (json!({"channel": "fax", "answers": ok}), "channel", "an unknown channel"),
        (json!({"channel": "family_link", "answers": ok}), "channel", "family answers come through the link"),
        (json!({"answers": ok}), "channel", "no channel"),
    ];
    for (body, field, reason) in cases {
        let res = w.answer(&w.worker, survey, &body).await;
        assert_eq!(res.status(), 422, "{reason}");
        let p = problem(res).await;
        assert_eq!(p["errors"][0]["field"], field, "{reason}: {p}");
    }
    // A single-choice answer outside its options, on the monthly template.
    linli::surveys::schedule::monthly(&w.app.state, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).await.unwrap();
    let monthly = w.surveys("kind=periodic").await[0]["id"].as_i64().unwrap();
    let body = json!({"channel": "phone", "answers": {"overall": 1, "health": "fine", "meals": "always", "lonely": false, "mistreated": "no"}});
    let p = problem(w.answer(&w.worker, monthly, &body).await).await;
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["answers.health", "answers.mistreated"]);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM survey_answers").await, 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cases").await, 0, "not even the low score opened a case");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM surveys WHERE status = 'pending'").await, 2);
    // Outside the worker's communities the survey does not exist.
    let elsewhere = w.app.create_community("南营门社区").await;
    let stranger = w.app.login_as(Role::Worker, &[elsewhere]).await;
    assert_eq!(w.answer(&stranger, survey, &json!({"channel": "phone", "answers": ok})).await.status(), 404);
}

async fn a_caregiver_at_the_door_takes_the_pending_survey_of_someone_elses_visit(backend: Backend) {
    let w = world(backend).await;
    let (first, _, first_token) = w.responder("first").await;
    let (second, _, second_token) = w.responder("second").await;
    let other_senior = w.app.create_senior(w.community, "钱老太").await;
    // Yesterday's emergency, answered by `first`, and one for another senior.
    let survey = w.emergency_survey(w.senior, first).await;
    let elsewhere = w.emergency_survey(other_senior, second).await;
    // Nobody holds a task at either home yet: nothing to take in person.
    assert_eq!(w.app.get_json("/api/v1/me/surveys", &second_token).await, json!([]));
    // Today `second` is at 赵桂兰's door for housekeeping; `first` is there too.
    w.task("housekeeping", w.senior, second, "on_site", w.now()).await;
    w.task("housekeeping", w.senior, first, "accepted", w.now()).await;
    let mine = w.app.get_json("/api/v1/me/surveys", &second_token).await;
    let ids: Vec<i64> = mine.as_array().unwrap().iter().map(|x| x["survey"]["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![survey], "only the survey of the senior at this door: {mine}");
    assert_ne!(elsewhere, survey);
    assert_eq!(mine[0]["template"]["questions"][0]["id"], "overall");
    assert_eq!(mine[0]["survey"]["senior_name"], "赵桂兰");
    // The responder who served never sees the survey of their own visit.
    assert_eq!(w.app.get_json("/api/v1/me/surveys", &first_token).await, json!([]));
    let body =
        json!({"channel": "in_person", "answers": {"overall": 4, "punctuality": 5, "attitude": 5, "quality": 4}});
    assert_eq!(w.answer(&first_token, survey, &body).await.status(), 409);
    let res = w.answer(&second_token, survey, &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
    let answered = &w.surveys("status=answered").await;
    let row = answered.iter().find(|s| s["id"] == survey).unwrap();
    assert_eq!(row["channel"], "in_person");
    assert_eq!(w.app.get_json("/api/v1/me/surveys", &second_token).await, json!([]), "answered, gone from the list");
    let worker = w.app.get("/api/v1/me/surveys").bearer_auth(&w.worker).send().await.unwrap();
    assert_eq!(worker.status(), 403);
}
