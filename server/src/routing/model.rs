//! The problem: a depot, a fleet, the stops, how travel is measured, and the
//! precomputed distance and travel-time matrices.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A place. Under [`Metric::Euclidean`] `x` and `y` are plane coordinates; under
/// [`Metric::Haversine`] `x` is the longitude and `y` the latitude, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn xy(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    /// A point on the earth, latitude first as people say it.
    pub const fn lat_lng(lat: f64, lng: f64) -> Self {
        Point { x: lng, y: lat }
    }
}

/// How distance and travel time are measured between two points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metric {
    /// Straight-line distance in the plane; travel time equals distance (the
    /// Solomon convention).
    Euclidean,
    /// Great-circle distance in metres on latitude/longitude; travel time in
    /// minutes is the distance divided by the speed.
    Haversine { metres_per_minute: f64 },
}

/// Mean earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl Metric {
    /// Distance between two points: plane units, or metres for haversine.
    pub fn distance(self, a: Point, b: Point) -> f64 {
        match self {
            Metric::Euclidean => (a.x - b.x).hypot(a.y - b.y),
            Metric::Haversine { .. } => {
                let (lat1, lat2) = (a.y.to_radians(), b.y.to_radians());
                let dlat = lat2 - lat1;
                let dlng = (b.x - a.x).to_radians();
                let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
                2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
            }
        }
    }

    /// Travel time for a distance, in the problem's time unit.
    pub fn travel_time(self, distance: f64) -> f64 {
        match self {
            Metric::Euclidean => distance,
            Metric::Haversine { metres_per_minute } => distance / metres_per_minute,
        }
    }
}

/// `count` identical vehicles (or trips) with one capacity and one shift.
///
/// A vehicle leaves the depot no earlier than `shift_start` and is back no later
/// than `shift_end`. A courier who makes two trips is two vehicle types with
/// consecutive shifts (see `docs/routing.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleType {
    pub count: usize,
    pub capacity: u32,
    pub shift_start: f64,
    pub shift_end: f64,
    /// Added to the objective for every vehicle of this type that is used
    /// (0 when only distance counts).
    #[serde(default)]
    pub cost_per_route: f64,
}

/// One delivery: served once, starting inside `[window_start, window_end]`,
/// taking `service_time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub id: String,
    pub location: Point,
    pub demand: u32,
    pub window_start: f64,
    pub window_end: f64,
    pub service_time: f64,
}

/// The problem as given, before it is checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemSpec {
    pub depot: Point,
    pub fleet: Vec<VehicleType>,
    pub stops: Vec<Stop>,
    pub metric: Metric,
    /// The longest time from leaving the depot to the start of any delivery on
    /// the route (a meal must arrive while still hot). `None`: no limit.
    #[serde(default)]
    pub max_ride_time: Option<f64>,
}

/// Why a [`ProblemSpec`] is not a problem.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemError {
    NotFinite { what: String },
    Negative { what: String },
    EmptyWindow { stop: String },
    EmptyShift { vehicle_type: usize },
    DuplicateStopId { stop: String },
    BadSpeed,
}

impl fmt::Display for ProblemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemError::NotFinite { what } => write!(f, "{what} is not a finite number"),
            ProblemError::Negative { what } => write!(f, "{what} is negative"),
            ProblemError::EmptyWindow { stop } => write!(f, "stop {stop}: the time window ends before it starts"),
            ProblemError::EmptyShift { vehicle_type } => {
                write!(f, "vehicle type {vehicle_type}: the shift ends before it starts")
            }
            ProblemError::DuplicateStopId { stop } => write!(f, "stop id {stop} appears more than once"),
            ProblemError::BadSpeed => write!(f, "the travel speed must be a positive finite number"),
        }
    }
}

impl std::error::Error for ProblemError {}

/// A checked problem with its distance and travel-time matrices.
///
/// Matrix node 0 is the depot and node `i + 1` is `stops[i]`.
#[derive(Debug, Clone)]
pub struct Problem {
    spec: ProblemSpec,
    nodes: usize,
    distance: Vec<f64>,
    time: Vec<f64>,
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spec = ProblemSpec::deserialize(deserializer)?;
        Problem::new(spec).map_err(serde::de::Error::custom)
    }
}

fn finite(value: f64, what: impl FnOnce() -> String) -> Result<(), ProblemError> {
    if value.is_finite() { Ok(()) } else { Err(ProblemError::NotFinite { what: what() }) }
}

fn non_negative(value: f64, what: impl Fn() -> String) -> Result<(), ProblemError> {
    finite(value, &what)?;
    if value < 0.0 { Err(ProblemError::Negative { what: what() }) } else { Ok(()) }
}

impl Problem {
    /// Checks the spec and precomputes the matrices (O(n²) time and memory).
    pub fn new(spec: ProblemSpec) -> Result<Self, ProblemError> {
        finite(spec.depot.x, || "depot x".into())?;
        finite(spec.depot.y, || "depot y".into())?;
        if let Metric::Haversine { metres_per_minute } = spec.metric
            && !(metres_per_minute.is_finite() && metres_per_minute > 0.0)
        {
            return Err(ProblemError::BadSpeed);
        }
        if let Some(ride) = spec.max_ride_time {
            non_negative(ride, || "max_ride_time".into())?;
        }
        for (i, vt) in spec.fleet.iter().enumerate() {
            finite(vt.shift_start, || format!("vehicle type {i} shift_start"))?;
            finite(vt.shift_end, || format!("vehicle type {i} shift_end"))?;
            non_negative(vt.cost_per_route, || format!("vehicle type {i} cost_per_route"))?;
            if vt.shift_end < vt.shift_start {
                return Err(ProblemError::EmptyShift { vehicle_type: i });
            }
        }
        let mut seen = HashSet::with_capacity(spec.stops.len());
        for stop in &spec.stops {
            let id = || stop.id.clone();
            finite(stop.location.x, || format!("stop {} x", stop.id))?;
            finite(stop.location.y, || format!("stop {} y", stop.id))?;
            finite(stop.window_start, || format!("stop {} window_start", stop.id))?;
            finite(stop.window_end, || format!("stop {} window_end", stop.id))?;
            non_negative(stop.service_time, || format!("stop {} service_time", stop.id))?;
            if stop.window_end < stop.window_start {
                return Err(ProblemError::EmptyWindow { stop: id() });
            }
            if !seen.insert(stop.id.as_str()) {
                return Err(ProblemError::DuplicateStopId { stop: id() });
            }
        }

        let points: Vec<Point> = std::iter::once(spec.depot).chain(spec.stops.iter().map(|s| s.location)).collect();
        let nodes = points.len();
        let mut distance = vec![0.0; nodes * nodes];
        for i in 0..nodes {
            for j in (i + 1)..nodes {
                let d = spec.metric.distance(points[i], points[j]);
                distance[i * nodes + j] = d;
                distance[j * nodes + i] = d;
            }
        }
        let time = distance.iter().map(|&d| spec.metric.travel_time(d)).collect();
        Ok(Problem { spec, nodes, distance, time })
    }

    pub fn spec(&self) -> &ProblemSpec {
        &self.spec
    }

    pub fn stops(&self) -> &[Stop] {
        &self.spec.stops
    }

    pub fn fleet(&self) -> &[VehicleType] {
        &self.spec.fleet
    }

    /// Number of matrix nodes: the depot plus every stop.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Distance between matrix nodes (0 is the depot, `i + 1` is stop `i`).
    #[inline]
    pub fn distance(&self, from: usize, to: usize) -> f64 {
        self.distance[from * self.nodes + to]
    }

    /// Travel time between matrix nodes.
    #[inline]
    pub fn travel_time(&self, from: usize, to: usize) -> f64 {
        self.time[from * self.nodes + to]
    }
}
