//! The Barthel index: ten items, each with only its allowed values, summing to 0–100.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// One item of the index: its field name and the values it may take.
pub struct Item {
    pub field: &'static str,
    pub allowed: &'static [u8],
}

pub const ITEMS: [Item; 10] = [
    Item { field: "feeding", allowed: &[0, 5, 10] },
    Item { field: "bathing", allowed: &[0, 5] },
    Item { field: "grooming", allowed: &[0, 5] },
    Item { field: "dressing", allowed: &[0, 5, 10] },
    Item { field: "bowels", allowed: &[0, 5, 10] },
    Item { field: "bladder", allowed: &[0, 5, 10] },
    Item { field: "toilet_use", allowed: &[0, 5, 10] },
    Item { field: "transfers", allowed: &[0, 5, 10, 15] },
    Item { field: "mobility", allowed: &[0, 5, 10, 15] },
    Item { field: "stairs", allowed: &[0, 5, 10] },
];

/// The ten item scores as sent by a client, not yet checked.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub struct BarthelInput {
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub feeding: u8,
    #[schema(minimum = 0, maximum = 5, multiple_of = 5)]
    pub bathing: u8,
    #[schema(minimum = 0, maximum = 5, multiple_of = 5)]
    pub grooming: u8,
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub dressing: u8,
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub bowels: u8,
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub bladder: u8,
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub toilet_use: u8,
    #[schema(minimum = 0, maximum = 15, multiple_of = 5)]
    pub transfers: u8,
    #[schema(minimum = 0, maximum = 15, multiple_of = 5)]
    pub mobility: u8,
    #[schema(minimum = 0, maximum = 10, multiple_of = 5)]
    pub stairs: u8,
}

impl BarthelInput {
    fn values(&self) -> [u8; 10] {
        [
            self.feeding,
            self.bathing,
            self.grooming,
            self.dressing,
            self.bowels,
            self.bladder,
            self.toilet_use,
            self.transfers,
            self.mobility,
            self.stairs,
        ]
    }
}

/// Item scores that are all allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarthelItems(BarthelInput);

/// A Barthel total, 0..=100 in steps of 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BarthelScore(u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependencyLevel {
    /// 100: 自理
    Independent,
    /// 61–99: 轻度依赖
    Mild,
    /// 41–60: 中度依赖
    Moderate,
    /// 0–40: 重度依赖
    Severe,
}

impl BarthelItems {
    /// Checks every item against its allowed values; errors name `prefix.item`.
    pub fn parse(input: BarthelInput, prefix: &str) -> Result<Self, Vec<FieldError>> {
        let errors: Vec<FieldError> = ITEMS
            .iter()
            .zip(input.values())
            .filter(|(item, value)| !item.allowed.contains(value))
            .map(|(item, value)| {
                let allowed: Vec<String> = item.allowed.iter().map(ToString::to_string).collect();
                FieldError::new(
                    format!("{prefix}{}", item.field),
                    "allowed_values",
                    format!("{value} is not allowed; one of {}", allowed.join(", ")),
                )
            })
            .collect();
        if errors.is_empty() { Ok(Self(input)) } else { Err(errors) }
    }

    pub fn input(&self) -> BarthelInput {
        self.0
    }

    pub fn total(&self) -> BarthelScore {
        BarthelScore(self.0.values().iter().sum())
    }
}

impl BarthelScore {
    pub fn value(self) -> u8 {
        self.0
    }

    pub fn level(self) -> DependencyLevel {
        DependencyLevel::from_total(self.0)
    }
}

impl DependencyLevel {
    pub fn from_total(total: u8) -> Self {
        match total {
            100.. => Self::Independent,
            61..=99 => Self::Mild,
            41..=60 => Self::Moderate,
            _ => Self::Severe,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Independent => "independent",
            Self::Mild => "mild",
            Self::Moderate => "moderate",
            Self::Severe => "severe",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(v: u8) -> BarthelInput {
        BarthelInput {
            feeding: v,
            bathing: v,
            grooming: v,
            dressing: v,
            bowels: v,
            bladder: v,
            toilet_use: v,
            transfers: v,
            mobility: v,
            stairs: v,
        }
    }

    #[test]
    fn every_cut_off_on_both_sides() {
        for (total, level) in [
            (100, DependencyLevel::Independent),
            (99, DependencyLevel::Mild),
            (95, DependencyLevel::Mild),
            (61, DependencyLevel::Mild),
            (60, DependencyLevel::Moderate),
            (41, DependencyLevel::Moderate),
            (40, DependencyLevel::Severe),
            (0, DependencyLevel::Severe),
        ] {
            assert_eq!(DependencyLevel::from_total(total), level, "total {total}");
        }
    }

    #[test]
    fn full_marks_total_100() {
        let max = BarthelInput {
            feeding: 10,
            bathing: 5,
            grooming: 5,
            dressing: 10,
            bowels: 10,
            bladder: 10,
            toilet_use: 10,
            transfers: 15,
            mobility: 15,
            stairs: 10,
        };
        let items = BarthelItems::parse(max, "barthel.").unwrap();
        assert_eq!(items.total().value(), 100);
        assert_eq!(items.total().level(), DependencyLevel::Independent);
        assert_eq!(BarthelItems::parse(all(0), "").unwrap().total().value(), 0);
    }

    #[test]
    fn values_outside_an_items_set_are_named() {
        let mut input = all(5);
        input.bathing = 10; // bathing is 0 or 5
        input.transfers = 7;
        let errors = BarthelItems::parse(input, "barthel.").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["barthel.bathing", "barthel.transfers"]);
        assert!(errors[0].message.contains("one of 0, 5"));
    }
}
