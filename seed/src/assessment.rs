//! Barthel index and SPMSQ draws with realistic, age-dependent distributions.

use rand::Rng;

use crate::util::{normal, weighted_index};

/// Allowed values per Barthel item, in schema column order.
pub const BARTHEL_ITEMS: [(&str, &[u8]); 10] = [
    ("feeding", &[0, 5, 10]),
    ("bathing", &[0, 5]),
    ("grooming", &[0, 5]),
    ("dressing", &[0, 5, 10]),
    ("bowels", &[0, 5, 10]),
    ("bladder", &[0, 5, 10]),
    ("toilet_use", &[0, 5, 10]),
    ("transfers", &[0, 5, 10, 15]),
    ("mobility", &[0, 5, 10, 15]),
    ("stairs", &[0, 5, 10]),
];

/// How early each item is lost as frailty grows (bathing and stairs first, feeding
/// last), added to the senior's frailty before an item is scored.
const ITEM_DIFFICULTY: [f64; 10] = [-0.15, 0.15, 0.0, 0.05, -0.10, -0.05, 0.0, -0.05, 0.05, 0.15];

/// The ten Barthel items, each holding one of its allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Barthel(pub [u8; 10]);

impl Barthel {
    pub fn total(&self) -> u8 {
        self.0.iter().sum()
    }

    pub fn is_valid(&self) -> bool {
        self.0.iter().zip(BARTHEL_ITEMS).all(|(v, (_, allowed))| allowed.contains(v))
    }

    pub fn dependency(&self) -> Dependency {
        Dependency::from_total(self.total())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    Independent,
    Mild,
    Moderate,
    Severe,
}

impl Dependency {
    /// 100 independent (自理), 61–99 mild, 41–60 moderate, 0–40 severe.
    pub fn from_total(total: u8) -> Self {
        match total {
            100.. => Dependency::Independent,
            61..=99 => Dependency::Mild,
            41..=60 => Dependency::Moderate,
            _ => Dependency::Severe,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Independent => "independent",
            Dependency::Mild => "mild",
            Dependency::Moderate => "moderate",
            Dependency::Severe => "severe",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Dependency::Independent => "自理",
            Dependency::Mild => "轻度依赖",
            Dependency::Moderate => "中度依赖",
            Dependency::Severe => "重度依赖",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cognition {
    Intact,
    Mild,
    Moderate,
    Severe,
}

impl Cognition {
    /// SPMSQ errors: 0–2 intact, 3–4 mild, 5–7 moderate, 8–10 severe.
    pub fn from_errors(errors: u8) -> Self {
        match errors {
            0..=2 => Cognition::Intact,
            3..=4 => Cognition::Mild,
            5..=7 => Cognition::Moderate,
            _ => Cognition::Severe,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cognition::Intact => "intact",
            Cognition::Mild => "mild",
            Cognition::Moderate => "moderate",
            Cognition::Severe => "severe",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Cognition::Intact => "认知正常",
            Cognition::Mild => "轻度认知障碍",
            Cognition::Moderate => "中度认知障碍",
            Cognition::Severe => "重度认知障碍",
        }
    }
}

/// Probabilities of (independent, mild, moderate, severe) by age. Overall about
/// 15% of a young-old-weighted population ends up dependent (total <= 60).
fn dependency_weights(age: u8) -> [f64; 4] {
    match age {
        0..=69 => [0.66, 0.27, 0.045, 0.025],
        70..=79 => [0.50, 0.34, 0.10, 0.06],
        80..=89 => [0.28, 0.37, 0.19, 0.16],
        _ => [0.12, 0.28, 0.26, 0.34],
    }
}

/// Draws a Barthel assessment for a senior of `age`: first the dependency band
/// (age-weighted), then every item from a latent frailty within that band, redrawn
/// until the total falls in the band.
pub fn draw_barthel<R: Rng>(rng: &mut R, age: u8) -> Barthel {
    let band = match weighted_index(rng, &dependency_weights(age)) {
        0 => Dependency::Independent,
        1 => Dependency::Mild,
        2 => Dependency::Moderate,
        _ => Dependency::Severe,
    };
    if band == Dependency::Independent {
        return Barthel(BARTHEL_ITEMS.map(|(_, allowed)| allowed[allowed.len() - 1]));
    }
    let (lo, hi) = match band {
        Dependency::Mild => (0.05, 0.40),
        Dependency::Moderate => (0.40, 0.65),
        _ => (0.60, 1.00),
    };
    let mut last = Barthel([0; 10]);
    for _ in 0..200 {
        let frailty = lo + (hi - lo) * rng.random::<f64>();
        let mut items = [0u8; 10];
        for (i, (_, allowed)) in BARTHEL_ITEMS.iter().enumerate() {
            let u = (frailty + ITEM_DIFFICULTY[i] + 0.18 * normal(rng)).clamp(0.0, 1.0);
            let steps = (allowed.len() - 1) as f64;
            let level = ((1.0 - u) * steps).round() as usize;
            items[i] = allowed[level.min(allowed.len() - 1)];
        }
        last = Barthel(items);
        if last.dependency() == band {
            return last;
        }
    }
    last
}

/// Draws SPMSQ errors (0–10): most seniors are intact; impairment rises with age
/// and with physical dependency.
pub fn draw_spmsq<R: Rng>(rng: &mut R, age: u8, dependency: Dependency) -> u8 {
    let mut w: [f64; 4] = match age {
        0..=69 => [0.93, 0.05, 0.015, 0.005],
        70..=79 => [0.85, 0.09, 0.045, 0.015],
        80..=89 => [0.66, 0.16, 0.12, 0.06],
        _ => [0.45, 0.20, 0.20, 0.15],
    };
    if dependency >= Dependency::Moderate {
        w[2] *= 2.5;
        w[3] *= 3.0;
    }
    match weighted_index(rng, &w) {
        0 => rng.random_range(0..=2),
        1 => rng.random_range(3..=4),
        2 => rng.random_range(5..=7),
        _ => rng.random_range(8..=10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{Stream, rng};

    #[test]
    fn levels_follow_the_published_cut_offs() {
        let cases = [
            (100, Dependency::Independent),
            (99, Dependency::Mild),
            (61, Dependency::Mild),
            (60, Dependency::Moderate),
            (41, Dependency::Moderate),
            (40, Dependency::Severe),
            (0, Dependency::Severe),
        ];
        for (total, level) in cases {
            assert_eq!(Dependency::from_total(total), level, "total {total}");
        }
        let cases = [(0, Cognition::Intact), (2, Cognition::Intact), (3, Cognition::Mild), (4, Cognition::Mild)];
        for (errors, level) in cases {
            assert_eq!(Cognition::from_errors(errors), level);
        }
        assert_eq!(Cognition::from_errors(5), Cognition::Moderate);
        assert_eq!(Cognition::from_errors(7), Cognition::Moderate);
        assert_eq!(Cognition::from_errors(8), Cognition::Severe);
        assert_eq!(Cognition::from_errors(10), Cognition::Severe);
    }

    #[test]
    fn every_drawn_item_takes_an_allowed_value() {
        let mut r = rng(11, Stream::Seniors);
        for i in 0..5000 {
            let b = draw_barthel(&mut r, 60 + (i % 41) as u8);
            assert!(b.is_valid(), "{b:?}");
            assert!(b.total() <= 100);
        }
    }

    #[test]
    fn older_seniors_are_more_dependent() {
        let mut r = rng(12, Stream::Seniors);
        let share_dependent = |r: &mut rand_chacha::ChaCha8Rng, age: u8| {
            let n = 4000;
            (0..n).filter(|_| draw_barthel(r, age).total() <= 60).count() as f64 / n as f64
        };
        let young = share_dependent(&mut r, 65);
        let old = share_dependent(&mut r, 85);
        let oldest = share_dependent(&mut r, 93);
        assert!(young < 0.12 && old > 0.25 && oldest > old, "{young} {old} {oldest}");
    }

    #[test]
    fn spmsq_errors_stay_in_range_and_most_are_intact() {
        let mut r = rng(13, Stream::Seniors);
        let draws: Vec<u8> =
            (0..5000).map(|i| draw_spmsq(&mut r, 60 + (i % 30) as u8, Dependency::Independent)).collect();
        assert!(draws.iter().all(|e| *e <= 10));
        let intact = draws.iter().filter(|e| **e <= 2).count() as f64 / draws.len() as f64;
        assert!(intact > 0.75, "{intact}");
    }
}
