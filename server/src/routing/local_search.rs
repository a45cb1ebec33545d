//! Local search: first-improvement descent over moves between a stop and its
//! nearest neighbours (a granular neighbourhood), all checked for windows,
//! capacity, shift and ride time.
//!
//! Between two routes: relocate a run of 1–3 stops next to a neighbour (or-opt),
//! swap two stops, and 2-opt* (exchange the tails of two routes, both ways).
//! Inside a route: relocate a run of 1–3 stops, and 2-opt (reverse a piece).
//! Moves between routes are checked in O(1) with the routes' segments; moves
//! inside a route fold the new order once, and only when they shorten it.

use super::segment::Segment;
use super::state::{Ctx, Route, State};

/// Neighbours tried per stop.
const GRANULARITY: usize = 25;
/// Improvements smaller than this are ignored (they would be rounding noise).
const GAIN: f64 = 1e-7;

/// Improves `state` until no move in the neighbourhood helps.
pub(crate) fn improve(ctx: &Ctx, state: &mut State) {
    let nodes = ctx.problem.nodes() as u32;
    let mut improved = true;
    let mut passes = 0;
    while improved && passes < 50 {
        improved = false;
        passes += 1;
        for u in 1..nodes {
            if state.route_of[u as usize] == super::state::NONE {
                continue;
            }
            let near = ctx.neighbours[u as usize].len().min(GRANULARITY);
            for i in 0..near {
                let v = ctx.neighbours[u as usize][i];
                if state.route_of[v as usize] == super::state::NONE {
                    continue;
                }
                if try_moves(ctx, state, u, v) {
                    improved = true;
                }
            }
        }
    }
    state.drop_empty();
}

/// A node of a route, the depot (0) beyond either end.
#[inline]
fn at(route: &Route, k: isize) -> u32 {
    if k < 0 || k as usize >= route.len() { 0 } else { route.nodes[k as usize] }
}

/// Tries every move between `u` and `v`; applies the first that improves.
fn try_moves(ctx: &Ctx, state: &mut State, u: u32, v: u32) -> bool {
    let (a, b) = (state.route_of[u as usize] as usize, state.route_of[v as usize] as usize);
    let (pu, pv) = (state.pos[u as usize] as usize, state.pos[v as usize] as usize);
    if a == b {
        return intra(ctx, state, a, pu, pv);
    }
    for len in 1..=3 {
        if relocate(ctx, state, a, pu, len, b, pv + 1) || relocate(ctx, state, a, pu, len, b, pv) {
            return true;
        }
    }
    swap(ctx, state, a, pu, b, pv) || two_opt_star(ctx, state, a, pu, b, pv)
}

/// The fixed cost saved when a route of type `vt` is left empty.
fn saving_if_empty(ctx: &Ctx, vt: usize, remaining: usize) -> f64 {
    if remaining == 0 { ctx.problem.fleet()[vt].cost_per_route } else { 0.0 }
}

/// A run of stops of route `r` from `from` (exclusive `to`) as one segment.
fn run_of(ctx: &Ctx, route: &Route, from: usize, to: usize) -> Segment {
    let mut seg = ctx.visit[route.nodes[from] as usize];
    for &node in &route.nodes[from + 1..to] {
        seg = seg.join(&ctx.visit[node as usize], ctx.problem);
    }
    seg
}

/// Moves stops `pu..pu + len` of route `a` to position `to` of route `b`.
fn relocate(ctx: &Ctx, state: &mut State, a: usize, pu: usize, len: usize, b: usize, to: usize) -> bool {
    let (ra, rb) = (&state.routes[a], &state.routes[b]);
    if pu + len > ra.len() {
        return false;
    }
    let (first, last) = (ra.nodes[pu], ra.nodes[pu + len - 1]);
    let (before, after) = (at(ra, pu as isize - 1), at(ra, (pu + len) as isize));
    let (left, right) = (at(rb, to as isize - 1), at(rb, to as isize));
    let delta = ctx.dist(before, after) - ctx.dist(before, first) - ctx.dist(last, after)
        + ctx.dist(left, first)
        + ctx.dist(last, right)
        - ctx.dist(left, right)
        - saving_if_empty(ctx, ra.vt, ra.len() - len);
    if delta > -GAIN {
        return false;
    }
    let piece = run_of(ctx, ra, pu, pu + len);
    if rb.full.load + piece.load > ctx.capacity(rb.vt)
        || ra.cut(ctx, pu, pu + len).is_none()
        || rb.splice(ctx, to, &piece, to).is_none()
    {
        return false;
    }
    let moved: Vec<u32> = state.routes[a].nodes.drain(pu..pu + len).collect();
    state.routes[b].nodes.splice(to..to, moved);
    state.refresh(ctx, a);
    state.refresh(ctx, b);
    true
}

/// Exchanges stop `pu` of route `a` with stop `pv` of route `b`.
fn swap(ctx: &Ctx, state: &mut State, a: usize, pu: usize, b: usize, pv: usize) -> bool {
    let (ra, rb) = (&state.routes[a], &state.routes[b]);
    let (u, v) = (ra.nodes[pu], rb.nodes[pv]);
    let (ua, ub) = (at(ra, pu as isize - 1), at(ra, pu as isize + 1));
    let (va, vb) = (at(rb, pv as isize - 1), at(rb, pv as isize + 1));
    let delta =
        ctx.dist(ua, v) + ctx.dist(v, ub) - ctx.dist(ua, u) - ctx.dist(u, ub) + ctx.dist(va, u) + ctx.dist(u, vb)
            - ctx.dist(va, v)
            - ctx.dist(v, vb);
    if delta > -GAIN {
        return false;
    }
    let (du, dv) = (ctx.demand[u as usize], ctx.demand[v as usize]);
    if ra.full.load - du + dv > ctx.capacity(ra.vt)
        || rb.full.load - dv + du > ctx.capacity(rb.vt)
        || ra.splice(ctx, pu, &ctx.visit[v as usize], pu + 1).is_none()
        || rb.splice(ctx, pv, &ctx.visit[u as usize], pv + 1).is_none()
    {
        return false;
    }
    state.routes[a].nodes[pu] = v;
    state.routes[b].nodes[pv] = u;
    state.refresh(ctx, a);
    state.refresh(ctx, b);
    true
}

/// Exchanges the tails of routes `a` and `b`: after `u` comes what followed `v`
/// and the other way round, or `u` is followed by `v` and its tail.
fn two_opt_star(ctx: &Ctx, state: &mut State, a: usize, pu: usize, b: usize, pv: usize) -> bool {
    // Cut `a` after `cut_a` stops and `b` after `cut_b` stops, then cross.
    for (cut_a, cut_b) in [(pu + 1, pv + 1), (pu + 1, pv)] {
        let (ra, rb) = (&state.routes[a], &state.routes[b]);
        let (a_end, a_next) = (at(ra, cut_a as isize - 1), at(ra, cut_a as isize));
        let (b_end, b_next) = (at(rb, cut_b as isize - 1), at(rb, cut_b as isize));
        let (new_a, new_b) = (cut_a + rb.len() - cut_b, cut_b + ra.len() - cut_a);
        let delta = ctx.dist(a_end, b_next) + ctx.dist(b_end, a_next)
            - ctx.dist(a_end, a_next)
            - ctx.dist(b_end, b_next)
            - saving_if_empty(ctx, ra.vt, new_a)
            - saving_if_empty(ctx, rb.vt, new_b);
        if delta > -GAIN {
            continue;
        }
        let load_a = ra.fwd[cut_a].load + if cut_b < rb.len() { rb.bwd[cut_b].load } else { 0 };
        let load_b = rb.fwd[cut_b].load + if cut_a < ra.len() { ra.bwd[cut_a].load } else { 0 };
        if load_a > ctx.capacity(ra.vt)
            || load_b > ctx.capacity(rb.vt)
            || cross(ctx, ra, cut_a, rb, cut_b).is_none()
            || cross(ctx, rb, cut_b, ra, cut_a).is_none()
        {
            continue;
        }
        let tail_a: Vec<u32> = state.routes[a].nodes.drain(cut_a..).collect();
        let tail_b: Vec<u32> = state.routes[b].nodes.drain(cut_b..).collect();
        state.routes[a].nodes.extend(tail_b);
        state.routes[b].nodes.extend(tail_a);
        state.refresh(ctx, a);
        state.refresh(ctx, b);
        return true;
    }
    false
}

/// The first `head` stops of `first` followed by the stops of `second` from
/// `tail` on, on `first`'s vehicle.
fn cross(ctx: &Ctx, first: &Route, head: usize, second: &Route, tail: usize) -> Option<Segment> {
    let open = if tail < second.len() { first.fwd[head].join(&second.bwd[tail], ctx.problem) } else { first.fwd[head] };
    if !open.feasible() {
        return None;
    }
    ctx.close(first.vt, &open)
}

/// Moves inside one route: relocating a run of 1–3 stops next to another stop,
/// and reversing the piece between two stops.
fn intra(ctx: &Ctx, state: &mut State, r: usize, pu: usize, pv: usize) -> bool {
    let route = &state.routes[r];
    let m = route.len() as isize;
    let node = |k: isize| at(route, k);
    let mut best: Option<Vec<u32>> = None;
    // Relocate stops pu..pu+len to just after pv (or before it).
    'relocate: for len in 1..=3usize {
        if pu + len > route.len() {
            break;
        }
        let (s, e) = (pu as isize, (pu + len) as isize);
        for to in [pv as isize + 1, pv as isize] {
            if to >= s && to <= e {
                continue;
            }
            let delta =
                ctx.dist(node(s - 1), node(e)) - ctx.dist(node(s - 1), node(s)) - ctx.dist(node(e - 1), node(e))
                    + ctx.dist(node(to - 1), node(s))
                    + ctx.dist(node(e - 1), node(to))
                    - ctx.dist(node(to - 1), node(to));
            if delta > -GAIN {
                continue;
            }
            let mut order = route.nodes.clone();
            let moved: Vec<u32> = order.drain(pu..pu + len).collect();
            let to = if to > s { to as usize - len } else { to as usize };
            order.splice(to..to, moved);
            if fold(ctx, route.vt, &order).is_some() {
                best = Some(order);
                break 'relocate;
            }
        }
    }
    // 2-opt: reverse the stops strictly after the first of u, v up to the second.
    if best.is_none() {
        let (i, j) = (pu.min(pv) as isize, pu.max(pv) as isize);
        if j < m {
            let delta = ctx.dist(node(i), node(j)) + ctx.dist(node(i + 1), node(j + 1))
                - ctx.dist(node(i), node(i + 1))
                - ctx.dist(node(j), node(j + 1));
            if delta < -GAIN {
                let mut order = route.nodes.clone();
                order[(i + 1) as usize..=j as usize].reverse();
                if fold(ctx, route.vt, &order).is_some() {
                    best = Some(order);
                }
            }
        }
    }
    match best {
        Some(order) => {
            state.routes[r].nodes = order;
            state.refresh(ctx, r);
            true
        }
        None => false,
    }
}

/// The whole route of type `vt` through `nodes`, if feasible (capacity is
/// unchanged by moves inside a route).
fn fold(ctx: &Ctx, vt: usize, nodes: &[u32]) -> Option<Segment> {
    let mut open = ctx.depot[vt];
    for &node in nodes {
        open = open.join(&ctx.visit[node as usize], ctx.problem);
        if !open.feasible() {
            return None;
        }
    }
    ctx.close(vt, &open)
}
