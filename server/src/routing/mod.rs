//! Meal-delivery routing (送餐路线): a vehicle-routing problem with time windows.
//!
//! A canteen (the depot) sends couriers out with lunches; every stop must be
//! served inside its time window, no courier carries more than its capacity or
//! works past its shift, and, optionally, every meal arrives within a maximum
//! ride time of leaving the kitchen. Among plans that meet all of that, the
//! search minimises first the stops left out, then total distance (plus an
//! optional cost per courier used).
//!
//! [`solve`] builds a first plan by regret-3 insertion and improves it by ruin
//! and recreate (string and random removals; greedy reinsertion with blinks or
//! regret-2 reinsertion) under simulated annealing, polishing each new best plan
//! with local search (relocate and or-opt, swap, 2-opt*, intra-route 2-opt).
//! Every feasibility check is O(1) through time-window segments
//! (`segment.rs`). [`validate`] checks a plan independently. `docs/routing.md`
//! explains the method and the measurements.
//!
//! ```
//! use linli::routing::{Metric, Options, Point, Problem, ProblemSpec, Stop, VehicleType, solve, validate};
//!
//! let problem = Problem::new(ProblemSpec {
//!     depot: Point::xy(0.0, 0.0),
//!     fleet: vec![VehicleType { count: 2, capacity: 10, shift_start: 0.0, shift_end: 100.0, cost_per_route: 0.0 }],
//!     stops: vec![
//!         Stop { id: "a".into(), location: Point::xy(3.0, 4.0), demand: 4, window_start: 0.0, window_end: 20.0, service_time: 1.0 },
//!         Stop { id: "b".into(), location: Point::xy(6.0, 8.0), demand: 4, window_start: 0.0, window_end: 30.0, service_time: 1.0 },
//!     ],
//!     metric: Metric::Euclidean,
//!     max_ride_time: None,
//! })?;
//! let plan = solve(&problem, &Options { iterations: 100, ..Options::default() });
//! assert!(validate(&problem, &plan).is_ok());
//! assert_eq!(plan.routes.len(), 1);
//! assert!((plan.total_distance - 20.0).abs() < 1e-9);
//! # Ok::<(), linli::routing::ProblemError>(())
//! ```

mod insert;
mod local_search;
mod model;
mod rng;
mod ruin;
mod segment;
mod solution;
mod solver;
mod state;

pub mod bench;
pub mod solomon;

pub use model::{Metric, Point, Problem, ProblemError, ProblemSpec, Stop, VehicleType};
pub use solution::{Route, Solution, Unassigned, UnassignedReason, Visit, validate};
pub use solver::{Options, solve};

#[cfg(test)]
mod tests;
