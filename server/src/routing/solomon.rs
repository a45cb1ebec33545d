//! Solomon's VRPTW text format: a vehicle section (count, capacity) and one row
//! per node (`CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE SERVICE TIME`),
//! node 0 being the depot whose due date is the route horizon.

use std::fmt;

use super::model::{Metric, Point, Problem, ProblemError, ProblemSpec, Stop, VehicleType};

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// No `NUMBER CAPACITY` line followed by two integers.
    MissingVehicles,
    /// A node row without seven numbers.
    BadRow {
        line: usize,
    },
    /// No row for node 0.
    MissingDepot,
    Problem(ProblemError),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::MissingVehicles => write!(f, "no vehicle count and capacity found"),
            ParseError::BadRow { line } => write!(f, "line {line}: expected seven numbers"),
            ParseError::MissingDepot => write!(f, "no depot row (customer 0)"),
            ParseError::Problem(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses an instance; stops are named by their customer number.
pub fn parse(text: &str) -> Result<Problem, ParseError> {
    let mut lines = text.lines().enumerate();
    let mut vehicles = None;
    for (_, line) in lines.by_ref() {
        if line.trim_start().starts_with("NUMBER") {
            break;
        }
    }
    for (_, line) in lines.by_ref() {
        let numbers: Vec<&str> = line.split_whitespace().collect();
        if numbers.is_empty() {
            continue;
        }
        if let [count, capacity] = numbers[..]
            && let (Ok(count), Ok(capacity)) = (count.parse::<usize>(), capacity.parse::<u32>())
        {
            vehicles = Some((count, capacity));
        }
        break;
    }
    let (count, capacity) = vehicles.ok_or(ParseError::MissingVehicles)?;

    let mut depot = None;
    let mut stops = Vec::new();
    for (index, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0].parse::<u64>().is_err() {
            continue;
        }
        let numbers: Vec<f64> = fields.iter().filter_map(|f| f.parse::<f64>().ok()).collect();
        if fields.len() != 7 || numbers.len() != 7 {
            return Err(ParseError::BadRow { line: index + 1 });
        }
        let location = Point::xy(numbers[1], numbers[2]);
        if depot.is_none() && numbers[0] == 0.0 {
            depot = Some((location, numbers[4], numbers[5]));
            continue;
        }
        stops.push(Stop {
            id: fields[0].to_owned(),
            location,
            demand: numbers[3] as u32,
            window_start: numbers[4],
            window_end: numbers[5],
            service_time: numbers[6],
        });
    }
    let (depot, open, close) = depot.ok_or(ParseError::MissingDepot)?;
    Problem::new(ProblemSpec {
        depot,
        fleet: vec![VehicleType { count, capacity, shift_start: open, shift_end: close, cost_per_route: 0.0 }],
        stops,
        metric: Metric::Euclidean,
        max_ride_time: None,
    })
    .map_err(ParseError::Problem)
}
