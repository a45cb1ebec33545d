//! Reliability: no acknowledged alarm is lost or doubled when the server is killed
//! mid-intake, and the API answers 503 while PostgreSQL is unreachable, then
//! recovers by itself.
//!
//! The crash scenario runs the real `linli` binary (`cargo build -p linli` first).
//! Sizes and durations come from the environment: `LINLI_CRASH_ALARMS` (1000),
//! `LINLI_CRASH_KILLS` (10) and `LINLI_DB_DOWN_SECONDS` (30).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linli::auth::Role;
use linli::clock::SystemClock;
use linli::config::DatabaseUrl;
use linli_tests::{Backend, LinliServe, TestApp, free_loopback_port, on_both_backends};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

on_both_backends!(
    crash_kills_during_intake_lose_no_acknowledged_alarm_and_store_none_twice,
    an_escalation_that_runs_late_still_calls_the_family,
);

const HOME: (f64, f64) = (39.115, 117.195);

fn north(m: f64) -> (f64, f64) {
    (HOME.0 + m / 111_195.0, HOME.1)
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name} must be a number, not `{v}`")),
        Err(_) => default,
    }
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_string(backend, sql.to_owned())).await.unwrap()
}

// ---------------------------------------------------------------------------
// Crash: SIGKILL during alarm intake.
// ---------------------------------------------------------------------------

/// What the bells saw.
#[derive(Default)]
struct Tally {
    /// Event id -> (alarm id, task id) of its first 2xx.
    acknowledged: Mutex<HashMap<String, (i64, i64)>>,
    /// Sends repeated after a request got no answer (refused, reset, cut off).
    retries: AtomicUsize,
    /// Events that needed at least one repeat.
    retried_events: AtomicUsize,
    /// Repeats after a 503 (contention, or the database not ready yet).
    unavailable: AtomicUsize,
    /// 2xx answers flagged `replayed`: the first attempt was stored, its answer lost.
    replayed: AtomicUsize,
}

/// One press of a bell, sent until the server answers; what a bell does.
async fn press(client: &reqwest::Client, base: &str, key: &str, event_id: &str, tally: &Tally) {
    let mut backoff = Duration::from_millis(20);
    let mut repeated = false;
    loop {
        let sent =
            client.post(format!("{base}/api/v1/alarms")).bearer_auth(key).json(&json!({"event_id": event_id})).send();
        let answer = match sent.await {
            Ok(res) => {
                let status = res.status();
                res.text().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((status, body)) if status.is_success() => {
                let body: Value = serde_json::from_str(&body).unwrap();
                if body["replayed"] == true {
                    tally.replayed.fetch_add(1, Ordering::Relaxed);
                }
                let ids = (body["alarm_id"].as_i64().unwrap(), body["task_id"].as_i64().unwrap());
                let mut acknowledged = tally.acknowledged.lock().unwrap();
                let first = *acknowledged.entry(event_id.to_owned()).or_insert(ids);
                assert_eq!(first, ids, "{event_id} was acknowledged twice with different alarms");
                return;
            }
            Ok((status, _)) if status == 503 => {
                tally.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, body)) => panic!("{event_id}: {status} {body}"),
            // No answer: refused while the server is down, reset by the kill, cut off mid-body.
            Err(_) => {
                tally.retries.fetch_add(1, Ordering::Relaxed);
                if !repeated {
                    repeated = true;
                    tally.retried_events.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(200));
    }
}

/// 16 bells press `LINLI_CRASH_ALARMS` times in all while the server is killed with
/// SIGKILL `LINLI_CRASH_KILLS` times and restarted. Every acknowledged press is one
/// alarm with one task and its offers queued, and the unanswered alarms still
/// escalate (widen, then call the family) on the restarted server.
async fn crash_kills_during_intake_lose_no_acknowledged_alarm_and_store_none_twice(backend: Backend) {
    let started = Instant::now();
    let total: usize = env_number("LINLI_CRASH_ALARMS", 1000);
    let kills: usize = env_number("LINLI_CRASH_KILLS", 10);
    let name = format!("{backend:?}").split('(').next().unwrap_or_default().to_owned();

    // The world, made through the in-process app; the binary then serves it.
    let app = TestApp::spawn(backend).await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let mut keys = Vec::new();
    for i in 0..16 {
        let senior = app.create_senior(community, &format!("老人{i}")).await;
        keys.push(app.create_bell(&worker, senior).await);
    }
    let responders = 5;
    for i in 0..responders {
        app.create_emergency_volunteer(&worker, community, &format!("vol-{i}"), north(100.0 + 100.0 * i as f64)).await;
    }
    let offers_first = linli::config::DispatchSettings::default().emergency_offer_count.min(responders);

    // Escalation in seconds instead of minutes, swept five times a second.
    let server = Arc::new(Mutex::new(LinliServe::start(
        &app,
        free_loopback_port(),
        &[
            ("LINLI_DISPATCH__EMERGENCY_WIDEN_SECS", "3"),
            ("LINLI_DISPATCH__EMERGENCY_FAMILY_SECS", "6"),
            ("LINLI_DISPATCH__SWEEP_INTERVAL_MS", "200"),
        ],
    )));
    let base = server.lock().unwrap().address();
    let setup = started.elapsed();

    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let (tally, next, base) = (tally.clone(), next.clone(), base.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    press(&client, &base, &key, &format!("crash-{i:05}"), &tally).await;
                }
            })
        })
        .collect();

    // Kills spread evenly over the submissions, each while presses are in flight.
    let killer = {
        let (tally, server) = (tally.clone(), server.clone());
        tokio::spawn(async move {
            let mut restarts = Vec::new();
            for k in 1..=kills {
                let at = total * k / (kills + 1);
                while tally.acknowledged.lock().unwrap().len() < at {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let server = server.clone();
                let took = tokio::task::spawn_blocking(move || {
                    let mut server = server.lock().unwrap();
                    server.kill_hard();
                    let down = Instant::now();
                    server.restart();
                    down.elapsed()
                })
                .await
                .unwrap();
                restarts.push(took);
            }
            restarts
        })
    };
    for c in clients {
        c.await.unwrap();
    }
    let restarts = killer.await.unwrap();
    let submitted = started.elapsed() - setup;

    // Escalation: every alarm is widened, then reaches the family stage, on the last server.
    let db = &app.db;
    let escalation_started = Instant::now();
    let stuck = loop {
        let stuck = app.count("SELECT COUNT(*) AS n FROM alarms WHERE stage <> 'family'").await;
        if stuck == 0 || escalation_started.elapsed() > Duration::from_secs(60) {
            break stuck;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let escalated_in = escalation_started.elapsed();
    let output = server.lock().unwrap().last_output();
    drop(server);

    let acknowledged = tally.acknowledged.lock().unwrap().clone();
    let stored: HashMap<String, (i64, i64)> = rows(db, "SELECT event_id, id, task_id FROM alarms")
        .await
        .iter()
        .map(|r| {
            let event: String = r.try_get_by_index(0).unwrap();
            (event, (r.try_get_by_index(1).unwrap(), r.try_get_by_index::<Option<i64>>(2).unwrap().unwrap_or(0)))
        })
        .collect();
    let alarm_rows = app.count("SELECT COUNT(*) AS n FROM alarms").await as usize;
    let duplicates = alarm_rows - stored.len();
    let missing: Vec<&String> = acknowledged.keys().filter(|e| !stored.contains_key(*e)).collect();
    let unacknowledged: Vec<&String> = stored.keys().filter(|e| !acknowledged.contains_key(*e)).collect();
    let changed: Vec<&String> =
        acknowledged.iter().filter(|(e, ids)| stored.get(*e).is_some_and(|s| s != *ids)).map(|(e, _)| e).collect();

    let tasks = app.count("SELECT COUNT(*) AS n FROM tasks WHERE kind = 'emergency'").await as usize;
    let distinct_tasks = app.count("SELECT COUNT(DISTINCT task_id) AS n FROM alarms").await as usize;
    // Offers per task by round, and the push queued for each offer.
    let mut offers: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in rows(db, "SELECT task_id, round, COUNT(*) AS n FROM task_offers GROUP BY task_id, round").await {
        let (task, round, n): (i64, i64, i64) = (
            r.try_get_by_index(0).unwrap(),
            r.try_get_by_index::<i16>(1).map(i64::from).or_else(|_| r.try_get_by_index::<i64>(1)).unwrap(),
            r.try_get_by_index(2).unwrap(),
        );
        let entry = offers.entry(task).or_default();
        if round == 1 { entry.0 += n } else { entry.1 += n }
    }
    let pushes: HashMap<String, i64> =
        rows(db, "SELECT topic, COUNT(*) AS n FROM outbox WHERE channel = 'push' AND kind = 'offer' GROUP BY topic")
            .await
            .iter()
            .map(|r| {
                (r.try_get_by_index::<Option<String>>(0).unwrap().unwrap_or_default(), r.try_get_by_index(1).unwrap())
            })
            .collect();
    let task_ids: HashSet<i64> = stored.values().map(|ids| ids.1).collect();
    let missing_offers = task_ids
        .iter()
        .filter(|t| {
            let (first, widened) = offers.get(t).copied().unwrap_or_default();
            let queued = pushes.get(&format!("task-{t}")).copied().unwrap_or_default();
            first != offers_first as i64 || queued != first + widened
        })
        .count();
    let steps = |kind: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT task_id FROM task_events WHERE kind = '{kind}' GROUP BY task_id HAVING COUNT(*) = 1) once"
        )
    };
    let widened_once = app.count(&steps("escalated")).await as usize;
    let flagged_once = app.count(&steps("call_120_flagged")).await as usize;
    let consoles =
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'console' AND kind = 'alarm'").await as usize;

    eprintln!(
        "crash [{name}]: {total} alarms from 16 bells, {} kills (restart {:?} max), {} retries over {} events, \
         {} answered 503, {} replays; {} acknowledged, {alarm_rows} stored, {duplicates} duplicates, {} lost, \
         {missing_offers} alarms missing offers; all escalated twice in {escalated_in:.1?} ({stuck} stuck); \
         submitted in {submitted:.1?}, whole test {:.1?}",
        restarts.len(),
        restarts.iter().max().copied().unwrap_or_default(),
        tally.retries.load(Ordering::Relaxed),
        tally.retried_events.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        tally.replayed.load(Ordering::Relaxed),
        acknowledged.len(),
        missing.len(),
        started.elapsed(),
    );
    assert_eq!(restarts.len(), kills);
    assert_eq!(acknowledged.len(), total, "every press was answered in the end");
    assert!(missing.is_empty(), "acknowledged but not stored: {missing:?}");
    assert!(unacknowledged.is_empty(), "stored but never acknowledged: {unacknowledged:?}");
    assert!(changed.is_empty(), "acknowledged with other ids than stored: {changed:?}");
    assert_eq!(duplicates, 0, "an event id stored twice");
    assert_eq!((tasks, distinct_tasks), (alarm_rows, alarm_rows), "one emergency task per alarm");
    assert_eq!(consoles, alarm_rows, "one console alert per alarm");
    assert_eq!(missing_offers, 0, "every alarm offered to the {offers_first} nearest, each offer pushed");
    assert_eq!(stuck, 0, "alarms nobody accepted still escalate after the restarts:\n{output}");
    assert_eq!((widened_once, flagged_once), (alarm_rows, alarm_rows), "each escalation step taken once");
}

/// The sweeper was away (a restart, a backlog) past both escalation deadlines: it
/// widens the offer, then calls the family on the next sweep, instead of dropping
/// the overdue second step.
async fn an_escalation_that_runs_late_still_calls_the_family(backend: Backend) {
    use chrono::TimeZone;
    let clock = linli_tests::manual_clock(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).single().unwrap());
    let app = TestApp::spawn_with(backend, clock.clone(), |s| {
        s.dispatch.emergency_widen_secs = 60;
        s.dispatch.emergency_family_secs = 180;
    })
    .await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    let key = app.create_bell(&worker, senior).await;
    let res = app.post_json("/api/v1/alarms", &key, &json!({"event_id": "late"})).await;
    assert_eq!(res.status(), 202);
    let alarm = res.json::<Value>().await.unwrap()["alarm_id"].as_i64().unwrap();
    let sweep = || linli::dispatch::sweep::run_once(&app.state);
    let stage = || async { app.get_json(&format!("/api/v1/alarms/{alarm}"), &worker).await };

    clock.advance(chrono::Duration::seconds(300));
    assert_eq!(sweep().await.unwrap(), 1);
    assert_eq!(stage().await["stage"], "widened");
    assert_eq!(sweep().await.unwrap(), 1, "the family step is overdue too");
    let view = stage().await;
    assert_eq!(view["stage"], "family");
    assert!(view["call_120_flagged_at"].is_string(), "{view}");
    assert_eq!(sweep().await.unwrap(), 0, "and nothing is left to do");
}

// ---------------------------------------------------------------------------
// Database down: PostgreSQL unreachable for a while.
// ---------------------------------------------------------------------------

/// A TCP proxy in front of PostgreSQL that can take the database "down": it cuts
/// every live connection and refuses new ones until it is brought back up.
struct DbProxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl DbProxy {
    async fn start(upstream: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, rx) = watch::channel(true);
        tokio::spawn(Self::serve(Some(listener), addr, upstream, rx));
        DbProxy { addr, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }

    async fn serve(
        mut listener: Option<TcpListener>,
        addr: SocketAddr,
        upstream: SocketAddr,
        mut up: watch::Receiver<bool>,
    ) {
        loop {
            let Some(open) = listener.as_ref() else {
                // Down: nothing listens, so connecting is refused, as with a stopped server.
                if up.wait_for(|up| *up).await.is_err() {
                    return;
                }
                listener = Some(TcpListener::bind(addr).await.unwrap());
                continue;
            };
            let for_pipe = up.clone();
            let close = tokio::select! {
                accepted = open.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(Self::pipe(client, upstream, for_pipe));
                    }
                    false
                }
                changed = up.wait_for(|up| !*up) => changed.is_ok(),
            };
            if close {
                listener = None;
            }
        }
    }

    async fn pipe(mut client: TcpStream, upstream: SocketAddr, mut up: watch::Receiver<bool>) {
        let Ok(mut server) = TcpStream::connect(upstream).await else { return };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            // Going down closes both ends of every live connection.
            _ = up.wait_for(|up| !*up) => {}
        }
    }
}

/// `postgres://user@host:port/db?x` with the host and port replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').map_or((rest, String::new()), |(a, p)| (a, format!("/{p}")));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}{addr}{path}")
}

fn upstream_of(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split(['/', '?']).next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    host_port.to_socket_addrs().unwrap().next().unwrap()
}

/// One probe: status, whether the body is problem+json, and how long it took.
async fn probe(req: reqwest::RequestBuilder) -> (u16, bool, Duration) {
    let at = Instant::now();
    // A hang shows as status 0 after 10 s; the 5 s promise is checked on the duration.
    match tokio::time::timeout(Duration::from_secs(10), req.send()).await {
        Ok(Ok(res)) => {
            let problem = res.headers().get("content-type").is_some_and(|v| v == "application/problem+json");
            (res.status().as_u16(), problem, at.elapsed())
        }
        _ => (0, false, at.elapsed()),
    }
}

/// PostgreSQL only: SQLite is a file inside the server's own process, so there is
/// no database server to lose.
///
/// The app reaches PostgreSQL through [`DbProxy`]. For `LINLI_DB_DOWN_SECONDS` (30)
/// the proxy cuts every connection and refuses new ones: meanwhile a read, a write
/// and `/readyz` answer 503 (problem+json for the API) within 5 s. Within 5 s of the
/// database coming back, `/readyz` is 200 and reads and writes work again, with the
/// same server; every write acknowledged before, during or after is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_answers_503_within_5_s_and_recovers_without_a_restart() {
    let Some(backend) = Backend::postgres() else { return };
    let Backend::Postgres(server_url) = &backend else { unreachable!() };
    let outage = Duration::from_secs(env_number("LINLI_DB_DOWN_SECONDS", 30));
    let promise = Duration::from_secs(5);
    let started = Instant::now();
    let proxy = DbProxy::start(upstream_of(server_url)).await;
    let proxy_addr = proxy.addr;
    let app = TestApp::spawn_with(backend.clone(), Arc::new(SystemClock), move |s| {
        s.database_url = DatabaseUrl::new(via(s.database_url.expose(), proxy_addr));
    })
    .await;
    let community = app.create_community("新兴社区").await;
    let worker = app.login_as(Role::Worker, &[community]).await;
    let senior = app.create_senior(community, "赵桂兰").await;
    let key = app.create_bell(&worker, senior).await;
    let read = || app.get("/api/v1/alarms?per_page=5").bearer_auth(&worker);
    let write = |event: &str| app.post("/api/v1/alarms").bearer_auth(&key).json(&json!({"event_id": event}));
    let mut acknowledged = Vec::new();
    let mut refused = Vec::new();

    for i in 0..10 {
        let event = format!("before-{i}");
        assert_eq!(probe(write(&event)).await.0, 202);
        acknowledged.push(event);
    }
    assert_eq!(probe(read()).await.0, 200);

    // Down.
    proxy.set_up(false);
    let down_at = Instant::now();
    let mut first = None;
    let mut broken = Vec::new();
    let mut probes = 0;
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while down_at.elapsed() < outage {
        let event = format!("during-{n}");
        n += 1;
        let ((ready, _, ready_took), (r, r_problem, r_took), (w, w_problem, w_took)) =
            tokio::join!(probe(app.get("/readyz")), probe(read()), probe(write(&event)));
        probes += 1;
        first.get_or_insert((r_took, w_took, ready_took));
        slowest = slowest.max(ready_took).max(r_took).max(w_took);
        match w {
            202 => acknowledged.push(event),
            _ => refused.push(event),
        }
        for (what, status, problem, took) in
            [("readyz", ready, true, ready_took), ("read", r, r_problem, r_took), ("write", w, w_problem, w_took)]
        {
            if status != 503 || !problem || took > promise {
                broken.push(format!("{:.1?} into the outage, {what}: {status} in {took:.2?}", down_at.elapsed()));
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Back up, the same server.
    proxy.set_up(true);
    let up_at = Instant::now();
    let ready_in = loop {
        let (status, _, _) = probe(app.get("/readyz")).await;
        if status == 200 {
            break Some(up_at.elapsed());
        }
        if up_at.elapsed() > Duration::from_secs(15) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (r, _, _) = probe(read()).await;
    let (w, _, _) = probe(write("after-0")).await;
    let recovered_in = up_at.elapsed();
    if w == 202 {
        acknowledged.push("after-0".to_owned());
    }
    // A bell repeats the presses that got a 503: each is stored once now.
    let mut repeated = 0;
    for event in &refused {
        if probe(write(event)).await.0 == 202 {
            repeated += 1;
        }
    }

    let direct = sea_orm::Database::connect(app.database.url.as_str()).await.unwrap();
    let stored: Vec<String> =
        rows(&direct, "SELECT event_id FROM alarms").await.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
    let stored_set: HashSet<&String> = stored.iter().collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|e| !stored_set.contains(e)).collect();
    direct.close().await.ok();

    let (first_read, first_write, first_ready) = first.unwrap_or_default();
    eprintln!(
        "database down for {outage:?}: first 503s after read {first_read:.2?}, write {first_write:.2?}, \
         readyz {first_ready:.2?}; {probes} probe rounds, slowest {slowest:.2?}, {} broken promises; \
         readyz 200 {:.2?} after the database came back, read {r} and write {w} within {recovered_in:.2?}; \
         {} writes acknowledged, {} lost, {} refused during the outage and {repeated} stored on repeat, \
         {} alarms stored; whole test {:.1?}",
        broken.len(),
        ready_in,
        acknowledged.len(),
        lost.len(),
        refused.len(),
        stored.len(),
        started.elapsed(),
    );
    assert!(broken.is_empty(), "during the outage:\n{}", broken.join("\n"));
    assert!(ready_in.is_some_and(|t| t <= promise), "readyz after the database came back: {ready_in:?}");
    assert_eq!((r, w), (200, 202), "reads and writes work again");
    assert!(recovered_in <= promise, "recovered in {recovered_in:?}");
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(repeated, refused.len(), "the repeated presses are stored");
    assert_eq!(stored.len(), stored_set.len(), "no event stored twice");
    assert_eq!(stored.len(), acknowledged.len() + repeated);
}
