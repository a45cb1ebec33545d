//! Who could serve a senior, and why the others could not: skills, licence,
//! duty, shifts, absences, capacity, distance and travel time, and continuity of
//! care (the responder who served this senior before is preferred).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use entity::tasks;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;

use super::index::{Anchor, Entry, distance_m};
use super::kinds::{Exclusion, TaskKind, TaskStatus, TravelMode};
use crate::config::DispatchSettings;
use crate::error::ApiError;
use crate::state::AppState;

/// When the service is needed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Right now: on duty, on shift now, measured from the live position.
    Now(DateTime<Utc>),
    /// A planned visit: on a shift covering the local window, measured from home.
    Window { day: NaiveDate, from: NaiveTime, to: NaiveTime },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    pub kind: TaskKind,
    pub senior_id: i64,
    pub community_id: i64,
    /// The senior's home.
    pub point: (f64, f64),
    pub when: When,
    /// Only responders within this distance.
    pub radius_m: f64,
    /// Emergencies need a fresh position; routine work may start from home.
    pub needs_fresh_position: bool,
    /// Also consider everyone serving the senior's community, however far.
    pub include_community: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub responder_id: i64,
    pub user_id: i64,
    pub kind: String,
    pub distance_m: f64,
    /// Minutes to reach the senior at the responder's travel speed.
    pub eta_minutes: f64,
    /// Tasks the responder holds now (or in an overlapping window).
    pub load: u32,
    pub max_concurrent: u32,
    /// Visits to this senior the responder completed in the last 180 days.
    pub continuity: u32,
    /// Lower is better: minutes of travel, plus load, minus continuity.
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Excluded {
    pub responder_id: i64,
    pub distance_m: Option<f64>,
    /// Every reason that applies, e.g. `no_skill`, `off_shift`, `at_capacity`.
    pub reasons: Vec<String>,
}

pub fn speed_m_per_min(settings: &DispatchSettings, mode: TravelMode) -> f64 {
    match mode {
        TravelMode::Walk => settings.walk_m_per_min,
        TravelMode::Bicycle => settings.bicycle_m_per_min,
        TravelMode::Ebike => settings.ebike_m_per_min,
    }
}

/// Judges one responder against a need. `load` and `continuity` come from the database.
pub fn judge(
    e: &Entry,
    need: &Need,
    settings: &DispatchSettings,
    tz: chrono_tz::Tz,
    load: u32,
    continuity: u32,
) -> Result<Candidate, (Option<f64>, Vec<Exclusion>)> {
    let mut why = Vec::new();
    let day = match need.when {
        When::Now(now) => now.with_timezone(&tz).date_naive(),
        When::Window { day, .. } => day,
    };
    if let Some(skill) = need.kind.skill() {
        if !e.has(skill) {
            why.push(Exclusion::NoSkill);
        } else if !e.licensed_on(skill, day) {
            why.push(Exclusion::LicenceExpired);
        }
    }
    if e.absent_on(day) {
        why.push(Exclusion::Absent);
    }
    let from = match need.when {
        When::Now(now) => {
            if !e.on_duty {
                why.push(Exclusion::OffDuty);
            }
            let local = now.with_timezone(&tz).time();
            // On duty outside a shift is fine for volunteers; paid staff need a shift.
            if e.kind == super::kinds::ResponderKind::Caregiver && !e.on_shift(day, local, local) {
                why.push(Exclusion::OffShift);
            }
            match e.fresh_fix(now, settings.position_stale_secs) {
                Some(fix) => Some((fix.latitude, fix.longitude)),
                None if need.needs_fresh_position => {
                    why.push(if e.last.is_some() { Exclusion::StalePosition } else { Exclusion::NoPosition });
                    None
                }
                None => Some(e.home),
            }
        }
        When::Window { day, from, to } => {
            if !e.on_shift(day, from, to) {
                why.push(Exclusion::OffShift);
            }
            Some(e.home)
        }
    };
    let distance = from.map(|p| distance_m(p, need.point));
    if distance.is_some_and(|d| d > need.radius_m) && !(need.include_community && e.serves(need.community_id)) {
        why.push(Exclusion::TooFar);
    }
    if need.kind.is_routine() && !e.serves(need.community_id) {
        why.push(Exclusion::OtherCommunity);
    }
    if load >= e.max_concurrent {
        why.push(Exclusion::AtCapacity);
    }
    match (why.is_empty(), distance) {
        (true, Some(d)) => {
            let eta = d / speed_m_per_min(settings, e.travel_mode);
            let score = eta + 5.0 * f64::from(load) - 10.0 * f64::from(continuity.min(3));
            Ok(Candidate {
                responder_id: e.id,
                user_id: e.user_id,
                kind: e.kind.as_str().to_owned(),
                distance_m: d.round(),
                eta_minutes: (eta * 10.0).round() / 10.0,
                load,
                max_concurrent: e.max_concurrent,
                continuity,
                score,
            })
        }
        _ => Err((distance.map(f64::round), why)),
    }
}

/// Tasks each responder holds: active now, or (for a window) planned that day.
async fn loads(db: &impl ConnectionTrait, ids: &[i64], when: When) -> Result<HashMap<i64, u32>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::AssigneeId)
        .filter(tasks::Column::AssigneeId.is_in(ids.iter().copied()));
    q = match when {
        When::Now(_) => q.filter(tasks::Column::Status.is_in(TaskStatus::ACTIVE.iter().map(|s| s.as_str()))),
        When::Window { day, .. } => q
            .filter(tasks::Column::ServiceDate.eq(day))
            .filter(tasks::Column::Status.is_in(TaskStatus::OPEN.iter().map(|s| s.as_str()))),
    };
    let rows: Vec<Option<i64>> = q.into_tuple().all(db).await?;
    let mut out = HashMap::new();
    for id in rows.into_iter().flatten() {
        *out.entry(id).or_insert(0) += 1;
    }
    Ok(out)
}

async fn continuity(
    db: &impl ConnectionTrait,
    senior_id: i64,
    ids: &[i64],
    since: DateTime<Utc>,
) -> Result<HashMap<i64, u32>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Option<i64>> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::AssigneeId)
        .filter(tasks::Column::SeniorId.eq(senior_id))
        .filter(tasks::Column::Status.eq(TaskStatus::Completed.as_str()))
        .filter(tasks::Column::CompletedAt.gte(since))
        .filter(tasks::Column::AssigneeId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = HashMap::new();
    for id in rows.into_iter().flatten() {
        *out.entry(id).or_insert(0) += 1;
    }
    Ok(out)
}

/// Everyone the index puts near the need (and the community's responders when
/// asked), judged: candidates best first, then the excluded with their reasons.
pub async fn find(
    state: &AppState,
    db: &impl ConnectionTrait,
    need: &Need,
    skip: &[i64],
) -> Result<(Vec<Candidate>, Vec<Excluded>), ApiError> {
    let anchor = match (need.when, need.needs_fresh_position) {
        (When::Now(_), true) => Anchor::LastFix,
        _ => Anchor::Home,
    };
    let mut pool: BTreeMap<i64, Entry> =
        state.responders.near(need.point, need.radius_m, anchor).into_iter().map(|(e, _)| (e.id, e)).collect();
    if anchor == Anchor::Home && matches!(need.when, When::Now(_)) {
        for (e, _) in state.responders.near(need.point, need.radius_m, Anchor::LastFix) {
            pool.entry(e.id).or_insert(e);
        }
    }
    if need.include_community || need.kind.is_routine() {
        for e in state.responders.in_community(need.community_id) {
            pool.entry(e.id).or_insert(e);
        }
    }
    for id in skip {
        pool.remove(id);
    }
    let ids: Vec<i64> = pool.keys().copied().collect();
    let now = state.clock.now();
    let (loads, continuity) = futures_util::try_join!(
        loads(db, &ids, need.when),
        continuity(db, need.senior_id, &ids, now - Duration::days(180))
    )?;
    let tz = state.settings.tz();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for e in pool.values() {
        let load = loads.get(&e.id).copied().unwrap_or(0);
        let cont = continuity.get(&e.id).copied().unwrap_or(0);
        match judge(e, need, &state.settings.dispatch, tz, load, cont) {
            Ok(c) => good.push(c),
            Err((distance_m, reasons)) => bad.push(Excluded {
                responder_id: e.id,
                distance_m,
                reasons: reasons.iter().map(|r| r.as_str().to_owned()).collect(),
            }),
        }
    }
    good.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.responder_id.cmp(&b.responder_id)));
    bad.sort_by(|a, b| {
        a.distance_m
            .unwrap_or(f64::MAX)
            .total_cmp(&b.distance_m.unwrap_or(f64::MAX))
            .then(a.responder_id.cmp(&b.responder_id))
    });
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::index::{Fix, Shift};
    use crate::dispatch::kinds::{ResponderKind, Skill};

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    fn nurse() -> Entry {
        Entry {
            id: 1,
            user_id: 10,
            kind: ResponderKind::Caregiver,
            skills: Skill::Nursing.bit() | Skill::MealDelivery.bit(),
            licence_expires_on: NaiveDate::from_ymd_opt(2027, 1, 1),
            communities: vec![5],
            home: (39.115, 117.195),
            last: None,
            travel_mode: TravelMode::Ebike,
            max_concurrent: 2,
            on_duty: false,
            shifts: vec![Shift { weekday: 1, starts_at: t(8, 0), ends_at: t(17, 0) }],
            absences: vec![],
        }
    }

    fn need(kind: TaskKind, day: NaiveDate) -> Need {
        Need {
            kind,
            senior_id: 1,
            community_id: 5,
            point: (39.12, 117.20),
            when: When::Window { day, from: t(11, 0), to: t(12, 30) },
            radius_m: 5000.0,
            needs_fresh_position: false,
            include_community: false,
        }
    }

    #[test]
    fn a_planned_visit_needs_skill_licence_shift_and_room() {
        let s = DispatchSettings::default();
        let tz = chrono_tz::Asia::Shanghai;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let ok = judge(&nurse(), &need(TaskKind::HomeBed, monday), &s, tz, 0, 2);
        assert!(ok.is_ok(), "{ok:?}");
        let reasons = |r: Result<Candidate, (Option<f64>, Vec<Exclusion>)>| r.err().map(|e| e.1).unwrap_or_default();
        assert_eq!(reasons(judge(&nurse(), &need(TaskKind::Housekeeping, monday), &s, tz, 0, 0)), [Exclusion::NoSkill]);
        let tuesday = monday.succ_opt().unwrap_or_default();
        assert_eq!(reasons(judge(&nurse(), &need(TaskKind::HomeBed, tuesday), &s, tz, 0, 0)), [Exclusion::OffShift]);
        let later = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
        assert!(
            reasons(judge(&nurse(), &need(TaskKind::HomeBed, later), &s, tz, 0, 0))
                .contains(&Exclusion::LicenceExpired)
        );
        assert_eq!(
            reasons(judge(&nurse(), &need(TaskKind::MealDelivery, monday), &s, tz, 2, 0)),
            [Exclusion::AtCapacity]
        );
        let mut away = need(TaskKind::HomeBed, monday);
        away.community_id = 6;
        assert_eq!(reasons(judge(&nurse(), &away, &s, tz, 0, 0)), [Exclusion::OtherCommunity]);
    }

    #[test]
    fn an_emergency_needs_duty_and_a_fresh_position() {
        let s = DispatchSettings::default();
        let tz = chrono_tz::Asia::Shanghai;
        let mut e = nurse();
        e.skills |= Skill::EmergencyResponse.bit();
        // Monday 10:00 in Shanghai.
        let now = NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(2, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_default();
        let mut n = need(TaskKind::Emergency, NaiveDate::default());
        n.when = When::Now(now);
        n.needs_fresh_position = true;
        n.radius_m = 1000.0;
        let reasons = |e: &Entry| judge(e, &n, &s, tz, 0, 0).err().map(|e| e.1).unwrap_or_default();
        assert_eq!(reasons(&e), [Exclusion::OffDuty, Exclusion::NoPosition]);
        e.on_duty = true;
        e.last = Some(Fix { latitude: 39.121, longitude: 117.2, accuracy_m: None, at: now - Duration::minutes(11) });
        assert_eq!(reasons(&e), [Exclusion::StalePosition]);
        e.last = Some(Fix { latitude: 39.121, longitude: 117.2, accuracy_m: None, at: now - Duration::minutes(2) });
        assert!(judge(&e, &n, &s, tz, 0, 0).is_ok());
        e.last = Some(Fix { latitude: 39.14, longitude: 117.2, accuracy_m: None, at: now });
        assert_eq!(reasons(&e), [Exclusion::TooFar]);
    }
}
