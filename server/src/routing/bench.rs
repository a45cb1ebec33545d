//! Benchmark runner: the Solomon sample (distance and gap to the best known) and
//! a generated district lunch (2,000 meals from 3 canteens). Used by
//! `benches/routing.rs`; the numbers are in `docs/routing.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::model::{Metric, Point, Problem, ProblemError, ProblemSpec, Stop, VehicleType};
use super::rng::Rng;
use super::solomon;
use super::solution::validate;
use super::solver::{Options, solve};

/// The six instances of `shared/data/solomon`.
pub const SOLOMON: [&str; 6] = ["C101", "C201", "R101", "R201", "RC101", "RC201"];

/// One solved instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub stops: usize,
    pub routes: usize,
    /// Routes per vehicle type (for the district: first and second trips).
    pub routes_by_type: Vec<usize>,
    /// The longest time from leaving the depot to a delivery.
    pub longest_ride: f64,
    pub unassigned: usize,
    pub distance: f64,
    pub best_known: Option<f64>,
    pub seconds: f64,
    pub iterations: u64,
    pub stopped_by_time_limit: bool,
    /// The violations [`validate`] found (empty for a feasible plan).
    pub violations: Vec<String>,
}

impl Row {
    /// Gap to the best-known distance in percent.
    pub fn gap_percent(&self) -> Option<f64> {
        self.best_known.map(|best| (self.distance / best - 1.0) * 100.0)
    }
}

#[derive(Deserialize)]
struct BestKnown {
    best_known_distance: f64,
}

/// Solves each Solomon instance in `dir` (which holds `NAME.txt` files and
/// `best_known.json`).
pub fn solomon_suite(dir: &Path, names: &[&str], options: &Options) -> Result<Vec<Row>, String> {
    let best_path = dir.join("best_known.json");
    let best_text = std::fs::read_to_string(&best_path).map_err(|e| format!("{}: {e}", best_path.display()))?;
    let best: BTreeMap<String, BestKnown> =
        serde_json::from_str(&best_text).map_err(|e| format!("{}: {e}", best_path.display()))?;
    names
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.txt"));
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let problem = solomon::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut row = run(name, &problem, options);
            row.best_known = best.get(*name).map(|b| b.best_known_distance);
            Ok(row)
        })
        .collect()
}

/// Solves one problem, timing it and validating the plan.
pub fn run(name: &str, problem: &Problem, options: &Options) -> Row {
    let started = Instant::now();
    let solution = solve(problem, options);
    let seconds = started.elapsed().as_secs_f64();
    let mut routes_by_type = vec![0; problem.fleet().len()];
    for route in &solution.routes {
        if let Some(n) = routes_by_type.get_mut(route.vehicle_type) {
            *n += 1;
        }
    }
    let longest_ride =
        solution.routes.iter().flat_map(|r| r.visits.iter().map(move |v| v.start - r.departure)).fold(0.0, f64::max);
    Row {
        name: name.to_owned(),
        stops: problem.stops().len(),
        routes: solution.routes.len(),
        routes_by_type,
        longest_ride,
        unassigned: solution.unassigned.len(),
        distance: solution.total_distance,
        best_known: None,
        seconds,
        iterations: solution.iterations,
        stopped_by_time_limit: solution.stopped_by_time_limit,
        violations: validate(problem, &solution).err().unwrap_or_default(),
    }
}

/// The district lunch: `meals` one-meal stops in residential compounds spread
/// over a 5 km square around 39.12°N 117.20°E, each served by its nearest of
/// three canteens. Every canteen has `couriers` e-bike couriers (250 m/min, 12
/// meals a trip) who make two trips each: a first wave leaving from 10:30 and
/// back by 11:50, a second leaving from 11:50 and back by 13:10. Every meal is
/// due between 11:00 and 12:30, takes 2 minutes to hand over, and must arrive
/// within 45 minutes of leaving the kitchen. Times are minutes after midnight.
pub fn district_day(seed: u64, meals: usize, couriers: usize) -> Result<Vec<(String, Problem)>, ProblemError> {
    const CENTRE: (f64, f64) = (39.12, 117.20);
    const SIDE_M: f64 = 5_000.0;
    let metres_per_degree_lat = 111_320.0;
    let metres_per_degree_lng = metres_per_degree_lat * CENTRE.0.to_radians().cos();
    let at = |east: f64, north: f64| {
        Point::lat_lng(CENTRE.0 + north / metres_per_degree_lat, CENTRE.1 + east / metres_per_degree_lng)
    };
    let canteens = [at(-1_250.0, -1_000.0), at(1_300.0, -800.0), at(0.0, 1_400.0)];

    let mut rng = Rng::new(seed);
    let compounds: Vec<(f64, f64)> =
        (0..150).map(|_| ((rng.unit() - 0.5) * SIDE_M, (rng.unit() - 0.5) * SIDE_M)).collect();
    let mut stops: Vec<Vec<Stop>> = vec![Vec::new(); canteens.len()];
    for meal in 0..meals {
        let (east, north) = compounds[rng.below(compounds.len())];
        let location = at(east + (rng.unit() - 0.5) * 160.0, north + (rng.unit() - 0.5) * 160.0);
        let metric = Metric::Haversine { metres_per_minute: 1.0 };
        let nearest = (0..canteens.len())
            .min_by(|&a, &b| metric.distance(canteens[a], location).total_cmp(&metric.distance(canteens[b], location)))
            .unwrap_or(0);
        stops[nearest].push(Stop {
            id: format!("meal-{meal:04}"),
            location,
            demand: 1,
            window_start: 11.0 * 60.0,
            window_end: 12.5 * 60.0,
            service_time: 2.0,
        });
    }
    let wave = |start: f64, end: f64| VehicleType {
        count: couriers,
        capacity: 12,
        shift_start: start,
        shift_end: end,
        cost_per_route: 0.0,
    };
    canteens
        .iter()
        .zip(stops)
        .enumerate()
        .map(|(i, (&depot, stops))| {
            let spec = ProblemSpec {
                depot,
                fleet: vec![wave(10.5 * 60.0, 11.0 * 60.0 + 50.0), wave(11.0 * 60.0 + 50.0, 13.0 * 60.0 + 10.0)],
                stops,
                metric: Metric::Haversine { metres_per_minute: 250.0 },
                max_ride_time: Some(45.0),
            };
            Problem::new(spec).map(|p| (format!("canteen-{}", i + 1), p))
        })
        .collect()
}

/// Iterations per Solomon instance in the benchmark, under a 3-second cap.
pub const SOLOMON_ITERATIONS: u64 = 100_000;
/// Iterations per canteen of the district day, under a 3-second cap each.
pub const DISTRICT_ITERATIONS: u64 = 100_000;

/// The benchmark's options: an iteration budget with a time cap.
pub fn options(iterations: u64, seconds: u64, seed: u64) -> Options {
    Options { time_limit: Duration::from_secs(seconds), iterations, seed }
}

/// Runs the Solomon sample in `solomon_dir` and the district day with the
/// benchmark budgets and seed 1; returns both tables as Markdown.
pub fn report(solomon_dir: &Path) -> Result<String, String> {
    let solomon = solomon_suite(solomon_dir, &SOLOMON, &options(SOLOMON_ITERATIONS, 3, 1))?;
    let district: Vec<Row> = district_day(1, 2_000, 50)
        .map_err(|e| format!("district day: {e}"))?
        .iter()
        .map(|(name, problem)| run(name, problem, &options(DISTRICT_ITERATIONS, 3, 1)))
        .collect();
    Ok(format!(
        "Solomon sample\n\n{}\nDistrict day (2,000 meals, 3 canteens, 50 couriers each, two trips)\n\n{}",
        table(&solomon),
        table(&district)
    ))
}

/// A Markdown table of rows.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| instance | stops | routes | unassigned | longest ride | distance | best known | gap | time (s) | iterations | feasible |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} | {:.2} | {} | {} | {:.2}{} | {} | {} |",
            row.name,
            row.stops,
            if row.routes_by_type.len() > 1 {
                format!(
                    "{} ({})",
                    row.routes,
                    row.routes_by_type.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" + ")
                )
            } else {
                row.routes.to_string()
            },
            row.unassigned,
            row.longest_ride,
            row.distance,
            row.best_known.map_or("–".into(), |b| format!("{b:.2}")),
            row.gap_percent().map_or("–".into(), |g| format!("{g:.2}%")),
            row.seconds,
            if row.stopped_by_time_limit { " (time cap)" } else { "" },
            row.iterations,
            if row.violations.is_empty() { "yes".to_owned() } else { format!("NO: {}", row.violations.join("; ")) },
        );
    }
    let gaps: Vec<f64> = rows.iter().filter_map(Row::gap_percent).collect();
    if !gaps.is_empty() {
        let _ = writeln!(out, "\nmean gap {:.2}%", gaps.iter().sum::<f64>() / gaps.len() as f64);
    }
    let _ = writeln!(out, "total time {:.2} s", rows.iter().map(|r| r.seconds).sum::<f64>());
    out
}
