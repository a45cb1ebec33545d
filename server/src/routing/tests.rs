use std::time::Duration;

use super::bench::district_day;
use super::rng::Rng;
use super::segment::Segment;
use super::state::Ctx;
use super::*;

const SOLOMON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/solomon");

fn instance(name: &str) -> Problem {
    let path = format!("{SOLOMON_DIR}/{name}.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    solomon::parse(&text).unwrap()
}

fn quick(iterations: u64, seed: u64) -> Options {
    Options { time_limit: Duration::from_secs(60), iterations, seed }
}

fn stop(id: &str, x: f64, y: f64, demand: u32, window: (f64, f64), service: f64) -> Stop {
    Stop {
        id: id.into(),
        location: Point::xy(x, y),
        demand,
        window_start: window.0,
        window_end: window.1,
        service_time: service,
    }
}

fn plane(vehicles: usize, capacity: u32, horizon: f64, stops: Vec<Stop>, max_ride_time: Option<f64>) -> Problem {
    Problem::new(ProblemSpec {
        depot: Point::xy(0.0, 0.0),
        fleet: vec![VehicleType {
            count: vehicles,
            capacity,
            shift_start: 0.0,
            shift_end: horizon,
            cost_per_route: 0.0,
        }],
        stops,
        metric: Metric::Euclidean,
        max_ride_time,
    })
    .unwrap()
}

fn reason_of(solution: &Solution, id: &str) -> Option<UnassignedReason> {
    solution.unassigned.iter().find(|u| u.stop_id == id).map(|u| u.reason)
}

#[test]
fn the_solomon_parser_reads_the_fleet_the_depot_and_every_stop() {
    let problem = instance("C101");
    let fleet = problem.fleet();
    assert_eq!((fleet.len(), fleet[0].count, fleet[0].capacity), (1, 25, 200));
    assert_eq!((fleet[0].shift_start, fleet[0].shift_end), (0.0, 1236.0));
    assert_eq!(problem.spec().depot, Point::xy(40.0, 50.0));
    assert_eq!(problem.stops().len(), 100);
    assert_eq!(problem.stops()[0], stop("1", 45.0, 68.0, 10, (912.0, 967.0), 90.0));
    assert_eq!(problem.spec().max_ride_time, None);
}

#[test]
fn the_solomon_parser_rejects_text_without_a_fleet_or_with_broken_rows() {
    assert_eq!(solomon::parse("C101\n\nCUSTOMER\n").err(), Some(solomon::ParseError::MissingVehicles));
    let broken = "X\nVEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\n 0 1 2 0 0 100\n";
    assert_eq!(solomon::parse(broken).err(), Some(solomon::ParseError::BadRow { line: 6 }));
}

#[test]
fn solomon_instances_are_planned_feasibly_and_near_the_best_known_distance() {
    // Best-known distances from shared/data/solomon/best_known.json; a short
    // debug-build search must stay within a few percent.
    for (name, best_known) in [("C101", 828.94), ("R101", 1642.88), ("RC201", 1265.56)] {
        let problem = instance(name);
        let plan = solve(&problem, &quick(1_500, 1));
        assert_eq!(validate(&problem, &plan), Ok(()), "{name}");
        assert!(plan.unassigned.is_empty(), "{name}: {:?}", plan.unassigned);
        assert!(plan.total_distance < best_known * 1.06, "{name}: {} vs {best_known}", plan.total_distance);
        assert!(!plan.stopped_by_time_limit);
    }
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let problem = instance("R201");
    let first = solve(&problem, &quick(800, 42));
    let second = solve(&problem, &quick(800, 42));
    assert_eq!(first, second);
    assert_eq!(first.iterations, 800);
}

#[test]
fn a_time_limit_of_zero_still_returns_a_feasible_plan() {
    let problem = instance("RC101");
    let plan = solve(&problem, &Options { time_limit: Duration::ZERO, iterations: 1_000_000, seed: 1 });
    assert!(plan.stopped_by_time_limit);
    assert_eq!(plan.iterations, 0);
    assert_eq!(validate(&problem, &plan), Ok(()));
    assert!(plan.unassigned.is_empty());
}

#[test]
fn stops_no_plan_can_serve_are_reported_with_their_reason() {
    let problem = plane(
        3,
        10,
        100.0,
        vec![
            stop("fine", 3.0, 4.0, 2, (0.0, 50.0), 1.0),
            stop("too-heavy", 3.0, 4.0, 11, (0.0, 50.0), 1.0),
            // 50 away, but its window closes at 40.
            stop("too-far-for-the-window", 30.0, 40.0, 1, (0.0, 40.0), 1.0),
            // Reachable at 50, but then 50 back: past the horizon of 100.
            stop("no-way-back", 30.0, 40.0, 1, (60.0, 70.0), 1.0),
        ],
        None,
    );
    let plan = solve(&problem, &quick(200, 1));
    assert_eq!(validate(&problem, &plan), Ok(()));
    assert_eq!(reason_of(&plan, "fine"), None);
    assert_eq!(reason_of(&plan, "too-heavy"), Some(UnassignedReason::DemandExceedsCapacity));
    assert_eq!(reason_of(&plan, "too-far-for-the-window"), Some(UnassignedReason::WindowUnreachable));
    assert_eq!(reason_of(&plan, "no-way-back"), Some(UnassignedReason::WindowUnreachable));
}

#[test]
fn a_stop_beyond_the_ride_limit_is_reported_and_the_others_respect_it() {
    let problem = plane(
        4,
        10,
        1000.0,
        vec![
            stop("near", 3.0, 4.0, 1, (0.0, 500.0), 5.0),
            stop("near-too", 6.0, 8.0, 1, (0.0, 500.0), 5.0),
            stop("far", 30.0, 40.0, 1, (0.0, 500.0), 5.0),
        ],
        Some(17.0),
    );
    let plan = solve(&problem, &quick(200, 1));
    assert_eq!(validate(&problem, &plan), Ok(()));
    assert_eq!(reason_of(&plan, "far"), Some(UnassignedReason::RideTimeExceeded));
    // Near first: 5 there, 5 service, 5 on = 15 <= 17; the other way round is
    // 10 + 5 + 5 = 20 > 17, so one route serves both, nearest first.
    assert_eq!(plan.routes.len(), 1);
    let visits = &plan.routes[0].visits;
    assert_eq!(visits.iter().map(|v| v.stop_id.as_str()).collect::<Vec<_>>(), ["near", "near-too"]);
}

#[test]
fn when_the_fleet_is_too_small_the_stops_left_over_have_no_vehicle() {
    let stops = (0..5).map(|i| stop(&format!("s{i}"), 1.0 + i as f64, 1.0, 1, (0.0, 100.0), 1.0)).collect();
    let problem = plane(1, 3, 100.0, stops, None);
    let plan = solve(&problem, &quick(300, 1));
    assert_eq!(validate(&problem, &plan), Ok(()));
    assert_eq!(plan.routes.len(), 1);
    assert_eq!(plan.routes[0].load, 3);
    assert_eq!(plan.unassigned.len(), 2);
    assert!(plan.unassigned.iter().all(|u| u.reason == UnassignedReason::NoVehicleLeft));
}

#[test]
fn a_haversine_district_meets_every_window_and_the_45_minute_ride_limit() {
    let (_, problem) = district_day(3, 150, 6).unwrap().into_iter().next().unwrap();
    assert_eq!(problem.spec().max_ride_time, Some(45.0));
    let plan = solve(&problem, &quick(300, 1));
    assert_eq!(validate(&problem, &plan), Ok(()));
    assert!(plan.unassigned.is_empty(), "{:?}", plan.unassigned);
    for route in &plan.routes {
        let shift = &problem.fleet()[route.vehicle_type];
        assert!(route.departure >= shift.shift_start && route.return_time <= shift.shift_end + 1e-6);
        for visit in &route.visits {
            assert!(visit.start - route.departure <= 45.0 + 1e-6);
            assert!((660.0 - 1e-6..=750.0 + 1e-6).contains(&visit.start));
        }
        assert!(route.load <= 12);
    }
    // 250 m/min: a 1 km leg takes 4 minutes.
    let a = Point::lat_lng(39.12, 117.20);
    let b = Point::lat_lng(39.12 + 1000.0 / 111_195.0, 117.20);
    assert!((Metric::Haversine { metres_per_minute: 250.0 }.distance(a, b) - 1000.0).abs() < 1.0);
}

#[test]
fn departure_is_as_late_as_the_route_allows() {
    // Window opens at 50 and the stop is 5 away: leaving at 45 means no waiting.
    let problem = plane(1, 10, 100.0, vec![stop("a", 3.0, 4.0, 1, (50.0, 60.0), 2.0)], Some(5.0));
    let plan = solve(&problem, &quick(10, 1));
    assert_eq!(validate(&problem, &plan), Ok(()));
    let route = &plan.routes[0];
    assert!((route.departure - 55.0).abs() < 1e-9, "{route:?}");
    assert!((route.visits[0].start - 60.0).abs() < 1e-9);
}

#[test]
fn validate_names_every_kind_of_violation() {
    let problem = plane(
        1,
        3,
        100.0,
        vec![stop("a", 3.0, 4.0, 2, (0.0, 10.0), 1.0), stop("b", 6.0, 8.0, 2, (0.0, 90.0), 1.0)],
        Some(30.0),
    );
    let good = solve(&problem, &quick(10, 1));
    assert_eq!(validate(&problem, &good), Ok(()));
    type Break = fn(&mut Solution);
    let cases: [(&str, Break, &str); 7] = [
        ("a stop missing", |s| s.unassigned.clear(), "neither served nor reported"),
        (
            "a stop twice",
            |s| {
                let again = s.unassigned[0].clone();
                s.unassigned.push(again);
            },
            "appears 2 times",
        ),
        (
            "service after the window",
            |s| {
                let v = &mut s.routes[0].visits[0];
                v.start += 20.0;
                v.departure += 20.0;
            },
            "after the window closes",
        ),
        ("over capacity", |s| s.routes[0].load = 99, "reported load"),
        ("leaving before the shift", |s| s.routes[0].departure = -5.0, "before the shift starts"),
        ("a wrong total", |s| s.total_distance += 1.0, "total distance"),
        ("an unknown stop", |s| s.routes[0].visits[0].stop_id = "zz".into(), "unknown stop zz"),
    ];
    // Capacity 3 and demand 2 each: one stop is served, the other has no vehicle.
    assert_eq!(good.routes.len(), 1);
    for (why, corrupt, expected) in cases {
        let mut bad = good.clone();
        corrupt(&mut bad);
        let errors = validate(&problem, &bad).expect_err(why);
        assert!(errors.iter().any(|e| e.contains(expected)), "{why}: {errors:?}");
    }
}

#[test]
fn problems_with_bad_input_are_refused_with_the_reason() {
    let base = || ProblemSpec {
        depot: Point::xy(0.0, 0.0),
        fleet: vec![VehicleType { count: 1, capacity: 5, shift_start: 0.0, shift_end: 10.0, cost_per_route: 0.0 }],
        stops: vec![stop("a", 1.0, 1.0, 1, (0.0, 5.0), 0.0)],
        metric: Metric::Euclidean,
        max_ride_time: None,
    };
    type Edit = fn(&mut ProblemSpec);
    let cases: [(&str, Edit, ProblemError); 5] = [
        ("duplicate id", |s| s.stops.push(s.stops[0].clone()), ProblemError::DuplicateStopId { stop: "a".into() }),
        ("window ends first", |s| s.stops[0].window_end = -1.0, ProblemError::EmptyWindow { stop: "a".into() }),
        ("shift ends first", |s| s.fleet[0].shift_end = -1.0, ProblemError::EmptyShift { vehicle_type: 0 }),
        ("NaN coordinate", |s| s.stops[0].location.x = f64::NAN, ProblemError::NotFinite { what: "stop a x".into() }),
        ("zero speed", |s| s.metric = Metric::Haversine { metres_per_minute: 0.0 }, ProblemError::BadSpeed),
    ];
    for (why, edit, expected) in cases {
        let mut spec = base();
        edit(&mut spec);
        assert_eq!(Problem::new(spec).err(), Some(expected), "{why}");
    }
}

#[test]
fn a_problem_deserialises_from_json_and_is_checked() {
    let json = r#"{
        "depot": {"x": 0, "y": 0},
        "fleet": [{"count": 1, "capacity": 4, "shift_start": 0, "shift_end": 50}],
        "stops": [{"id": "a", "location": {"x": 3, "y": 4}, "demand": 1,
                   "window_start": 0, "window_end": 20, "service_time": 1}],
        "metric": {"kind": "euclidean"}
    }"#;
    let problem: Problem = serde_json::from_str(json).unwrap();
    assert_eq!(problem.distance(0, 1), 5.0);
    let bad = json.replace(r#""window_end": 20"#, r#""window_end": -1"#);
    assert!(serde_json::from_str::<Problem>(&bad).is_err());
}

/// The O(1) segment joins must agree with simulating the route stop by stop.
#[test]
fn segment_joins_agree_with_a_step_by_step_schedule() {
    let problem = instance("R101");
    let ctx = Ctx::new(&problem);
    let mut rng = Rng::new(5);
    let (mut feasible, mut infeasible) = (0, 0);
    for _ in 0..2_000 {
        let len = 1 + rng.below(6);
        let mut nodes: Vec<u32> = (1..=100).collect();
        rng.shuffle(&mut nodes);
        nodes.truncate(len);
        nodes.sort_by(|&a, &b| ctx.visit[a as usize].earliest.total_cmp(&ctx.visit[b as usize].earliest));
        // By joins, in a random split: (depot + first part) + (rest) + depot.
        let cut = rng.below(len + 1);
        let mut head = ctx.depot[0];
        for &n in &nodes[..cut] {
            head = head.join(&ctx.visit[n as usize], &problem);
        }
        let tail: Option<Segment> =
            nodes[cut..].iter().map(|&n| ctx.visit[n as usize]).reduce(|a, b| a.join(&b, &problem));
        let open = tail.map_or(head, |t| head.join(&t, &problem));
        let full = open.join(&ctx.depot[0], &problem);
        // Step by step, leaving the depot at time 0.
        let (mut clock, mut prev, mut ok, mut distance) = (0.0, 0usize, true, 0.0);
        for &n in &nodes {
            let s = &problem.stops()[n as usize - 1];
            clock = (clock + problem.travel_time(prev, n as usize)).max(s.window_start);
            ok &= clock <= s.window_end + 1e-9;
            distance += problem.distance(prev, n as usize);
            clock += s.service_time;
            prev = n as usize;
        }
        distance += problem.distance(prev, 0);
        ok &= clock + problem.travel_time(prev, 0) <= problem.fleet()[0].shift_end + 1e-9;
        assert_eq!(full.feasible(), ok, "{nodes:?}");
        assert!((full.distance - distance).abs() < 1e-9);
        if ok {
            feasible += 1;
            // Leaving at the latest start still meets every window.
            let mut clock = full.latest;
            let mut prev = 0usize;
            for &n in &nodes {
                let s = &problem.stops()[n as usize - 1];
                clock = (clock + problem.travel_time(prev, n as usize)).max(s.window_start);
                assert!(clock <= s.window_end + 1e-6);
                clock += s.service_time;
                prev = n as usize;
            }
        } else {
            infeasible += 1;
        }
    }
    assert!(feasible > 100 && infeasible > 100, "{feasible} feasible, {infeasible} infeasible");
}
