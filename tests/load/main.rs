//! `linli-load`: fixed-rate, bounded-duration load against a running Linli on
//! loopback, with latency percentiles, throughput and errors as a table and JSON.
//!
//! Scenarios: `alarms` (emergency bells, each with a unique event id), `locations`
//! (caregivers' phones reporting their position), `board` (the dispatch board and
//! alarm list a worker reads), `reports` (grid reads), `coverage` (the bureau's map at
//! resolution 8 and the scorecard, each with its own row), `mixed` (a day's blend),
//! and `hello` (an actix-web handler that only says hello, started in this process,
//! as the yardstick the others are measured against).
//!
//! Open loop: requests start on a fixed schedule whatever the server's pace, and
//! each latency is measured from when the request was due, so a slow server cannot
//! hide its queueing (no coordinated omission). `--rate 0` runs closed loop instead:
//! `--concurrency` clients back to back, which measures capacity.
//!
//! ```text
//! linli-load --base http://127.0.0.1:8080 --scenario alarms --rate 50 --seconds 20
//! linli-load --scenario hello --rate 0 --concurrency 64 --seconds 10
//! ```
//!
//! With `--database-url`, the alarm scenario also reads the server's own records
//! afterwards: for each alarm, from intake to offers queued and to the first push
//! attempted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

mod records;
mod setup;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Scenario {
    Alarms,
    Locations,
    Board,
    Reports,
    /// The bureau's coverage map (resolution 8) and scorecard, half and half.
    Coverage,
    Mixed,
    Hello,
}

#[derive(Parser, Debug)]
#[command(name = "linli-load", about = "Fixed-rate load against a running Linli")]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080 (not needed for `hello`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Requests per second; 0 runs closed loop at `--concurrency` to find capacity.
    #[arg(long, default_value_t = 50)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Most requests in flight (open loop: more are counted as overload, not sent).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// The demo's logins and their password.
    #[arg(long, default_value = "worker")]
    worker: String,
    #[arg(long, default_value = "admin")]
    admin: String,
    #[arg(long, default_value = "bureau")]
    bureau: String,
    #[arg(long, env = "LINLI_LOAD_PASSWORD", default_value = "linli-demo")]
    password: String,
    /// Bells to register for the alarm scenario (the same senior may get several).
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Phones to log in for the location scenario.
    #[arg(long, default_value_t = 40)]
    phones: usize,
    /// Read the server's records after an alarm run (intake to offers, to first push).
    #[arg(long)]
    database_url: Option<String>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// One kind of request the scenario sends.
#[derive(Clone)]
enum Call {
    Alarm { key: String },
    Location { token: String, at: (f64, f64) },
    Get { token: String, path: String },
    Hello,
}

/// What the scenario can send, with weights for the blend.
struct Plan {
    calls: Vec<(String, Vec<Call>, u32)>,
    hello: Option<String>,
}

#[derive(Debug, Default, Serialize, Clone)]
struct Stats {
    name: String,
    sent: u64,
    ok: u64,
    errors: u64,
    overload: u64,
    throughput_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Throughput over the hello-world handler's, when both were measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio_to_hello: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summarize(name: &str, mut latencies: Vec<f64>, errors: u64, overload: u64, elapsed: Duration) -> Stats {
    latencies.sort_by(f64::total_cmp);
    let ok = latencies.len() as u64;
    Stats {
        name: name.to_owned(),
        sent: ok + errors,
        ok,
        errors,
        overload,
        throughput_per_s: ok as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        ratio_to_hello: None,
    }
}

struct Outcome {
    name: usize,
    latency_ms: Option<f64>,
}

static EVENT: AtomicU64 = AtomicU64::new(0);

async fn send(client: &reqwest::Client, base: &str, hello: Option<&str>, call: &Call, run: &str) -> Result<()> {
    let res = match call {
        Call::Alarm { key } => {
            let n = EVENT.fetch_add(1, Ordering::Relaxed);
            client
                .post(format!("{base}/api/v1/alarms"))
                .bearer_auth(key)
                .json(&json!({"event_id": format!("load-{run}-{n}")}))
                .send()
                .await?
        }
        Call::Location { token, at } => {
            let n = EVENT.fetch_add(1, Ordering::Relaxed) as f64;
            // A phone wanders a few metres between reports.
            let jitter = (n * 0.618).fract() * 0.0002;
            let body = json!({"latitude": at.0 + jitter, "longitude": at.1 - jitter, "accuracy_m": 12});
            client.post(format!("{base}/api/v1/me/location")).bearer_auth(token).json(&body).send().await?
        }
        Call::Get { token, path } => client.get(format!("{base}{path}")).bearer_auth(token).send().await?,
        Call::Hello => client.get(hello.context("the hello server is not running")?).send().await?,
    };
    let status = res.status();
    // Read the body: a response is done when it has arrived, not when its headers have.
    let _ = res.bytes().await?;
    if !status.is_success() {
        bail!("{status}");
    }
    Ok(())
}

/// Picks the n-th call by weight, spreading each group's calls evenly.
fn pick(plan: &Plan, n: u64) -> (usize, Call) {
    let total: u64 = plan.calls.iter().map(|c| u64::from(c.2)).sum();
    // A fixed, well-spread sequence instead of a random one: runs are repeatable.
    let mut slot = (n.wrapping_mul(2_654_435_761)) % total.max(1);
    for (i, (_, calls, weight)) in plan.calls.iter().enumerate() {
        if slot < u64::from(*weight) {
            return (i, calls[(n as usize / plan.calls.len()) % calls.len()].clone());
        }
        slot -= u64::from(*weight);
    }
    (0, plan.calls[0].1[0].clone())
}

async fn drive(args: &Args, plan: Arc<Plan>, run: &str) -> Result<Vec<Stats>> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let base = args.base.trim_end_matches('/').to_owned();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
    let deadline = Duration::from_secs(args.seconds);
    let started = Instant::now();
    let overload = Arc::new(AtomicU64::new(0));
    if args.rate == 0 {
        let mut workers = Vec::new();
        let next = Arc::new(AtomicU64::new(0));
        for _ in 0..args.concurrency {
            let (client, base, plan, tx, next, run) =
                (client.clone(), base.clone(), plan.clone(), tx.clone(), next.clone(), run.to_owned());
            workers.push(tokio::spawn(async move {
                while started.elapsed() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let (name, call) = pick(&plan, n);
                    let t = Instant::now();
                    let ok = send(&client, &base, plan.hello.as_deref(), &call, &run).await.is_ok();
                    let latency_ms = ok.then(|| t.elapsed().as_secs_f64() * 1000.0);
                    let _ = tx.send(Outcome { name, latency_ms });
                }
            }));
        }
        for w in workers {
            w.await?;
        }
    } else {
        let limit = Arc::new(Semaphore::new(args.concurrency));
        let total = args.rate * args.seconds;
        let period = Duration::from_nanos(1_000_000_000 / args.rate);
        let mut inflight = Vec::with_capacity(total as usize);
        for n in 0..total {
            let due = started + period * n as u32;
            tokio::time::sleep_until(due.into()).await;
            let Ok(permit) = limit.clone().try_acquire_owned() else {
                overload.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let (client, base, plan, tx, run) =
                (client.clone(), base.clone(), plan.clone(), tx.clone(), run.to_owned());
            inflight.push(tokio::spawn(async move {
                let (name, call) = pick(&plan, n);
                let ok = send(&client, &base, plan.hello.as_deref(), &call, &run).await.is_ok();
                // From when the request was due, not when it got out.
                let latency_ms = ok.then(|| due.elapsed().as_secs_f64() * 1000.0);
                let _ = tx.send(Outcome { name, latency_ms });
                drop(permit);
            }));
        }
        for h in inflight {
            h.await?;
        }
    }
    let elapsed = started.elapsed().max(deadline);
    drop(tx);
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); plan.calls.len()];
    let mut errors = vec![0u64; plan.calls.len()];
    while let Some(o) = rx.recv().await {
        match o.latency_ms {
            Some(ms) => latencies[o.name].push(ms),
            None => errors[o.name] += 1,
        }
    }
    let mut out = Vec::new();
    let all: Vec<f64> = latencies.iter().flatten().copied().collect();
    for (i, (name, _, _)) in plan.calls.iter().enumerate() {
        out.push(summarize(name, std::mem::take(&mut latencies[i]), errors[i], 0, elapsed));
    }
    if plan.calls.len() > 1 {
        out.push(summarize("all", all, errors.iter().sum(), overload.load(Ordering::Relaxed), elapsed));
    } else if let Some(s) = out.first_mut() {
        s.overload = overload.load(Ordering::Relaxed);
    }
    Ok(out)
}

fn print_table(scenario: Scenario, args: &Args, stats: &[Stats]) {
    let mode = if args.rate == 0 { format!("closed loop x{}", args.concurrency) } else { format!("{}/s", args.rate) };
    println!("\n{scenario:?} · {mode} · {} s", args.seconds);
    println!(
        "{:<22} {:>8} {:>7} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "request", "ok", "errors", "overload", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "×hello"
    );
    for s in stats {
        let ratio = s.ratio_to_hello.map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into());
        println!(
            "{:<22} {:>8} {:>7} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8}",
            s.name, s.ok, s.errors, s.overload, s.throughput_per_s, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, ratio
        );
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis());
    let hello = setup::hello_server().await?;
    let plan = match args.scenario {
        Scenario::Hello => Plan { calls: vec![("hello".into(), vec![Call::Hello], 1)], hello: Some(hello.clone()) },
        other => {
            let s = setup::Session::new(&args.base, &args.password).await?;
            setup::plan(&s, &args, other).await?
        }
    };
    eprintln!("running {:?} for {} s…", args.scenario, args.seconds);
    let mut stats = drive(&args, Arc::new(plan), &run).await?;
    // The yardstick, measured the same way right after.
    let mut yardstick = None;
    if args.scenario != Scenario::Hello {
        eprintln!("measuring the hello-world handler the same way…");
        let plan = Plan { calls: vec![("hello".into(), vec![Call::Hello], 1)], hello: Some(hello) };
        let h = drive(&args, Arc::new(plan), &run).await?.remove(0);
        for s in &mut stats {
            s.ratio_to_hello = (h.throughput_per_s > 0.0).then(|| s.throughput_per_s / h.throughput_per_s);
        }
        yardstick = Some(h);
    }
    print_table(args.scenario, &args, &stats);
    if let Some(h) = &yardstick {
        println!(
            "{:<22} {:>8} {:>7} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            "(hello world)", h.ok, h.errors, h.overload, h.throughput_per_s, h.p50_ms, h.p95_ms, h.p99_ms, h.max_ms
        );
    }
    let mut report = json!({
        "scenario": args.scenario,
        "rate": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "results": stats,
        "hello": yardstick,
    });
    if args.scenario == Scenario::Alarms
        && let Some(url) = &args.database_url
    {
        let timings = records::alarm_timings(url, &format!("load-{run}-")).await?;
        records::print(&timings);
        report["server_records"] = serde_json::to_value(&timings)?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_follow_the_weights() {
        let plan =
            Plan { calls: vec![("a".into(), vec![Call::Hello], 3), ("b".into(), vec![Call::Hello], 1)], hello: None };
        let mut counts = [0u32; 2];
        for n in 0..4000 {
            counts[pick(&plan, n).0] += 1;
        }
        assert_eq!(counts[0] + counts[1], 4000);
        assert!((2900..=3100).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn percentiles_of_a_known_list() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        let s = summarize("x", vec![3.0, 1.0, 2.0], 1, 0, Duration::from_secs(1));
        assert_eq!((s.ok, s.errors, s.sent, s.max_ms, s.p50_ms), (3, 1, 4, 3.0, 2.0));
    }
}
