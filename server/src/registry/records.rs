//! The parts of a senior's record kept beside the senior row: contacts (who to call,
//! in order), consents (what the senior agreed to share, as a history) and marked
//! changes (a fall, a hospital discharge) that make a reassessment due at once.
//!
//! Every write is checked, scoped to the caller's communities and audited in the
//! transaction that makes it.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{consents, contacts, senior_changes, seniors};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::service::{ContactInput, contact_row, find_visible};
use super::{ChangeKind, ConsentScope, GrantedBy, Phone};
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// At most this many contacts per senior: a call list, not an address book.
pub const MAX_CONTACTS: u64 = 10;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub name: String,
    pub relation: String,
    pub phone: String,
    pub call_order: i32,
    pub is_keyholder: bool,
}

impl From<contacts::Model> for ContactView {
    fn from(c: contacts::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            relation: c.relation,
            phone: c.phone,
            call_order: c.call_order,
            is_keyholder: c.is_keyholder,
        }
    }
}

fn contact_phone(input: &ContactInput) -> Result<Phone, ApiError> {
    Phone::parse(&input.phone).ok_or_else(|| {
        ApiError::field("phone", "invalid", "must be a mainland mobile or a landline with its area code")
    })
}

/// A senior's contacts in call order.
pub async fn contacts_of(db: &impl ConnectionTrait, senior_id: i64) -> Result<Vec<ContactView>, ApiError> {
    let rows = contacts::Entity::find()
        .filter(contacts::Column::SeniorId.eq(senior_id))
        .order_by_asc(contacts::Column::CallOrder)
        .order_by_asc(contacts::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(ContactView::from).collect())
}

pub async fn add_contact(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    input: ContactInput,
) -> Result<ContactView, ApiError> {
    // Out of scope is 404 whatever the body says.
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let phone = contact_phone(&input)?;
    let count = contacts::Entity::find().filter(contacts::Column::SeniorId.eq(senior.id)).count(&txn).await?;
    if count >= MAX_CONTACTS {
        return Err(ApiError::field(
            "contacts",
            "too_many",
            format!("a senior has at most {MAX_CONTACTS} contacts; remove one first"),
        ));
    }
    let row = contact_row(senior.id, &input, &phone, state.clock.now()).insert(&txn).await?;
    audit::record(&txn, &state.clock, caller, entry("contact.create", senior.id, row.id)).await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn update_contact(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    contact_id: i64,
    input: ContactInput,
) -> Result<ContactView, ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let phone = contact_phone(&input)?;
    let current = find_contact(&txn, senior.id, contact_id).await?;
    let mut row = current.into_active_model();
    row.name = Set(input.name.trim().to_owned());
    row.relation = Set(input.relation.trim().to_owned());
    row.phone = Set(phone.as_str().to_owned());
    row.call_order = Set(input.call_order);
    row.is_keyholder = Set(input.is_keyholder);
    let row = row.update(&txn).await?;
    audit::record(&txn, &state.clock, caller, entry("contact.update", senior.id, row.id)).await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn remove_contact(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    contact_id: i64,
) -> Result<(), ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let current = find_contact(&txn, senior.id, contact_id).await?;
    contacts::Entity::delete_by_id(current.id).exec(&txn).await?;
    audit::record(&txn, &state.clock, caller, entry("contact.delete", senior.id, current.id)).await?;
    txn.commit().await?;
    Ok(())
}

async fn find_contact(db: &impl ConnectionTrait, senior_id: i64, contact_id: i64) -> Result<contacts::Model, ApiError> {
    contacts::Entity::find_by_id(contact_id)
        .filter(contacts::Column::SeniorId.eq(senior_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

fn entry(action: &'static str, senior_id: i64, object_id: i64) -> audit::Entry {
    let mut e = audit::Entry::new(action, "senior", Some(senior_id.to_string()));
    e.details = serde_json::json!({ "id": object_id });
    e
}

/// The body of `POST /api/v1/seniors/{id}/consents`: one answer for one scope.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ConsentInput {
    pub scope: ConsentScope,
    /// `true` agreed, `false` refused or withdrawn.
    pub granted: bool,
    pub granted_by: GrantedBy,
    /// Required when a guardian answered.
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub guardian_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: i64,
    pub scope: String,
    pub granted: bool,
    pub granted_by: String,
    pub guardian_name: Option<String>,
    /// The worker who recorded it.
    pub recorded_by: i64,
    pub recorded_by_name: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Consents: the current answer per scope (scopes never asked are absent), and the
/// whole history, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consents {
    pub current: Vec<ConsentView>,
    pub history: Vec<ConsentView>,
}

pub async fn consents_of(db: &impl ConnectionTrait, senior_id: i64) -> Result<Consents, ApiError> {
    let rows = consents::Entity::find()
        .filter(consents::Column::SeniorId.eq(senior_id))
        .find_also_related(entity::users::Entity)
        .order_by_desc(consents::Column::RecordedAt)
        .order_by_desc(consents::Column::Id)
        .all(db)
        .await?;
    let history: Vec<ConsentView> = rows
        .into_iter()
        .map(|(c, user)| ConsentView {
            id: c.id,
            scope: c.scope,
            granted: c.granted,
            granted_by: c.granted_by,
            guardian_name: c.guardian_name,
            recorded_by: c.recorded_by,
            recorded_by_name: user.map(|u| u.display_name),
            recorded_at: c.recorded_at,
        })
        .collect();
    let current = ConsentScope::ALL
        .iter()
        .filter_map(|scope| history.iter().find(|c| c.scope == scope.as_str()).cloned())
        .collect();
    Ok(Consents { current, history })
}

pub async fn record_consent(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    input: ConsentInput,
) -> Result<ConsentView, ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let guardian_name = input.guardian_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match (input.granted_by, guardian_name) {
        (GrantedBy::Guardian, None) => {
            return Err(ApiError::field("guardian_name", "required", "name the guardian who answered"));
        }
        (GrantedBy::Senior, Some(_)) => {
            return Err(ApiError::field(
                "guardian_name",
                "not_allowed",
                "only for granted_by guardian; the senior answered themself",
            ));
        }
        _ => {}
    }
    let recorded_by = caller
        .user_id
        .ok_or_else(|| ApiError::field("recorded_by", "required", "consents are recorded by a person"))?;
    let row = consents::ActiveModel {
        senior_id: Set(senior.id),
        scope: Set(input.scope.as_str().to_owned()),
        granted: Set(input.granted),
        granted_by: Set(input.granted_by.as_str().to_owned()),
        guardian_name: Set(guardian_name.map(str::to_owned)),
        recorded_by: Set(recorded_by.0),
        recorded_at: Set(state.clock.now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut e = entry("consent.record", senior.id, row.id);
    e.details = serde_json::json!({ "id": row.id, "scope": row.scope, "granted": row.granted });
    audit::record(&txn, &state.clock, caller, e).await?;
    txn.commit().await?;
    let name = entity::users::Entity::find_by_id(recorded_by.0).one(&state.db).await?.map(|u| u.display_name);
    Ok(ConsentView {
        id: row.id,
        scope: row.scope,
        granted: row.granted,
        granted_by: row.granted_by,
        guardian_name: row.guardian_name,
        recorded_by: row.recorded_by,
        recorded_by_name: name,
        recorded_at: row.recorded_at,
    })
}

/// The body of `POST /api/v1/seniors/{id}/changes`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ChangeInput {
    pub kind: ChangeKind,
    /// When it happened (default: today); not in the future.
    pub occurred_on: Option<NaiveDate>,
    #[validate(length(max = 500, message = "must be at most 500 characters long"))]
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeView {
    pub id: i64,
    pub kind: String,
    pub occurred_on: NaiveDate,
    pub note: Option<String>,
    pub recorded_by: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

impl From<senior_changes::Model> for ChangeView {
    fn from(c: senior_changes::Model) -> Self {
        Self {
            id: c.id,
            kind: c.kind,
            occurred_on: c.occurred_on,
            note: c.note,
            recorded_by: c.recorded_by,
            recorded_at: c.recorded_at,
        }
    }
}

/// The most recent marked changes, newest first.
pub async fn changes_of(db: &impl ConnectionTrait, senior_id: i64, limit: u64) -> Result<Vec<ChangeView>, ApiError> {
    let rows = senior_changes::Entity::find()
        .filter(senior_changes::Column::SeniorId.eq(senior_id))
        .order_by_desc(senior_changes::Column::OccurredOn)
        .order_by_desc(senior_changes::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(ChangeView::from).collect())
}

/// Records a change and makes the senior's reassessment due today (an earlier due
/// date stays: it is already overdue).
pub async fn mark_change(
    state: &AppState,
    caller: &Caller,
    senior_id: i64,
    input: ChangeInput,
) -> Result<ChangeView, ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, senior_id).await?;
    let now = state.clock.now();
    let today = now.with_timezone(&state.settings.tz()).date_naive();
    let occurred_on = input.occurred_on.unwrap_or(today);
    if occurred_on > today {
        return Err(ApiError::Validation(vec![FieldError::new("occurred_on", "future", "is in the future")]));
    }
    let row = senior_changes::ActiveModel {
        senior_id: Set(senior.id),
        kind: Set(input.kind.as_str().to_owned()),
        occurred_on: Set(occurred_on),
        note: Set(input.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty())),
        recorded_by: Set(caller.user_id.map(|u| u.0)),
        recorded_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if senior.reassessment_due_on.is_none_or(|due| due > today) {
        // The due date is derived, like the tier: editing it does not bump `version`.
        seniors::Entity::update_many()
            .col_expr(seniors::Column::ReassessmentDueOn, Expr::value(Some(today)))
            .col_expr(seniors::Column::UpdatedAt, Expr::value(now))
            .filter(seniors::Column::Id.eq(senior.id))
            .exec(&txn)
            .await?;
    }
    let mut e = entry("senior.mark_change", senior.id, row.id);
    e.details = serde_json::json!({ "id": row.id, "kind": row.kind });
    audit::record(&txn, &state.clock, caller, e).await?;
    txn.commit().await?;
    tracing::info!(senior.id = senior.id, change = %row.kind, "change marked; reassessment due");
    Ok(row.into())
}
