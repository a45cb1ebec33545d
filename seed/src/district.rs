//! The demo district: eight communities of 天津市和平区 (streets 劝业场, 南营门 and
//! 小白楼) between about 39.110–39.129 N and 117.186–117.222 E.
//!
//! The communities are quadrilaterals on a shared, slightly irregular vertex grid
//! (like blocks between real street lines), so they tile the area without gaps or
//! overlaps. Their cells are the H3 cells that cover each polygon
//! ([`ContainmentMode::Covers`]): every point of a community lies in one of its
//! cells, and a cell on a border belongs to both neighbours.

use anyhow::Context;
use geo::{Centroid, Contains, Coord, LineString, Point, Polygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{LatLng, Resolution};
use rand::Rng;

use crate::Tile;
use crate::identity::HEPING_AREA_CODE;
use crate::util::{pick, round6};

pub const DISTRICT: &str = "和平区";

/// Vertex grid (longitude, latitude), south to north, west to east.
const VERTICES: [[(f64, f64); 5]; 3] = [
    [(117.1862, 39.1108), (117.1951, 39.1102), (117.2043, 39.1099), (117.2128, 39.1104), (117.2213, 39.1112)],
    [(117.1858, 39.1196), (117.1956, 39.1191), (117.2040, 39.1197), (117.2135, 39.1189), (117.2221, 39.1193)],
    [(117.1865, 39.1283), (117.1947, 39.1290), (117.2049, 39.1286), (117.2126, 39.1279), (117.2208, 39.1271)],
];

struct Spec {
    name: &'static str,
    street: &'static str,
    /// Row (0 south, 1 north) and column (0 west .. 3 east) in the vertex grid.
    row: usize,
    col: usize,
    roads: &'static [&'static str],
    /// Residential compounds (里) for addresses like "宝鸡里3号楼".
    compounds: &'static [&'static str],
}

const SPECS: [Spec; 8] = [
    Spec {
        name: "兴安路社区",
        street: "劝业场街道",
        row: 1,
        col: 0,
        roads: &["兴安路", "南京路", "哈密道", "长春道", "辽宁路"],
        compounds: &["安善里", "福明里", "长春里"],
    },
    Spec {
        name: "滨江道社区",
        street: "劝业场街道",
        row: 1,
        col: 1,
        roads: &["滨江道", "和平路", "多伦道", "山西路", "新华路"],
        compounds: &["庆云里", "荣业里", "多伦里"],
    },
    Spec {
        name: "赤峰道社区",
        street: "劝业场街道",
        row: 1,
        col: 2,
        roads: &["赤峰道", "锦州道", "张自忠路", "吉林路", "四平道"],
        compounds: &["慎益里", "锦州里", "恒德里"],
    },
    Spec {
        name: "承德道社区",
        street: "劝业场街道",
        row: 1,
        col: 3,
        roads: &["承德道", "营口道", "解放北路", "大沽北路", "沈阳道"],
        compounds: &["营口里", "承德里", "兆丰里"],
    },
    Spec {
        name: "西康路社区",
        street: "南营门街道",
        row: 0,
        col: 0,
        roads: &["西康路", "成都道", "西安道", "贵州路", "宁夏路"],
        compounds: &["宝鸡里", "西康里", "成都里"],
    },
    Spec {
        name: "新文化花园社区",
        street: "南营门街道",
        row: 0,
        col: 1,
        roads: &["河北路", "大理道", "重庆道", "常德道", "昆明路"],
        compounds: &["新文化花园", "常德里", "昆明里"],
    },
    Spec {
        name: "曲阜道社区",
        street: "小白楼街道",
        row: 0,
        col: 2,
        roads: &["曲阜道", "南京路", "浙江路", "马场道", "湖北路"],
        compounds: &["曲阜里", "湖北里", "文化村"],
    },
    Spec {
        name: "开封道社区",
        street: "小白楼街道",
        row: 0,
        col: 3,
        roads: &["开封道", "徐州道", "郑州道", "合肥道", "建设路"],
        compounds: &["开封里", "郑州里", "建设里"],
    },
];

#[derive(Debug, Clone, PartialEq)]
pub struct Community {
    pub id: i64,
    pub name: String,
    pub street: String,
    pub district: String,
    /// The 6-digit area code of the residents' ID numbers.
    pub area_code: String,
    pub polygon: Polygon<f64>,
    pub boundary_geojson: String,
    /// H3 cells covering the polygon (u64 bits as i64), ascending.
    pub cells: Vec<i64>,
    pub roads: &'static [&'static str],
    pub compounds: &'static [&'static str],
    /// (latitude, longitude) of the centroid.
    pub centre: (f64, f64),
}

impl Community {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.polygon.contains(&Point::new(lon, lat))
    }

    /// A uniformly random point (latitude, longitude) inside the polygon.
    pub fn random_point<R: Rng>(&self, rng: &mut R) -> (f64, f64) {
        let (min, max) = bbox(&self.polygon);
        loop {
            let lon = round6(rng.random_range(min.x..max.x));
            let lat = round6(rng.random_range(min.y..max.y));
            if self.contains(lat, lon) {
                return (lat, lon);
            }
        }
    }

    /// A point just outside the polygon (within about 200 m of it).
    pub fn point_just_outside<R: Rng>(&self, rng: &mut R) -> (f64, f64) {
        let (min, max) = bbox(&self.polygon);
        let margin = 0.0018;
        loop {
            let lon = round6(rng.random_range(min.x - margin..max.x + margin));
            let lat = round6(rng.random_range(min.y - margin..max.y + margin));
            if !self.contains(lat, lon) {
                return (lat, lon);
            }
        }
    }

    /// A street address inside this community, e.g. "和平区成都道56号2门302室".
    pub fn address<R: Rng>(&self, rng: &mut R) -> String {
        let road = pick(rng, self.roads);
        let floor = rng.random_range(1..=6);
        let room = format!("{floor}{:02}", rng.random_range(1..=4));
        if rng.random_bool(0.3) {
            let compound = pick(rng, self.compounds);
            format!(
                "{}{road}{compound}{}号楼{}门{room}室",
                self.district,
                rng.random_range(1..=24),
                rng.random_range(1..=6)
            )
        } else {
            format!("{}{road}{}号{}门{room}室", self.district, rng.random_range(1..=260), rng.random_range(1..=5))
        }
    }
}

fn bbox(polygon: &Polygon<f64>) -> (Coord<f64>, Coord<f64>) {
    let mut min = Coord { x: f64::MAX, y: f64::MAX };
    let mut max = Coord { x: f64::MIN, y: f64::MIN };
    for c in polygon.exterior().coords() {
        min.x = min.x.min(c.x);
        min.y = min.y.min(c.y);
        max.x = max.x.max(c.x);
        max.y = max.y.max(c.y);
    }
    (min, max)
}

/// The closed exterior ring (counter-clockwise, longitude first) of a grid block,
/// moved by `shift` (degrees of longitude and latitude).
fn ring(row: usize, col: usize, shift: (f64, f64)) -> Vec<(f64, f64)> {
    let v = |r: usize, c: usize| {
        let (lon, lat) = VERTICES[r][c];
        (round6(lon + shift.0), round6(lat + shift.1))
    };
    vec![v(row, col), v(row, col + 1), v(row + 1, col + 1), v(row + 1, col), v(row, col)]
}

fn geojson(ring: &[(f64, f64)]) -> String {
    let coords: Vec<serde_json::Value> = ring.iter().map(|(lon, lat)| serde_json::json!([lon, lat])).collect();
    serde_json::json!({ "type": "Polygon", "coordinates": [coords] }).to_string()
}

/// The H3 cells (as stored: u64 bits in an i64) covering a polygon, ascending.
pub fn covering_cells(polygon: &Polygon<f64>, resolution: Resolution) -> anyhow::Result<Vec<i64>> {
    let mut tiler = TilerBuilder::new(resolution).containment_mode(ContainmentMode::Covers).build();
    tiler.add(polygon.clone()).context("tiling a community polygon")?;
    let mut cells: Vec<i64> = tiler.into_coverage().map(|c| u64::from(c) as i64).collect();
    cells.sort_unstable();
    cells.dedup();
    Ok(cells)
}

/// The H3 cell of a point, as stored.
pub fn cell(lat: f64, lon: f64, resolution: Resolution) -> anyhow::Result<i64> {
    let ll = LatLng::new(lat, lon).with_context(|| format!("invalid coordinates {lat},{lon}"))?;
    Ok(u64::from(ll.to_cell(resolution)) as i64)
}

/// How far apart (degrees of longitude, latitude) the copies of the district lie in
/// a city: a little more than the district's extent, so they do not overlap.
pub const TILE_SPAN: (f64, f64) = (0.038, 0.020);

/// The eight communities, with ids `first_id`, `first_id + 1`, ... A city tile
/// other than the first is the same district moved east and north by whole
/// spans, its names numbered (`兴安路社区·12`, `劝业场街道·12`, `和平区·12`).
pub fn communities(first_id: i64, resolution: Resolution, tile: Option<Tile>) -> anyhow::Result<Vec<Community>> {
    let shift = tile.map_or((0.0, 0.0), |t| {
        let (row, col) = (t.index / t.columns, t.index % t.columns);
        (f64::from(col) * TILE_SPAN.0, f64::from(row) * TILE_SPAN.1)
    });
    let numbered = |text: &str| match tile {
        Some(t) if t.index > 0 => format!("{text}·{}", t.index),
        _ => text.to_owned(),
    };
    SPECS
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let ring = ring(spec.row, spec.col, shift);
            let polygon = Polygon::new(LineString::from(ring.clone()), vec![]);
            let centre = polygon.centroid().map(|p| (round6(p.y()), round6(p.x()))).unwrap_or((39.12, 117.2));
            Ok(Community {
                id: first_id + i as i64,
                name: numbered(spec.name),
                street: numbered(spec.street),
                district: numbered(DISTRICT),
                area_code: match tile {
                    // Synthetic codes after 和平区's, one per tile: ID numbers stay unique city-wide.
                    Some(t) if t.index > 0 => format!("12{:04}", 101 + t.index),
                    _ => HEPING_AREA_CODE.to_owned(),
                },
                cells: covering_cells(&polygon, resolution)?,
                polygon,
                boundary_geojson: geojson(&ring),
                roads: spec.roads,
                compounds: spec.compounds,
                centre,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{Stream, rng};
    use geo::{Area, BooleanOps};

    #[test]
    fn communities_tile_the_area_without_overlaps() {
        let cs = communities(1, Resolution::Nine, None).unwrap();
        assert_eq!(cs.len(), 8);
        for (i, a) in cs.iter().enumerate() {
            assert!(a.polygon.exterior().is_closed());
            for b in &cs[i + 1..] {
                let overlap = a.polygon.intersection(&b.polygon).unsigned_area();
                assert!(overlap < 1e-12, "{} and {} overlap", a.name, b.name);
            }
        }
        let total: f64 = cs.iter().map(|c| c.polygon.unsigned_area()).sum();
        let outline = Polygon::new(
            LineString::from(vec![
                VERTICES[0][0],
                VERTICES[0][1],
                VERTICES[0][2],
                VERTICES[0][3],
                VERTICES[0][4],
                VERTICES[1][4],
                VERTICES[2][4],
                VERTICES[2][3],
                VERTICES[2][2],
                VERTICES[2][1],
                VERTICES[2][0],
                VERTICES[1][0],
                VERTICES[0][0],
            ]),
            vec![],
        );
        assert!((total - outline.unsigned_area()).abs() < 1e-12, "no gaps");
    }

    #[test]
    fn boundaries_are_closed_counter_clockwise_geojson_polygons() {
        let cs = communities(1, Resolution::Nine, None).unwrap();
        for c in &cs {
            let v: serde_json::Value = serde_json::from_str(&c.boundary_geojson).unwrap();
            assert_eq!(v["type"], "Polygon");
            let ring = v["coordinates"][0].as_array().unwrap();
            assert_eq!(ring.first(), ring.last());
            let lon = ring[0][0].as_f64().unwrap();
            let lat = ring[0][1].as_f64().unwrap();
            assert!((117.18..117.23).contains(&lon) && (39.10..39.13).contains(&lat));
            // Shoelace: positive signed area means counter-clockwise.
            let pts: Vec<(f64, f64)> = ring.iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
            let signed: f64 = pts.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum();
            assert!(signed > 0.0, "{} is clockwise", c.name);
        }
    }

    #[test]
    fn every_point_inside_a_community_lies_in_one_of_its_cells() {
        let cs = communities(1, Resolution::Nine, None).unwrap();
        let mut r = rng(5, Stream::District);
        for c in &cs {
            assert!((4..40).contains(&c.cells.len()), "{}: {} cells", c.name, c.cells.len());
            for _ in 0..300 {
                let (lat, lon) = c.random_point(&mut r);
                assert!(c.contains(lat, lon));
                assert!(c.cells.binary_search(&cell(lat, lon, Resolution::Nine).unwrap()).is_ok());
            }
            let (lat, lon) = c.point_just_outside(&mut r);
            assert!(!c.contains(lat, lon));
        }
    }

    #[test]
    fn addresses_name_the_district_and_a_local_road() {
        let cs = communities(1, Resolution::Nine, None).unwrap();
        let mut r = rng(6, Stream::District);
        let a = cs[4].address(&mut r);
        assert!(a.starts_with("和平区") && a.ends_with('室'), "{a}");
        assert!(cs[4].roads.iter().any(|road| a.contains(road)));
    }
}
