//! Small helpers shared by the generators: random streams, sampling, distances and
//! local time.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Local wall-clock offset of Asia/Shanghai (UTC+8, no daylight saving).
pub const LOCAL_OFFSET_HOURS: i64 = 8;

/// Independent random streams per generator, so that changing how one phase draws
/// numbers does not shift every phase after it.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    District = 1,
    Seniors = 2,
    Workforce = 3,
    Devices = 4,
    Plans = 5,
    History = 6,
    Alarms = 7,
}

pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// A local (Asia/Shanghai) date and time as a UTC instant.
pub fn local(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    (date.and_time(time) - Duration::hours(LOCAL_OFFSET_HOURS)).and_utc()
}

/// A local date at `hour:minute`.
pub fn local_hm(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    local(date, hm(hour, minute))
}

pub fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// The local calendar date of a UTC instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(LOCAL_OFFSET_HOURS)).date_naive()
}

/// Great-circle distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

/// Moves a point `metres` in direction `bearing` (radians from north). Good enough
/// for the few hundred metres used here.
pub fn offset(lat: f64, lon: f64, metres: f64, bearing: f64) -> (f64, f64) {
    let dlat = metres * bearing.cos() / 111_320.0;
    let dlon = metres * bearing.sin() / (111_320.0 * lat.to_radians().cos());
    (round6(lat + dlat), round6(lon + dlon))
}

/// Coordinates are kept to six decimals (about 0.1 m).
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Picks an index with probability proportional to `weights`.
pub fn weighted_index<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Picks one of `items` with probability proportional to its weight.
pub fn pick_weighted<'a, R: Rng, T>(rng: &mut R, items: &'a [(T, f64)]) -> &'a T {
    let weights: Vec<f64> = items.iter().map(|(_, w)| *w).collect();
    &items[weighted_index(rng, &weights)].0
}

pub fn pick<R: Rng, T: Copy>(rng: &mut R, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// [`pick_weighted`] for `Copy` items, by value.
pub fn pick_weighted_copy<R: Rng, T: Copy>(rng: &mut R, items: &[(T, f64)]) -> T {
    *pick_weighted(rng, items)
}

/// Weighted sampling of `k` distinct indices without replacement
/// (Efraimidis–Spirakis); zero weights are never chosen. The result is sorted.
pub fn weighted_sample<R: Rng>(rng: &mut R, weights: &[f64], k: usize) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            (if w > 0.0 { u.ln() / w } else { f64::NEG_INFINITY }, i)
        })
        .filter(|(key, _)| key.is_finite())
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keyed.into_iter().take(k).map(|(_, i)| i).collect();
    chosen.sort_unstable();
    chosen
}

/// A roughly normal draw (Irwin–Hall with 12 uniforms): mean 0, sd 1.
pub fn normal<R: Rng>(rng: &mut R) -> f64 {
    (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0
}

/// Lowercase hex of random bytes.
pub fn random_hex<R: Rng>(rng: &mut R, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_eight_hours_ahead_of_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let at = local_hm(d, 11, 0);
        assert_eq!(at.to_rfc3339(), "2026-03-01T03:00:00+00:00");
        assert_eq!(local_date(local_hm(d, 0, 30)), d);
    }

    #[test]
    fn distances_are_in_metres() {
        // One thousandth of a degree of latitude is about 111 m.
        let d = distance_m(39.12, 117.2, 39.121, 117.2);
        assert!((d - 111.2).abs() < 0.5, "{d}");
        let (lat, lon) = offset(39.12, 117.2, 100.0, 1.0);
        assert!((distance_m(39.12, 117.2, lat, lon) - 100.0).abs() < 1.0);
    }

    #[test]
    fn weighted_sampling_returns_distinct_sorted_indices_and_skips_zero_weights() {
        let mut r = rng(7, Stream::Plans);
        let w = [1.0, 0.0, 5.0, 2.0, 0.0, 1.0];
        let s = weighted_sample(&mut r, &w, 10);
        assert_eq!(s, vec![0, 2, 3, 5]);
        let s = weighted_sample(&mut r, &w, 2);
        assert_eq!(s.len(), 2);
        assert!(s.windows(2).all(|p| p[0] < p[1]));
    }
}
