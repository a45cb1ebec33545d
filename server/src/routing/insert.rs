//! Putting stops on routes: the cheapest feasible position of one stop, greedy
//! reinsertion with "blinks" (positions skipped at random, so that repeated
//! recreates differ), and regret-k insertion for building the first plan.

use super::rng::Rng;
use super::state::{Ctx, Route, State};

/// Where a stop goes: a position on an existing route, or a new route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Place {
    On { route: usize, pos: usize },
    New { vt: usize },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Insertion {
    pub place: Place,
    pub delta: f64,
}

/// The cheapest feasible position of `node` on `route`, skipping each position
/// with probability `blink`; only positions cheaper than `bound` are checked.
#[inline]
pub(crate) fn best_on_route(
    ctx: &Ctx,
    route: &Route,
    node: u32,
    mut bound: f64,
    blink: Option<(&mut Rng, f64)>,
) -> Option<(usize, f64)> {
    if route.full.load + ctx.demand[node as usize] > ctx.capacity(route.vt) {
        return None;
    }
    let visit = &ctx.visit[node as usize];
    let mut best = None;
    let mut blink = blink;
    let m = route.len();
    let mut prev = 0u32;
    for k in 0..=m {
        let next = if k < m { route.nodes[k] } else { 0 };
        let here = prev;
        prev = next;
        if let Some((rng, rate)) = blink.as_mut()
            && rng.chance(*rate)
        {
            continue;
        }
        let delta = ctx.dist(here, node) + ctx.dist(node, next) - ctx.dist(here, next);
        if delta >= bound {
            continue;
        }
        if route.splice(ctx, k, visit, k).is_some() {
            bound = delta;
            best = Some((k, delta));
        }
    }
    best
}

/// The cheapest new route for `node`, if a vehicle is free and it is feasible.
pub(crate) fn best_new_route(ctx: &Ctx, state: &State, node: u32) -> Option<(usize, f64)> {
    let fleet = ctx.problem.fleet();
    let mut best: Option<(usize, f64)> = None;
    for (vt, kind) in fleet.iter().enumerate() {
        if state.used[vt] >= kind.count || kind.capacity < ctx.demand[node as usize] {
            continue;
        }
        let cost = 2.0 * ctx.dist(0, node) + kind.cost_per_route;
        if best.is_some_and(|(_, c)| c <= cost) {
            continue;
        }
        if solo_feasible(ctx, vt, node) {
            best = Some((vt, cost));
        }
    }
    best
}

/// Whether `node` alone on a route of type `vt` meets its window, the shift and
/// the ride limit (capacity not checked).
pub(crate) fn solo_feasible(ctx: &Ctx, vt: usize, node: u32) -> bool {
    let open = ctx.depot[vt].join(&ctx.visit[node as usize], ctx.problem);
    open.feasible() && ctx.close(vt, &open).is_some()
}

/// The cheapest feasible place for `node` anywhere.
pub(crate) fn best_insertion(ctx: &Ctx, state: &State, node: u32, rng: &mut Rng, blink: f64) -> Option<Insertion> {
    let mut best: Option<Insertion> =
        best_new_route(ctx, state, node).map(|(vt, delta)| Insertion { place: Place::New { vt }, delta });
    for (r, route) in state.routes.iter().enumerate() {
        let bound = best.map_or(f64::INFINITY, |b| b.delta);
        let blink = if blink > 0.0 { Some((&mut *rng, blink)) } else { None };
        if let Some((pos, delta)) = best_on_route(ctx, route, node, bound, blink) {
            best = Some(Insertion { place: Place::On { route: r, pos }, delta });
        }
    }
    best
}

/// Applies an insertion; returns the route it went to.
pub(crate) fn apply(ctx: &Ctx, state: &mut State, node: u32, place: Place) -> usize {
    match place {
        Place::On { route, pos } => {
            state.routes[route].nodes.insert(pos, node);
            state.refresh(ctx, route);
            route
        }
        Place::New { vt } => state.open(ctx, vt, vec![node]),
    }
}

/// Inserts `nodes` one by one, in the given order, each at its cheapest place
/// (with blinks); those that fit nowhere join `state.unassigned`.
pub(crate) fn greedy(ctx: &Ctx, state: &mut State, nodes: &[u32], rng: &mut Rng, blink: f64) {
    for &node in nodes {
        match best_insertion(ctx, state, node, rng, blink) {
            Some(ins) => {
                apply(ctx, state, node, ins.place);
            }
            None => state.unassigned.push(node),
        }
    }
}

/// Regret-k insertion: repeatedly inserts the stop whose best place is most
/// ahead of its k-1 next best places on other routes (the stop that loses most
/// by waiting). Best places per (stop, route) are cached and recomputed only for
/// the route that changed, so a step costs O(stops × routes).
pub(crate) fn regret(ctx: &Ctx, state: &mut State, nodes: &[u32], k: usize) {
    const MISSING: f64 = f64::INFINITY;
    let mut pending: Vec<u32> = nodes.to_vec();
    // cache[i][r]: best (delta, pos) of pending[i] on route r.
    let mut cache: Vec<Vec<(f64, usize)>> = pending
        .iter()
        .map(|&node| {
            state
                .routes
                .iter()
                .map(|route| best_on_route(ctx, route, node, MISSING, None).map_or((MISSING, 0), |(p, d)| (d, p)))
                .collect()
        })
        .collect();
    // The worst a missing option can be: a big constant makes stops with few
    // options urgent without overflowing.
    let far = ctx.penalty;
    let mut top = vec![MISSING; k.max(1)];
    while !pending.is_empty() {
        let mut choice: Option<(f64, f64, usize, Place)> = None; // (regret, best delta, index, place)
        let mut hopeless = Vec::new();
        for (i, &node) in pending.iter().enumerate() {
            top.iter_mut().for_each(|t| *t = MISSING);
            let mut best_place = None;
            let mut consider = |delta: f64, place: Place, top: &mut [f64]| {
                if delta < top[0] {
                    best_place = Some(place);
                }
                if delta < top[top.len() - 1] {
                    let mut j = top.len() - 1;
                    while j > 0 && top[j - 1] > delta {
                        top[j] = top[j - 1];
                        j -= 1;
                    }
                    top[j] = delta;
                }
            };
            for (r, &(delta, pos)) in cache[i].iter().enumerate() {
                if delta < MISSING {
                    consider(delta, Place::On { route: r, pos }, &mut top);
                }
            }
            if let Some((vt, delta)) = best_new_route(ctx, state, node) {
                consider(delta, Place::New { vt }, &mut top);
            }
            let Some(place) = best_place else {
                hopeless.push(i);
                continue;
            };
            let regret: f64 = top[1..].iter().map(|&t| t.min(far) - top[0]).sum();
            let better = match choice {
                None => true,
                Some((best_regret, best_delta, _, _)) => {
                    regret > best_regret || (regret == best_regret && top[0] < best_delta)
                }
            };
            if better {
                choice = Some((regret, top[0], i, place));
            }
        }
        let chosen = choice.map(|(_, _, i, place)| (pending[i], place));
        if !hopeless.is_empty() {
            let mut i = 0;
            let mut h = hopeless.iter().peekable();
            pending.retain(|&node| {
                let drop = h.next_if_eq(&&i).is_some();
                if drop {
                    state.unassigned.push(node);
                }
                i += 1;
                !drop
            });
            let mut i = 0;
            let mut h = hopeless.iter().peekable();
            cache.retain(|_| {
                let drop = h.next_if_eq(&&i).is_some();
                i += 1;
                !drop
            });
        }
        let Some((node, place)) = chosen else { break };
        let Some(index) = pending.iter().position(|&p| p == node) else { break };
        pending.swap_remove(index);
        cache.swap_remove(index);
        let r = apply(ctx, state, node, place);
        let route = &state.routes[r];
        for (i, &other) in pending.iter().enumerate() {
            let best = best_on_route(ctx, route, other, MISSING, None).map_or((MISSING, 0), |(p, d)| (d, p));
            if r < cache[i].len() {
                cache[i][r] = best;
            } else {
                cache[i].push(best);
            }
        }
    }
    // Nothing is lost should the loop stop early.
    state.unassigned.append(&mut pending);
}
