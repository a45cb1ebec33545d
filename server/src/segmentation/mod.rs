//! Care segmentation (照护分级): from a senior's dependency (Barthel), cognition
//! (SPMSQ), age, living arrangement and economic status to a care tier, flags,
//! eligible services with fees, the deciding rule and the reasons.
//!
//! The rules are data: a versioned TOML file (`server/rules/segmentation.toml` is
//! the shipped default, documented key by key; `docs/segmentation.md` explains it
//! for workers and administrators). [`Rules::parse`] checks a file and names the
//! line and column of a mistake; it compiles names into bitsets and indices, so
//! [`Rules::evaluate`] allocates nothing but its result and [`Rules::decide`]
//! nothing at all.
//!
//! ```
//! use linli::assessment::DependencyLevel;
//! use linli::registry::{EconomicStatus, LivingArrangement};
//! use linli::segmentation::{Rules, SeniorFacts};
//!
//! let rules = Rules::defaults();
//! let segment = rules.evaluate(&SeniorFacts {
//!     age_years: 84,
//!     dependency: Some(DependencyLevel::Moderate),
//!     cognition: None,
//!     living: LivingArrangement::Alone,
//!     economic: EconomicStatus::LowIncome,
//! });
//! assert_eq!(segment.tier, "A");
//! assert_eq!(segment.rule_id, "A.moderate_dependency_alone");
//! assert_eq!(segment.services[0].service, "home_bed");
//! assert_eq!(segment.services[0].fee_fen, 4000);
//! ```

mod compare;
mod error;
mod evaluate;
mod flag;
mod rules;

pub use compare::{Comparison, compare};
pub use error::{RulesError, RulesErrorKind};
pub use evaluate::{Decision, EligibleService, Segment, SeniorFacts};
pub use flag::{Flag, FlagSet};
pub use rules::{DEFAULT_RULES, Rule, Rules, Service, Tier};

#[cfg(test)]
mod tests;
