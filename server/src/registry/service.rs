//! Registering seniors: a request is parsed into a [`NewSenior`] (every field
//! checked, every error named), then stored with its cell, contacts and audit row in
//! one transaction.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{communities, contacts, seniors};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{EconomicStatus, Gender, LivingArrangement, Phone, ResidentId};
use crate::audit;
use crate::auth::{Caller, CommunityId};
use crate::crypto::ProtectedId;
use crate::error::{ApiError, FieldError};
use crate::grid;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub struct MedicalNotes {
    /// Chronic conditions (高血压, 糖尿病, ...).
    #[serde(default)]
    pub chronic: Vec<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    /// Diet instructions.
    #[serde(default)]
    pub diet: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ContactInput {
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// 子女, 配偶, 邻居, ...
    #[validate(length(min = 1, max = 20, message = "must be 1 to 20 characters long"))]
    #[schema(min_length = 1, max_length = 20)]
    pub relation: String,
    pub phone: String,
    /// 1 is called first.
    #[validate(range(min = 1, max = 20))]
    #[schema(minimum = 1, maximum = 20)]
    pub call_order: i32,
    #[serde(default)]
    pub is_keyholder: bool,
}

/// The body of `POST /api/v1/seniors`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct SeniorInput {
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    pub gender: Gender,
    /// YYYY-MM-DD
    pub birth_date: NaiveDate,
    /// 18-character resident ID number (GB 11643).
    pub id_number: String,
    /// Mainland mobile or landline with area code.
    pub phone: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters long"))]
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub community_id: i64,
    pub living_arrangement: LivingArrangement,
    pub economic_status: EconomicStatus,
    #[serde(default)]
    pub medical_notes: MedicalNotes,
    #[serde(default)]
    #[validate(nested)]
    pub contacts: Vec<ContactInput>,
}

/// A senior ready to store: every value checked.
#[derive(Debug, Clone)]
pub struct NewSenior {
    pub input: SeniorInput,
    pub id_number: ResidentId,
    pub phone: Phone,
    pub contact_phones: Vec<Phone>,
    pub cell: h3o::CellIndex,
}

/// Full years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

impl NewSenior {
    /// Checks meaning beyond shape: the ID number and its birth date, the age, phones,
    /// coordinates inside the service area. Collects every error.
    pub fn parse(input: SeniorInput, state: &AppState) -> Result<Self, ApiError> {
        let settings = &state.settings;
        let mut errors = Vec::new();
        let today = state.clock.now().with_timezone(&settings.tz()).date_naive();

        let id_number = match ResidentId::parse(&input.id_number) {
            Ok(id) => {
                if id.birth_date() != input.birth_date {
                    errors.push(FieldError::new(
                        "id_number",
                        "birth_date_mismatch",
                        format!("its birth date {} does not match birth_date {}", id.birth_date(), input.birth_date),
                    ));
                }
                Some(id)
            }
            Err(e) => {
                errors.push(FieldError::new("id_number", "invalid", e.to_string()));
                None
            }
        };
        if input.birth_date > today {
            errors.push(FieldError::new("birth_date", "future", "is in the future"));
        } else if age_on(input.birth_date, today) < settings.min_senior_age {
            errors.push(FieldError::new(
                "birth_date",
                "too_young",
                format!("the senior must be at least {} years old", settings.min_senior_age),
            ));
        }
        let phone = Phone::parse(&input.phone);
        if phone.is_none() {
            errors.push(FieldError::new(
                "phone",
                "invalid",
                "must be a mainland mobile (11 digits) or a landline with its area code",
            ));
        }
        check_service_area(settings, input.latitude, input.longitude, ("latitude", "longitude"), &mut errors);
        let mut contact_phones = Vec::new();
        for (i, c) in input.contacts.iter().enumerate() {
            match Phone::parse(&c.phone) {
                Some(p) => contact_phones.push(p),
                None => errors.push(FieldError::new(
                    format!("contacts[{i}].phone"),
                    "invalid",
                    "must be a mainland mobile or landline",
                )),
            }
        }
        let cell = grid::cell_of(input.latitude, input.longitude, settings.resolution());
        match (errors.is_empty(), id_number, phone, cell) {
            (true, Some(id_number), Some(phone), Some(cell)) => {
                Ok(Self { input, id_number, phone, contact_phones, cell })
            }
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Names each coordinate that falls outside the configured service area.
pub fn check_service_area(
    settings: &crate::config::Settings,
    latitude: f64,
    longitude: f64,
    (lat_field, lng_field): (&str, &str),
    errors: &mut Vec<FieldError>,
) {
    let [min_lng, min_lat, max_lng, max_lat] = settings.service_area;
    if !(min_lat..=max_lat).contains(&latitude) {
        errors.push(FieldError::new(
            lat_field,
            "outside_service_area",
            format!("must be between {min_lat} and {max_lat} (the service area)"),
        ));
    }
    if !(min_lng..=max_lng).contains(&longitude) {
        errors.push(FieldError::new(
            lng_field,
            "outside_service_area",
            format!("must be between {min_lng} and {max_lng} (the service area)"),
        ));
    }
}

fn duplicate(existing_id: i64) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("existing_id".into(), existing_id.into());
    extra.insert("existing".into(), format!("/api/v1/seniors/{existing_id}").into());
    ApiError::Conflict {
        code: "duplicate-senior",
        detail: "A senior with this ID number is already registered".into(),
        extra: Some(extra),
    }
}

/// Stores a new senior. The community must exist and be in the caller's scope.
pub async fn register(state: &AppState, caller: &Caller, new: NewSenior) -> Result<seniors::Model, ApiError> {
    let db = &state.db;
    let community = communities::Entity::find_by_id(new.input.community_id).one(db).await?;
    let community = match community {
        Some(c) if caller.sees_community(CommunityId(c.id)) => c,
        _ => {
            return Err(ApiError::field("community_id", "unknown", "is not one of your communities"));
        }
    };
    let outside_boundary = match grid::parse_boundary(&community.boundary_geojson) {
        Ok(boundary) => !grid::contains(&boundary, new.input.latitude, new.input.longitude),
        Err(_) => false,
    };
    let protected = state.data_key.protect_id_number(new.id_number.as_str())?;
    let now = state.clock.now();
    let today = now.with_timezone(&state.settings.tz()).date_naive();

    let txn = crate::db::begin_write(db).await?;
    if let Some(existing) = seniors::Entity::find()
        .filter(seniors::Column::IdNumberHash.eq(protected.lookup_hash.clone()))
        .one(&txn)
        .await?
    {
        return Err(duplicate(existing.id));
    }
    let senior = senior_row(&new, protected, outside_boundary, caller.user_id.map(|u| u.0), now, today)
        .insert(&txn)
        .await
        .map_err(|e| match ApiError::from(e) {
            ApiError::Conflict { .. } => duplicate(0),
            other => other,
        })?;
    for (c, phone) in new.input.contacts.iter().zip(&new.contact_phones) {
        contact_row(senior.id, c, phone, now).insert(&txn).await?;
    }
    super::tiering::resegment(&txn, &state.rules, &senior, None, now, today, caller.user_id.map(|u| u.0)).await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("senior.create", "senior", Some(senior.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(senior.id = senior.id, community.id = community.id, outside_boundary, "senior registered");
    Ok(senior)
}

/// A senior's row, built from checked values; `register` and the import store the same thing.
pub fn senior_row(
    new: &NewSenior,
    protected: ProtectedId,
    outside_boundary: bool,
    created_by: Option<i64>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> seniors::ActiveModel {
    let input = &new.input;
    seniors::ActiveModel {
        community_id: Set(input.community_id),
        name: Set(input.name.trim().to_owned()),
        gender: Set(input.gender.as_str().to_owned()),
        birth_date: Set(input.birth_date),
        id_number_enc: Set(protected.encrypted),
        id_number_hash: Set(protected.lookup_hash),
        id_number_masked: Set(protected.masked),
        phone: Set(new.phone.as_str().to_owned()),
        address: Set(input.address.trim().to_owned()),
        latitude: Set(input.latitude),
        longitude: Set(input.longitude),
        cell: Set(grid::to_db(new.cell)),
        outside_boundary: Set(outside_boundary),
        living_arrangement: Set(input.living_arrangement.as_str().to_owned()),
        economic_status: Set(input.economic_status.as_str().to_owned()),
        medical_notes: Set(serde_json::to_value(&input.medical_notes).unwrap_or_default()),
        status: Set("active".to_owned()),
        status_since: Set(today),
        tier: Set(None),
        flags: Set(serde_json::json!([])),
        has_bell: Set(false),
        reassessment_due_on: Set(Some(today)),
        created_by: Set(created_by),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
}

/// A contact's row.
pub fn contact_row(senior_id: i64, contact: &ContactInput, phone: &Phone, now: DateTime<Utc>) -> contacts::ActiveModel {
    contacts::ActiveModel {
        senior_id: Set(senior_id),
        name: Set(contact.name.trim().to_owned()),
        relation: Set(contact.relation.trim().to_owned()),
        phone: Set(phone.as_str().to_owned()),
        call_order: Set(contact.call_order),
        is_keyholder: Set(contact.is_keyholder),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Loads a senior the caller may see, else 404.
pub async fn find_visible(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> Result<seniors::Model, ApiError> {
    let senior = seniors::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(senior.community_id))?;
    Ok(senior)
}

/// The full resident ID number, for a stated reason; the read is audited in the same
/// transaction, so there is no reveal without its audit row.
pub async fn reveal_id_number(state: &AppState, caller: &Caller, id: i64, reason: &str) -> Result<String, ApiError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let senior = find_visible(&txn, caller, id).await?;
    let plain = state.data_key.decrypt(&senior.id_number_enc)?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("senior.reveal_id_number", "senior", Some(id.to_string())).reason(reason),
    )
    .await?;
    txn.commit().await?;
    Ok(plain)
}

/// The body of `PATCH /api/v1/seniors/{id}`: the fields to change, and the version
/// the client last read (optimistic concurrency).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct SeniorUpdate {
    pub version: i32,
    #[validate(length(min = 1, max = 50, message = "must be 1 to 50 characters long"))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: Option<String>,
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters long"))]
    #[schema(min_length = 1, max_length = 200)]
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub living_arrangement: Option<LivingArrangement>,
    pub economic_status: Option<EconomicStatus>,
    pub medical_notes: Option<MedicalNotes>,
    pub status: Option<super::SeniorStatus>,
    /// The day the status took effect (default: today).
    pub status_since: Option<NaiveDate>,
}

fn stale(current: &seniors::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_version".into(), current.version.into());
    ApiError::Conflict {
        code: "stale-version",
        detail: "The senior was changed by someone else; reload and apply your change again".into(),
        extra: Some(extra),
    }
}

/// Applies an update with the same checks as registration. A stale `version` is 409
/// with the current one; nothing is written then.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    change: SeniorUpdate,
) -> Result<seniors::Model, ApiError> {
    use sea_orm::IntoActiveModel;
    let settings = &state.settings;
    let now = state.clock.now();
    let today = now.with_timezone(&settings.tz()).date_naive();
    let txn = crate::db::begin_write(&state.db).await?;
    let current = find_visible(&txn, caller, id).await?;
    if current.version != change.version {
        return Err(stale(&current));
    }
    let mut errors = Vec::new();
    let phone = change.phone.as_deref().map(|p| {
        Phone::parse(p).ok_or_else(|| {
            errors.push(FieldError::new(
                "phone",
                "invalid",
                "must be a mainland mobile (11 digits) or a landline with its area code",
            ))
        })
    });
    let (lat, lng) = (change.latitude.unwrap_or(current.latitude), change.longitude.unwrap_or(current.longitude));
    check_service_area(settings, lat, lng, ("latitude", "longitude"), &mut errors);
    if change.status_since.is_some_and(|d| d > today) {
        errors.push(FieldError::new("status_since", "future", "is in the future"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut row = current.clone().into_active_model();
    if let Some(name) = &change.name {
        row.name = Set(name.trim().to_owned());
    }
    if let Some(Ok(phone)) = phone {
        row.phone = Set(phone.as_str().to_owned());
    }
    if let Some(address) = &change.address {
        row.address = Set(address.trim().to_owned());
    }
    if change.latitude.is_some() || change.longitude.is_some() {
        let cell = grid::cell_of(lat, lng, settings.resolution())
            .ok_or_else(|| ApiError::field("latitude", "invalid", "not a position"))?;
        let community = entity::communities::Entity::find_by_id(current.community_id).one(&txn).await?;
        let outside = community
            .and_then(|c| grid::parse_boundary(&c.boundary_geojson).ok())
            .is_some_and(|b| !grid::contains(&b, lat, lng));
        row.latitude = Set(lat);
        row.longitude = Set(lng);
        row.cell = Set(grid::to_db(cell));
        row.outside_boundary = Set(outside);
    }
    if let Some(living) = change.living_arrangement {
        row.living_arrangement = Set(living.as_str().to_owned());
    }
    if let Some(economic) = change.economic_status {
        row.economic_status = Set(economic.as_str().to_owned());
    }
    if let Some(notes) = &change.medical_notes {
        row.medical_notes = Set(serde_json::to_value(notes).unwrap_or_default());
    }
    if let Some(status) = change.status {
        row.status = Set(status.as_str().to_owned());
        row.status_since = Set(change.status_since.unwrap_or(today));
    }
    row.updated_at = Set(now);
    row.version = Set(current.version + 1);
    // Conditional on the version read above: a concurrent writer makes this a no-op.
    let result = seniors::Entity::update_many()
        .set(row)
        .filter(seniors::Column::Id.eq(id))
        .filter(seniors::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale(&current));
    }
    let updated = seniors::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    let latest = super::tiering::latest_assessments(&txn, &[id]).await?;
    super::tiering::resegment(&txn, &state.rules, &updated, latest.get(&id), now, today, caller.user_id.map(|u| u.0))
        .await?;
    audit::record(&txn, &state.clock, caller, audit::Entry::new("senior.update", "senior", Some(id.to_string())))
        .await?;
    txn.commit().await?;
    let updated = seniors::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok(updated)
}
