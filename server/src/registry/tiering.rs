//! Keeping every senior's tier current: after registration, after an assessment,
//! and for everyone whose tier was decided under other rules (start-up or
//! `linli rules apply`). Every change is stored with its rule, rules version and
//! reasons.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{assessments, seniors, tier_changes};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::service::age_on;
use super::{EconomicStatus, LivingArrangement};
use crate::assessment::{CognitionLevel, DependencyLevel};
use crate::error::ApiError;
use crate::segmentation::{Rules, Segment, SeniorFacts};
use crate::state::AppState;

fn dependency_of(level: &str) -> Option<DependencyLevel> {
    [DependencyLevel::Independent, DependencyLevel::Mild, DependencyLevel::Moderate, DependencyLevel::Severe]
        .into_iter()
        .find(|l| l.as_str() == level)
}

fn cognition_of(level: &str) -> Option<CognitionLevel> {
    [CognitionLevel::Intact, CognitionLevel::Mild, CognitionLevel::Moderate, CognitionLevel::Severe]
        .into_iter()
        .find(|l| l.as_str() == level)
}

/// What the rules look at, from the stored senior and their latest assessment.
pub fn facts_of(senior: &seniors::Model, latest: Option<&assessments::Model>, today: NaiveDate) -> SeniorFacts {
    SeniorFacts {
        age_years: age_on(senior.birth_date, today),
        dependency: latest.and_then(|a| dependency_of(&a.dependency_level)),
        cognition: latest.and_then(|a| cognition_of(&a.cognition_level)),
        living: LivingArrangement::parse(&senior.living_arrangement).unwrap_or(LivingArrangement::WithFamily),
        economic: EconomicStatus::parse(&senior.economic_status).unwrap_or(EconomicStatus::Ordinary),
    }
}

/// Applies the rules to one senior inside the caller's transaction; stores the
/// tier, flags and rules version, and a `tier_changes` row when anything changed.
/// The tier is derived from the record, so it does not bump the record's version:
/// an editor holding the version they read is not refused because of it.
pub async fn resegment(
    db: &impl ConnectionTrait,
    rules: &Rules,
    senior: &seniors::Model,
    latest: Option<&assessments::Model>,
    now: DateTime<Utc>,
    today: NaiveDate,
    actor: Option<i64>,
) -> Result<Segment, ApiError> {
    let segment = rules.evaluate(&facts_of(senior, latest, today));
    let flags = serde_json::to_value(&segment.flags).unwrap_or_default();
    let unchanged = senior.tier.as_deref() == Some(segment.tier.as_str())
        && senior.flags == flags
        && senior.tier_rules_version.as_deref() == Some(rules.version());
    if unchanged {
        return Ok(segment);
    }
    seniors::Entity::update_many()
        .col_expr(seniors::Column::Tier, Expr::value(Some(segment.tier.clone())))
        .col_expr(seniors::Column::Flags, Expr::value(flags.clone()))
        .col_expr(seniors::Column::TierRulesVersion, Expr::value(Some(rules.version().to_owned())))
        .col_expr(seniors::Column::UpdatedAt, Expr::value(now))
        .filter(seniors::Column::Id.eq(senior.id))
        .exec(db)
        .await?;
    if senior.tier.as_deref() != Some(segment.tier.as_str()) || senior.flags != flags {
        tier_changes::ActiveModel {
            senior_id: Set(senior.id),
            from_tier: Set(senior.tier.clone()),
            to_tier: Set(segment.tier.clone()),
            flags: Set(flags),
            rule: Set(segment.rule_id.clone()),
            rules_version: Set(rules.version().to_owned()),
            reasons: Set(serde_json::json!({ "en": segment.reasons, "zh": segment.reasons_zh })),
            changed_at: Set(now),
            actor_user_id: Set(actor),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(segment)
}

/// The latest assessment of each of `ids`.
pub async fn latest_assessments(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<BTreeMap<i64, assessments::Model>, ApiError> {
    let rows = assessments::Entity::find()
        .filter(assessments::Column::SeniorId.is_in(ids.to_vec()))
        .order_by_asc(assessments::Column::AssessedAt)
        .order_by_asc(assessments::Column::Id)
        .all(db)
        .await?;
    // Later rows overwrite earlier ones: the map keeps the latest per senior.
    Ok(rows.into_iter().map(|a| (a.senior_id, a)).collect())
}

/// Outcome of re-segmenting many seniors.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resegmented {
    pub seniors: usize,
    /// `(from, to) -> seniors` for those whose tier changed (`from` is `-` when none).
    pub moved: BTreeMap<(String, String), usize>,
}

impl Resegmented {
    pub fn moved_total(&self) -> usize {
        self.moved.values().sum()
    }
}

/// Re-segments every senior whose tier was decided under other rules (all of them
/// when `everyone`), in batches, each batch in its own write transaction.
pub async fn resegment_stale(state: &AppState, everyone: bool) -> Result<Resegmented, ApiError> {
    const BATCH: u64 = 500;
    let rules = state.rules.as_ref();
    let mut out = Resegmented::default();
    let mut after = 0i64;
    loop {
        let now = state.clock.now();
        let today = now.with_timezone(&state.settings.tz()).date_naive();
        let txn = crate::db::begin_write(&state.db).await?;
        let mut query = seniors::Entity::find().filter(seniors::Column::Id.gt(after)).order_by_asc(seniors::Column::Id);
        if !everyone {
            query = query.filter(
                seniors::Column::TierRulesVersion.is_null().or(seniors::Column::TierRulesVersion.ne(rules.version())),
            );
        }
        let batch = query.limit(BATCH).all(&txn).await?;
        let Some(last) = batch.last() else {
            txn.commit().await?;
            break;
        };
        after = last.id;
        let ids: Vec<i64> = batch.iter().map(|s| s.id).collect();
        let latest = latest_assessments(&txn, &ids).await?;
        for senior in &batch {
            let segment = resegment(&txn, rules, senior, latest.get(&senior.id), now, today, None).await?;
            out.seniors += 1;
            if senior.tier.as_deref() != Some(segment.tier.as_str()) {
                let from = senior.tier.clone().unwrap_or_else(|| "-".to_owned());
                *out.moved.entry((from, segment.tier)).or_default() += 1;
            }
        }
        txn.commit().await?;
    }
    Ok(out)
}

/// The facts of every active senior, for previews.
pub async fn all_facts(state: &AppState) -> Result<Vec<(i64, SeniorFacts)>, ApiError> {
    let today = state.clock.now().with_timezone(&state.settings.tz()).date_naive();
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let batch = seniors::Entity::find()
            .filter(seniors::Column::Id.gt(after))
            .filter(seniors::Column::Status.eq("active"))
            .order_by_asc(seniors::Column::Id)
            .limit(2000)
            .all(&state.db)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let ids: Vec<i64> = batch.iter().map(|s| s.id).collect();
        let latest = latest_assessments(&state.db, &ids).await?;
        out.extend(batch.iter().map(|s| (s.id, facts_of(s, latest.get(&s.id), today))));
    }
    Ok(out)
}
