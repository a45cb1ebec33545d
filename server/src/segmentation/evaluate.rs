//! Applying rules to one senior.

use serde::Serialize;
use utoipa::ToSchema;

use super::flag::{Flag, FlagSet};
use super::rules::{Rule, Rules, Tier, cognition_rank, dependency_rank, economic_index};
use crate::assessment::{CognitionLevel, DependencyLevel};
use crate::registry::{EconomicStatus, LivingArrangement};

/// What segmentation looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeniorFacts {
    pub age_years: u32,
    /// The latest Barthel level; `None` when not assessed yet (counted as independent).
    pub dependency: Option<DependencyLevel>,
    /// The latest SPMSQ level; `None` when not screened yet (counted as intact).
    pub cognition: Option<CognitionLevel>,
    pub living: LivingArrangement,
    pub economic: EconomicStatus,
}

/// The outcome for one senior.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Segment {
    /// The care tier id (`A` .. `D` with the default rules).
    pub tier: String,
    /// In the fixed order of [`Flag::ALL`].
    pub flags: Vec<Flag>,
    /// The rule that decided the tier (`A.severe_dependency`, `D.default`, ...).
    pub rule_id: String,
    /// Why, in English: one line per fact that made the rule match, then notes on
    /// missing assessments.
    pub reasons: Vec<String>,
    /// The same reasons in Chinese.
    pub reasons_zh: Vec<String>,
    /// The tier's eligible services, in the order of the rules file.
    pub services: Vec<EligibleService>,
}

/// A service the senior is eligible for and what it costs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EligibleService {
    pub service: String,
    /// The list price.
    pub price_fen: i64,
    /// What the senior pays: `price_fen * fee_ratio_percent / 100`, rounded down.
    pub fee_fen: i64,
    /// What the bureau pays: `price_fen - fee_fen`.
    pub subsidy_fen: i64,
    pub fee_ratio_percent: u8,
}

/// The decision alone, without any allocation: the tier, the deciding rule and
/// the flags. [`Rules::evaluate`] adds reasons and services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'r> {
    tier: &'r Tier,
    tier_index: usize,
    rule: &'r Rule,
    flags: FlagSet,
}

impl<'r> Decision<'r> {
    pub fn tier(&self) -> &'r str {
        self.tier.id()
    }

    /// The position of the tier in [`Rules::tiers`] (0 = most needy).
    pub fn tier_index(&self) -> usize {
        self.tier_index
    }

    pub fn rule(&self) -> &'r Rule {
        self.rule
    }

    pub fn rule_id(&self) -> &'r str {
        self.rule.id()
    }

    pub fn flags(&self) -> FlagSet {
        self.flags
    }
}

/// Levels and flags as the rules see them.
#[derive(Clone, Copy)]
struct Facts {
    dependency: u8,
    cognition: u8,
    flags: FlagSet,
    age: u32,
}

const DEPENDENCY_EN: [&str; 4] = [
    "independent (Barthel 100)",
    "mild dependency (Barthel 61-99)",
    "moderate dependency (Barthel 41-60)",
    "severe dependency (Barthel 0-40)",
];
const DEPENDENCY_ZH: [&str; 4] = [
    "自理（Barthel 100分）",
    "轻度依赖（Barthel 61-99分）",
    "中度依赖（Barthel 41-60分）",
    "重度依赖（Barthel 0-40分）",
];
const COGNITION_EN: [&str; 4] = [
    "cognition intact (SPMSQ 0-2 errors)",
    "mild cognitive impairment (SPMSQ 3-4 errors)",
    "moderate cognitive impairment (SPMSQ 5-7 errors)",
    "severe cognitive impairment (SPMSQ 8-10 errors)",
];
const COGNITION_ZH: [&str; 4] = [
    "认知正常（SPMSQ错0-2题）",
    "轻度认知障碍（SPMSQ错3-4题）",
    "中度认知障碍（SPMSQ错5-7题）",
    "重度认知障碍（SPMSQ错8-10题）",
];
const NOT_ASSESSED_DEPENDENCY: (&str, &str) = (
    "dependency not yet assessed (no Barthel index); counted as independent",
    "尚未进行自理能力评估（Barthel），暂按自理计",
);
const NOT_ASSESSED_COGNITION: (&str, &str) =
    ("cognition not yet assessed (no SPMSQ); counted as intact", "尚未进行认知筛查（SPMSQ），暂按认知正常计");

/// Reasons in both languages, without duplicates.
struct Reasons {
    en: Vec<String>,
    zh: Vec<String>,
}

impl Reasons {
    fn push(&mut self, en: &str, zh: &str) {
        if !self.en.iter().any(|r| r == en) {
            self.en.push(en.to_owned());
            self.zh.push(zh.to_owned());
        }
    }

    fn push_owned(&mut self, en: String, zh: String) {
        if !self.en.contains(&en) {
            self.en.push(en);
            self.zh.push(zh);
        }
    }
}

impl Rules {
    fn facts(&self, facts: &SeniorFacts) -> Facts {
        let dependency = facts.dependency.map_or(0, dependency_rank);
        let cognition = facts.cognition.map_or(0, cognition_rank);
        let mut flags = FlagSet::EMPTY;
        flags.set_if(Flag::Alone, facts.living == LivingArrangement::Alone);
        flags.set_if(Flag::EmptyNest, facts.living == LivingArrangement::Couple);
        flags.set_if(Flag::OldestOld, facts.age_years >= self.oldest_old_age);
        flags.set_if(Flag::Disabled, dependency >= self.disabled_from);
        flags.set_if(Flag::CognitiveImpairment, cognition >= self.cognitive_impairment_from);
        flags.set_if(Flag::Destitute, facts.economic == EconomicStatus::Destitute);
        flags.set_if(Flag::Subsistence, facts.economic == EconomicStatus::Subsistence);
        Facts { dependency, cognition, flags, age: facts.age_years }
    }

    fn first_match(&self, f: Facts) -> &Rule {
        self.rules.iter().find(|r| r.matches(f.dependency, f.cognition, f.flags, f.age)).unwrap_or(&self.default)
    }

    /// The tier, deciding rule and flags of a senior, without allocating.
    pub fn decide(&self, facts: &SeniorFacts) -> Decision<'_> {
        let f = self.facts(facts);
        let rule = self.first_match(f);
        Decision { tier: &self.tiers[rule.tier], tier_index: rule.tier, rule, flags: f.flags }
    }

    /// The full segment of a senior: tier, flags, deciding rule, reasons and
    /// eligible services with fees.
    pub fn evaluate(&self, facts: &SeniorFacts) -> Segment {
        let f = self.facts(facts);
        let rule = self.first_match(f);
        let tier = &self.tiers[rule.tier];

        let mut reasons = Reasons { en: Vec::with_capacity(4), zh: Vec::with_capacity(4) };
        if std::ptr::eq(rule, &self.default) {
            reasons.push(rule.en(), rule.zh());
        }
        let dependency = usize::from(f.dependency);
        let cognition = usize::from(f.cognition);
        if rule.dependency.is_some() {
            reasons.push(DEPENDENCY_EN[dependency], DEPENDENCY_ZH[dependency]);
        }
        if rule.cognition.is_some() {
            reasons.push(COGNITION_EN[cognition], COGNITION_ZH[cognition]);
        }
        // Flags that matched, as the rule lists them: all of `flags_all`, and those
        // of `flags_any` the senior has.
        for &flag in rule.flags_listed.iter().filter(|flag| f.flags.contains(**flag)) {
            match flag {
                Flag::OldestOld => reasons.push_owned(
                    format!("oldest-old: aged {} ({} or over)", f.age, self.oldest_old_age),
                    format!("高龄（{}岁）", f.age),
                ),
                Flag::Disabled => reasons.push(DEPENDENCY_EN[dependency], DEPENDENCY_ZH[dependency]),
                Flag::CognitiveImpairment => reasons.push(COGNITION_EN[cognition], COGNITION_ZH[cognition]),
                Flag::Alone => reasons.push("lives alone", "独居"),
                Flag::EmptyNest => reasons.push("lives with the spouse only", "空巢（仅与配偶同住）"),
                Flag::Destitute => reasons.push("destitute (extreme poverty support)", "特困供养"),
                Flag::Subsistence => reasons.push("minimum subsistence allowance", "低保"),
            }
        }
        if let Some(min) = rule.min_age {
            reasons.push_owned(format!("aged {} ({min} or over)", f.age), format!("{}岁（{min}岁及以上）", f.age));
        }
        if facts.dependency.is_none() {
            reasons.push(NOT_ASSESSED_DEPENDENCY.0, NOT_ASSESSED_DEPENDENCY.1);
        }
        if facts.cognition.is_none() {
            reasons.push(NOT_ASSESSED_COGNITION.0, NOT_ASSESSED_COGNITION.1);
        }

        let status = economic_index(facts.economic);
        let services = tier
            .offers
            .iter()
            .map(|o| EligibleService {
                service: o.service.clone(),
                price_fen: o.price_fen,
                fee_fen: o.fee_fen[status],
                subsidy_fen: o.price_fen - o.fee_fen[status],
                fee_ratio_percent: o.ratio[status],
            })
            .collect();

        Segment {
            tier: tier.id().to_owned(),
            flags: f.flags.to_vec(),
            rule_id: rule.id().to_owned(),
            reasons: reasons.en,
            reasons_zh: reasons.zh,
            services,
        }
    }
}
