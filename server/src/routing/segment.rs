//! Time-window summaries of route pieces, joined in O(1).
//!
//! A [`Segment`] summarises a sequence of visits: the shortest time from the start
//! of its first visit to the end of its last one (`duration`, waiting included),
//! the interval of start times of the first visit that achieve it
//! (`earliest..=latest`), and how late the sequence would have to run against its
//! windows (`warp`; 0 for a feasible one). Two summaries join with the travel time
//! between them, so a move that cuts routes into pieces and glues them back is
//! checked with a few joins instead of a pass over the routes (the concatenation
//! of Kindervater and Savelsbergh, in the form of Vidal et al. 2013).

use super::model::Problem;

/// Feasibility tolerance for floating-point schedules.
pub(crate) const EPS: f64 = 1e-7;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub first: u32,
    pub last: u32,
    pub duration: f64,
    pub warp: f64,
    pub earliest: f64,
    pub latest: f64,
    pub distance: f64,
    pub load: u32,
}

impl Segment {
    /// A single visit of matrix node `node` with window `[start, end]`.
    pub fn visit(node: usize, start: f64, end: f64, service: f64, demand: u32) -> Self {
        Segment {
            first: node as u32,
            last: node as u32,
            duration: service,
            warp: 0.0,
            earliest: start,
            latest: end,
            distance: 0.0,
            load: demand,
        }
    }

    /// `self` followed by `next`.
    #[inline]
    pub fn join(&self, next: &Segment, problem: &Problem) -> Segment {
        let travel = problem.travel_time(self.last as usize, next.first as usize);
        let delta = self.duration - self.warp + travel;
        let wait = (next.earliest - delta - self.latest).max(0.0);
        let warp = (self.earliest + delta - next.latest).max(0.0);
        Segment {
            first: self.first,
            last: next.last,
            duration: self.duration + next.duration + travel + wait,
            warp: self.warp + next.warp + warp,
            earliest: (next.earliest - delta).max(self.earliest) - wait,
            latest: (next.latest - delta).min(self.latest) + warp,
            distance: self.distance + next.distance + problem.distance(self.last as usize, next.first as usize),
            load: self.load + next.load,
        }
    }

    #[inline]
    pub fn feasible(&self) -> bool {
        self.warp <= EPS
    }
}

/// Whether a route meets the ride limit, given `open` (its start depot up to the
/// last stop), `full` (the same plus the return to the depot) and the last stop's
/// service time. The vehicle leaves as late as the whole route allows
/// (`full.latest`), which gives the shortest ride.
#[inline]
pub(crate) fn ride_ok(open: &Segment, full: &Segment, last_service: f64, max_ride: f64) -> bool {
    ride_time(open, full, last_service) <= max_ride + EPS
}

#[inline]
pub(crate) fn ride_time(open: &Segment, full: &Segment, last_service: f64) -> f64 {
    open.duration - last_service + (open.earliest - full.latest).max(0.0)
}
