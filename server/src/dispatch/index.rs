//! The in-memory responder index: every responder, keyed by the H3 cell of their
//! home base and of their last known position. Rebuilt from the database at start
//! and updated on every write that changes a responder; a cache, never the source
//! of truth (offers and acceptances are decided in the database).
//!
//! Queries take a point and a radius, visit the cells of a `grid_disk` around the
//! point's cell that can hold anyone within the radius, and measure the exact
//! haversine distance to each responder found there.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use h3o::{CellIndex, LatLng, Resolution};

use super::kinds::{ResponderKind, Skill, TravelMode};

/// Cells of the index: resolution 8 (edge about 0.46 km).
pub const INDEX_RESOLUTION: Resolution = Resolution::Eight;

/// Bounds on a cell's edge at [`INDEX_RESOLUTION`], in metres, with a margin: H3
/// cells vary in size across the globe.
const EDGE_MIN_M: f64 = 350.0;
const EDGE_MAX_M: f64 = 550.0;

/// Rings of `grid_disk` that cover every cell within `radius_m` of a point. A query
/// point and a hit each lie up to one edge from their cells' centres, and one ring
/// step covers at least 1.5 edges in the worst direction of a hexagonal grid.
fn rings_for(radius_m: f64) -> u32 {
    ((radius_m + 2.0 * EDGE_MAX_M) / (1.5 * EDGE_MIN_M)).ceil() as u32 + 1
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: Option<f64>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: u8,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
}

/// What dispatch needs to know about a responder without asking the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub user_id: i64,
    pub kind: ResponderKind,
    /// One bit per [`Skill`].
    pub skills: u8,
    pub licence_expires_on: Option<NaiveDate>,
    pub communities: Vec<i64>,
    pub home: (f64, f64),
    pub last: Option<Fix>,
    pub travel_mode: TravelMode,
    pub max_concurrent: u32,
    pub on_duty: bool,
    pub shifts: Vec<Shift>,
    /// Inclusive date ranges of leave and sick days.
    pub absences: Vec<(NaiveDate, NaiveDate)>,
}

impl Entry {
    pub fn has(&self, skill: Skill) -> bool {
        self.skills & skill.bit() != 0
    }

    /// A nursing licence that is valid on `day` (other skills need none).
    pub fn licensed_on(&self, skill: Skill, day: NaiveDate) -> bool {
        skill != Skill::Nursing || self.licence_expires_on.is_some_and(|expiry| expiry >= day)
    }

    pub fn absent_on(&self, day: NaiveDate) -> bool {
        self.absences.iter().any(|(from, to)| (*from..=*to).contains(&day))
    }

    /// On a shift covering the local time `from..=to` of `day`.
    pub fn on_shift(&self, day: NaiveDate, from: NaiveTime, to: NaiveTime) -> bool {
        let weekday = day.weekday().number_from_monday() as u8;
        self.shifts.iter().any(|s| s.weekday == weekday && s.starts_at <= from && to <= s.ends_at)
    }

    /// The last position if it is no older than `max_age_secs` at `now`.
    pub fn fresh_fix(&self, now: DateTime<Utc>, max_age_secs: i64) -> Option<Fix> {
        self.last.filter(|f| (now - f.at).num_seconds() <= max_age_secs)
    }

    pub fn serves(&self, community_id: i64) -> bool {
        self.communities.contains(&community_id)
    }
}

/// Which position a query measures from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The home base: planning ahead.
    Home,
    /// The last known position, whatever its age (callers check freshness).
    LastFix,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<i64, Entry>,
    by_home: HashMap<CellIndex, Vec<i64>>,
    by_fix: HashMap<CellIndex, Vec<i64>>,
}

#[derive(Debug, Default)]
pub struct ResponderIndex {
    inner: RwLock<Inner>,
}

fn cell(lat: f64, lng: f64) -> Option<CellIndex> {
    LatLng::new(lat, lng).ok().map(|p| p.to_cell(INDEX_RESOLUTION))
}

fn unlink(map: &mut HashMap<CellIndex, Vec<i64>>, at: Option<CellIndex>, id: i64) {
    if let Some(c) = at
        && let Some(ids) = map.get_mut(&c)
    {
        ids.retain(|x| *x != id);
        if ids.is_empty() {
            map.remove(&c);
        }
    }
}

/// Great-circle distance in metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

impl ResponderIndex {
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        let index = Self::default();
        for e in entries {
            index.upsert(e);
        }
        index
    }

    /// Replaces everyone (after the demo is seeded into a running server's database).
    pub fn replace_all(&self, entries: impl IntoIterator<Item = Entry>) {
        let fresh = Self::new(entries);
        let inner = fresh.inner.into_inner().unwrap_or_else(|p| p.into_inner());
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = inner;
    }

    /// Adds or replaces a responder.
    pub fn upsert(&self, entry: Entry) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = inner.by_id.remove(&entry.id) {
            unlink(&mut inner.by_home, cell(old.home.0, old.home.1), old.id);
            unlink(&mut inner.by_fix, old.last.and_then(|f| cell(f.latitude, f.longitude)), old.id);
        }
        if let Some(c) = cell(entry.home.0, entry.home.1) {
            inner.by_home.entry(c).or_default().push(entry.id);
        }
        if let Some(c) = entry.last.and_then(|f| cell(f.latitude, f.longitude)) {
            inner.by_fix.entry(c).or_default().push(entry.id);
        }
        inner.by_id.insert(entry.id, entry);
    }

    /// Applies `change` to one responder (position, duty) and re-keys it.
    pub fn update(&self, id: i64, change: impl FnOnce(&mut Entry)) {
        let current = self.get(id);
        if let Some(mut entry) = current {
            change(&mut entry);
            self.upsert(entry);
        }
    }

    pub fn get(&self, id: i64) -> Option<Entry> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).by_id.get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everyone serving a community.
    pub fn in_community(&self, community_id: i64) -> Vec<Entry> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.by_id.values().filter(|e| e.serves(community_id)).cloned().collect()
    }

    /// Everyone within `radius_m` of `point` measured from `anchor`, nearest first,
    /// with the distance in metres.
    pub fn near(&self, point: (f64, f64), radius_m: f64, anchor: Anchor) -> Vec<(Entry, f64)> {
        let Some(centre) = cell(point.0, point.1) else { return Vec::new() };
        let rings = rings_for(radius_m);
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let map = match anchor {
            Anchor::Home => &inner.by_home,
            Anchor::LastFix => &inner.by_fix,
        };
        let mut found = Vec::new();
        for c in centre.grid_disk::<Vec<_>>(rings) {
            let Some(ids) = map.get(&c) else { continue };
            for id in ids {
                let Some(e) = inner.by_id.get(id) else { continue };
                let at = match anchor {
                    Anchor::Home => Some(e.home),
                    Anchor::LastFix => e.last.map(|f| (f.latitude, f.longitude)),
                };
                if let Some(at) = at {
                    let d = distance_m(point, at);
                    if d <= radius_m {
                        found.push((e.clone(), d));
                    }
                }
            }
        }
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
        found
    }

    /// The same answer as [`ResponderIndex::near`] by scanning everyone: the
    /// baseline the index is benchmarked and tested against.
    pub fn scan(&self, point: (f64, f64), radius_m: f64, anchor: Anchor) -> Vec<(Entry, f64)> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<(Entry, f64)> = inner
            .by_id
            .values()
            .filter_map(|e| {
                let at = match anchor {
                    Anchor::Home => Some(e.home),
                    Anchor::LastFix => e.last.map(|f| (f.latitude, f.longitude)),
                }?;
                let d = distance_m(point, at);
                (d <= radius_m).then(|| (e.clone(), d))
            })
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, lat: f64, lng: f64) -> Entry {
        Entry {
            id,
            user_id: id,
            kind: ResponderKind::Caregiver,
            skills: Skill::EmergencyResponse.bit(),
            licence_expires_on: None,
            communities: vec![1],
            home: (lat, lng),
            last: Some(Fix { latitude: lat, longitude: lng, accuracy_m: Some(10.0), at: Utc::now() }),
            travel_mode: TravelMode::Ebike,
            max_concurrent: 1,
            on_duty: true,
            shifts: Vec::new(),
            absences: Vec::new(),
        }
    }

    #[test]
    fn the_index_finds_exactly_what_a_scan_finds() {
        // A deterministic scatter over about 20 km around central Tianjin.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let entries: Vec<Entry> = (0..3000).map(|i| entry(i, 39.02 + next() * 0.2, 117.08 + next() * 0.25)).collect();
        let index = ResponderIndex::new(entries);
        for (i, radius) in [250.0, 1000.0, 3000.0, 8000.0].into_iter().enumerate() {
            let point = (39.1 + i as f64 * 0.01, 117.2);
            for anchor in [Anchor::Home, Anchor::LastFix] {
                let a: Vec<i64> = index.near(point, radius, anchor).iter().map(|(e, _)| e.id).collect();
                let b: Vec<i64> = index.scan(point, radius, anchor).iter().map(|(e, _)| e.id).collect();
                assert_eq!(a, b, "radius {radius}");
            }
        }
    }

    #[test]
    fn moving_a_responder_rekeys_them() {
        let index = ResponderIndex::new([entry(1, 39.10, 117.20)]);
        assert_eq!(index.near((39.10, 117.20), 500.0, Anchor::LastFix).len(), 1);
        index.update(1, |e| {
            e.last = Some(Fix { latitude: 39.20, longitude: 117.30, accuracy_m: None, at: Utc::now() });
        });
        assert!(index.near((39.10, 117.20), 500.0, Anchor::LastFix).is_empty());
        assert_eq!(index.near((39.20, 117.30), 500.0, Anchor::LastFix).len(), 1);
        assert_eq!(index.near((39.10, 117.20), 500.0, Anchor::Home).len(), 1, "home stays");
    }

    #[test]
    fn shifts_and_absences() {
        let mut e = entry(1, 39.1, 117.2);
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
        e.shifts.push(Shift { weekday: 1, starts_at: t(8), ends_at: t(17) });
        assert!(e.on_shift(monday, t(11), t(12)));
        assert!(!e.on_shift(monday, t(16), t(18)));
        assert!(!e.on_shift(monday.succ_opt().unwrap_or_default(), t(11), t(12)));
        e.absences.push((monday, monday));
        assert!(e.absent_on(monday));
    }
}
