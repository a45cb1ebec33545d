//! The time-bank rules file: caps, redemption age, multipliers per task kind and
//! the anti-abuse thresholds. Shipped defaults in `server/rules/timebank.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dispatch::TaskKind;

pub const DEFAULT_RULES: &str = include_str!("../../rules/timebank.toml");

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub version: String,
    pub caps: Caps,
    pub redemption: Redemption,
    #[serde(default)]
    pub multipliers: BTreeMap<String, f64>,
    pub abuse: Abuse,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    pub storage_hours: i64,
    pub yearly_earning_hours: i64,
    pub daily_earning_hours: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    pub age: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Abuse {
    pub reciprocal_min_visits: i64,
    pub reciprocal_factor: f64,
}

impl Rules {
    /// Parses and checks a rules file.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, hours) in [
            ("caps.storage_hours", rules.caps.storage_hours),
            ("caps.yearly_earning_hours", rules.caps.yearly_earning_hours),
            ("caps.daily_earning_hours", rules.caps.daily_earning_hours),
        ] {
            if !(1..=1_000_000).contains(&hours) {
                return Err(format!("{name} must be 1 to 1000000 hours"));
            }
        }
        for (kind, m) in &rules.multipliers {
            if TaskKind::parse(kind).is_none() {
                return Err(format!("multipliers.{kind}: not a task kind (one of {})", TaskKind::choices()));
            }
            if !(0.0..=10.0).contains(m) || !m.is_finite() {
                return Err(format!("multipliers.{kind} must be 0 to 10"));
            }
        }
        if !(1..=150).contains(&rules.redemption.age) {
            return Err("redemption.age must be 1 to 150".into());
        }
        if rules.abuse.reciprocal_min_visits < 1
            || rules.abuse.reciprocal_factor.is_nan()
            || rules.abuse.reciprocal_factor < 1.0
        {
            return Err(
                "abuse.reciprocal_min_visits must be at least 1 and abuse.reciprocal_factor at least 1.0".into()
            );
        }
        Ok(rules)
    }

    pub fn defaults() -> Rules {
        #[allow(clippy::expect_used)]
        Rules::parse(DEFAULT_RULES).expect("the shipped time-bank rules parse")
    }

    pub fn storage_cap_minutes(&self) -> i64 {
        self.caps.storage_hours * 60
    }
    pub fn yearly_cap_minutes(&self) -> i64 {
        self.caps.yearly_earning_hours * 60
    }
    pub fn daily_cap_minutes(&self) -> i64 {
        self.caps.daily_earning_hours * 60
    }

    pub fn multiplier(&self, kind: TaskKind) -> f64 {
        self.multipliers.get(kind.as_str()).copied().unwrap_or(1.0)
    }

    /// The credit of a verified visit: its duration rounded to the nearest quarter
    /// hour (half a quarter rounds up), times the kind's multiplier, in whole minutes.
    pub fn credit_minutes(&self, kind: TaskKind, visit_minutes: i64) -> i64 {
        let quarters = (visit_minutes.max(0) + 7) / 15;
        ((quarters * 15) as f64 * self.multiplier(kind)).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_parse() {
        let r = Rules::defaults();
        assert_eq!(r.storage_cap_minutes(), 1500 * 60);
        assert_eq!(r.redemption.age, 60);
    }

    #[test]
    fn durations_round_to_the_nearest_quarter_hour() {
        let r = Rules::defaults();
        for (visit, credit) in [(0, 0), (7, 0), (8, 15), (52, 45), (53, 60), (60, 60), (67, 60), (68, 75)] {
            assert_eq!(r.credit_minutes(TaskKind::Companionship, visit), credit, "{visit} minutes");
        }
        assert_eq!(r.credit_minutes(TaskKind::Emergency, 30), 60);
        assert_eq!(r.credit_minutes(TaskKind::MealDelivery, 15), 8);
    }

    #[test]
    fn bad_rules_name_the_key() {
        let bad = DEFAULT_RULES.replace("storage_hours = 1500", "storage_hours = 0");
        assert!(Rules::parse(&bad).unwrap_err().contains("caps.storage_hours"));
        let bad = DEFAULT_RULES.replace("home_bed = 1.5", "home_bad = 1.5");
        assert!(Rules::parse(&bad).unwrap_err().contains("home_bad"));
    }
}
