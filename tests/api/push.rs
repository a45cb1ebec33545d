//! Web push end to end: a local push service receives the offer of an alarm, the
//! test checks the VAPID signature against the served key and decrypts the payload
//! with the subscription keys it holds; then the service answers 410, 503 and 429.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, TimeZone, Utc};
use linli::auth::Role;
use linli::clock::{Clock, ManualClock};
use linli_tests::{Backend, TestApp, manual_clock, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    an_offer_arrives_signed_and_encrypted_and_failures_are_handled,
    subscriptions_are_validated_and_owned,
    two_instances_send_each_notification_once,
    a_push_service_down_for_ten_minutes_loses_nothing_and_escalation_goes_on,
);

/// What the fake push service saw.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Service {
    received: Mutex<Vec<Received>>,
    /// Scripted answers (status, Retry-After); 201 when empty.
    answers: Mutex<VecDeque<(u16, Option<u64>)>>,
    /// While set, every request is answered 503 (and still recorded).
    down: std::sync::atomic::AtomicBool,
    /// The bodies of the requests answered with success.
    delivered: Mutex<Vec<Vec<u8>>>,
}

async fn push_service() -> (Arc<Service>, String) {
    let service = Arc::new(Service::default());
    let data = actix_web::web::Data::from(service.clone());
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new().app_data(data.clone()).default_service(actix_web::web::to(
            |req: actix_web::HttpRequest, body: actix_web::web::Bytes, s: actix_web::web::Data<Service>| async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                s.received.lock().unwrap().push(Received { headers, body: body.to_vec() });
                let (status, retry_after) = if s.down.load(std::sync::atomic::Ordering::SeqCst) {
                    (503, None)
                } else {
                    s.answers.lock().unwrap().pop_front().unwrap_or((201, None))
                };
                if (200..300).contains(&status) {
                    s.delivered.lock().unwrap().push(body.to_vec());
                }
                let mut res = actix_web::HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
                if let Some(secs) = retry_after {
                    res.insert_header(("Retry-After", secs.to_string()));
                }
                res.finish()
            },
        ))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let base = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    (service, base)
}

/// A browser's subscription keys, held by the test.
struct Browser {
    keys: Box<dyn ece::crypto::LocalKeyPair>,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let (keys, auth) = ece::generate_keypair_and_auth_secret().unwrap();
        Self { keys, auth }
    }

    fn subscription(&self, endpoint: &str) -> Value {
        json!({"endpoint": endpoint, "expirationTime": null, "keys": {
            "p256dh": URL_SAFE_NO_PAD.encode(self.keys.pub_as_raw().unwrap()),
            "auth": URL_SAFE_NO_PAD.encode(self.auth),
        }})
    }

    fn decrypt(&self, body: &[u8]) -> Value {
        let plain = ece::decrypt(&self.keys.raw_components().unwrap(), &self.auth, body).unwrap();
        serde_json::from_slice(&plain).unwrap()
    }
}

/// Checks `Authorization: vapid t=<JWT>, k=<key>` against the served key and the
/// endpoint's origin.
fn check_vapid(received: &Received, public_key: &str, origin: &str) {
    use p256::ecdsa::signature::Verifier;
    let auth = received.header("authorization").expect("an Authorization header");
    let rest = auth.strip_prefix("vapid ").expect("the vapid scheme");
    let mut token = "";
    let mut key = "";
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').unwrap();
        match k {
            "t" => token = v,
            "k" => key = v,
            _ => {}
        }
    }
    assert_eq!(key, public_key, "signed with the served key");
    let pieces: Vec<&str> = token.split('.').collect();
    assert_eq!(pieces.len(), 3);
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(pieces[2]).unwrap()).unwrap();
    verifying.verify(format!("{}.{}", pieces[0], pieces[1]).as_bytes(), &signature).expect("a valid ES256 signature");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], origin);
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
    // The token's expiry comes from the real clock (the app's is a test clock).
    assert!(claims["exp"].as_i64().unwrap() > Utc::now().timestamp());
}

struct Setup {
    app: TestApp,
    clock: Arc<ManualClock>,
    worker: String,
    responder_token: String,
    key: String,
    senior: i64,
}

async fn setup(backend: Backend) -> Setup {
    let clock = manual_clock(Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).single().unwrap());
    let app = TestApp::spawn_with(backend, clock.clone(), |s| s.push_allow_loopback_http = true).await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    let user = app.create_user("pusher", Role::Volunteer, &[]).await;
    let responder_token = app.token_for("pusher").await;
    let body = json!({"user_id": user, "kind": "volunteer", "skills": ["emergency_response"], "home_latitude": 39.115,
        "home_longitude": 117.195, "community_ids": [community], "travel_mode": "walk"});
    assert_eq!(app.post_json("/api/v1/responders", &worker, &body).await.status(), 201);
    app.post_json("/api/v1/me/duty", &responder_token, &json!({"on_duty": true})).await;
    app.post_json("/api/v1/me/location", &responder_token, &json!({"latitude": 39.1155, "longitude": 117.195})).await;
    let device: Value =
        app.post_json("/api/v1/devices", &worker, &json!({"senior_id": senior})).await.json().await.unwrap();
    let key = device["api_key"].as_str().unwrap().to_owned();
    Setup { app, clock, worker, responder_token, key, senior }
}

impl Setup {
    async fn alarm(&self, event: &str) -> i64 {
        let res = self.app.post_json("/api/v1/alarms", &self.key, &json!({"event_id": event})).await;
        assert_eq!(res.status(), 202);
        res.json::<Value>().await.unwrap()["task_id"].as_i64().unwrap()
    }

    async fn deliver(&self) -> usize {
        linli::push::deliver(&self.app.state, 100).await.unwrap()
    }

    async fn row_status(&self, task: i64) -> String {
        let sql = format!(
            "SELECT CAST(CASE status WHEN 'sent' THEN 1 WHEN 'pending' THEN 2 WHEN 'failed' THEN 3 ELSE 4 END AS BIGINT) AS n \
             FROM outbox WHERE channel = 'push' AND kind = 'offer' AND topic = 'task-{task}'"
        );
        match self.app.count(&sql).await {
            1 => "sent",
            2 => "pending",
            3 => "failed",
            _ => "other",
        }
        .to_owned()
    }
}

async fn an_offer_arrives_signed_and_encrypted_and_failures_are_handled(backend: Backend) {
    let s = setup(backend).await;
    let (service, base) = push_service().await;
    let public_key =
        s.app.get("/api/v1/push/vapid-public-key").send().await.unwrap().json::<Value>().await.unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&public_key).unwrap().len(), 65);
    let browser = Browser::new();
    let res = s
        .app
        .post_json("/api/v1/push/subscriptions", &s.responder_token, &browser.subscription(&format!("{base}/push/one")))
        .await;
    assert_eq!(res.status(), 201);
    let sub = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // An alarm's offer arrives, signed with the served key and readable only with the browser's keys.
    let task = s.alarm("first").await;
    assert_eq!(s.deliver().await, 1);
    let got = service.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    check_vapid(&got[0], &public_key, &base);
    assert_eq!(got[0].header("content-encoding"), Some("aes128gcm"));
    assert_eq!(got[0].header("urgency"), Some("high"));
    assert_eq!(got[0].header("topic"), Some(format!("task-{task}").as_str()));
    assert!(got[0].header("ttl").unwrap().parse::<u32>().unwrap() > 0);
    let payload = browser.decrypt(&got[0].body);
    assert_eq!(payload["type"], "offer");
    assert_eq!(payload["task_id"], task);
    assert!(!payload.to_string().contains("赵桂兰"), "no personal data in a push");
    assert_eq!(s.row_status(task).await, "sent");
    assert_eq!(s.deliver().await, 0, "nothing twice");
    let metrics = s.app.get("/metrics").send().await.unwrap().text().await.unwrap();
    for name in ["linli_push_sends_total", "linli_outbox_depth", "linli_outbox_oldest_seconds"] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }

    // 503, then 201: retried after a backoff, delivered once.
    service.answers.lock().unwrap().push_back((503, None));
    let task = s.alarm("second").await;
    s.deliver().await;
    assert_eq!(s.row_status(task).await, "pending");
    s.deliver().await;
    assert_eq!(service.received.lock().unwrap().len(), 2, "not before the backoff");
    s.clock.advance(Duration::seconds(10));
    s.deliver().await;
    assert_eq!(s.row_status(task).await, "sent");
    assert_eq!(service.received.lock().unwrap().len(), 3);
    s.clock.advance(Duration::seconds(300));
    s.deliver().await;
    assert_eq!(service.received.lock().unwrap().len(), 3, "delivered once");

    // 429 with Retry-After: waits that long.
    service.answers.lock().unwrap().push_back((429, Some(120)));
    let task = s.alarm("third").await;
    s.deliver().await;
    assert_eq!(service.received.lock().unwrap().len(), 4);
    s.clock.advance(Duration::seconds(100));
    s.deliver().await;
    assert_eq!(service.received.lock().unwrap().len(), 4, "Retry-After is honoured");
    s.clock.advance(Duration::seconds(21));
    s.deliver().await;
    assert_eq!(service.received.lock().unwrap().len(), 5);
    assert_eq!(s.row_status(task).await, "sent");

    // 410: the browser dropped the subscription, so it is removed.
    service.answers.lock().unwrap().push_back((410, None));
    let task = s.alarm("fourth").await;
    s.deliver().await;
    assert_eq!(s.row_status(task).await, "failed");
    assert_eq!(s.app.count(&format!("SELECT COUNT(*) AS n FROM push_subscriptions WHERE id = {sub}")).await, 0);
    let mine = s.app.get_json("/api/v1/push/subscriptions", &s.responder_token).await;
    assert_eq!(mine, json!([]));
}

async fn two_instances_send_each_notification_once(backend: Backend) {
    let s = setup(backend).await;
    let (service, base) = push_service().await;
    let browser = Browser::new();
    let res = s
        .app
        .post_json("/api/v1/push/subscriptions", &s.responder_token, &browser.subscription(&format!("{base}/push/two")))
        .await;
    assert_eq!(res.status(), 201);
    for i in 0..12 {
        s.alarm(&format!("burst-{i}")).await;
    }
    let other = s.app.another_instance().await;
    let (a, b) = tokio::join!(linli::push::deliver(&s.app.state, 100), linli::push::deliver(other.state(), 100));
    assert_eq!(a.unwrap() + b.unwrap(), 12);
    assert_eq!(service.received.lock().unwrap().len(), 12, "each row sent by exactly one instance");
    let sent = s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'push' AND status = 'sent'").await;
    assert_eq!(sent, 12);
}

async fn subscriptions_are_validated_and_owned(backend: Backend) {
    let s = setup(backend).await;
    let browser = Browser::new();
    let insecure = browser.subscription("http://push.example.com/x");
    let res = s.app.post_json("/api/v1/push/subscriptions", &s.responder_token, &insecure).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await["errors"][0]["field"], "endpoint");
    let mut bad_keys = browser.subscription("https://push.example.com/x");
    bad_keys["keys"]["auth"] = json!("AAAA");
    let res = s.app.post_json("/api/v1/push/subscriptions", &s.responder_token, &bad_keys).await;
    assert_eq!(problem(res).await["errors"][0]["field"], "keys.auth");
    let res = s
        .app
        .post_json(
            "/api/v1/push/subscriptions",
            &s.responder_token,
            &browser.subscription("https://push.example.com/x"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Somebody else cannot remove it.
    let res = s
        .app
        .client
        .delete(s.app.url(&format!("/api/v1/push/subscriptions/{id}")))
        .bearer_auth(&s.worker)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Logging out of the session that registered it removes it.
    let res = s.app.post("/api/v1/auth/logout").bearer_auth(&s.responder_token).send().await.unwrap();
    assert!(res.status().is_success());
    assert_eq!(s.app.count("SELECT COUNT(*) AS n FROM push_subscriptions").await, 0);
}

/// The push service answers 503 for ten minutes while three emergencies come in.
/// Escalation does not wait for it: each alarm widens, reaches the console and
/// texts the family on its own schedule. When the service is back every push row
/// is delivered exactly once, within a minute and a half.
async fn a_push_service_down_for_ten_minutes_loses_nothing_and_escalation_goes_on(backend: Backend) {
    use std::sync::atomic::Ordering;
    let s = setup(backend).await;
    let (service, base) = push_service().await;
    let browser = Browser::new();
    let res = s
        .app
        .post_json(
            "/api/v1/push/subscriptions",
            &s.responder_token,
            &browser.subscription(&format!("{base}/push/down")),
        )
        .await;
    assert_eq!(res.status(), 201);
    let contact = json!({"name": "赵强", "relation": "儿子", "phone": "13920005678", "call_order": 1});
    let res = s.app.post_json(&format!("/api/v1/seniors/{}/contacts", s.senior), &s.worker, &contact).await;
    assert_eq!(res.status(), 201);

    service.down.store(true, Ordering::SeqCst);
    let start = s.clock.now();
    let step = Duration::seconds(15);
    let mut alarms = Vec::new();
    let mut elapsed = Duration::zero();
    while elapsed < Duration::minutes(10) {
        if [0, 3, 6].iter().any(|m| elapsed == Duration::minutes(*m)) {
            alarms.push((s.alarm(&format!("outage-{}", alarms.len())).await, s.clock.now()));
        }
        s.deliver().await;
        linli::dispatch::sweep::run_once(&s.app.state).await.unwrap();
        s.clock.advance(step);
        elapsed = s.clock.now() - start;
    }
    assert!(service.received.lock().unwrap().len() > 10, "the service was tried throughout");
    assert!(service.delivered.lock().unwrap().is_empty());
    let waiting = s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'push' AND status <> 'sent'").await;
    assert!(waiting >= 3, "every alarm's offer is waiting ({waiting})");

    // Escalation went on without the push service: on time, to the console and the family.
    for (task, raised) in &alarms {
        let task_view = s.app.get_json(&format!("/api/v1/tasks/{task}"), &s.worker).await;
        let family = task_view["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "family_notified")
            .unwrap_or_else(|| panic!("task {task}: the family was not notified: {task_view}"));
        let at: chrono::DateTime<Utc> = family["at"].as_str().unwrap().parse().unwrap();
        assert!(at - *raised <= Duration::minutes(3) + step, "task {task}: family notified {} after", at - *raised);
    }
    let console =
        s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'console' AND kind = 'alarm_unanswered'").await;
    assert_eq!(console, alarms.len() as i64, "each unanswered alarm reached the console");
    let texts = s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'sms' AND status = 'sent'").await;
    assert_eq!(texts, alarms.len() as i64, "one text to the family per alarm");

    // The service returns: everything waiting goes out once, soon.
    service.down.store(false, Ordering::SeqCst);
    for _ in 0..6 {
        s.clock.advance(step);
        s.deliver().await;
    }
    let rows = s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'push'").await;
    let sent = s.app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'push' AND status = 'sent'").await;
    assert_eq!(sent, rows, "every push row sent within 90 s of the service's return");
    let delivered: Vec<Value> = service.delivered.lock().unwrap().iter().map(|b| browser.decrypt(b)).collect();
    assert_eq!(delivered.len() as i64, rows, "each delivered once: {delivered:?}");
    for (task, _) in &alarms {
        assert!(delivered.iter().any(|p| p["type"] == "offer" && p["task_id"] == *task), "the offer of task {task}");
    }
    for _ in 0..20 {
        s.clock.advance(Duration::minutes(1));
        s.deliver().await;
    }
    assert_eq!(service.delivered.lock().unwrap().len() as i64, rows, "and never again");
}
