//! The search's working representation: routes as node lists with their prefix
//! and suffix [`Segment`]s, so that inserting, removing or exchanging stops is
//! checked in constant time.

use super::model::Problem;
use super::segment::{Segment, ride_ok};

/// Marks a stop that is on no route.
pub(crate) const NONE: u32 = u32::MAX;

/// What the search needs to know about the problem, precomputed once.
pub(crate) struct Ctx<'p> {
    pub problem: &'p Problem,
    /// One visit segment per matrix node (index 0, the depot, is a placeholder).
    pub visit: Vec<Segment>,
    /// The depot as the start and end of a route, per vehicle type.
    pub depot: Vec<Segment>,
    pub service: Vec<f64>,
    pub demand: Vec<u32>,
    pub max_ride: Option<f64>,
    /// Per matrix node, the other stops nearest first (empty for the depot).
    pub neighbours: Vec<Vec<u32>>,
    /// Cost of leaving one stop unassigned: more than any plan's distance.
    pub penalty: f64,
}

impl<'p> Ctx<'p> {
    pub fn new(problem: &'p Problem) -> Self {
        let stops = problem.stops();
        let nodes = problem.nodes();
        let mut visit = vec![Segment::visit(0, 0.0, 0.0, 0.0, 0)];
        visit.extend(
            stops
                .iter()
                .enumerate()
                .map(|(i, s)| Segment::visit(i + 1, s.window_start, s.window_end, s.service_time, s.demand)),
        );
        let depot = problem.fleet().iter().map(|vt| Segment::visit(0, vt.shift_start, vt.shift_end, 0.0, 0)).collect();
        let service = std::iter::once(0.0).chain(stops.iter().map(|s| s.service_time)).collect();
        let demand = std::iter::once(0).chain(stops.iter().map(|s| s.demand)).collect();
        let mut neighbours = vec![Vec::new()];
        for i in 1..nodes {
            let mut near: Vec<u32> = (1..nodes as u32).filter(|&j| j as usize != i).collect();
            near.sort_by(|&a, &b| problem.distance(i, a as usize).total_cmp(&problem.distance(i, b as usize)));
            neighbours.push(near);
        }
        let longest = (0..nodes).map(|i| problem.distance(0, i)).fold(0.0, f64::max);
        let fixed = problem.fleet().iter().map(|vt| vt.cost_per_route).fold(0.0, f64::max);
        // Every route costs at most two depot legs per stop plus its fixed cost
        // more than the empty plan (triangle inequality), so one more stop served
        // always beats any saving in distance.
        let penalty = (2.0 * longest + fixed + 1.0) * (nodes as f64 + 1.0) * 4.0;
        Ctx { problem, visit, depot, service, demand, max_ride: problem.spec().max_ride_time, neighbours, penalty }
    }

    #[inline]
    pub fn dist(&self, a: u32, b: u32) -> f64 {
        self.problem.distance(a as usize, b as usize)
    }

    #[inline]
    pub fn capacity(&self, vt: usize) -> u32 {
        self.problem.fleet()[vt].capacity
    }

    /// Closes `open` (start depot .. last stop) with the return to the depot of
    /// vehicle type `vt`; `None` when a window, the shift or the ride limit is
    /// broken. Capacity is the caller's business.
    #[inline]
    pub fn close(&self, vt: usize, open: &Segment) -> Option<Segment> {
        let full = open.join(&self.depot[vt], self.problem);
        if !full.feasible() {
            return None;
        }
        if let Some(max_ride) = self.max_ride
            && open.last != 0
            && !ride_ok(open, &full, self.service[open.last as usize], max_ride)
        {
            return None;
        }
        Some(full)
    }
}

/// One route: its stops (matrix nodes, without the depot) and their summaries.
#[derive(Debug)]
pub(crate) struct Route {
    pub vt: usize,
    pub nodes: Vec<u32>,
    /// `fwd[k]`: the start depot followed by the first `k` stops (`k = 0..=m`).
    pub fwd: Vec<Segment>,
    /// `bwd[k]`: stops `k..m`, without the depot (`k = 0..m`).
    pub bwd: Vec<Segment>,
    /// The whole route, back at the depot.
    pub full: Segment,
    /// Distance plus the vehicle's fixed cost.
    pub cost: f64,
}

impl Clone for Route {
    fn clone(&self) -> Self {
        Route {
            vt: self.vt,
            nodes: self.nodes.clone(),
            fwd: self.fwd.clone(),
            bwd: self.bwd.clone(),
            full: self.full,
            cost: self.cost,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.vt = source.vt;
        self.nodes.clone_from(&source.nodes);
        self.fwd.clone_from(&source.fwd);
        self.bwd.clone_from(&source.bwd);
        self.full = source.full;
        self.cost = source.cost;
    }
}

impl Route {
    pub fn new(ctx: &Ctx, vt: usize, nodes: Vec<u32>) -> Self {
        let depot = ctx.depot[vt];
        let mut route = Route { vt, nodes, fwd: Vec::new(), bwd: Vec::new(), full: depot, cost: 0.0 };
        route.rebuild(ctx);
        route
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Recomputes the summaries after `nodes` changed.
    pub fn rebuild(&mut self, ctx: &Ctx) {
        let p = ctx.problem;
        let m = self.nodes.len();
        self.fwd.clear();
        self.fwd.push(ctx.depot[self.vt]);
        for k in 0..m {
            let next = self.fwd[k].join(&ctx.visit[self.nodes[k] as usize], p);
            self.fwd.push(next);
        }
        self.bwd.clear();
        self.bwd.resize(m, ctx.depot[self.vt]);
        for k in (0..m).rev() {
            let here = ctx.visit[self.nodes[k] as usize];
            self.bwd[k] = if k + 1 < m { here.join(&self.bwd[k + 1], p) } else { here };
        }
        self.full = self.fwd[m].join(&ctx.depot[self.vt], p);
        self.cost = if m == 0 { 0.0 } else { self.full.distance + p.fleet()[self.vt].cost_per_route };
    }

    /// The route from the start depot through `head` stops, then `middle`, then
    /// the stops from `tail` on, closed at the depot; `None` if infeasible.
    #[inline]
    pub fn splice(&self, ctx: &Ctx, head: usize, middle: &Segment, tail: usize) -> Option<Segment> {
        let p = ctx.problem;
        let open = self.fwd[head].join(middle, p);
        if !open.feasible() {
            return None;
        }
        let open = if tail < self.len() { open.join(&self.bwd[tail], p) } else { open };
        ctx.close(self.vt, &open)
    }

    /// Like [`Route::splice`] without a middle piece.
    #[inline]
    pub fn cut(&self, ctx: &Ctx, head: usize, tail: usize) -> Option<Segment> {
        let open = if tail < self.len() { self.fwd[head].join(&self.bwd[tail], ctx.problem) } else { self.fwd[head] };
        ctx.close(self.vt, &open)
    }
}

/// A plan under construction or search.
#[derive(Debug)]
pub(crate) struct State {
    pub routes: Vec<Route>,
    /// Stops that could be served but are not (yet).
    pub unassigned: Vec<u32>,
    /// Routes in use per vehicle type.
    pub used: Vec<usize>,
    /// Per matrix node: the route it is on, or [`NONE`].
    pub route_of: Vec<u32>,
    /// Per matrix node: its position on that route.
    pub pos: Vec<u32>,
}

impl Clone for State {
    fn clone(&self) -> Self {
        State {
            routes: self.routes.clone(),
            unassigned: self.unassigned.clone(),
            used: self.used.clone(),
            route_of: self.route_of.clone(),
            pos: self.pos.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.routes.clone_from(&source.routes);
        self.unassigned.clone_from(&source.unassigned);
        self.used.clone_from(&source.used);
        self.route_of.clone_from(&source.route_of);
        self.pos.clone_from(&source.pos);
    }
}

impl State {
    pub fn empty(ctx: &Ctx) -> Self {
        let nodes = ctx.problem.nodes();
        State {
            routes: Vec::new(),
            unassigned: Vec::new(),
            used: vec![0; ctx.problem.fleet().len()],
            route_of: vec![NONE; nodes],
            pos: vec![0; nodes],
        }
    }

    pub fn distance(&self) -> f64 {
        self.routes.iter().map(|r| r.full.distance).sum()
    }

    /// The objective: route costs plus the penalty for every unassigned stop.
    pub fn cost(&self, ctx: &Ctx) -> f64 {
        self.routes.iter().map(|r| r.cost).sum::<f64>() + ctx.penalty * self.unassigned.len() as f64
    }

    /// Rebuilds route `r` after its nodes changed and re-indexes its stops.
    pub fn refresh(&mut self, ctx: &Ctx, r: usize) {
        let route = &mut self.routes[r];
        route.rebuild(ctx);
        for (k, &node) in route.nodes.iter().enumerate() {
            self.route_of[node as usize] = r as u32;
            self.pos[node as usize] = k as u32;
        }
    }

    /// Opens a route of type `vt` with the given stops.
    pub fn open(&mut self, ctx: &Ctx, vt: usize, nodes: Vec<u32>) -> usize {
        self.routes.push(Route::new(ctx, vt, nodes));
        self.used[vt] += 1;
        let r = self.routes.len() - 1;
        self.refresh(ctx, r);
        r
    }

    /// Drops routes left without stops (route indices change).
    pub fn drop_empty(&mut self) {
        let mut r = 0;
        while r < self.routes.len() {
            if self.routes[r].is_empty() {
                let vt = self.routes[r].vt;
                self.used[vt] -= 1;
                self.routes.swap_remove(r);
                if r < self.routes.len() {
                    for &node in &self.routes[r].nodes {
                        self.route_of[node as usize] = r as u32;
                    }
                }
            } else {
                r += 1;
            }
        }
    }

    /// Takes stops `from..to` off route `r` (summaries are stale until refreshed).
    pub fn take(&mut self, r: usize, from: usize, to: usize, out: &mut Vec<u32>) {
        for node in self.routes[r].nodes.drain(from..to) {
            self.route_of[node as usize] = NONE;
            out.push(node);
        }
    }
}
