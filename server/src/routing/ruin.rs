//! Taking stops off a plan so the recreate step can put them back better.
//!
//! Strings: around a random seed stop, cut short runs of consecutive stops out of
//! the routes that pass nearest to it (sometimes keeping a piece in the middle of
//! the run). Removing neighbours of each other from several routes at once gives
//! reinsertion room to exchange stops between those routes — the idea behind
//! Christiaens and Vanden Berghe's slack induction by string removals. Random:
//! stops anywhere, for diversity.

use super::rng::Rng;
use super::state::{Ctx, NONE, State};

/// Ruin shape, set once per search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuinShape {
    /// Average number of stops removed.
    pub average: f64,
    /// Longest string cut from one route.
    pub max_string: usize,
}

/// Removes strings of stops near a random seed; returns the removed stops.
pub(crate) fn strings(ctx: &Ctx, state: &mut State, rng: &mut Rng, shape: RuinShape, out: &mut Vec<u32>) {
    let routed: usize = state.routes.iter().map(|r| r.len()).sum();
    if routed == 0 {
        return;
    }
    let average_len = routed as f64 / state.routes.len() as f64;
    let string_max = (shape.max_string as f64).min(average_len);
    let strings_max = 4.0 * shape.average / (1.0 + string_max) - 1.0;
    let strings = (1.0 + rng.unit() * strings_max).floor().max(1.0) as usize;

    let seed = pick_routed(state, rng);
    let mut ruined: Vec<u32> = Vec::with_capacity(strings);
    for &node in std::iter::once(&seed).chain(&ctx.neighbours[seed as usize]) {
        if ruined.len() >= strings {
            break;
        }
        let r = state.route_of[node as usize];
        if r == NONE || ruined.contains(&r) {
            continue;
        }
        ruined.push(r);
        let r = r as usize;
        let m = state.routes[r].len();
        let pos = state.pos[node as usize] as usize;
        let len_max = string_max.min(m as f64);
        let len = ((1.0 + rng.unit() * len_max).floor() as usize).clamp(1, m);
        if len < m && rng.chance(0.5) {
            // Split string: a run of `len + kept` stops around `node`, of which a
            // random inner piece of `kept` stays.
            let mut kept = 1;
            while len + kept < m && rng.chance(0.5) {
                kept += 1;
            }
            let total = len + kept;
            let start = string_start(pos, total, m, rng);
            let keep_at = start + rng.below(total - kept + 1);
            let (a, b) = (keep_at - start, start + total - keep_at - kept);
            state.take(r, keep_at + kept, keep_at + kept + b, out);
            state.take(r, start, start + a, out);
        } else {
            let start = string_start(pos, len, m, rng);
            state.take(r, start, start + len, out);
        }
        state.refresh(ctx, r);
    }
    state.drop_empty();
}

/// Removes `count` routed stops chosen uniformly at random.
pub(crate) fn random(ctx: &Ctx, state: &mut State, rng: &mut Rng, count: usize, out: &mut Vec<u32>) {
    let mut routed: Vec<u32> = state.routes.iter().flat_map(|r| r.nodes.iter().copied()).collect();
    let count = count.min(routed.len());
    for i in 0..count {
        let j = i + rng.below(routed.len() - i);
        routed.swap(i, j);
    }
    let mut touched: Vec<usize> = Vec::new();
    for &node in &routed[..count] {
        let r = state.route_of[node as usize] as usize;
        let Some(k) = state.routes[r].nodes.iter().position(|&n| n == node) else { continue };
        state.take(r, k, k + 1, out);
        if !touched.contains(&r) {
            touched.push(r);
        }
    }
    for &r in &touched {
        state.refresh(ctx, r);
    }
    state.drop_empty();
}

/// A start for a run of `len` stops that contains position `pos`, uniformly.
fn string_start(pos: usize, len: usize, m: usize, rng: &mut Rng) -> usize {
    let lowest = (pos + 1).saturating_sub(len);
    let highest = pos.min(m - len);
    lowest + rng.below(highest - lowest + 1)
}

/// A random stop on some route (the plan must have one).
fn pick_routed(state: &State, rng: &mut Rng) -> u32 {
    let r = rng.below(state.routes.len());
    let route = &state.routes[r];
    route.nodes[rng.below(route.len())]
}
