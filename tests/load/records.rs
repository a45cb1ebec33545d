//! After an alarm run: the server's own records of each alarm, read from its
//! database. From intake (`alarms.received_at`) to the first offer queued
//! (`task_offers.offered_at`) and to the first push attempted (the offer's outbox
//! row handled by the sender: `sent_at` when it reached a device; for a row that
//! reached none, e.g. a responder with no browser subscribed, the sender stamps
//! `next_attempt_at` with the time it gave up). Offers are queued in the intake's
//! own transaction, with the same timestamp: that span reads 0 here, and the
//! HTTP latency of the 202 is its real bound.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Timings {
    pub alarms: usize,
    pub without_offers: usize,
    pub without_push: usize,
    pub to_offers_ms: Percentiles,
    pub to_first_push_ms: Percentiles,
}

#[derive(Debug, Serialize, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| if v.is_empty() { 0.0 } else { v[((v.len() as f64 - 1.0) * p).round() as usize] };
    Percentiles { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: v.last().copied().unwrap_or(0.0) }
}

pub async fn alarm_timings(url: &str, event_prefix: &str) -> Result<Timings> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let sql = "SELECT a.id, a.received_at, o.offered_at, \
               CASE WHEN x.status = 'sent' THEN x.sent_at WHEN x.status IN ('failed', 'dead') THEN x.next_attempt_at END \
               FROM alarms a \
               LEFT JOIN task_offers o ON o.task_id = a.task_id \
               LEFT JOIN outbox x ON x.topic = 'task-' || a.task_id AND x.channel = 'push' AND x.kind = 'offer' \
               WHERE a.event_id LIKE $1";
    let rows =
        db.query_all_raw(Statement::from_sql_and_values(backend, sql, [format!("{event_prefix}%").into()])).await?;
    // Per alarm: intake, the first offer, the first push.
    type Row = (DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let mut alarms: BTreeMap<i64, Row> = BTreeMap::new();
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        let received: DateTime<Utc> = r.try_get_by_index(1)?;
        let offered: Option<DateTime<Utc>> = r.try_get_by_index(2)?;
        let sent: Option<DateTime<Utc>> = r.try_get_by_index(3)?;
        let e = alarms.entry(id).or_insert((received, None, None));
        e.1 = match (e.1, offered) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        e.2 = match (e.2, sent) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let ms = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let offers: Vec<f64> = alarms.values().filter_map(|(r, o, _)| o.map(|o| ms(*r, o))).collect();
    let pushes: Vec<f64> = alarms.values().filter_map(|(r, _, p)| p.map(|p| ms(*r, p))).collect();
    Ok(Timings {
        alarms: alarms.len(),
        without_offers: alarms.len() - offers.len(),
        without_push: alarms.len() - pushes.len(),
        to_offers_ms: percentiles(offers),
        to_first_push_ms: percentiles(pushes),
    })
}

pub fn print(t: &Timings) {
    println!(
        "\nfrom the server's records: {} alarms, {} without offers, {} without a push attempt",
        t.alarms, t.without_offers, t.without_push
    );
    for (name, p) in
        [("intake → offers queued", &t.to_offers_ms), ("intake → first push attempted", &t.to_first_push_ms)]
    {
        println!(
            "{name:<32} p50 {:>9.2} ms  p95 {:>9.2} ms  p99 {:>9.2} ms  max {:>9.2} ms",
            p.p50, p.p95, p.p99, p.max
        );
    }
}
