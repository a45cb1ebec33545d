//! Responders: registering caregivers and volunteers, their shifts and absences,
//! the on-duty toggle and position reports. Every write refreshes the in-memory
//! index from the row it wrote.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use entity::{responder_absences, responder_communities, responder_shifts, responders, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::index::{Entry, Fix, Shift};
use super::kinds::{ResponderKind, Skill, TravelMode};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::{ApiError, FieldError};
use crate::grid;
use crate::registry::service::check_service_area;
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
pub struct ShiftInput {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: u8,
    /// Local time, `HH:MM`.
    #[schema(value_type = String, example = "08:00")]
    pub starts_at: NaiveTime,
    #[schema(value_type = String, example = "17:00")]
    pub ends_at: NaiveTime,
}

/// The body of `POST /api/v1/responders`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ResponderInput {
    /// The caregiver's or volunteer's user account.
    pub user_id: i64,
    pub kind: ResponderKind,
    pub skills: Vec<Skill>,
    /// Required with the `nursing` skill.
    #[validate(length(min = 3, max = 40, message = "must be 3 to 40 characters long"))]
    #[schema(min_length = 3, max_length = 40)]
    pub nursing_licence: Option<String>,
    pub licence_expires_on: Option<NaiveDate>,
    pub home_latitude: f64,
    pub home_longitude: f64,
    pub community_ids: Vec<i64>,
    pub travel_mode: TravelMode,
    /// Tasks held at once (default 1).
    #[validate(range(min = 1, max = 20))]
    #[schema(minimum = 1, maximum = 20)]
    pub max_concurrent: Option<u32>,
    /// Weekly shifts; none means never on shift for planned work.
    #[serde(default)]
    pub shifts: Vec<ShiftInput>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbsenceView {
    pub id: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponderView {
    pub id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub kind: String,
    pub skills: Vec<String>,
    pub nursing_licence: Option<String>,
    pub licence_expires_on: Option<NaiveDate>,
    pub home_latitude: f64,
    pub home_longitude: f64,
    pub community_ids: Vec<i64>,
    pub travel_mode: String,
    pub max_concurrent: i32,
    pub on_duty: bool,
    pub last_latitude: Option<f64>,
    pub last_longitude: Option<f64>,
    pub last_accuracy_m: Option<f64>,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
    pub shifts: Vec<ShiftInput>,
    pub absences: Vec<AbsenceView>,
    pub version: i32,
}

/// Everything about some responders, in the shape of the index.
struct Loaded {
    rows: Vec<responders::Model>,
    communities: HashMap<i64, Vec<i64>>,
    shifts: HashMap<i64, Vec<responder_shifts::Model>>,
    absences: HashMap<i64, Vec<responder_absences::Model>>,
}

async fn load(db: &impl ConnectionTrait, ids: Option<&[i64]>) -> Result<Loaded, ApiError> {
    let mut rows = responders::Entity::find().order_by_asc(responders::Column::Id);
    let mut comm = responder_communities::Entity::find();
    let mut shifts = responder_shifts::Entity::find().order_by_asc(responder_shifts::Column::Id);
    let mut absences = responder_absences::Entity::find().order_by_asc(responder_absences::Column::StartsOn);
    if let Some(ids) = ids {
        rows = rows.filter(responders::Column::Id.is_in(ids.iter().copied()));
        comm = comm.filter(responder_communities::Column::ResponderId.is_in(ids.iter().copied()));
        shifts = shifts.filter(responder_shifts::Column::ResponderId.is_in(ids.iter().copied()));
        absences = absences.filter(responder_absences::Column::ResponderId.is_in(ids.iter().copied()));
    }
    let (rows, comm, shifts, absences) =
        futures_util::try_join!(rows.all(db), comm.all(db), shifts.all(db), absences.all(db))?;
    let mut loaded = Loaded { rows, communities: HashMap::new(), shifts: HashMap::new(), absences: HashMap::new() };
    for c in comm {
        loaded.communities.entry(c.responder_id).or_default().push(c.community_id);
    }
    for s in shifts {
        loaded.shifts.entry(s.responder_id).or_default().push(s);
    }
    for a in absences {
        loaded.absences.entry(a.responder_id).or_default().push(a);
    }
    Ok(loaded)
}

fn skills_of(json: &serde_json::Value) -> Vec<Skill> {
    json.as_array().map(|a| a.iter().filter_map(|v| v.as_str().and_then(Skill::parse)).collect()).unwrap_or_default()
}

fn entry_of(r: &responders::Model, loaded: &Loaded) -> Entry {
    let mut communities = loaded.communities.get(&r.id).cloned().unwrap_or_default();
    communities.sort_unstable();
    Entry {
        id: r.id,
        user_id: r.user_id,
        kind: ResponderKind::parse(&r.kind).unwrap_or(ResponderKind::Volunteer),
        skills: skills_of(&r.skills).iter().fold(0, |acc, s| acc | s.bit()),
        licence_expires_on: r.licence_expires_on,
        communities,
        home: (r.home_latitude, r.home_longitude),
        last: match (r.last_latitude, r.last_longitude, r.last_seen_at) {
            (Some(latitude), Some(longitude), Some(at)) => {
                Some(Fix { latitude, longitude, accuracy_m: r.last_accuracy_m, at })
            }
            _ => None,
        },
        travel_mode: TravelMode::parse(&r.travel_mode).unwrap_or(TravelMode::Walk),
        max_concurrent: r.max_concurrent.max(1) as u32,
        on_duty: r.on_duty,
        shifts: loaded
            .shifts
            .get(&r.id)
            .map(|list| {
                list.iter()
                    .map(|s| Shift { weekday: s.weekday as u8, starts_at: s.starts_at, ends_at: s.ends_at })
                    .collect()
            })
            .unwrap_or_default(),
        absences: loaded
            .absences
            .get(&r.id)
            .map(|list| list.iter().map(|a| (a.starts_on, a.ends_on)).collect())
            .unwrap_or_default(),
    }
}

/// Every responder, for building the index at start.
pub async fn load_all(db: &impl ConnectionTrait) -> Result<Vec<Entry>, ApiError> {
    let loaded = load(db, None).await?;
    Ok(loaded.rows.iter().map(|r| entry_of(r, &loaded)).collect())
}

/// Re-reads responders into the index (after a committed write), in one batch.
pub async fn refresh(state: &AppState, ids: &[i64]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let loaded = load(&state.db, Some(ids)).await?;
    for r in &loaded.rows {
        state.responders.upsert(entry_of(r, &loaded));
    }
    Ok(())
}

async fn view_of(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<ResponderView>, ApiError> {
    let loaded = load(db, Some(ids)).await?;
    let user_ids: Vec<i64> = loaded.rows.iter().map(|r| r.user_id).collect();
    let names: HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(loaded
        .rows
        .iter()
        .map(|r| {
            let entry = entry_of(r, &loaded);
            ResponderView {
                id: r.id,
                user_id: r.user_id,
                display_name: names.get(&r.user_id).cloned().unwrap_or_default(),
                kind: r.kind.clone(),
                skills: skills_of(&r.skills).iter().map(|s| s.as_str().to_owned()).collect(),
                nursing_licence: r.nursing_licence.clone(),
                licence_expires_on: r.licence_expires_on,
                home_latitude: r.home_latitude,
                home_longitude: r.home_longitude,
                community_ids: entry.communities,
                travel_mode: r.travel_mode.clone(),
                max_concurrent: r.max_concurrent,
                on_duty: r.on_duty,
                last_latitude: r.last_latitude,
                last_longitude: r.last_longitude,
                last_accuracy_m: r.last_accuracy_m,
                last_seen_at: r.last_seen_at,
                shifts: entry
                    .shifts
                    .iter()
                    .map(|s| ShiftInput { weekday: s.weekday, starts_at: s.starts_at, ends_at: s.ends_at })
                    .collect(),
                absences: loaded
                    .absences
                    .get(&r.id)
                    .map(|list| {
                        list.iter()
                            .map(|a| AbsenceView {
                                id: a.id,
                                starts_on: a.starts_on,
                                ends_on: a.ends_on,
                                reason: a.reason.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                version: r.version,
            }
        })
        .collect())
}

/// One responder the caller may see: workers see those serving one of their communities.
pub async fn find_visible(state: &AppState, caller: &Caller, id: i64) -> Result<ResponderView, ApiError> {
    let view = view_of(&state.db, &[id]).await?.pop().ok_or(ApiError::NotFound)?;
    if caller.role == Role::Worker && !view.community_ids.iter().any(|c| caller.sees_community(CommunityId(*c))) {
        return Err(ApiError::NotFound);
    }
    Ok(view)
}

/// Responders serving the caller's communities (all for admins), by id.
pub async fn list_visible(
    state: &AppState,
    caller: &Caller,
    community: Option<i64>,
) -> Result<Vec<ResponderView>, ApiError> {
    let mut ids: Vec<i64> = match caller.role {
        Role::Worker => {
            let mine: Vec<i64> = caller.communities.iter().map(|c| c.0).collect();
            responder_communities::Entity::find()
                .filter(responder_communities::Column::CommunityId.is_in(mine))
                .all(&state.db)
                .await?
                .into_iter()
                .filter(|rc| community.is_none_or(|c| rc.community_id == c))
                .map(|rc| rc.responder_id)
                .collect()
        }
        _ => match community {
            Some(c) => responder_communities::Entity::find()
                .filter(responder_communities::Column::CommunityId.eq(c))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|rc| rc.responder_id)
                .collect(),
            None => responders::Entity::find().all(&state.db).await?.into_iter().map(|r| r.id).collect(),
        },
    };
    ids.sort_unstable();
    ids.dedup();
    view_of(&state.db, &ids).await
}

/// The responder record of a caregiver or volunteer calling about themself.
pub async fn of_caller(db: &impl ConnectionTrait, caller: &Caller) -> Result<responders::Model, ApiError> {
    let user = caller.user_id.ok_or(ApiError::Forbidden)?;
    responders::Entity::find()
        .filter(responders::Column::UserId.eq(user.0))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::field("user", "not_a_responder", "this account is not registered as a responder"))
}

/// Registers a caregiver or volunteer with their shifts.
pub async fn create(state: &AppState, caller: &Caller, input: ResponderInput) -> Result<i64, ApiError> {
    let mut errors = Vec::new();
    check_service_area(
        &state.settings,
        input.home_latitude,
        input.home_longitude,
        ("home_latitude", "home_longitude"),
        &mut errors,
    );
    if input.skills.is_empty() {
        errors.push(FieldError::new("skills", "required", "name at least one skill"));
    }
    if input.skills.contains(&Skill::Nursing) {
        if input.nursing_licence.as_deref().is_none_or(|l| l.trim().is_empty()) {
            errors.push(FieldError::new("nursing_licence", "required", "the nursing skill needs a licence number"));
        }
        if input.licence_expires_on.is_none() {
            errors.push(FieldError::new(
                "licence_expires_on",
                "required",
                "the nursing skill needs the licence's expiry",
            ));
        }
    }
    if input.community_ids.is_empty() {
        errors.push(FieldError::new("community_ids", "required", "name at least one community served"));
    }
    for c in &input.community_ids {
        if !caller.sees_community(CommunityId(*c)) {
            errors.push(FieldError::new("community_ids", "unknown", format!("{c} is not one of your communities")));
        }
    }
    for (i, s) in input.shifts.iter().enumerate() {
        if !(1..=7).contains(&s.weekday) {
            errors.push(FieldError::new(format!("shifts[{i}].weekday"), "invalid", "1 (Monday) to 7 (Sunday)"));
        }
        if s.ends_at <= s.starts_at {
            errors.push(FieldError::new(format!("shifts[{i}].ends_at"), "invalid", "must be after starts_at"));
        }
    }
    let user = users::Entity::find_by_id(input.user_id).one(&state.db).await?;
    match &user {
        None => errors.push(FieldError::new("user_id", "unknown", "no such user")),
        Some(u) if u.role != input.kind.as_str() => errors.push(FieldError::new(
            "user_id",
            "wrong_role",
            format!("the user's role is {}; a {} needs a {} account", u.role, input.kind, input.kind),
        )),
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let communities = entity::communities::Entity::find()
        .filter(entity::communities::Column::Id.is_in(input.community_ids.clone()))
        .all(&state.db)
        .await?;
    if communities.len() != {
        let mut ids = input.community_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    } {
        return Err(ApiError::field("community_ids", "unknown", "names a community that does not exist"));
    }
    let now = state.clock.now();
    let home_cell = grid::cell_of(input.home_latitude, input.home_longitude, state.settings.resolution())
        .ok_or_else(|| ApiError::field("home_latitude", "invalid", "not a position"))?;
    let mut skills = input.skills.clone();
    skills.sort();
    skills.dedup();
    let txn = crate::db::begin_write(&state.db).await?;
    if responders::Entity::find().filter(responders::Column::UserId.eq(input.user_id)).one(&txn).await?.is_some() {
        return Err(ApiError::Conflict {
            code: "already-responder",
            detail: "This user is already registered as a responder".into(),
            extra: None,
        });
    }
    let row = responders::ActiveModel {
        user_id: Set(input.user_id),
        kind: Set(input.kind.as_str().to_owned()),
        skills: Set(serde_json::json!(skills.iter().map(|s| s.as_str()).collect::<Vec<_>>())),
        nursing_licence: Set(input.nursing_licence.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())),
        licence_expires_on: Set(input.licence_expires_on),
        home_latitude: Set(input.home_latitude),
        home_longitude: Set(input.home_longitude),
        home_cell: Set(grid::to_db(home_cell)),
        travel_mode: Set(input.travel_mode.as_str().to_owned()),
        max_concurrent: Set(input.max_concurrent.unwrap_or(1) as i32),
        on_duty: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for c in communities {
        responder_communities::ActiveModel { responder_id: Set(row.id), community_id: Set(c.id) }.insert(&txn).await?;
    }
    for s in &input.shifts {
        responder_shifts::ActiveModel {
            responder_id: Set(row.id),
            weekday: Set(i16::from(s.weekday)),
            starts_at: Set(s.starts_at),
            ends_at: Set(s.ends_at),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("responder.create", "responder", Some(row.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    refresh(state, &[row.id]).await?;
    tracing::info!(responder.id = row.id, kind = %input.kind, "responder registered");
    Ok(row.id)
}

/// The body of `POST /api/v1/responders/{id}/absences`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct AbsenceInput {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// `leave`, `sick` or `other`.
    pub reason: AbsenceReason,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

crate::registry::kinds::vocabulary!(AbsenceReason { Leave = "leave", Sick = "sick", Other = "other" });

pub async fn add_absence(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: AbsenceInput,
) -> Result<AbsenceView, ApiError> {
    find_visible(state, caller, id).await?;
    if input.ends_on < input.starts_on {
        return Err(ApiError::field("ends_on", "invalid", "must not be before starts_on"));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    let row = responder_absences::ActiveModel {
        responder_id: Set(id),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        reason: Set(input.reason.as_str().to_owned()),
        note: Set(input.note),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("responder.absence", "responder", Some(id.to_string())),
    )
    .await?;
    txn.commit().await?;
    refresh(state, &[id]).await?;
    Ok(AbsenceView { id: row.id, starts_on: row.starts_on, ends_on: row.ends_on, reason: row.reason })
}

/// The on-duty toggle of the calling responder.
pub async fn set_duty(state: &AppState, caller: &Caller, on_duty: bool) -> Result<responders::Model, ApiError> {
    let me = of_caller(&state.db, caller).await?;
    responders::Entity::update_many()
        .col_expr(responders::Column::OnDuty, Expr::value(on_duty))
        .col_expr(responders::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(responders::Column::Id.eq(me.id))
        .exec(&state.db)
        .await?;
    state.responders.update(me.id, |e| e.on_duty = on_duty);
    tracing::info!(responder.id = me.id, on_duty, "duty changed");
    Ok(responders::Model { on_duty, ..me })
}

/// The body of `POST /api/v1/me/location`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct LocationInput {
    pub latitude: f64,
    pub longitude: f64,
    /// Reported accuracy radius in metres.
    #[validate(range(min = 0.0, max = 10000.0))]
    #[schema(minimum = 0.0, maximum = 10000.0)]
    pub accuracy_m: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationAck {
    /// False when the report came sooner than the throttle allows; nothing changed.
    pub stored: bool,
    /// Seconds before the next report is stored.
    pub next_in_secs: i64,
}

/// Stores the calling responder's position, at most once per throttle interval.
pub async fn report_location(state: &AppState, caller: &Caller, input: LocationInput) -> Result<LocationAck, ApiError> {
    let mut errors = Vec::new();
    check_service_area(&state.settings, input.latitude, input.longitude, ("latitude", "longitude"), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let me = of_caller(&state.db, caller).await?;
    let now = state.clock.now();
    let interval = state.settings.dispatch.location_min_interval_secs;
    if let Some(seen) = me.last_seen_at {
        let age = (now - seen).num_seconds();
        if age < interval {
            return Ok(LocationAck { stored: false, next_in_secs: interval - age });
        }
    }
    let cell = grid::cell_of(input.latitude, input.longitude, state.settings.resolution())
        .ok_or_else(|| ApiError::field("latitude", "invalid", "not a position"))?;
    responders::Entity::update_many()
        .col_expr(responders::Column::LastLatitude, Expr::value(Some(input.latitude)))
        .col_expr(responders::Column::LastLongitude, Expr::value(Some(input.longitude)))
        .col_expr(responders::Column::LastAccuracyM, Expr::value(input.accuracy_m))
        .col_expr(responders::Column::LastCell, Expr::value(Some(grid::to_db(cell))))
        .col_expr(responders::Column::LastSeenAt, Expr::value(Some(now)))
        .filter(responders::Column::Id.eq(me.id))
        .exec(&state.db)
        .await?;
    let fix = Fix { latitude: input.latitude, longitude: input.longitude, accuracy_m: input.accuracy_m, at: now };
    state.responders.update(me.id, |e| e.last = Some(fix));
    Ok(LocationAck { stored: true, next_in_secs: interval })
}
