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

/// A community boundary from GeoJSON (a Polygon or MultiPolygon geometry, or a
/// Feature holding one), longitude first.
pub fn parse_boundary(text: &str) -> Result<geo::MultiPolygon<f64>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let geometry = if value["type"] == "Feature" { &value["geometry"] } else { &value };
    let polygon = |rings: &serde_json::Value| -> Result<geo::Polygon<f64>, String> {
        let rings = rings.as_array().ok_or("a polygon is a list of rings")?;
        let mut parsed = rings.iter().map(ring).collect::<Result<Vec<_>, _>>()?.into_iter();
        let exterior = parsed.next().ok_or("a polygon needs an outer ring")?;
        Ok(geo::Polygon::new(exterior, parsed.collect()))
    };
    match geometry["type"].as_str() {
        Some("Polygon") => Ok(geo::MultiPolygon(vec![polygon(&geometry["coordinates"])?])),
        Some("MultiPolygon") => {
            let parts = geometry["coordinates"].as_array().ok_or("MultiPolygon coordinates must be a list")?;
            Ok(geo::MultiPolygon(parts.iter().map(polygon).collect::<Result<_, _>>()?))
        }
        other => Err(format!("expected a Polygon or MultiPolygon, found {}", other.unwrap_or("no type"))),
    }
}

fn ring(value: &serde_json::Value) -> Result<geo::LineString<f64>, String> {
    let points = value.as_array().ok_or("a ring is a list of positions")?;
    let coords = points
        .iter()
        .map(|p| match (p.get(0).and_then(serde_json::Value::as_f64), p.get(1).and_then(serde_json::Value::as_f64)) {
            (Some(x), Some(y)) if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => {
                Ok(geo::Coord { x, y })
            }
            _ => Err("a position is [longitude, latitude] within range".to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 4 || coords.first() != coords.last() {
        return Err("a ring needs at least four positions and must be closed".into());
    }
    Ok(geo::LineString(coords))
}

/// The most cells a community's boundary may need: far more than any community
/// covers (at resolution 9 a box of about 10,000 km²), few enough to tile and store in
/// one request. Without a limit a continent-sized boundary takes minutes and gigabytes.
pub const MAX_COVERING_CELLS: usize = 100_000;

/// The cells that cover a boundary: every point of it lies in one of them (so a cell
/// on the border between two communities belongs to both). Refuses a boundary that
/// could need more than [`MAX_COVERING_CELLS`].
pub fn covering_cells(boundary: &geo::MultiPolygon<f64>, resolution: Resolution) -> Result<Vec<i64>, String> {
    let most = most_covering_cells(boundary, resolution);
    if most > MAX_COVERING_CELLS as f64 {
        return Err(format!(
            "is too large for a community: covering it could take up to {most:.0} cells at resolution {}, \
             and at most {MAX_COVERING_CELLS} are allowed",
            u8::from(resolution)
        ));
    }
    let mut tiler =
        h3o::geom::TilerBuilder::new(resolution).containment_mode(h3o::geom::ContainmentMode::Covers).build();
    for polygon in &boundary.0 {
        tiler.add(polygon.clone()).map_err(|e| format!("cannot tile the boundary: {e}"))?;
    }
    let mut cells: Vec<i64> = tiler.into_coverage().map(to_db).collect();
    cells.sort_unstable();
    cells.dedup();
    Ok(cells)
}

/// An upper bound of the cells covering a boundary, cheap to compute: for each ring
/// (holes are traced too, and may reach outside their polygon), the cells that fit in
/// its bounding box grown by two cell edges on every side, measured at the box's
/// latitude nearest the equator, where it is widest.
fn most_covering_cells(boundary: &geo::MultiPolygon<f64>, resolution: Resolution) -> f64 {
    use geo::BoundingRect;
    const KM_PER_DEGREE: f64 = 6371.0 * std::f64::consts::PI / 180.0;
    // Cells of one resolution differ in size: none is under a third of the average.
    let smallest_cell_km2 = resolution.area_km2() / 3.0;
    let margin_km = 4.0 * resolution.edge_length_km();
    boundary
        .0
        .iter()
        .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
        .filter_map(BoundingRect::bounding_rect)
        .map(|rect| {
            let (south, north) = (rect.min().y, rect.max().y);
            let nearest_equator = if south <= 0.0 && north >= 0.0 { 0.0 } else { south.abs().min(north.abs()) };
            let width = rect.width() * KM_PER_DEGREE * nearest_equator.to_radians().cos() + margin_km;
            let height = rect.height() * KM_PER_DEGREE + margin_km;
            width * height / smallest_cell_km2
        })
        .sum()
}

/// The cell's outline as a GeoJSON Polygon geometry (longitude, latitude).
pub fn cell_geojson(cell: CellIndex) -> serde_json::Value {
    let shape = geo::MultiPolygon::from(cell);
    let rings: Vec<Vec<[f64; 2]>> = shape
        .0
        .first()
        .map(|p| vec![p.exterior().coords().map(|c| [round6(c.x), round6(c.y)]).collect()])
        .unwrap_or_default();
    serde_json::json!({ "type": "Polygon", "coordinates": rings })
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Whether a point lies inside (or on the edge of) a boundary.
pub fn contains(boundary: &geo::MultiPolygon<f64>, latitude: f64, longitude: f64) -> bool {
    use geo::Intersects;
    boundary.intersects(&geo::Point::new(longitude, latitude))
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

    #[test]
    fn covering_cells_contain_every_point_of_the_boundary() {
        let square = r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}"#;
        let b = parse_boundary(square).unwrap();
        let cells = covering_cells(&b, Resolution::Nine).unwrap();
        assert!(cells.len() > 5);
        for (lat, lng) in [(39.11, 117.19), (39.115, 117.195), (39.12, 117.20)] {
            let c = to_db(cell_of(lat, lng, Resolution::Nine).unwrap());
            assert!(cells.contains(&c), "{lat},{lng}");
        }
        let outline = cell_geojson(from_db(cells[0]).unwrap());
        assert_eq!(outline["coordinates"][0].as_array().unwrap().len(), 7, "a closed hexagon");
    }

    #[test]
    fn a_boundary_too_large_for_a_community_is_refused_before_tiling() {
        // None is a community; tiled at resolution 9, the box and the slivers take from
        // seconds to minutes, and a continent would take gigabytes.
        for (boundary, reason) in [
            (
                r#"{"type":"Polygon","coordinates":[[[-180,-90],[180,-90],[180,90],[-180,90],[-180,-90]]]}"#,
                "the whole globe",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[116.0,38.0],[118.0,38.0],[118.0,40.0],[116.0,40.0],[116.0,38.0]]]}"#,
                "a box of 2 by 2 degrees",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[0,0],[179,0],[179,0.000001],[0,0.000001],[0,0]]]}"#,
                "a sliver along the equator: no area, a long outline",
            ),
            (
                r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[17.20,39.12],[117.19,39.12],[117.19,39.11]],[[117.194,39.114],[117.196,19.114],[17.63911,9.116],[117.194,39.114]]]}"#,
                "a thin polygon whose hole reaches far outside it (found by fuzzing)",
            ),
        ] {
            let b = parse_boundary(boundary).unwrap();
            let error = covering_cells(&b, Resolution::Nine).expect_err(reason);
            assert!(error.contains("too large"), "{reason}: {error}");
        }
        // A large but plausible one still tiles.
        let district =
            r#"{"type":"Polygon","coordinates":[[[117.1,39.0],[117.3,39.0],[117.3,39.2],[117.1,39.2],[117.1,39.0]]]}"#;
        let cells = covering_cells(&parse_boundary(district).unwrap(), Resolution::Nine).unwrap();
        assert!(cells.len() > 3000 && cells.len() <= MAX_COVERING_CELLS, "{}", cells.len());
    }

    #[test]
    fn boundaries_parse_and_contain_points() {
        let square = r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}"#;
        let b = parse_boundary(square).unwrap();
        assert!(contains(&b, 39.115, 117.195));
        assert!(!contains(&b, 39.125, 117.195));
        assert!(parse_boundary(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
        assert!(
            parse_boundary(r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.19,39.11]]]}"#)
                .is_err()
        );
        assert!(
            parse_boundary(
                r#"{"type":"Polygon","coordinates":[[[200,39.11],[117.20,39.11],[117.20,39.12],[200,39.11]]]}"#
            )
            .is_err()
        );
    }
}
