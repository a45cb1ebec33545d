//! "What would change": the tiers of many seniors under two rule sets.

use serde::Serialize;
use utoipa::ToSchema;

use super::evaluate::SeniorFacts;
use super::rules::Rules;

/// Seniors whose tier differs between two rule sets, and how many seniors go from
/// each old tier to each new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Comparison {
    pub old_version: String,
    pub new_version: String,
    /// How many seniors were compared.
    pub seniors: usize,
    /// `(senior id, old tier, new tier)` for every senior whose tier changes, by id.
    pub moved: Vec<(i64, String, String)>,
    /// `(old tier, new tier, seniors)` for every pair that occurs, unchanged pairs
    /// included; ordered by the old rules' tier order, then the new rules'.
    pub counts: Vec<(String, String, usize)>,
}

impl Comparison {
    /// How many seniors go from tier `from` to tier `to`.
    pub fn count(&self, from: &str, to: &str) -> usize {
        self.counts.iter().find(|(f, t, _)| f == from && t == to).map_or(0, |(_, _, n)| *n)
    }
}

/// Evaluates every senior under both rule sets.
pub fn compare(old: &Rules, new: &Rules, facts: impl Iterator<Item = (i64, SeniorFacts)>) -> Comparison {
    let width = new.tiers().len();
    let mut matrix = vec![0usize; old.tiers().len() * width];
    let mut moved = Vec::new();
    let mut seniors = 0;
    for (id, facts) in facts {
        seniors += 1;
        let before = old.decide(&facts);
        let after = new.decide(&facts);
        matrix[before.tier_index() * width + after.tier_index()] += 1;
        if before.tier() != after.tier() {
            moved.push((id, before.tier().to_owned(), after.tier().to_owned()));
        }
    }
    moved.sort_by_key(|(id, _, _)| *id);
    let counts = matrix
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (old.tiers()[i / width].id().to_owned(), new.tiers()[i % width].id().to_owned(), *n))
        .collect();
    Comparison { old_version: old.version().to_owned(), new_version: new.version().to_owned(), seniors, moved, counts }
}
