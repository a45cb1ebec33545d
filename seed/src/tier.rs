//! The demo's segmentation rule set (`demo-1`): flags and care tier of a senior.
//!
//! Flags (stored as English keys):
//!
//! | flag | meaning |
//! |---|---|
//! | `alone` | lives alone (独居) |
//! | `empty_nest` | lives with the spouse only (空巢) |
//! | `oldest_old` | aged 80 or more (高龄) |
//! | `disabled` | Barthel dependency moderate or severe (失能) |
//! | `cognitive_impairment` | SPMSQ cognition moderate or severe (失智) |
//! | `destitute` | 特困 |
//! | `subsistence` | 低保 |
//!
//! Tiers, first match wins:
//!
//! - **A**: severe dependency, or severe cognitive impairment, or moderate
//!   dependency while living alone;
//! - **B**: moderate dependency or moderate cognitive impairment, or 80+ and living
//!   alone, or destitute;
//! - **C**: mild dependency, or any of alone / oldest-old / subsistence;
//! - **D**: everyone else.

use crate::assessment::{Cognition, Dependency};

pub const RULES_VERSION: &str = "demo-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Living {
    Alone,
    Couple,
    WithFamily,
    Institution,
}

impl Living {
    pub fn as_str(self) -> &'static str {
        match self {
            Living::Alone => "alone",
            Living::Couple => "couple",
            Living::WithFamily => "with_family",
            Living::Institution => "institution",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Economic {
    Destitute,
    Subsistence,
    LowIncome,
    Ordinary,
}

impl Economic {
    pub fn as_str(self) -> &'static str {
        match self {
            Economic::Destitute => "destitute",
            Economic::Subsistence => "subsistence",
            Economic::LowIncome => "low_income",
            Economic::Ordinary => "ordinary",
        }
    }

    /// The fee for a service at `price_fen` under the welfare principle: free for
    /// 特困 and 低保, half price for low income, the list price otherwise.
    pub fn fee_fen(self, price_fen: i64) -> i64 {
        match self {
            Economic::Destitute | Economic::Subsistence => 0,
            Economic::LowIncome => price_fen / 2,
            Economic::Ordinary => price_fen,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    A,
    B,
    C,
    D,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
            Tier::D => "D",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierInput {
    pub age: u8,
    pub living: Living,
    pub economic: Economic,
    pub dependency: Dependency,
    pub barthel_total: u8,
    pub cognition: Cognition,
    pub spmsq_errors: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierDecision {
    pub tier: Tier,
    /// Flag keys in a fixed order.
    pub flags: Vec<&'static str>,
    /// The rule that decided the tier, e.g. `A.severe_dependency`.
    pub rule: &'static str,
    /// Human-readable reasons (Chinese), one per fact that made the rule match.
    pub reasons: Vec<String>,
}

pub fn flags(input: &TierInput) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if input.living == Living::Alone {
        flags.push("alone");
    }
    if input.living == Living::Couple {
        flags.push("empty_nest");
    }
    if input.age >= 80 {
        flags.push("oldest_old");
    }
    if input.dependency >= Dependency::Moderate {
        flags.push("disabled");
    }
    if input.cognition >= Cognition::Moderate {
        flags.push("cognitive_impairment");
    }
    if input.economic == Economic::Destitute {
        flags.push("destitute");
    }
    if input.economic == Economic::Subsistence {
        flags.push("subsistence");
    }
    flags
}

/// Applies the `demo-1` rules (see the module documentation).
pub fn decide(input: &TierInput) -> TierDecision {
    let dep = format!("{}（Barthel {}分）", input.dependency.zh(), input.barthel_total);
    let cog = format!("{}（SPMSQ错{}题）", input.cognition.zh(), input.spmsq_errors);
    let alone = "独居".to_owned();
    let old = format!("高龄（{}岁）", input.age);
    let alone_flag = input.living == Living::Alone;
    let (tier, rule, reasons) = if input.dependency == Dependency::Severe {
        (Tier::A, "A.severe_dependency", vec![dep])
    } else if input.cognition == Cognition::Severe {
        (Tier::A, "A.severe_cognition", vec![cog])
    } else if input.dependency == Dependency::Moderate && alone_flag {
        (Tier::A, "A.moderate_dependency_alone", vec![dep, alone])
    } else if input.dependency == Dependency::Moderate {
        (Tier::B, "B.moderate_dependency", vec![dep])
    } else if input.cognition == Cognition::Moderate {
        (Tier::B, "B.moderate_cognition", vec![cog])
    } else if input.age >= 80 && alone_flag {
        (Tier::B, "B.oldest_old_alone", vec![old, alone])
    } else if input.economic == Economic::Destitute {
        (Tier::B, "B.destitute", vec!["特困供养".to_owned()])
    } else if input.dependency == Dependency::Mild {
        (Tier::C, "C.mild_dependency", vec![dep])
    } else if alone_flag {
        (Tier::C, "C.alone", vec![alone])
    } else if input.age >= 80 {
        (Tier::C, "C.oldest_old", vec![old])
    } else if input.economic == Economic::Subsistence {
        (Tier::C, "C.subsistence", vec!["低保".to_owned()])
    } else {
        (Tier::D, "D.default", vec!["无重点照护因素".to_owned()])
    };
    TierDecision { tier, flags: flags(input), rule, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TierInput {
        TierInput {
            age: 70,
            living: Living::WithFamily,
            economic: Economic::Ordinary,
            dependency: Dependency::Independent,
            barthel_total: 100,
            cognition: Cognition::Intact,
            spmsq_errors: 0,
        }
    }

    #[test]
    fn tiers_follow_the_documented_rules() {
        let cases: Vec<(&str, TierInput, Tier)> = vec![
            ("nothing special", input(), Tier::D),
            ("severe dependency", TierInput { dependency: Dependency::Severe, barthel_total: 30, ..input() }, Tier::A),
            ("severe cognition", TierInput { cognition: Cognition::Severe, spmsq_errors: 9, ..input() }, Tier::A),
            (
                "moderate dependency and alone",
                TierInput { dependency: Dependency::Moderate, living: Living::Alone, ..input() },
                Tier::A,
            ),
            ("moderate dependency with family", TierInput { dependency: Dependency::Moderate, ..input() }, Tier::B),
            ("moderate cognition", TierInput { cognition: Cognition::Moderate, ..input() }, Tier::B),
            ("80+ and alone", TierInput { age: 85, living: Living::Alone, ..input() }, Tier::B),
            ("destitute", TierInput { economic: Economic::Destitute, ..input() }, Tier::B),
            ("mild dependency", TierInput { dependency: Dependency::Mild, ..input() }, Tier::C),
            ("alone", TierInput { living: Living::Alone, ..input() }, Tier::C),
            ("80+", TierInput { age: 80, ..input() }, Tier::C),
            ("subsistence", TierInput { economic: Economic::Subsistence, ..input() }, Tier::C),
            ("couple only", TierInput { living: Living::Couple, ..input() }, Tier::D),
            ("low income", TierInput { economic: Economic::LowIncome, ..input() }, Tier::D),
        ];
        for (reason, input, tier) in cases {
            assert_eq!(decide(&input).tier, tier, "{reason}");
        }
    }

    #[test]
    fn flags_use_english_keys_in_a_fixed_order() {
        let i = TierInput {
            age: 88,
            living: Living::Alone,
            economic: Economic::Subsistence,
            dependency: Dependency::Severe,
            barthel_total: 20,
            cognition: Cognition::Moderate,
            spmsq_errors: 6,
        };
        assert_eq!(flags(&i), vec!["alone", "oldest_old", "disabled", "cognitive_impairment", "subsistence"]);
        let d = decide(&i);
        assert_eq!(d.rule, "A.severe_dependency");
        assert_eq!(d.reasons, vec!["重度依赖（Barthel 20分）".to_owned()]);
        assert_eq!(flags(&TierInput { living: Living::Couple, ..input() }), vec!["empty_nest"]);
    }

    #[test]
    fn fees_follow_the_welfare_principle() {
        assert_eq!(Economic::Destitute.fee_fen(1500), 0);
        assert_eq!(Economic::Subsistence.fee_fen(1500), 0);
        assert_eq!(Economic::LowIncome.fee_fen(1500), 750);
        assert_eq!(Economic::Ordinary.fee_fen(1500), 1500);
    }
}
