//! Meal-delivery routing: distance, gap to the best known and time on the Solomon
//! sample, and the time to plan a district lunch (2,000 meals, 3 canteens).
//!
//! `cargo bench -p linli --bench routing` prints both tables (the numbers in
//! `docs/routing.md`), then lets Criterion time one fixed-budget solve (add
//! `-- --quick` for a short run).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use linli::routing::{bench, solomon, solve};

const SOLOMON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/solomon");

fn solve_r101(c: &mut Criterion) {
    let Ok(text) = std::fs::read_to_string(Path::new(SOLOMON_DIR).join("R101.txt")) else {
        eprintln!("no Solomon data at {SOLOMON_DIR}: skipped");
        return;
    };
    let Ok(problem) = solomon::parse(&text) else {
        eprintln!("R101 does not parse: skipped");
        return;
    };
    let options = bench::options(10_000, 60, 1);
    let mut group = c.benchmark_group("routing");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("solve R101, 10k iterations", |b| b.iter(|| black_box(solve(black_box(&problem), &options))));
    group.finish();
}

criterion_group!(benches, solve_r101);

fn main() {
    match bench::report(Path::new(SOLOMON_DIR)) {
        Ok(tables) => println!("{tables}"),
        Err(e) => eprintln!("routing report skipped: {e}"),
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
