//! Recording an assessment: every item stored, the totals and levels computed by the
//! server, the next reassessment scheduled.

use chrono::{DateTime, Months, Utc};
use entity::{assessments, seniors};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::barthel::BarthelInput;
use super::{BarthelItems, CognitionLevel, DependencyLevel, SpmsqErrors};
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::registry::service::find_visible;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentReason {
    #[default]
    Initial,
    Periodic,
    HospitalDischarge,
    Fall,
    Other,
}

impl AssessmentReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Periodic => "periodic",
            Self::HospitalDischarge => "hospital_discharge",
            Self::Fall => "fall",
            Self::Other => "other",
        }
    }
}

/// The body of `POST /api/v1/seniors/{id}/assessments`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct AssessmentInput {
    pub barthel: BarthelInput,
    /// Number of wrong answers on the SPMSQ (0–10).
    pub spmsq_errors: i64,
    #[serde(default)]
    pub reason: AssessmentReason,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentView {
    pub id: i64,
    pub senior_id: i64,
    pub assessed_at: DateTime<Utc>,
    pub assessor_id: Option<i64>,
    pub reason: String,
    pub barthel: BarthelInput,
    pub barthel_total: i16,
    pub dependency_level: String,
    pub spmsq_errors: i16,
    pub cognition_level: String,
    pub notes: Option<String>,
}

impl From<assessments::Model> for AssessmentView {
    fn from(a: assessments::Model) -> Self {
        let item = |v: i16| u8::try_from(v).unwrap_or_default();
        Self {
            id: a.id,
            senior_id: a.senior_id,
            assessed_at: a.assessed_at,
            assessor_id: a.assessor_id,
            reason: a.reason,
            barthel: BarthelInput {
                feeding: item(a.feeding),
                bathing: item(a.bathing),
                grooming: item(a.grooming),
                dressing: item(a.dressing),
                bowels: item(a.bowels),
                bladder: item(a.bladder),
                toilet_use: item(a.toilet_use),
                transfers: item(a.transfers),
                mobility: item(a.mobility),
                stairs: item(a.stairs),
            },
            barthel_total: a.barthel_total,
            dependency_level: a.dependency_level,
            spmsq_errors: a.spmsq_errors,
            cognition_level: a.cognition_level,
            notes: a.notes,
        }
    }
}

/// A checked assessment.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub items: BarthelItems,
    pub spmsq: SpmsqErrors,
    pub reason: AssessmentReason,
    pub notes: Option<String>,
}

impl Assessment {
    pub fn parse(input: AssessmentInput) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let items = BarthelItems::parse(input.barthel, "barthel.").map_err(|e| errors.extend(e)).ok();
        let spmsq = SpmsqErrors::parse(input.spmsq_errors, "spmsq_errors").map_err(|e| errors.push(e)).ok();
        match (items, spmsq) {
            (Some(items), Some(spmsq)) if errors.is_empty() => {
                Ok(Self { items, spmsq, reason: input.reason, notes: input.notes.filter(|n| !n.trim().is_empty()) })
            }
            _ => Err(ApiError::Validation(errors)),
        }
    }

    pub fn dependency(&self) -> DependencyLevel {
        self.items.total().level()
    }

    pub fn cognition(&self) -> CognitionLevel {
        self.spmsq.level()
    }
}

pub async fn record(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    a: Assessment,
) -> Result<assessments::Model, ApiError> {
    let now = state.clock.now();
    let today = now.with_timezone(&state.settings.tz()).date_naive();
    let due = today.checked_add_months(Months::new(state.settings.reassessment_months)).unwrap_or(today);
    let b = a.items.input();
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let row = assessments::ActiveModel {
        senior_id: Set(senior.id),
        assessor_id: Set(caller.user_id.map(|u| u.0)),
        assessed_at: Set(now),
        reason: Set(a.reason.as_str().to_owned()),
        feeding: Set(i16::from(b.feeding)),
        bathing: Set(i16::from(b.bathing)),
        grooming: Set(i16::from(b.grooming)),
        dressing: Set(i16::from(b.dressing)),
        bowels: Set(i16::from(b.bowels)),
        bladder: Set(i16::from(b.bladder)),
        toilet_use: Set(i16::from(b.toilet_use)),
        transfers: Set(i16::from(b.transfers)),
        mobility: Set(i16::from(b.mobility)),
        stairs: Set(i16::from(b.stairs)),
        barthel_total: Set(i16::from(a.items.total().value())),
        dependency_level: Set(a.dependency().as_str().to_owned()),
        spmsq_errors: Set(i16::from(a.spmsq.value())),
        cognition_level: Set(a.cognition().as_str().to_owned()),
        notes: Set(a.notes.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    seniors::Entity::update_many()
        .col_expr(seniors::Column::ReassessmentDueOn, Expr::value(Some(due)))
        .col_expr(seniors::Column::UpdatedAt, Expr::value(now))
        .col_expr(seniors::Column::Version, Expr::col(seniors::Column::Version).add(1))
        .filter(seniors::Column::Id.eq(senior.id))
        .exec(&txn)
        .await?;
    crate::registry::tiering::resegment(
        &txn,
        &state.rules,
        &senior,
        Some(&row),
        now,
        today,
        caller.user_id.map(|u| u.0),
    )
    .await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("assessment.create", "senior", Some(senior.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(senior.id = senior.id, assessment.id = row.id, "assessment recorded");
    Ok(row)
}
