//! Creating surveys on a schedule. Every survey has a business key (`task:<id>`,
//! `month:<senior>:<YYYY-MM>`, `case:<id>`) that is unique in the database, and is
//! inserted with `ON CONFLICT DO NOTHING`: a re-run, a catch-up or a second instance
//! never makes a second survey for the same thing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use entity::{cases, responders, seniors, survey_templates, surveys, tasks};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Channel, SurveyKind, SurveyStatus};
use crate::clock::start_of_day;
use crate::config::SurveySettings;
use crate::dispatch::kinds::TaskKind;
use crate::dispatch::notify;
use crate::error::ApiError;
use crate::state::AppState;

/// Whether a routine task is in the post-service sample: the first eight bytes of
/// SHA-256 of `post-service:<task id>`, read as a big-endian unsigned integer, modulo
/// 100, is below the percentage. The same task always gives the same answer.
pub fn sampled(task_id: i64, percent: u32) -> bool {
    let digest = Sha256::digest(format!("post-service:{task_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100 < u64::from(percent)
}

/// Whether a completed task gets a post-service survey: every emergency response, and
/// the sample of routine visits. Welfare checks (run by workers) get none.
pub fn wants_survey(kind: TaskKind, task_id: i64, percent: u32) -> bool {
    match kind {
        TaskKind::Emergency => true,
        TaskKind::WelfareCheck => false,
        _ => sampled(task_id, percent),
    }
}

/// The working days of `day`'s month: Monday to Friday except holidays, plus the
/// weekend days declared working days.
pub fn working_days(settings: &SurveySettings, day: NaiveDate) -> Vec<NaiveDate> {
    let first = day.with_day(1).unwrap_or(day);
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .filter(|d| {
            let weekday = !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
            (weekday && !settings.holidays.contains(d)) || settings.extra_working_days.contains(d)
        })
        .collect()
}

/// Which working day (index) of `days` the `i`-th of `n` seniors is called on: the
/// seniors, ordered by id, are cut into as many equal runs as there are working days.
pub fn slot(i: usize, n: usize, days: usize) -> usize {
    (i * days).checked_div(n).unwrap_or(0)
}

/// The newest version of a template.
pub async fn current_template(
    db: &impl ConnectionTrait,
    kind: SurveyKind,
) -> Result<survey_templates::Model, ApiError> {
    survey_templates::Entity::find()
        .filter(survey_templates::Column::Code.eq(kind.template_code()))
        .order_by_desc(survey_templates::Column::Version)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no survey template `{}`", kind.template_code())))
}

/// Picks who conducts a survey among the community's workers, never `exclude` (the
/// responder who served), spreading surveys by `seed`.
pub fn pick_conductor(workers: &[i64], exclude: Option<i64>, seed: i64) -> Option<i64> {
    let eligible: Vec<i64> = workers.iter().copied().filter(|w| Some(*w) != exclude).collect();
    if eligible.is_empty() {
        return None;
    }
    let at = seed.rem_euclid(eligible.len() as i64) as usize;
    eligible.get(at).copied()
}

async fn workers_by_community(db: &impl ConnectionTrait) -> Result<HashMap<i64, Vec<i64>>, ApiError> {
    use entity::{user_communities, users};
    let pairs: Vec<(i64, i64)> = user_communities::Entity::find()
        .select_only()
        .column(user_communities::Column::CommunityId)
        .column(user_communities::Column::UserId)
        .inner_join(users::Entity)
        .filter(users::Column::Role.eq("worker"))
        .filter(users::Column::IsActive.eq(true))
        .order_by_asc(user_communities::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
    for (community, user) in pairs {
        map.entry(community).or_default().push(user);
    }
    Ok(map)
}

/// A survey row ready to insert.
#[allow(clippy::too_many_arguments)]
fn row(
    template: &survey_templates::Model,
    kind: SurveyKind,
    business_key: String,
    senior_id: i64,
    community_id: i64,
    conductor: Option<i64>,
    due_on: NaiveDate,
    now: DateTime<Utc>,
    expire_days: i64,
) -> surveys::ActiveModel {
    surveys::ActiveModel {
        business_key: Set(business_key),
        kind: Set(kind.as_str().to_owned()),
        template_id: Set(template.id),
        template_version: Set(template.version),
        senior_id: Set(senior_id),
        community_id: Set(community_id),
        status: Set(SurveyStatus::Pending.as_str().to_owned()),
        channel: Set(Channel::Phone.as_str().to_owned()),
        conductor_id: Set(conductor),
        due_on: Set(due_on),
        expires_at: Set(now + Duration::days(expire_days)),
        reminder_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
}

/// Inserts the rows whose business key is new; returns how many were inserted.
async fn insert_absent(db: &impl ConnectionTrait, rows: Vec<surveys::ActiveModel>) -> Result<i64, ApiError> {
    let mut made = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<surveys::ActiveModel> = rows.by_ref().take(500).collect();
        let inserted = surveys::Entity::insert_many(chunk)
            .on_conflict(OnConflict::column(surveys::Column::BusinessKey).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        made += inserted as i64;
    }
    Ok(made)
}

/// Post-service surveys for the tasks completed yesterday or today (local time) up
/// to now and not surveyed yet: every emergency response and the sample of routine
/// visits, to be called today by a worker of the senior's community (never the
/// responder who served). Looking back to the start of yesterday, not a rolling 24
/// hours, means a first run, or one after a day's outage, still surveys the whole of
/// yesterday whatever the hour.
pub async fn post_service(state: &AppState) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let settings = &state.settings.surveys;
    let tz = state.settings.tz();
    let today = now.with_timezone(&tz).date_naive();
    let since = start_of_day(today - Duration::days(1), tz).unwrap_or(now - Duration::hours(48));
    let surveyed = Query::select()
        .column(surveys::Column::TaskId)
        .from(surveys::Entity)
        .and_where(surveys::Column::Kind.eq(SurveyKind::PostService.as_str()))
        .and_where(surveys::Column::TaskId.is_not_null())
        .to_owned();
    let done = tasks::Entity::find()
        .filter(tasks::Column::Status.eq("completed"))
        .filter(tasks::Column::CompletedAt.gte(since))
        .filter(tasks::Column::CompletedAt.lte(now))
        .filter(tasks::Column::Id.not_in_subquery(surveyed))
        .order_by_asc(tasks::Column::Id)
        .all(&state.db)
        .await?;
    let wanted: Vec<tasks::Model> = done
        .into_iter()
        .filter(|t| {
            TaskKind::parse(&t.kind).is_some_and(|k| wants_survey(k, t.id, settings.post_service_sample_percent))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let assignees: Vec<i64> = wanted.iter().filter_map(|t| t.assignee_id).collect();
    let served_by: HashMap<i64, i64> = responders::Entity::find()
        .select_only()
        .column(responders::Column::Id)
        .column(responders::Column::UserId)
        .filter(responders::Column::Id.is_in(assignees))
        .into_tuple::<(i64, i64)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let active: HashSet<i64> = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Id)
        .filter(seniors::Column::Id.is_in(wanted.iter().map(|t| t.senior_id)))
        .filter(seniors::Column::Status.eq("active"))
        .into_tuple::<i64>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let template = current_template(&state.db, SurveyKind::PostService).await?;
    let workers = workers_by_community(&state.db).await?;
    let rows = wanted
        .iter()
        .filter(|t| active.contains(&t.senior_id))
        .map(|t| {
            let served = t.assignee_id.and_then(|r| served_by.get(&r).copied());
            let conductor = pick_conductor(workers.get(&t.community_id).map_or(&[][..], Vec::as_slice), served, t.id);
            let mut r = row(
                &template,
                SurveyKind::PostService,
                format!("task:{}", t.id),
                t.senior_id,
                t.community_id,
                conductor,
                today,
                now,
                settings.expire_after_days,
            );
            r.task_id = Set(Some(t.id));
            r.task_kind = Set(Some(t.kind.clone()));
            r.responder_id = Set(t.assignee_id);
            r
        })
        .collect();
    insert_absent(&state.db, rows).await
}

/// The monthly surveys due by `day`: every active senior once in `day`'s month, the
/// seniors (by id) spread evenly over the month's working days. A run creates the
/// surveys of its day's share, and of any earlier share still missing (a missed run,
/// or seniors registered since); on a day off it creates only what is missing.
pub async fn monthly(state: &AppState, day: NaiveDate) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let settings = &state.settings.surveys;
    let days = working_days(settings, day);
    let Some(today_index) = days.iter().rposition(|d| *d <= day) else {
        return Ok(0);
    };
    let month = day.format("%Y-%m").to_string();
    let seniors: Vec<(i64, i64)> = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Id)
        .column(seniors::Column::CommunityId)
        .filter(seniors::Column::Status.eq("active"))
        .order_by_asc(seniors::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    let first = days.first().copied().unwrap_or(day);
    let last = days.last().copied().unwrap_or(day);
    let existing: HashSet<i64> = surveys::Entity::find()
        .select_only()
        .column(surveys::Column::SeniorId)
        .filter(surveys::Column::Kind.eq(SurveyKind::Periodic.as_str()))
        .filter(surveys::Column::DueOn.between(first, last))
        .into_tuple::<i64>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let template = current_template(&state.db, SurveyKind::Periodic).await?;
    let workers = workers_by_community(&state.db).await?;
    let n = seniors.len();
    let rows: Vec<surveys::ActiveModel> = seniors
        .iter()
        .enumerate()
        .filter_map(|(i, (senior, community))| {
            let s = slot(i, n, days.len());
            if s > today_index || existing.contains(senior) {
                return None;
            }
            let conductor = pick_conductor(workers.get(community).map_or(&[][..], Vec::as_slice), None, *senior);
            Some(row(
                &template,
                SurveyKind::Periodic,
                format!("month:{senior}:{month}"),
                *senior,
                *community,
                conductor,
                days.get(s).copied().unwrap_or(day),
                now,
                settings.expire_after_days,
            ))
        })
        .collect();
    insert_absent(&state.db, rows).await
}

/// The follow-up survey of a resolved case, due two days after the resolution and
/// conducted by the case's owner. Returns its id (None if it already existed).
pub async fn follow_up(
    db: &impl ConnectionTrait,
    state: &AppState,
    case: &cases::Model,
    now: DateTime<Utc>,
) -> Result<Option<i64>, ApiError> {
    let template = current_template(db, SurveyKind::FollowUp).await?;
    let due = now.with_timezone(&state.settings.tz()).date_naive() + Duration::days(2);
    let key = format!("case:{}", case.id);
    let mut r = row(
        &template,
        SurveyKind::FollowUp,
        key.clone(),
        case.senior_id,
        case.community_id,
        case.owner_id,
        due,
        now,
        state.settings.surveys.expire_after_days + 2,
    );
    r.case_id = Set(Some(case.id));
    r.task_id = Set(case.task_id);
    if insert_absent(db, vec![r]).await? == 0 {
        return Ok(None);
    }
    let id = surveys::Entity::find()
        .select_only()
        .column(surveys::Column::Id)
        .filter(surveys::Column::BusinessKey.eq(key))
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(id)
}

/// One reminder for each survey still pending `reminder_after_days` after it was made:
/// the reminder count goes from 0 to 1 in a conditional update (so two instances
/// remind once), and each community's console gets one alert listing its surveys.
pub async fn reminders(state: &AppState) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let before = now - Duration::days(state.settings.surveys.reminder_after_days);
    let due: Vec<(i64, i64)> = surveys::Entity::find()
        .select_only()
        .column(surveys::Column::Id)
        .column(surveys::Column::CommunityId)
        .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
        .filter(surveys::Column::ReminderCount.eq(0))
        .filter(surveys::Column::CreatedAt.lte(before))
        .filter(surveys::Column::ExpiresAt.gt(now))
        .order_by_asc(surveys::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut by_community: HashMap<i64, Vec<i64>> = HashMap::new();
    for chunk in due.chunks(500) {
        let txn = crate::db::begin_write(&state.db).await?;
        for (id, community) in chunk {
            let done = surveys::Entity::update_many()
                .col_expr(surveys::Column::ReminderCount, Expr::col(surveys::Column::ReminderCount).add(1))
                .col_expr(surveys::Column::LastRemindedAt, Expr::value(Some(now)))
                .col_expr(surveys::Column::UpdatedAt, Expr::value(now))
                .filter(surveys::Column::Id.eq(*id))
                .filter(surveys::Column::ReminderCount.eq(0))
                .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
                .exec(&txn)
                .await?;
            if done.rows_affected == 1 {
                by_community.entry(*community).or_default().push(*id);
            }
        }
        txn.commit().await?;
    }
    let mut reminded = 0;
    for (community, ids) in by_community {
        reminded += ids.len() as i64;
        let shown: Vec<i64> = ids.iter().take(100).copied().collect();
        notify::console(&state.db, community, "survey_reminder", json!({"count": ids.len(), "survey_ids": shown}), now)
            .await?;
    }
    Ok(reminded)
}

/// Expires every pending survey past its expiry time, in one statement.
pub async fn expire(state: &AppState) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let done = surveys::Entity::update_many()
        .col_expr(surveys::Column::Status, Expr::value(SurveyStatus::Expired.as_str()))
        .col_expr(surveys::Column::UpdatedAt, Expr::value(now))
        .col_expr(surveys::Column::Version, Expr::col(surveys::Column::Version).add(1))
        .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
        .filter(surveys::Column::ExpiresAt.lte(now))
        .exec(&state.db)
        .await?;
    Ok(done.rows_affected as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn sampling_is_stable_and_near_the_percentage() {
        let picked = (1..=10_000).filter(|id| sampled(*id, 30)).count();
        assert!((2_800..=3_200).contains(&picked), "{picked}");
        assert!((1..=100).all(|id| sampled(id, 30) == sampled(id, 30)));
        assert!((1..=100).all(|id| !sampled(id, 0) && sampled(id, 100)));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_keep_make_up_days() {
        let mut s = SurveySettings::default();
        assert_eq!(working_days(&s, date(2026, 12, 15)).len(), 23);
        s.holidays = vec![date(2026, 12, 31)];
        s.extra_working_days = vec![date(2026, 12, 5)];
        let days = working_days(&s, date(2026, 12, 1));
        assert_eq!(days.len(), 23);
        assert!(days.contains(&date(2026, 12, 5)) && !days.contains(&date(2026, 12, 31)));
    }

    #[test]
    fn slots_spread_evenly() {
        let mut per_day = [0; 4];
        for i in 0..10 {
            per_day[slot(i, 10, 4)] += 1;
        }
        assert_eq!(per_day, [3, 2, 3, 2]);
    }

    #[test]
    fn the_serving_responder_never_conducts() {
        for seed in 0..10 {
            assert_ne!(pick_conductor(&[5, 7], Some(7), seed), Some(7));
        }
        assert_eq!(pick_conductor(&[7], Some(7), 1), None);
    }
}
