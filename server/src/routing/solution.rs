//! A plan: routes with their schedules, the stops left out and why, and the
//! independent feasibility check every test and benchmark runs on it.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::Problem;

/// One delivery on a route. `arrival` is when the vehicle gets there, `start`
/// when service starts (after waiting for the window to open, if early) and
/// `departure` when it leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub stop_id: String,
    pub arrival: f64,
    pub start: f64,
    pub departure: f64,
}

/// One vehicle's trip from the depot through its visits and back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Index into the problem's fleet.
    pub vehicle_type: usize,
    /// When the vehicle leaves the depot: as late as the route allows, which
    /// keeps the ride (and the waiting) as short as possible.
    pub departure: f64,
    /// When the vehicle is back at the depot.
    pub return_time: f64,
    pub load: u32,
    pub distance: f64,
    pub visits: Vec<Visit>,
}

/// Why a stop is not on any route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// The stop's demand is more than any vehicle can carry.
    DemandExceedsCapacity,
    /// No vehicle can get there inside the time window and be back at the depot
    /// before its shift ends, even serving this stop alone.
    WindowUnreachable,
    /// Even driving there directly takes longer than the maximum ride time.
    RideTimeExceeded,
    /// The stop could be served on a route of its own, but the fleet was used
    /// up by the other stops in every plan the search tried.
    NoVehicleLeft,
}

impl fmt::Display for UnassignedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnassignedReason::DemandExceedsCapacity => "demand exceeds every vehicle's capacity",
            UnassignedReason::WindowUnreachable => "the time window cannot be reached within any shift",
            UnassignedReason::RideTimeExceeded => "the stop is further than the maximum ride time",
            UnassignedReason::NoVehicleLeft => "no vehicle left: the fleet could not fit this stop",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unassigned {
    pub stop_id: String,
    pub reason: UnassignedReason,
}

/// The result of [`super::solve`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub routes: Vec<Route>,
    pub unassigned: Vec<Unassigned>,
    /// Sum of the routes' distances (plane units, or metres for haversine).
    pub total_distance: f64,
    /// The objective without the unassigned stops: distance plus the
    /// `cost_per_route` of every vehicle used.
    pub total_cost: f64,
    /// Ruin-and-recreate iterations run.
    pub iterations: u64,
    /// True when the time limit, not the iteration budget, ended the search:
    /// then the result depends on the machine's speed.
    pub stopped_by_time_limit: bool,
}

/// Absolute tolerance for comparing schedule times and distances.
const TOLERANCE: f64 = 1e-6;

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

fn later(a: f64, b: f64) -> bool {
    a > b + TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// Checks a plan against the problem on its own, trusting nothing the solver
/// computed: every window, capacity, shift, ride time, every stop served once or
/// reported unassigned, the fleet size and the reported times and distances.
/// Returns every violation found.
pub fn validate(problem: &Problem, solution: &Solution) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let stops = problem.stops();
    let index: HashMap<&str, usize> = stops.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut seen = vec![0usize; stops.len()];
    let mut used = vec![0usize; problem.fleet().len()];
    let mut total = 0.0;

    for (r, route) in solution.routes.iter().enumerate() {
        let Some(vt) = problem.fleet().get(route.vehicle_type) else {
            errors.push(format!("route {r}: unknown vehicle type {}", route.vehicle_type));
            continue;
        };
        used[route.vehicle_type] += 1;
        if later(vt.shift_start, route.departure) {
            errors.push(format!(
                "route {r}: leaves at {} before the shift starts at {}",
                route.departure, vt.shift_start
            ));
        }
        let (mut node, mut clock, mut load, mut distance) = (0usize, route.departure, 0u32, 0.0);
        for visit in &route.visits {
            let Some(&i) = index.get(visit.stop_id.as_str()) else {
                errors.push(format!("route {r}: unknown stop {}", visit.stop_id));
                continue;
            };
            seen[i] += 1;
            let stop = &stops[i];
            let expected = clock + problem.travel_time(node, i + 1);
            if !close_enough(visit.arrival, expected) {
                errors.push(format!(
                    "route {r}, stop {}: arrival {} but travel gives {expected}",
                    stop.id, visit.arrival
                ));
            }
            if later(visit.arrival, visit.start) || later(stop.window_start, visit.start) {
                errors.push(format!(
                    "route {r}, stop {}: service starts at {} before arrival or window",
                    stop.id, visit.start
                ));
            }
            if later(visit.start, stop.window_end) {
                errors.push(format!(
                    "route {r}, stop {}: service starts at {} after the window closes at {}",
                    stop.id, visit.start, stop.window_end
                ));
            }
            if later(visit.start + stop.service_time, visit.departure) {
                errors.push(format!("route {r}, stop {}: leaves before service ends", stop.id));
            }
            if let Some(max_ride) = problem.spec().max_ride_time
                && later(visit.start - route.departure, max_ride)
            {
                errors.push(format!(
                    "route {r}, stop {}: delivered {} after leaving the depot, more than {max_ride}",
                    stop.id,
                    visit.start - route.departure
                ));
            }
            distance += problem.distance(node, i + 1);
            load += stop.demand;
            node = i + 1;
            clock = visit.departure;
        }
        distance += problem.distance(node, 0);
        let back = clock + problem.travel_time(node, 0);
        if !close_enough(route.return_time, back) {
            errors.push(format!("route {r}: return at {} but travel gives {back}", route.return_time));
        }
        if later(back, vt.shift_end) {
            errors.push(format!("route {r}: back at {back}, after the shift ends at {}", vt.shift_end));
        }
        if load > vt.capacity {
            errors.push(format!("route {r}: load {load} exceeds capacity {}", vt.capacity));
        }
        if load != route.load {
            errors.push(format!("route {r}: reported load {} but the stops add up to {load}", route.load));
        }
        if !close_enough(distance, route.distance) {
            errors.push(format!("route {r}: reported distance {} but the legs add up to {distance}", route.distance));
        }
        total += distance;
    }
    for (t, (&n, vt)) in used.iter().zip(problem.fleet()).enumerate() {
        if n > vt.count {
            errors.push(format!("vehicle type {t}: {n} routes but only {} vehicles", vt.count));
        }
    }
    for unassigned in &solution.unassigned {
        match index.get(unassigned.stop_id.as_str()) {
            Some(&i) => seen[i] += 1,
            None => errors.push(format!("unknown unassigned stop {}", unassigned.stop_id)),
        }
    }
    for (stop, &n) in stops.iter().zip(&seen) {
        match n {
            1 => {}
            0 => errors.push(format!("stop {} is neither served nor reported unassigned", stop.id)),
            n => errors.push(format!("stop {} appears {n} times", stop.id)),
        }
    }
    if !close_enough(total, solution.total_distance) {
        errors.push(format!("total distance {} but the routes add up to {total}", solution.total_distance));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}
