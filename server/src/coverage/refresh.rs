//! The `coverage_refresh` job: recomputes the current month's roll-ups (and any of the
//! last twelve months never computed, and last month until it is final) from the
//! registry and the month's records, and replaces that month's rows in one
//! transaction. The watermark (`coverage_months`) says as of when.
//!
//! Seniors are read in batches by id, and each record kind with one query over the
//! month, so the job's memory grows with the month's events, not the history.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    alarms, cases, coverage_cells, coverage_communities, coverage_months, responder_communities, responder_shifts,
    responders, seniors, service_plans, stations, survey_answers, tasks, timebank_accounts, timebank_entries,
    timebank_transactions,
};
use h3o::{CellIndex, Resolution};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::Value;

use super::{Counts, Month, RESOLUTIONS};
use crate::dispatch::index::distance_m;
use crate::error::ApiError;
use crate::grid;
use crate::state::AppState;

/// The 15-minute service circle: a responder's home base or a station this close.
pub const CIRCLE_M: f64 = 1000.0;
const SENIOR_BATCH: u64 = 20_000;
/// PostgreSQL waits on delayed ACKs for statements much over 10 KB: small batches.
const INSERT_BATCH: usize = 20;

/// Refreshes what needs it as of now; returns the number of rows written.
pub async fn run(state: &AppState) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let tz = state.settings.tz();
    let current = Month::of(now.with_timezone(&tz).date_naive());
    let known: HashMap<String, bool> =
        coverage_months::Entity::find().all(&state.db).await?.into_iter().map(|m| (m.month, m.is_final)).collect();
    let mut written = 0;
    for month in current.last_twelve() {
        let due = month == current || !known.get(&month.to_string()).copied().unwrap_or(false);
        if due {
            written += refresh_month(state, month, now).await?;
        }
    }
    Ok(written)
}

/// Recomputes one month as of `now` (or the month's end when it is over).
pub async fn refresh_month(state: &AppState, month: Month, now: DateTime<Utc>) -> Result<i64, ApiError> {
    let tz = state.settings.tz();
    let (start, end) = month.bounds(&tz);
    let is_final = now >= end;
    let as_of = if is_final { end } else { now };
    let tally = compute(state, month, start, as_of).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    let key = month.to_string();
    // Two instances refreshing one month take turns; the later of them finds the
    // month already written as of a newer time and leaves it.
    crate::db::lock_for_transaction(&txn, &format!("coverage:{key}")).await?;
    if let Some(stored) = coverage_months::Entity::find_by_id(key.clone()).one(&txn).await?
        && stored.as_of > as_of
    {
        txn.rollback().await?;
        return Ok(0);
    }
    coverage_cells::Entity::delete_many().filter(coverage_cells::Column::Month.eq(&key)).exec(&txn).await?;
    coverage_communities::Entity::delete_many().filter(coverage_communities::Column::Month.eq(&key)).exec(&txn).await?;
    coverage_months::Entity::delete_by_id(key.clone()).exec(&txn).await?;
    let mut written = 0i64;
    let mut cell_rows = Vec::new();
    for (i, res) in RESOLUTIONS.iter().enumerate() {
        for ((cell, community), counts) in &tally.cells[i] {
            cell_rows.push(coverage_cells::ActiveModel {
                month: Set(key.clone()),
                resolution: Set(i16::from(*res)),
                cell: Set(*cell),
                community_id: Set(*community),
                seniors_total: Set(counts.seniors_total),
                metrics: Set(compact(counts)?),
                ..Default::default()
            });
        }
    }
    for chunk in cell_rows.chunks(INSERT_BATCH) {
        written += chunk.len() as i64;
        coverage_cells::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    let community_rows: Vec<_> = tally
        .communities
        .iter()
        .map(|(community, counts)| {
            Ok(coverage_communities::ActiveModel {
                month: Set(key.clone()),
                community_id: Set(*community),
                seniors_total: Set(counts.seniors_total),
                metrics: Set(compact(counts)?),
                ..Default::default()
            })
        })
        .collect::<Result<_, ApiError>>()?;
    for chunk in community_rows.chunks(INSERT_BATCH) {
        written += chunk.len() as i64;
        coverage_communities::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    coverage_months::ActiveModel {
        month: Set(key),
        as_of: Set(as_of),
        refreshed_at: Set(now),
        is_final: Set(is_final),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    state.report_cache.clear();
    tracing::info!(month = %month, rows = written, "coverage refreshed");
    Ok(written)
}

/// Counters without the zeros and empty lists (most cells have no alarm in a month).
fn compact(c: &Counts) -> Result<Value, ApiError> {
    let mut v = serde_json::to_value(c).map_err(|e| ApiError::Internal(e.into()))?;
    if let Value::Object(map) = &mut v {
        map.retain(|_, x| match x {
            Value::Number(n) => n.as_i64() != Some(0),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        });
    }
    Ok(v)
}

/// The month's counters by (resolution, cell, community) and by community.
pub struct Tally {
    /// One map per entry of [`RESOLUTIONS`], keyed by (cell, community).
    pub cells: [HashMap<(i64, i64), Counts>; 3],
    pub communities: HashMap<i64, Counts>,
    /// Every senior's finest cell and economic status (any status: a bell rung by a
    /// senior who has since moved still counts where it rang).
    places: HashMap<i64, Place>,
}

struct Place {
    cell: Option<CellIndex>,
    economic_status: String,
}

impl Tally {
    fn new() -> Self {
        Self { cells: Default::default(), communities: HashMap::new(), places: HashMap::new() }
    }

    /// Applies `f` to the senior's community and to each of the senior's cells.
    fn bump(&mut self, senior: i64, community: i64, f: impl Fn(&mut Counts)) {
        f(self.communities.entry(community).or_default());
        let Some(cell) = self.places.get(&senior).and_then(|p| p.cell) else { return };
        for (i, res) in RESOLUTIONS.iter().enumerate() {
            let Ok(r) = Resolution::try_from(*res) else { continue };
            if let Some(parent) = cell.parent(r) {
                f(self.cells[i].entry((grid::to_db(parent), community)).or_default());
            }
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct SeniorRow {
    id: i64,
    community_id: i64,
    latitude: f64,
    longitude: f64,
    tier: Option<String>,
    flags: Value,
    living_arrangement: String,
    economic_status: String,
    birth_date: NaiveDate,
    status: String,
    created_at: DateTime<Utc>,
}

/// Points of the 15-minute circle (responders' home bases, stations), bucketed by
/// resolution-8 cell (edge about 0.46 km: three rings reach past 1 km).
struct Circle {
    points: HashMap<CellIndex, Vec<(f64, f64)>>,
}

impl Circle {
    fn add(&mut self, lat: f64, lng: f64) {
        if let Some(cell) = grid::cell_of(lat, lng, Resolution::Eight) {
            self.points.entry(cell).or_default().push((lat, lng));
        }
    }

    fn covers(&self, lat: f64, lng: f64) -> bool {
        let Some(home) = grid::cell_of(lat, lng, Resolution::Eight) else { return false };
        home.grid_disk::<Vec<_>>(3)
            .iter()
            .filter_map(|c| self.points.get(c))
            .flatten()
            .any(|p| distance_m((lat, lng), *p) <= CIRCLE_M)
    }
}

pub(crate) fn years_between(birth: NaiveDate, on: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

pub async fn compute(
    state: &AppState,
    month: Month,
    start: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<Tally, ApiError> {
    let db = &state.db;
    let tz = state.settings.tz();
    let today = as_of.with_timezone(&tz).date_naive();
    let mut tally = Tally::new();

    // Who has an active plan, who was served in the last 30 days, who covers whom.
    let planned: HashSet<i64> = service_plans::Entity::find()
        .select_only()
        .column(service_plans::Column::SeniorId)
        .filter(service_plans::Column::Status.eq("active"))
        .filter(service_plans::Column::StartsOn.lte(today))
        .filter(
            Condition::any().add(service_plans::Column::EndsOn.is_null()).add(service_plans::Column::EndsOn.gte(today)),
        )
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let served: HashSet<i64> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::SeniorId)
        .filter(tasks::Column::Status.eq("completed"))
        .filter(tasks::Column::CompletedAt.gt(as_of - Duration::days(30)))
        .filter(tasks::Column::CompletedAt.lte(as_of))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let workforce = Workforce::load(db).await?;
    let circle = circle(db, &workforce).await?;

    let mut last = 0i64;
    loop {
        let batch = seniors::Entity::find()
            .select_only()
            .columns([
                seniors::Column::Id,
                seniors::Column::CommunityId,
                seniors::Column::Latitude,
                seniors::Column::Longitude,
                seniors::Column::Tier,
                seniors::Column::Flags,
                seniors::Column::LivingArrangement,
                seniors::Column::EconomicStatus,
                seniors::Column::BirthDate,
                seniors::Column::Status,
                seniors::Column::CreatedAt,
            ])
            .filter(seniors::Column::Id.gt(last))
            .order_by_asc(seniors::Column::Id)
            .limit(SENIOR_BATCH)
            .into_model::<SeniorRow>()
            .all(db)
            .await?;
        let Some(tail) = batch.last() else { break };
        last = tail.id;
        for s in batch {
            let cell = grid::cell_of(s.latitude, s.longitude, Resolution::Nine);
            tally.places.insert(s.id, Place { cell, economic_status: s.economic_status.clone() });
            if s.status != "active" || s.created_at > as_of {
                continue;
            }
            let tier = s.tier.as_deref();
            let plan = planned.contains(&s.id);
            let was_served = served.contains(&s.id);
            let covered = circle.covers(s.latitude, s.longitude);
            let alone = s.living_arrangement == "alone";
            let oldest = years_between(s.birth_date, today) >= 80;
            let welfare = matches!(s.economic_status.as_str(), "destitute" | "subsistence");
            let disabled = s.flags.as_array().is_some_and(|f| f.iter().any(|x| x == "disabled"));
            tally.bump(s.id, s.community_id, |c| {
                c.seniors_total += 1;
                match tier {
                    Some("A") => c.tier_a += 1,
                    Some("B") => c.tier_b += 1,
                    Some("C") => c.tier_c += 1,
                    Some("D") => c.tier_d += 1,
                    _ => {}
                }
                c.living_alone += i64::from(alone);
                c.oldest_old += i64::from(oldest);
                c.disabled += i64::from(disabled);
                c.destitute_or_subsistence += i64::from(welfare);
                c.with_plan += i64::from(plan);
                c.served_30d += i64::from(was_served);
                c.tier_a_unserved_30d += i64::from(tier == Some("A") && !was_served);
                c.plan_unserved_30d += i64::from(plan && !was_served);
                c.covered_15min += i64::from(covered);
            });
        }
    }

    alarms_of(db, &mut tally, start, as_of).await?;
    meals_of(db, &mut tally, month, today).await?;
    work_of(db, &mut tally, &workforce, start, as_of).await?;
    satisfaction_of(db, &mut tally, start, as_of).await?;
    workforce_of(db, &mut tally, &workforce, today).await?;
    timebank_of(db, &mut tally, start, as_of).await?;
    Ok(tally)
}

#[derive(Debug, FromQueryResult)]
struct ResponderRow {
    id: i64,
    kind: String,
    home_latitude: f64,
    home_longitude: f64,
    on_duty: bool,
    nursing_licence: Option<String>,
    licence_expires_on: Option<NaiveDate>,
}

/// Every responder, read once per refresh.
struct Workforce {
    people: HashMap<i64, ResponderRow>,
}

impl Workforce {
    async fn load(db: &impl ConnectionTrait) -> Result<Self, ApiError> {
        let rows = responders::Entity::find()
            .select_only()
            .columns([
                responders::Column::Id,
                responders::Column::Kind,
                responders::Column::HomeLatitude,
                responders::Column::HomeLongitude,
                responders::Column::OnDuty,
                responders::Column::NursingLicence,
                responders::Column::LicenceExpiresOn,
            ])
            .into_model::<ResponderRow>()
            .all(db)
            .await?;
        Ok(Self { people: rows.into_iter().map(|r| (r.id, r)).collect() })
    }

    fn is_volunteer(&self, id: i64) -> bool {
        self.people.get(&id).is_some_and(|r| r.kind == "volunteer")
    }
}

async fn circle(db: &impl ConnectionTrait, workforce: &Workforce) -> Result<Circle, ApiError> {
    let mut circle = Circle { points: HashMap::new() };
    let rostered: HashSet<i64> = responder_shifts::Entity::find()
        .select_only()
        .column(responder_shifts::Column::ResponderId)
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for r in workforce.people.values() {
        if r.on_duty || rostered.contains(&r.id) {
            circle.add(r.home_latitude, r.home_longitude);
        }
    }
    let places: Vec<(f64, f64)> = stations::Entity::find()
        .select_only()
        .columns([stations::Column::Latitude, stations::Column::Longitude])
        .into_tuple()
        .all(db)
        .await?;
    for (lat, lng) in places {
        circle.add(lat, lng);
    }
    Ok(circle)
}

#[derive(Debug, FromQueryResult)]
struct AlarmRow {
    senior_id: i64,
    community_id: i64,
    received_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    arrived_at: Option<DateTime<Utc>>,
    family_notified_at: Option<DateTime<Utc>>,
    call_120_flagged_at: Option<DateTime<Utc>>,
}

async fn alarms_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), ApiError> {
    let rows = alarms::Entity::find()
        .select_only()
        .columns([
            alarms::Column::SeniorId,
            alarms::Column::CommunityId,
            alarms::Column::ReceivedAt,
            alarms::Column::AcceptedAt,
            alarms::Column::ArrivedAt,
            alarms::Column::FamilyNotifiedAt,
            alarms::Column::Call120FlaggedAt,
        ])
        .filter(alarms::Column::ReceivedAt.gte(start))
        .filter(alarms::Column::ReceivedAt.lt(end))
        .into_model::<AlarmRow>()
        .all(db)
        .await?;
    for a in rows {
        let accept = a.accepted_at.map(|t| (t - a.received_at).num_seconds().max(0));
        let arrive = a.arrived_at.map(|t| (t - a.received_at).num_seconds().max(0));
        let escalated = a.family_notified_at.is_some() || a.call_120_flagged_at.is_some();
        tally.bump(a.senior_id, a.community_id, |c| {
            c.alarms += 1;
            if let Some(s) = accept {
                c.accept_secs.push(s);
                c.accepted_60s += i64::from(s <= 60);
                c.accepted_180s += i64::from(s <= 180);
            }
            if let Some(s) = arrive {
                c.arrive_secs.push(s);
                c.on_site_15m += i64::from(s <= 15 * 60);
                c.on_site_30m += i64::from(s <= 30 * 60);
            }
            c.family_or_120 += i64::from(escalated);
        });
    }
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct MealRow {
    senior_id: i64,
    community_id: i64,
    status: String,
    window_start: Option<DateTime<Utc>>,
    window_end: Option<DateTime<Utc>>,
    check_in_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    failure_reason: Option<String>,
}

/// The month's meals up to the watermark's day: delivered, delivered inside the
/// window (the courier's check-in, else the completion), failed because nobody was
/// home.
async fn meals_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    month: Month,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let rows = tasks::Entity::find()
        .select_only()
        .columns([
            tasks::Column::SeniorId,
            tasks::Column::CommunityId,
            tasks::Column::Status,
            tasks::Column::WindowStart,
            tasks::Column::WindowEnd,
            tasks::Column::CheckInAt,
            tasks::Column::CompletedAt,
            tasks::Column::FailureReason,
        ])
        .filter(tasks::Column::Kind.eq("meal_delivery"))
        .filter(tasks::Column::ServiceDate.gte(month.first_day()))
        .filter(tasks::Column::ServiceDate.lt(month.next().first_day()))
        .filter(tasks::Column::ServiceDate.lte(today))
        .into_model::<MealRow>()
        .all(db)
        .await?;
    for m in rows {
        let delivered = m.status == "completed";
        let at = m.check_in_at.or(m.completed_at);
        let on_time = delivered
            && match (at, m.window_start, m.window_end) {
                (Some(t), Some(s), Some(e)) => t >= s && t <= e,
                _ => false,
            };
        let failed = m.status == "failed" && m.failure_reason.as_deref() == Some("not_home");
        tally.bump(m.senior_id, m.community_id, |c| {
            c.meals += i64::from(delivered);
            c.meals_on_time += i64::from(on_time);
            c.meals_failed += i64::from(failed);
        });
    }
    Ok(())
}

/// Completed work of the month: who did it (the volunteers' share), the fees waived
/// or reduced by the senior's economic status, and the welfare checks opened.
async fn work_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    workforce: &Workforce,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), ApiError> {
    let done: Vec<(i64, i64, Option<i64>, i64, i64)> = tasks::Entity::find()
        .select_only()
        .columns([
            tasks::Column::SeniorId,
            tasks::Column::CommunityId,
            tasks::Column::AssigneeId,
            tasks::Column::PriceFen,
            tasks::Column::FeeFen,
        ])
        .filter(tasks::Column::Status.eq("completed"))
        .filter(tasks::Column::CompletedAt.gte(start))
        .filter(tasks::Column::CompletedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (senior, community, assignee, price, fee) in done {
        let by_volunteer = assignee.is_some_and(|a| workforce.is_volunteer(a));
        let waived = (price - fee).max(0);
        let status = tally.places.get(&senior).map(|p| p.economic_status.clone()).unwrap_or_default();
        tally.bump(senior, community, |c| {
            c.tasks_completed += 1;
            c.tasks_by_volunteers += i64::from(by_volunteer);
        });
        if waived > 0 {
            *tally.communities.entry(community).or_default().subsidy_fen.entry(status).or_default() += waived;
        }
    }
    let checks: Vec<(i64, i64)> = tasks::Entity::find()
        .select_only()
        .columns([tasks::Column::SeniorId, tasks::Column::CommunityId])
        .filter(tasks::Column::Kind.eq("welfare_check"))
        .filter(tasks::Column::CreatedAt.gte(start))
        .filter(tasks::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (senior, community) in checks {
        tally.bump(senior, community, |c| c.welfare_checks += 1);
    }
    Ok(())
}

/// Answers with an overall rating; cases opened (complaints) and resolved in the
/// month, and whether each was resolved by its deadline.
async fn satisfaction_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), ApiError> {
    let answers: Vec<(i64, i64, Option<i16>)> = survey_answers::Entity::find()
        .select_only()
        .columns([
            survey_answers::Column::SeniorId,
            survey_answers::Column::CommunityId,
            survey_answers::Column::OverallScore,
        ])
        .filter(survey_answers::Column::AnsweredAt.gte(start))
        .filter(survey_answers::Column::AnsweredAt.lt(end))
        .filter(survey_answers::Column::OverallScore.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    for (senior, community, score) in answers {
        let score = i64::from(score.unwrap_or_default());
        tally.bump(senior, community, |c| {
            c.survey_responses += 1;
            c.survey_overall_sum += score;
        });
    }
    let opened: Vec<(i64, i64)> = cases::Entity::find()
        .select_only()
        .columns([cases::Column::SeniorId, cases::Column::CommunityId])
        .filter(cases::Column::CreatedAt.gte(start))
        .filter(cases::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (senior, community) in opened {
        tally.bump(senior, community, |c| c.complaints += 1);
    }
    type Resolved = (i64, i64, Option<DateTime<Utc>>, DateTime<Utc>);
    let resolved: Vec<Resolved> = cases::Entity::find()
        .select_only()
        .columns([cases::Column::SeniorId, cases::Column::CommunityId, cases::Column::ResolvedAt, cases::Column::DueAt])
        .filter(cases::Column::ResolvedAt.gte(start))
        .filter(cases::Column::ResolvedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (senior, community, at, due) in resolved {
        let in_time = at.is_some_and(|t| t <= due);
        tally.bump(senior, community, |c| {
            c.cases_resolved += 1;
            c.cases_resolved_in_time += i64::from(in_time);
        });
    }
    Ok(())
}

/// Caregivers and volunteers serving each community; nurses with a licence valid on
/// the watermark's day.
async fn workforce_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    workforce: &Workforce,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let links: Vec<(i64, i64)> = responder_communities::Entity::find()
        .select_only()
        .columns([responder_communities::Column::ResponderId, responder_communities::Column::CommunityId])
        .into_tuple()
        .all(db)
        .await?;
    for (responder, community) in links {
        let Some(r) = workforce.people.get(&responder) else { continue };
        let nurse = r.nursing_licence.as_deref().is_some_and(|l| !l.trim().is_empty())
            && r.licence_expires_on.is_none_or(|e| e >= today);
        let c = tally.communities.entry(community).or_default();
        match r.kind.as_str() {
            "caregiver" => c.caregivers += 1,
            "volunteer" => c.volunteers += 1,
            _ => {}
        }
        c.certified_nurses += i64::from(nurse);
    }
    Ok(())
}

/// Minutes earned by volunteers and redeemed for care in the month, by the
/// community of the account they moved on (the fund's are left out).
async fn timebank_of(
    db: &impl ConnectionTrait,
    tally: &mut Tally,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), ApiError> {
    let kinds: HashMap<i64, String> = timebank_transactions::Entity::find()
        .select_only()
        .columns([timebank_transactions::Column::Id, timebank_transactions::Column::Kind])
        .filter(timebank_transactions::Column::Kind.is_in(["earn", "redeem"]))
        .filter(timebank_transactions::Column::CreatedAt.gte(start))
        .filter(timebank_transactions::Column::CreatedAt.lt(end))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    if kinds.is_empty() {
        return Ok(());
    }
    let accounts: HashMap<i64, (String, Option<i64>)> = timebank_accounts::Entity::find()
        .select_only()
        .columns([
            timebank_accounts::Column::Id,
            timebank_accounts::Column::Kind,
            timebank_accounts::Column::CommunityId,
        ])
        .into_tuple::<(i64, String, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, kind, community)| (id, (kind, community)))
        .collect();
    let entries: Vec<(i64, i64, i64)> = timebank_entries::Entity::find()
        .select_only()
        .columns([
            timebank_entries::Column::TransactionId,
            timebank_entries::Column::AccountId,
            timebank_entries::Column::Minutes,
        ])
        .filter(timebank_entries::Column::CreatedAt.gte(start))
        .filter(timebank_entries::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?;
    for (transaction, account, minutes) in entries {
        let (Some(kind), Some((account_kind, Some(community)))) = (kinds.get(&transaction), accounts.get(&account))
        else {
            continue;
        };
        let c = tally.communities.entry(*community).or_default();
        match (kind.as_str(), account_kind.as_str()) {
            ("earn", "volunteer") if minutes > 0 => c.volunteer_minutes_earned += minutes,
            ("redeem", "volunteer" | "senior") if minutes < 0 => c.volunteer_minutes_redeemed += -minutes,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_whole_years() {
        let birth = NaiveDate::from_ymd_opt(1946, 12, 5).unwrap_or_default();
        assert_eq!(years_between(birth, NaiveDate::from_ymd_opt(2026, 12, 4).unwrap_or_default()), 79);
        assert_eq!(years_between(birth, NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default()), 80);
    }

    #[test]
    fn the_circle_covers_within_a_kilometre_only() {
        let mut circle = Circle { points: HashMap::new() };
        circle.add(39.1000, 117.2000);
        // 0.009° of latitude is about 1.0 km.
        assert!(circle.covers(39.1085, 117.2000));
        assert!(!circle.covers(39.1095, 117.2000));
        assert!(!circle.covers(39.2000, 117.2000));
    }
}
