//! Candidate search: 50,000 responders spread over a city, queried through the H3
//! index and by a brute-force scan of the same data, at the emergency radius (1 km)
//! and the widened radius (3 km). Prints p50/p99 per query and checks that both
//! ways find the same responders.
//!
//! `cargo bench -p linli --bench candidates`

use std::time::Instant;

use chrono::Utc;
use linli::dispatch::index::{Anchor, Entry, Fix, ResponderIndex};
use linli::dispatch::kinds::{ResponderKind, Skill, TravelMode};

const RESPONDERS: i64 = 50_000;
const QUERIES: usize = 5_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A point in a 60 km x 60 km box around central Tianjin.
fn point(rng: &mut Rng) -> (f64, f64) {
    (38.85 + rng.next() * 0.54, 116.85 + rng.next() * 0.70)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let now = Utc::now();
    let entries: Vec<Entry> = (0..RESPONDERS)
        .map(|id| {
            let home = point(&mut rng);
            let at = point(&mut rng);
            Entry {
                id,
                user_id: id,
                kind: ResponderKind::Volunteer,
                skills: Skill::EmergencyResponse.bit() | Skill::MealDelivery.bit(),
                licence_expires_on: None,
                communities: vec![id % 500],
                home,
                last: Some(Fix { latitude: at.0, longitude: at.1, accuracy_m: Some(10.0), at: now }),
                travel_mode: TravelMode::Ebike,
                max_concurrent: 1,
                on_duty: true,
                shifts: Vec::new(),
                absences: Vec::new(),
            }
        })
        .collect();
    let started = Instant::now();
    let index = ResponderIndex::new(entries);
    println!("index of {RESPONDERS} responders built in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);
    let queries: Vec<(f64, f64)> = (0..QUERIES).map(|_| point(&mut rng)).collect();
    println!("{:<10} {:>8} {:>12} {:>12} {:>12} {:>10}", "radius", "method", "p50 µs", "p99 µs", "max µs", "found");
    for radius in [1000.0, 3000.0] {
        let mut found = 0usize;
        for (name, scan) in [("index", false), ("scan", true)] {
            let mut times = Vec::with_capacity(QUERIES);
            let mut total = 0usize;
            for q in &queries {
                let t = Instant::now();
                let hits = if scan {
                    index.scan(*q, radius, Anchor::LastFix)
                } else {
                    index.near(*q, radius, Anchor::LastFix)
                };
                times.push(t.elapsed().as_secs_f64() * 1e6);
                total += hits.len();
            }
            if scan {
                assert_eq!(total, found, "the index and the scan must agree");
            } else {
                found = total;
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{:<10} {:>8} {:>12.1} {:>12.1} {:>12.1} {:>10.1}",
                format!("{radius} m"),
                name,
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times[times.len() - 1],
                total as f64 / QUERIES as f64
            );
        }
    }
}
