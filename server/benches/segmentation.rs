//! Segmentation throughput: the default rules over 1,000,000 generated seniors.
//!
//! `cargo bench -p linli --bench segmentation` (add `-- --quick` for a short run).
//! Criterion reports throughput in elements per second, that is seniors per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linli::assessment::{CognitionLevel, DependencyLevel};
use linli::registry::{EconomicStatus, LivingArrangement};
use linli::segmentation::{Rules, SeniorFacts};

const SENIORS: usize = 1_000_000;

/// Deterministic seniors with a spread of every fact (xorshift, no extra crates).
fn seniors() -> Vec<SeniorFacts> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let dependency = [
        None,
        Some(DependencyLevel::Independent),
        Some(DependencyLevel::Mild),
        Some(DependencyLevel::Moderate),
        Some(DependencyLevel::Severe),
    ];
    let cognition = [
        None,
        Some(CognitionLevel::Intact),
        Some(CognitionLevel::Mild),
        Some(CognitionLevel::Moderate),
        Some(CognitionLevel::Severe),
    ];
    (0..SENIORS)
        .map(|_| {
            let r = next();
            SeniorFacts {
                age_years: 60 + (r % 45) as u32,
                dependency: dependency[(r >> 8) as usize % dependency.len()],
                cognition: cognition[(r >> 16) as usize % cognition.len()],
                living: LivingArrangement::ALL[(r >> 24) as usize % LivingArrangement::ALL.len()],
                economic: EconomicStatus::ALL[(r >> 32) as usize % EconomicStatus::ALL.len()],
            }
        })
        .collect()
}

fn segmentation(c: &mut Criterion) {
    let rules = Rules::defaults();
    let seniors = seniors();
    let mut group = c.benchmark_group("segmentation");
    group.throughput(Throughput::Elements(SENIORS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("evaluate", |b| {
        b.iter(|| {
            for facts in &seniors {
                black_box(rules.evaluate(black_box(facts)));
            }
        })
    });
    group.bench_function("decide", |b| {
        b.iter(|| {
            for facts in &seniors {
                black_box(rules.decide(black_box(facts)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, segmentation);
criterion_main!(benches);
