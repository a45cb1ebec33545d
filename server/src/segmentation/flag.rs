//! Flags: facts about a senior that rules and reports talk about (独居, 高龄, ...).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A flag, stored and sent as its English key; `zh()` is the name shown to workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// 独居: lives alone.
    Alone,
    /// 空巢: lives with the spouse only.
    EmptyNest,
    /// 高龄: aged at or above the configured age (80 by default).
    OldestOld,
    /// 失能: Barthel dependency at or above the configured level (moderate by default).
    Disabled,
    /// 失智: SPMSQ cognition at or above the configured level (moderate by default).
    CognitiveImpairment,
    /// 特困: extreme poverty support.
    Destitute,
    /// 低保: minimum subsistence allowance.
    Subsistence,
}

impl Flag {
    /// Every flag, in the fixed order used wherever flags are listed.
    pub const ALL: [Flag; 7] = [
        Flag::Alone,
        Flag::EmptyNest,
        Flag::OldestOld,
        Flag::Disabled,
        Flag::CognitiveImpairment,
        Flag::Destitute,
        Flag::Subsistence,
    ];

    /// The stable key (`alone`, `empty_nest`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Flag::Alone => "alone",
            Flag::EmptyNest => "empty_nest",
            Flag::OldestOld => "oldest_old",
            Flag::Disabled => "disabled",
            Flag::CognitiveImpairment => "cognitive_impairment",
            Flag::Destitute => "destitute",
            Flag::Subsistence => "subsistence",
        }
    }

    /// The display name (独居, 空巢, ...).
    pub fn zh(self) -> &'static str {
        match self {
            Flag::Alone => "独居",
            Flag::EmptyNest => "空巢",
            Flag::OldestOld => "高龄",
            Flag::Disabled => "失能",
            Flag::CognitiveImpairment => "失智",
            Flag::Destitute => "特困",
            Flag::Subsistence => "低保",
        }
    }

    /// A short English description.
    pub fn en(self) -> &'static str {
        match self {
            Flag::Alone => "lives alone",
            Flag::EmptyNest => "lives with the spouse only",
            Flag::OldestOld => "oldest-old",
            Flag::Disabled => "disabled",
            Flag::CognitiveImpairment => "cognitive impairment",
            Flag::Destitute => "destitute (extreme poverty support)",
            Flag::Subsistence => "minimum subsistence allowance",
        }
    }

    pub fn parse(key: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The allowed keys, for error messages.
    pub fn choices() -> String {
        Flag::ALL.map(Flag::key).join(", ")
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of flags in one byte; iterates in [`Flag::ALL`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FlagSet(u8);

impl FlagSet {
    pub const EMPTY: FlagSet = FlagSet(0);

    pub fn insert(&mut self, flag: Flag) {
        self.0 |= flag.bit();
    }

    /// Adds `flag` when `on`, without branching.
    pub(crate) fn set_if(&mut self, flag: Flag, on: bool) {
        self.0 |= u8::from(on) << (flag as u8);
    }

    pub fn contains(self, flag: Flag) -> bool {
        self.0 & flag.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether every flag of `other` is in `self`.
    pub fn contains_all(self, other: FlagSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a flag.
    pub fn intersects(self, other: FlagSet) -> bool {
        self.0 & other.0 != 0
    }

    pub fn intersection(self, other: FlagSet) -> FlagSet {
        FlagSet(self.0 & other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    pub fn to_vec(self) -> Vec<Flag> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(self.iter());
        out
    }
}

impl FromIterator<Flag> for FlagSet {
    fn from_iter<I: IntoIterator<Item = Flag>>(iter: I) -> Self {
        let mut set = FlagSet::EMPTY;
        for flag in iter {
            set.insert(flag);
        }
        set
    }
}
