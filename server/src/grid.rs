//! H3 grid cells: stored as BIGINT (the u64 index bit-for-bit), shown as 15 hex digits.

use h3o::{CellIndex, LatLng, Resolution};

pub fn to_db(cell: CellIndex) -> i64 {
    u64::from(cell) as i64
}

pub fn from_db(value: i64) -> Option<CellIndex> {
    CellIndex::try_from(value as u64).ok()
}

/// The standard string form of a stored cell (`89283082803ffff`).
pub fn cell_string(value: i64) -> String {
    format!("{:x}", value as u64)
}

pub fn cell_of(latitude: f64, longitude: f64, resolution: Resolution) -> Option<CellIndex> {
    LatLng::new(latitude, longitude).ok().map(|ll| ll.to_cell(resolution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_through_the_database_form() {
        let cell = cell_of(39.1175, 117.2012, Resolution::Nine).unwrap();
        let stored = to_db(cell);
        assert_eq!(from_db(stored), Some(cell));
        assert_eq!(cell_string(stored), cell.to_string());
        assert_eq!(cell_string(stored).len(), 15);
    }
}
