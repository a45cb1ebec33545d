//! A rules file: its TOML shape, its checks, and the compiled [`Rules`].
//!
//! Parsing goes in two steps: the TOML reader fills the `Raw*` structs (syntax,
//! unknown or missing keys, types), keeping the span of every value; `compile`
//! then checks meaning and turns names into bitsets and indices, so evaluating a
//! senior never looks at a string.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::error::{RulesError, RulesErrorKind};
use super::flag::{Flag, FlagSet};
use crate::assessment::{CognitionLevel, DependencyLevel};
use crate::registry::EconomicStatus;

/// The shipped default rules file.
pub const DEFAULT_RULES: &str = include_str!("../../rules/segmentation.toml");

const MAX_AGE: i64 = 150;
/// 1,000,000 元: far above any real price, far below an overflow of `price * 100`.
const MAX_PRICE_FEN: i64 = 100_000_000;

pub(super) const DEPENDENCY_LEVELS: [DependencyLevel; 4] =
    [DependencyLevel::Independent, DependencyLevel::Mild, DependencyLevel::Moderate, DependencyLevel::Severe];
pub(super) const COGNITION_LEVELS: [CognitionLevel; 4] =
    [CognitionLevel::Intact, CognitionLevel::Mild, CognitionLevel::Moderate, CognitionLevel::Severe];
/// Economic statuses in the order of the per-status arrays below.
const ECONOMIC: [EconomicStatus; 4] =
    [EconomicStatus::Destitute, EconomicStatus::Subsistence, EconomicStatus::LowIncome, EconomicStatus::Ordinary];

pub(super) fn dependency_rank(level: DependencyLevel) -> u8 {
    match level {
        DependencyLevel::Independent => 0,
        DependencyLevel::Mild => 1,
        DependencyLevel::Moderate => 2,
        DependencyLevel::Severe => 3,
    }
}

pub(super) fn cognition_rank(level: CognitionLevel) -> u8 {
    match level {
        CognitionLevel::Intact => 0,
        CognitionLevel::Mild => 1,
        CognitionLevel::Moderate => 2,
        CognitionLevel::Severe => 3,
    }
}

pub(super) fn economic_index(status: EconomicStatus) -> usize {
    match status {
        EconomicStatus::Destitute => 0,
        EconomicStatus::Subsistence => 1,
        EconomicStatus::LowIncome => 2,
        EconomicStatus::Ordinary => 3,
    }
}

/// A checked, compiled rules file. Build it with [`Rules::parse`] or
/// [`Rules::defaults`]; evaluate seniors with [`Rules::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub(super) version: String,
    pub(super) oldest_old_age: u32,
    /// Rank of the first dependency level that sets `disabled`.
    pub(super) disabled_from: u8,
    /// Rank of the first cognition level that sets `cognitive_impairment`.
    pub(super) cognitive_impairment_from: u8,
    pub(super) fee_ratio_percent: [u8; 4],
    pub(super) services: Vec<Service>,
    pub(super) tiers: Vec<Tier>,
    pub(super) rules: Vec<Rule>,
    pub(super) default: Rule,
}

/// A priced service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    key: String,
    zh: String,
    en: String,
    price_fen: i64,
}

/// A care tier and what it is eligible for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    id: String,
    zh: String,
    en: String,
    fee_ratio_percent: [u8; 4],
    pub(super) offers: Vec<Offer>,
}

/// One eligible service of a tier, with the fee for each economic status worked
/// out in advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Offer {
    pub(super) service: String,
    pub(super) price_fen: i64,
    pub(super) ratio: [u8; 4],
    pub(super) fee_fen: [i64; 4],
}

/// A tier rule (or the catch-all), with its conditions as bitmasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    id: String,
    tier_id: String,
    pub(super) tier: usize,
    zh: String,
    en: String,
    /// Bit `rank` set for each accepted dependency level.
    pub(super) dependency: Option<u8>,
    /// Bit `rank` set for each accepted cognition level.
    pub(super) cognition: Option<u8>,
    pub(super) flags_all: FlagSet,
    pub(super) flags_any: Option<FlagSet>,
    pub(super) min_age: Option<u32>,
    /// The flags of `flags_all` then `flags_any` as written, for the reasons.
    pub(super) flags_listed: Vec<Flag>,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id of the tier this rule assigns.
    pub fn tier(&self) -> &str {
        &self.tier_id
    }

    pub fn zh(&self) -> &str {
        &self.zh
    }

    pub fn en(&self) -> &str {
        &self.en
    }

    #[inline]
    pub(super) fn matches(&self, dependency: u8, cognition: u8, flags: FlagSet, age: u32) -> bool {
        self.dependency.is_none_or(|mask| mask & (1 << dependency) != 0)
            && self.cognition.is_none_or(|mask| mask & (1 << cognition) != 0)
            && flags.contains_all(self.flags_all)
            && self.flags_any.is_none_or(|any| flags.intersects(any))
            && self.min_age.is_none_or(|min| age >= min)
    }
}

impl Service {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn zh(&self) -> &str {
        &self.zh
    }

    pub fn en(&self) -> &str {
        &self.en
    }

    pub fn price_fen(&self) -> i64 {
        self.price_fen
    }
}

impl Tier {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn zh(&self) -> &str {
        &self.zh
    }

    pub fn en(&self) -> &str {
        &self.en
    }

    /// The keys of the eligible services, in display order.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.offers.iter().map(|o| o.service.as_str())
    }

    /// The fee ratio of this tier for an economic status, in percent.
    pub fn fee_ratio_percent(&self, status: EconomicStatus) -> u8 {
        self.fee_ratio_percent[economic_index(status)]
    }
}

impl Rules {
    /// Parses and checks a rules file. The error names the line and column of the
    /// first problem found.
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| RulesError::from_toml(text, &e))?;
        Compiler { text }.compile(raw)
    }

    /// The shipped rules (`server/rules/segmentation.toml`).
    pub fn defaults() -> Rules {
        match Rules::parse(DEFAULT_RULES) {
            Ok(rules) => rules,
            // The shipped file is parsed by a unit test; this cannot happen in a build that passed it.
            Err(e) => panic!("the shipped rules file is invalid: {e}"),
        }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The age at or above which a senior is oldest-old (高龄).
    pub fn oldest_old_age(&self) -> u32 {
        self.oldest_old_age
    }

    /// The dependency level from which a senior is disabled (失能).
    pub fn disabled_from(&self) -> DependencyLevel {
        DEPENDENCY_LEVELS[usize::from(self.disabled_from)]
    }

    /// The cognition level from which a senior is cognitively impaired (失智).
    pub fn cognitive_impairment_from(&self) -> CognitionLevel {
        COGNITION_LEVELS[usize::from(self.cognitive_impairment_from)]
    }

    /// The general fee ratio for an economic status, in percent (a tier may override it).
    pub fn fee_ratio_percent(&self, status: EconomicStatus) -> u8 {
        self.fee_ratio_percent[economic_index(status)]
    }

    /// The services, by key.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The tiers, most needy first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The tier rules, in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The catch-all.
    pub fn default_rule(&self) -> &Rule {
        &self.default
    }

    /// A tier rule or the catch-all, by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().chain(std::iter::once(&self.default)).find(|r| r.id == id)
    }
}

// ----------------------------------------------------------------------------
// The TOML shape.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: Spanned<String>,
    #[serde(default)]
    flags: Option<RawFlags>,
    fee_ratio_percent: Spanned<RawRatios>,
    services: BTreeMap<Spanned<String>, Spanned<RawService>>,
    #[serde(default)]
    tier: Vec<Spanned<RawTier>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    default: Option<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlags {
    oldest_old_age: Option<Spanned<i64>>,
    disabled_from: Option<Spanned<String>>,
    cognitive_impairment_from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatios {
    destitute: Option<Spanned<i64>>,
    subsistence: Option<Spanned<i64>>,
    low_income: Option<Spanned<i64>>,
    ordinary: Option<Spanned<i64>>,
}

impl RawRatios {
    fn by_status(&self) -> [&Option<Spanned<i64>>; 4] {
        [&self.destitute, &self.subsistence, &self.low_income, &self.ordinary]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    zh: String,
    en: String,
    price_fen: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    id: Spanned<String>,
    zh: String,
    en: String,
    services: Vec<Spanned<String>>,
    fee_ratio_percent: Option<Spanned<RawRatios>>,
}

/// A `[[rule]]`, and also `[default]` (which must have no conditions).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    tier: Spanned<String>,
    zh: String,
    en: String,
    dependency: Option<Spanned<Vec<Spanned<String>>>>,
    cognition: Option<Spanned<Vec<Spanned<String>>>>,
    flags_all: Option<Spanned<Vec<Spanned<String>>>>,
    flags_any: Option<Spanned<Vec<Spanned<String>>>>,
    min_age: Option<Spanned<i64>>,
}

// ----------------------------------------------------------------------------
// Checking and compiling.

struct Compiler<'t> {
    text: &'t str,
}

type Checked<T> = Result<T, RulesError>;

impl Compiler<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> RulesError {
        RulesError::at(self.text, span, RulesErrorKind::Meaning, message)
    }

    fn compile(&self, raw: RawRules) -> Checked<Rules> {
        let version = raw.version.get_ref().trim();
        if version.is_empty() {
            return Err(self.error(raw.version.span(), "version must not be empty"));
        }
        let (oldest_old_age, disabled_from, cognitive_impairment_from) = self.flags(raw.flags)?;
        let fee_ratio_percent = self.ratios(&raw.fee_ratio_percent, None, "fee_ratio_percent")?;
        let services = self.services(raw.services)?;
        let tiers = self.tiers(raw.tier, &services, fee_ratio_percent)?;

        let mut first_seen: HashMap<String, Range<usize>> = HashMap::new();
        let mut rules = Vec::with_capacity(raw.rule.len());
        for rule in raw.rule {
            rules.push(self.rule(rule, &tiers, &mut first_seen, false)?);
        }
        let Some(default) = raw.default else {
            return Err(self.error(
                0..0,
                "missing [default] table: the catch-all tier for seniors no rule matches \
                 (keys: id, tier, zh, en)",
            ));
        };
        let default = self.rule(default, &tiers, &mut first_seen, true)?;

        Ok(Rules {
            version: version.to_owned(),
            oldest_old_age,
            disabled_from,
            cognitive_impairment_from,
            fee_ratio_percent,
            services,
            tiers,
            rules,
            default,
        })
    }

    fn flags(&self, raw: Option<RawFlags>) -> Checked<(u32, u8, u8)> {
        let mut out = (80, dependency_rank(DependencyLevel::Moderate), cognition_rank(CognitionLevel::Moderate));
        let Some(raw) = raw else { return Ok(out) };
        if let Some(age) = raw.oldest_old_age {
            out.0 = self.age(&age, "oldest_old_age")?;
        }
        if let Some(level) = raw.disabled_from {
            out.1 = self.dependency_level(&level)?;
        }
        if let Some(level) = raw.cognitive_impairment_from {
            out.2 = self.cognition_level(&level)?;
        }
        Ok(out)
    }

    fn age(&self, value: &Spanned<i64>, key: &str) -> Checked<u32> {
        match u32::try_from(*value.get_ref()) {
            Ok(age) if i64::from(age) <= MAX_AGE => Ok(age),
            _ => Err(self.error(value.span(), format!("{key} must be a whole number of years from 0 to {MAX_AGE}"))),
        }
    }

    fn dependency_level(&self, name: &Spanned<String>) -> Checked<u8> {
        match DEPENDENCY_LEVELS.iter().find(|l| l.as_str() == name.get_ref()) {
            Some(level) => Ok(dependency_rank(*level)),
            None => Err(self.error(
                name.span(),
                format!(
                    "unknown dependency level `{}`; allowed: {}",
                    name.get_ref(),
                    DEPENDENCY_LEVELS.map(DependencyLevel::as_str).join(", ")
                ),
            )),
        }
    }

    fn cognition_level(&self, name: &Spanned<String>) -> Checked<u8> {
        match COGNITION_LEVELS.iter().find(|l| l.as_str() == name.get_ref()) {
            Some(level) => Ok(cognition_rank(*level)),
            None => Err(self.error(
                name.span(),
                format!(
                    "unknown cognition level `{}`; allowed: {}",
                    name.get_ref(),
                    COGNITION_LEVELS.map(CognitionLevel::as_str).join(", ")
                ),
            )),
        }
    }

    fn flag(&self, name: &Spanned<String>) -> Checked<Flag> {
        Flag::parse(name.get_ref()).ok_or_else(|| {
            self.error(name.span(), format!("unknown flag `{}`; allowed: {}", name.get_ref(), Flag::choices()))
        })
    }

    /// Ratios in percent by economic status; with `base`, missing statuses take
    /// the base ratio, without it every status is required.
    fn ratios(&self, raw: &Spanned<RawRatios>, base: Option<[u8; 4]>, table: &str) -> Checked<[u8; 4]> {
        let mut out = [0u8; 4];
        for (i, value) in raw.get_ref().by_status().into_iter().enumerate() {
            let status = ECONOMIC[i].as_str();
            out[i] = match (value, base) {
                (Some(value), _) => match u8::try_from(*value.get_ref()) {
                    Ok(ratio) if ratio <= 100 => ratio,
                    _ => {
                        return Err(self.error(
                            value.span(),
                            format!(
                                "{table}.{status} is {}; a fee ratio is a percentage from 0 to 100",
                                value.get_ref()
                            ),
                        ));
                    }
                },
                (None, Some(base)) => base[i],
                (None, None) => {
                    return Err(self.error(
                        raw.span(),
                        format!(
                            "[{table}] has no ratio for `{status}`; every status needs one: {}",
                            EconomicStatus::choices()
                        ),
                    ));
                }
            };
        }
        Ok(out)
    }

    fn services(&self, raw: BTreeMap<Spanned<String>, Spanned<RawService>>) -> Checked<Vec<Service>> {
        let mut out = Vec::with_capacity(raw.len());
        for (key, service) in raw {
            let valid = key.get_ref().starts_with(|c: char| c.is_ascii_lowercase())
                && key.get_ref().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(self.error(
                    key.span(),
                    format!(
                        "service key `{}` must be lower-case letters, digits and _, starting with a letter",
                        key.get_ref()
                    ),
                ));
            }
            let service = service.into_inner();
            let price = *service.price_fen.get_ref();
            if !(0..=MAX_PRICE_FEN).contains(&price) {
                return Err(self.error(
                    service.price_fen.span(),
                    format!("price_fen of `{}` is {price}; it must be from 0 to {MAX_PRICE_FEN} fen", key.get_ref()),
                ));
            }
            out.push(Service { key: key.into_inner(), zh: service.zh, en: service.en, price_fen: price });
        }
        Ok(out)
    }

    fn tiers(&self, raw: Vec<Spanned<RawTier>>, services: &[Service], base_ratio: [u8; 4]) -> Checked<Vec<Tier>> {
        if raw.is_empty() {
            return Err(
                self.error(0..0, "no [[tier]] defined: at least one tier is needed (keys: id, zh, en, services)")
            );
        }
        let mut out: Vec<Tier> = Vec::with_capacity(raw.len());
        let mut first_seen: HashMap<&str, Range<usize>> = HashMap::new();
        for tier in &raw {
            let tier = tier.get_ref();
            let id = tier.id.get_ref().trim();
            if id.is_empty() {
                return Err(self.error(tier.id.span(), "tier id must not be empty"));
            }
            if let Some(first) = first_seen.insert(id, tier.id.span()) {
                return Err(self.error(
                    tier.id.span(),
                    format!("duplicate tier id `{id}` (first defined on line {})", self.line(first)),
                ));
            }
            let ratio = match &tier.fee_ratio_percent {
                Some(raw) => self.ratios(raw, Some(base_ratio), "fee_ratio_percent")?,
                None => base_ratio,
            };
            let mut offers: Vec<Offer> = Vec::with_capacity(tier.services.len());
            for name in &tier.services {
                let Some(service) = services.iter().find(|s| &s.key == name.get_ref()) else {
                    return Err(self.error(
                        name.span(),
                        format!(
                            "tier `{id}` names unknown service `{}`; defined services: {}",
                            name.get_ref(),
                            services.iter().map(|s| s.key.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                };
                if offers.iter().any(|o| o.service == service.key) {
                    return Err(self.error(name.span(), format!("tier `{id}` lists service `{}` twice", service.key)));
                }
                let fee_fen = ratio.map(|r| service.price_fen * i64::from(r) / 100);
                offers.push(Offer { service: service.key.clone(), price_fen: service.price_fen, ratio, fee_fen });
            }
            out.push(Tier {
                id: id.to_owned(),
                zh: tier.zh.clone(),
                en: tier.en.clone(),
                fee_ratio_percent: ratio,
                offers,
            });
        }
        Ok(out)
    }

    fn rule(
        &self,
        raw: Spanned<RawRule>,
        tiers: &[Tier],
        first_seen: &mut HashMap<String, Range<usize>>,
        is_default: bool,
    ) -> Checked<Rule> {
        let span = raw.span();
        let raw = raw.into_inner();
        let what = if is_default { "[default]" } else { "rule" };
        let id = raw.id.get_ref().trim();
        if id.is_empty() {
            return Err(self.error(raw.id.span(), format!("{what} id must not be empty")));
        }
        if let Some(first) = first_seen.get(id) {
            return Err(self.error(
                raw.id.span(),
                format!("duplicate rule id `{id}` (first defined on line {})", self.line(first.clone())),
            ));
        }
        first_seen.insert(id.to_owned(), raw.id.span());
        let tier_name = raw.tier.get_ref();
        let Some(tier) = tiers.iter().position(|t| &t.id == tier_name) else {
            return Err(self.error(
                raw.tier.span(),
                format!(
                    "{what} `{id}` assigns undefined tier `{tier_name}`; defined tiers: {}",
                    tiers.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        };

        let dependency = match &raw.dependency {
            Some(list) => Some(self.mask(list, "dependency", |n| self.dependency_level(n))?),
            None => None,
        };
        let cognition = match &raw.cognition {
            Some(list) => Some(self.mask(list, "cognition", |n| self.cognition_level(n))?),
            None => None,
        };
        let mut flags_listed = Vec::new();
        let flags_all = match &raw.flags_all {
            Some(list) => self.flag_set(list, "flags_all", &mut flags_listed)?,
            None => FlagSet::EMPTY,
        };
        let flags_any = match &raw.flags_any {
            Some(list) => Some(self.flag_set(list, "flags_any", &mut flags_listed)?),
            None => None,
        };
        let min_age = match &raw.min_age {
            Some(age) => Some(self.age(age, "min_age")?),
            None => None,
        };

        let has_condition = raw.dependency.is_some()
            || raw.cognition.is_some()
            || raw.flags_all.is_some()
            || raw.flags_any.is_some()
            || raw.min_age.is_some();
        if is_default && has_condition {
            return Err(self.error(span, "[default] is the catch-all and takes no conditions (only id, tier, zh, en)"));
        }
        if !is_default && !has_condition {
            return Err(self.error(
                span,
                format!(
                    "rule `{id}` has no condition, so it would match everyone; give it one of \
                     dependency, cognition, flags_all, flags_any, min_age, or use [default]"
                ),
            ));
        }

        Ok(Rule {
            id: id.to_owned(),
            tier_id: tiers[tier].id.clone(),
            tier,
            zh: raw.zh,
            en: raw.en,
            dependency,
            cognition,
            flags_all,
            flags_any,
            min_age,
            flags_listed,
        })
    }

    fn non_empty(&self, list: &Spanned<Vec<Spanned<String>>>, key: &str) -> Checked<()> {
        if list.get_ref().is_empty() {
            return Err(self.error(list.span(), format!("{key} must not be empty: leave the key out to not test it")));
        }
        Ok(())
    }

    fn mask(
        &self,
        list: &Spanned<Vec<Spanned<String>>>,
        key: &str,
        rank: impl Fn(&Spanned<String>) -> Checked<u8>,
    ) -> Checked<u8> {
        self.non_empty(list, key)?;
        let mut mask = 0u8;
        for name in list.get_ref() {
            mask |= 1 << rank(name)?;
        }
        Ok(mask)
    }

    fn flag_set(&self, list: &Spanned<Vec<Spanned<String>>>, key: &str, listed: &mut Vec<Flag>) -> Checked<FlagSet> {
        self.non_empty(list, key)?;
        let mut set = FlagSet::EMPTY;
        for name in list.get_ref() {
            let flag = self.flag(name)?;
            set.insert(flag);
            if !listed.contains(&flag) {
                listed.push(flag);
            }
        }
        Ok(set)
    }

    fn line(&self, span: Range<usize>) -> usize {
        RulesError::at(self.text, span, RulesErrorKind::Meaning, "").line
    }
}
