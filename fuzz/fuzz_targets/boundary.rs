//! `grid::parse_boundary` on arbitrary text; a boundary it accepts can be tiled at the
//! resolution communities use and asked whether it holds a point, without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use linli::config::Settings;
use linli::grid;

fuzz_target!(|text: &str| {
    let Ok(boundary) = grid::parse_boundary(text) else { return };
    let resolution = Settings::default().resolution();
    if let Ok(cells) = grid::covering_cells(&boundary, resolution) {
        assert!(cells.iter().all(|&cell| grid::from_db(cell).is_some()), "valid cells");
    }
    for position in boundary.0.iter().flat_map(|polygon| polygon.exterior().0.iter()).take(64) {
        let _ = grid::contains(&boundary, position.y, position.x);
    }
    let _ = grid::contains(&boundary, 39.115, 117.195);
});
