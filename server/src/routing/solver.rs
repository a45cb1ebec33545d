//! The search: a regret-3 first plan, then ruin and recreate under simulated
//! annealing, with local search polishing every new best plan.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::insert;
use super::local_search;
use super::model::Problem;
use super::rng::Rng;
use super::ruin::{self, RuinShape};
use super::solution::{Route, Solution, Unassigned, UnassignedReason, Visit};
use super::state::{Ctx, State};

/// How long to search and with which seed.
///
/// The search runs `iterations` ruin-and-recreate steps, and everything it does
/// (the cooling schedule included) depends only on the problem, the seed and the
/// iteration count, so the same input gives the same plan on any machine.
/// `time_limit` is a safety cap: when it cuts the search short the plan depends on
/// the machine's speed, and [`Solution::stopped_by_time_limit`] says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    pub time_limit: Duration,
    pub iterations: u64,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { time_limit: Duration::from_secs(10), iterations: 20_000, seed: 1 }
    }
}

/// Search parameters that are not part of the public interface.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Average number of stops a ruin removes (at most this share of the stops).
    pub removed: f64,
    pub removed_share: f64,
    pub max_string: usize,
    /// Chance that a ruin is random rather than by strings.
    pub random_ruin: f64,
    pub blink: f64,
    /// Chance that a recreate is regret-2 rather than greedy with blinks.
    pub regret_recreate: f64,
    /// Start and end temperatures, as multiples of the average leg of the first
    /// plan.
    pub t_start: f64,
    pub t_end: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            removed: 10.0,
            removed_share: 0.15,
            max_string: 10,
            random_ruin: 0.1,
            blink: 0.01,
            regret_recreate: 0.1,
            t_start: 1.0,
            t_end: 0.01,
        }
    }
}

/// Plans routes for `problem`. See [`Options`] for determinism.
pub fn solve(problem: &Problem, options: &Options) -> Solution {
    solve_tuned(problem, options, Tuning::default())
}

pub(crate) fn solve_tuned(problem: &Problem, options: &Options, tuning: Tuning) -> Solution {
    let started = Instant::now();
    let ctx = Ctx::new(problem);
    let mut rng = Rng::new(options.seed);

    let (servable, excluded) = screen(&ctx);
    let mut current = State::empty(&ctx);
    insert::regret(&ctx, &mut current, &servable, 3);
    local_search::improve(&ctx, &mut current);
    let mut best = current.clone();
    let mut best_cost = best.cost(&ctx);
    let mut current_cost = best_cost;

    let legs = servable.len() + current.routes.len();
    let scale = if legs > 0 { current.distance() / legs as f64 } else { 1.0 };
    let (t_start, t_end) = (tuning.t_start * scale.max(1e-9), tuning.t_end * scale.max(1e-9));
    let shape = RuinShape {
        average: tuning.removed.min(tuning.removed_share * servable.len() as f64).max(1.0),
        max_string: tuning.max_string,
    };

    let mut candidate = current.clone();
    let mut removed: Vec<u32> = Vec::new();
    let mut iterations = 0;
    let mut stopped_by_time_limit = false;
    while iterations < options.iterations && !servable.is_empty() {
        if iterations % 32 == 0 && started.elapsed() >= options.time_limit {
            stopped_by_time_limit = true;
            break;
        }
        let progress = iterations as f64 / options.iterations as f64;
        let temperature = t_start * (t_end / t_start).powf(progress);
        iterations += 1;

        candidate.clone_from(&current);
        removed.clear();
        if candidate.routes.is_empty() {
            // Nothing to ruin: only retry the unassigned stops.
        } else if rng.chance(tuning.random_ruin) {
            let count = 1 + rng.below((2.0 * shape.average) as usize);
            ruin::random(&ctx, &mut candidate, &mut rng, count, &mut removed);
        } else {
            ruin::strings(&ctx, &mut candidate, &mut rng, shape, &mut removed);
        }
        removed.append(&mut candidate.unassigned);
        if rng.chance(tuning.regret_recreate) {
            insert::regret(&ctx, &mut candidate, &removed, 2);
        } else {
            order(&ctx, &mut removed, &mut rng);
            insert::greedy(&ctx, &mut candidate, &removed, &mut rng, tuning.blink);
        }

        let cost = candidate.cost(&ctx);
        let threshold = current_cost - temperature * rng.unit().max(f64::MIN_POSITIVE).ln();
        if cost < threshold {
            std::mem::swap(&mut current, &mut candidate);
            current_cost = cost;
            if current_cost < best_cost - 1e-9 {
                local_search::improve(&ctx, &mut current);
                current_cost = current.cost(&ctx);
                best.clone_from(&current);
                best_cost = current_cost;
            }
        }
    }
    local_search::improve(&ctx, &mut best);
    output(&ctx, &best, excluded, iterations, stopped_by_time_limit)
}

/// Splits the stops into those some vehicle could serve on a route of its own
/// and those no plan can serve, with the reason.
fn screen(ctx: &Ctx) -> (Vec<u32>, Vec<(u32, UnassignedReason)>) {
    let fleet = ctx.problem.fleet();
    let mut servable = Vec::new();
    let mut excluded = Vec::new();
    for node in 1..ctx.problem.nodes() as u32 {
        let demand = ctx.demand[node as usize];
        let carriers: Vec<usize> =
            (0..fleet.len()).filter(|&vt| fleet[vt].count > 0 && fleet[vt].capacity >= demand).collect();
        if carriers.is_empty() {
            let reason = if fleet.iter().any(|vt| vt.count > 0) {
                UnassignedReason::DemandExceedsCapacity
            } else {
                UnassignedReason::NoVehicleLeft
            };
            excluded.push((node, reason));
            continue;
        }
        let in_window = carriers.iter().any(|&vt| {
            let open = ctx.depot[vt].join(&ctx.visit[node as usize], ctx.problem);
            open.feasible() && open.join(&ctx.depot[vt], ctx.problem).feasible()
        });
        if !in_window {
            excluded.push((node, UnassignedReason::WindowUnreachable));
        } else if !carriers.iter().any(|&vt| insert::solo_feasible(ctx, vt, node)) {
            excluded.push((node, UnassignedReason::RideTimeExceeded));
        } else {
            servable.push(node);
        }
    }
    (servable, excluded)
}

/// Orders removed stops for reinsertion: at random, by demand, by distance from
/// the depot (far or near first), or by closing time.
fn order(ctx: &Ctx, nodes: &mut [u32], rng: &mut Rng) {
    let p = ctx.problem;
    let roll = rng.below(12);
    rng.shuffle(nodes);
    match roll {
        0..=3 => {}
        4..=6 => nodes.sort_by(|&a, &b| ctx.demand[b as usize].cmp(&ctx.demand[a as usize])),
        7..=8 => nodes.sort_by(|&a, &b| p.distance(0, b as usize).total_cmp(&p.distance(0, a as usize))),
        9 => nodes.sort_by(|&a, &b| p.distance(0, a as usize).total_cmp(&p.distance(0, b as usize))),
        _ => nodes.sort_by(|&a, &b| ctx.visit[a as usize].latest.total_cmp(&ctx.visit[b as usize].latest)),
    }
}

/// Turns the search state into the public plan with schedules: each vehicle
/// leaves as late as its route allows and then serves each stop as early as it
/// can.
fn output(
    ctx: &Ctx,
    state: &State,
    excluded: Vec<(u32, UnassignedReason)>,
    iterations: u64,
    stopped_by_time_limit: bool,
) -> Solution {
    let p = ctx.problem;
    let stops = p.stops();
    let mut routes: Vec<Route> = state
        .routes
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| {
            let departure = r.full.latest;
            let (mut clock, mut prev) = (departure, 0usize);
            let visits = r
                .nodes
                .iter()
                .map(|&node| {
                    let i = node as usize;
                    let stop = &stops[i - 1];
                    let arrival = clock + p.travel_time(prev, i);
                    let start = arrival.max(stop.window_start);
                    clock = start + stop.service_time;
                    prev = i;
                    Visit { stop_id: stop.id.clone(), arrival, start, departure: clock }
                })
                .collect();
            Route {
                vehicle_type: r.vt,
                departure,
                return_time: clock + p.travel_time(prev, 0),
                load: r.full.load,
                distance: r.full.distance,
                visits,
            }
        })
        .collect();
    // A stable order: by vehicle type, then departure, then first stop.
    routes.sort_by(|a, b| {
        a.vehicle_type
            .cmp(&b.vehicle_type)
            .then(a.departure.total_cmp(&b.departure))
            .then_with(|| a.visits.first().map(|v| &v.stop_id).cmp(&b.visits.first().map(|v| &v.stop_id)))
    });
    let mut unassigned: Vec<(u32, UnassignedReason)> = excluded;
    unassigned.extend(state.unassigned.iter().map(|&node| (node, UnassignedReason::NoVehicleLeft)));
    unassigned.sort_by_key(|&(node, _)| node);
    let total_distance = routes.iter().map(|r| r.distance).sum();
    let total_cost = state.routes.iter().map(|r| r.cost).sum();
    Solution {
        routes,
        unassigned: unassigned
            .into_iter()
            .map(|(node, reason)| Unassigned { stop_id: stops[node as usize - 1].id.clone(), reason })
            .collect(),
        total_distance,
        total_cost,
        iterations,
        stopped_by_time_limit,
    }
}
