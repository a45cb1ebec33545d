//! Surveys: listing, the call list, and recording answers. An answer is checked
//! against the template version the survey was made with, stored with who, what task,
//! which responder and which channel, and, when it carries a low overall rating or a
//! serious answer, opens a case in the same transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{responder_communities, responders, seniors, survey_answers, survey_templates, surveys, tasks, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::template::{Checked, Template};
use super::{Channel, SurveyKind, SurveyStatus};
use crate::auth::{Caller, CommunityId, Role};
use crate::cases::{self, CaseCategory, CaseSource, NewCase, Severity};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SurveyView {
    pub id: i64,
    pub kind: String,
    pub status: String,
    /// The planned channel, or the one it was answered through.
    pub channel: String,
    pub senior_id: i64,
    pub senior_name: Option<String>,
    pub community_id: i64,
    pub task_id: Option<i64>,
    pub task_kind: Option<String>,
    /// The responder who served (post-service surveys).
    pub responder_id: Option<i64>,
    pub case_id: Option<i64>,
    /// Who is to conduct the survey.
    pub conductor_id: Option<i64>,
    pub template_id: i64,
    pub template_version: i32,
    pub due_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub reminder_count: i32,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Question id -> value, once answered.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub answers: Option<Value>,
    pub overall_score: Option<i16>,
}

fn view(s: surveys::Model, senior_name: Option<String>, answer: Option<&survey_answers::Model>) -> SurveyView {
    SurveyView {
        id: s.id,
        kind: s.kind,
        status: s.status,
        channel: s.channel,
        senior_id: s.senior_id,
        senior_name,
        community_id: s.community_id,
        task_id: s.task_id,
        task_kind: s.task_kind,
        responder_id: s.responder_id,
        case_id: s.case_id,
        conductor_id: s.conductor_id,
        template_id: s.template_id,
        template_version: s.template_version,
        due_on: s.due_on,
        expires_at: s.expires_at,
        reminder_count: s.reminder_count,
        created_at: s.created_at,
        answered_at: s.answered_at,
        answers: answer.map(|a| a.answers.clone()),
        overall_score: answer.and_then(|a| a.overall_score),
    }
}

async fn senior_names(db: &impl ConnectionTrait, ids: Vec<i64>) -> Result<HashMap<i64, (String, String)>, ApiError> {
    Ok(seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Id)
        .column(seniors::Column::Name)
        .column(seniors::Column::Phone)
        .filter(seniors::Column::Id.is_in(ids))
        .into_tuple::<(i64, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, name, phone)| (id, (name, phone)))
        .collect())
}

async fn views(db: &impl ConnectionTrait, rows: Vec<surveys::Model>) -> Result<Vec<SurveyView>, ApiError> {
    let names = senior_names(db, rows.iter().map(|s| s.senior_id).collect()).await?;
    let answered: Vec<i64> = rows.iter().filter(|s| s.answered_at.is_some()).map(|s| s.id).collect();
    let answers: HashMap<i64, survey_answers::Model> = survey_answers::Entity::find()
        .filter(survey_answers::Column::SurveyId.is_in(answered))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.survey_id, a))
        .collect();
    Ok(rows
        .into_iter()
        .map(|s| {
            let name = names.get(&s.senior_id).map(|n| n.0.clone());
            let a = answers.get(&s.id);
            view(s, name, a)
        })
        .collect())
}

/// A survey a caregiver or volunteer can take in person, with its questions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InPersonSurvey {
    pub survey: SurveyView,
    /// The template version the survey was made with: the questions to ask.
    pub template: Template,
}

/// Pending surveys of the seniors whose tasks the caller holds now, in the
/// communities they serve, except surveys of their own visits: the ones they can
/// take in person at the door (caregiver, volunteer).
pub async fn in_person_for(state: &AppState, caller: &Caller) -> Result<Vec<InPersonSurvey>, ApiError> {
    let me = crate::dispatch::responders::of_caller(&state.db, caller).await?;
    let held = crate::dispatch::kinds::TaskStatus::ACTIVE.iter().map(|s| s.as_str());
    let seniors: Vec<i64> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::SeniorId)
        .filter(tasks::Column::AssigneeId.eq(me.id))
        .filter(tasks::Column::Status.is_in(held))
        .into_tuple()
        .all(&state.db)
        .await?;
    if seniors.is_empty() {
        return Ok(Vec::new());
    }
    let serves: Vec<i64> = responder_communities::Entity::find()
        .select_only()
        .column(responder_communities::Column::CommunityId)
        .filter(responder_communities::Column::ResponderId.eq(me.id))
        .into_tuple()
        .all(&state.db)
        .await?;
    let rows = surveys::Entity::find()
        .filter(surveys::Column::SeniorId.is_in(seniors))
        .filter(surveys::Column::CommunityId.is_in(serves))
        .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
        .filter(surveys::Column::ExpiresAt.gt(state.clock.now()))
        .filter(
            Condition::any().add(surveys::Column::ResponderId.is_null()).add(surveys::Column::ResponderId.ne(me.id)),
        )
        .order_by_asc(surveys::Column::DueOn)
        .order_by_asc(surveys::Column::Id)
        .all(&state.db)
        .await?;
    let mut templates: HashMap<i64, Template> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for survey in views(&state.db, rows).await? {
        let template = match templates.get(&survey.template_id) {
            Some(t) => t.clone(),
            None => {
                let t = template(&state.db, survey.template_id).await?;
                templates.insert(survey.template_id, t.clone());
                t
            }
        };
        out.push(InPersonSurvey { survey, template });
    }
    Ok(out)
}

/// Filters of `GET /api/v1/surveys`.
#[derive(Debug, Clone, Default)]
pub struct SurveyFilter {
    pub status: Option<SurveyStatus>,
    pub kind: Option<SurveyKind>,
    pub senior_id: Option<i64>,
    pub community_id: Option<i64>,
    pub conductor_id: Option<i64>,
}

/// Surveys in the caller's communities, newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    f: SurveyFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<SurveyView>, u64), ApiError> {
    let mut select = surveys::Entity::find();
    if let Some(c) = f.community_id {
        caller.scope(CommunityId(c))?;
        select = select.filter(surveys::Column::CommunityId.eq(c));
    } else if let Some(mine) = caller.community_filter() {
        select = select.filter(surveys::Column::CommunityId.is_in(mine));
    }
    if let Some(s) = f.status {
        select = select.filter(surveys::Column::Status.eq(s.as_str()));
    }
    if let Some(k) = f.kind {
        select = select.filter(surveys::Column::Kind.eq(k.as_str()));
    }
    if let Some(s) = f.senior_id {
        select = select.filter(surveys::Column::SeniorId.eq(s));
    }
    if let Some(c) = f.conductor_id {
        select = select.filter(surveys::Column::ConductorId.eq(c));
    }
    let paginator = select.order_by_desc(surveys::Column::Id).paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((views(&state.db, rows).await?, total))
}

/// One survey the caller may see.
pub async fn find(state: &AppState, caller: &Caller, id: i64) -> Result<SurveyView, ApiError> {
    let s = surveys::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(s.community_id))?;
    views(&state.db, vec![s]).await?.pop().ok_or(ApiError::NotFound)
}

/// A template version by id.
pub async fn template(db: &impl ConnectionTrait, id: i64) -> Result<Template, ApiError> {
    let m = survey_templates::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    Template::from_model(m)
}

/// Every template version, newest first within each code.
pub async fn templates(db: &impl ConnectionTrait) -> Result<Vec<Template>, ApiError> {
    survey_templates::Entity::find()
        .order_by_asc(survey_templates::Column::Code)
        .order_by_desc(survey_templates::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(Template::from_model)
        .collect()
}

/// One person to call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallItem {
    pub survey_id: i64,
    pub kind: String,
    pub senior_id: i64,
    pub senior_name: String,
    /// The number to call.
    pub phone: String,
    pub community_id: i64,
    pub due_on: NaiveDate,
    /// Due before the day asked for.
    pub overdue: bool,
    pub reminder_count: i32,
    pub conductor_id: Option<i64>,
    pub task_id: Option<i64>,
    pub task_kind: Option<String>,
    pub task_completed_at: Option<DateTime<Utc>>,
    /// The name of whoever served, to ask about the visit.
    pub served_by: Option<String>,
    pub template_id: i64,
}

/// The call list of a day: its script(s), and the people to call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallList {
    pub date: NaiveDate,
    pub items: Vec<CallItem>,
    /// The templates the items use: the script to read.
    pub templates: Vec<Template>,
}

/// Whom a worker calls on `date`: pending surveys in their communities due that day or
/// earlier, assigned to them or to nobody (admins see every community's).
pub async fn call_list(state: &AppState, caller: &Caller, date: NaiveDate) -> Result<CallList, ApiError> {
    let mut select = surveys::Entity::find()
        .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
        .filter(surveys::Column::DueOn.lte(date))
        .filter(surveys::Column::ExpiresAt.gt(state.clock.now()));
    if let Some(mine) = caller.community_filter() {
        select = select.filter(surveys::Column::CommunityId.is_in(mine));
        let me = caller.user_id()?.0;
        select = select.filter(
            Condition::any().add(surveys::Column::ConductorId.eq(me)).add(surveys::Column::ConductorId.is_null()),
        );
    }
    let rows =
        select.order_by_asc(surveys::Column::DueOn).order_by_asc(surveys::Column::Id).limit(500).all(&state.db).await?;
    let names = senior_names(&state.db, rows.iter().map(|s| s.senior_id).collect()).await?;
    let task_rows: HashMap<i64, tasks::Model> = tasks::Entity::find()
        .filter(tasks::Column::Id.is_in(rows.iter().filter_map(|s| s.task_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let served: HashMap<i64, String> = responders::Entity::find()
        .select_only()
        .column(responders::Column::Id)
        .column(users::Column::DisplayName)
        .inner_join(users::Entity)
        .filter(responders::Column::Id.is_in(rows.iter().filter_map(|s| s.responder_id)))
        .into_tuple::<(i64, String)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let mut template_ids: Vec<i64> = rows.iter().map(|s| s.template_id).collect();
    template_ids.sort_unstable();
    template_ids.dedup();
    let mut scripts = Vec::new();
    for id in template_ids {
        scripts.push(template(&state.db, id).await?);
    }
    let items = rows
        .into_iter()
        .map(|s| {
            let (name, phone) = names.get(&s.senior_id).cloned().unwrap_or_default();
            CallItem {
                survey_id: s.id,
                kind: s.kind,
                senior_id: s.senior_id,
                senior_name: name,
                phone,
                community_id: s.community_id,
                overdue: s.due_on < date,
                due_on: s.due_on,
                reminder_count: s.reminder_count,
                conductor_id: s.conductor_id,
                task_id: s.task_id,
                task_kind: s.task_kind,
                task_completed_at: s.task_id.and_then(|t| task_rows.get(&t)).and_then(|t| t.completed_at),
                served_by: s.responder_id.and_then(|r| served.get(&r).cloned()),
                template_id: s.template_id,
            }
        })
        .collect();
    Ok(CallList { date, items, templates: scripts })
}

/// The body of `POST /api/v1/surveys/{id}/answers`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct AnswerInput {
    /// `phone` (a worker called) or `in_person` (a caregiver other than the one who served).
    pub channel: Channel,
    /// Question id -> value: ratings 1-5, `true`/`false`, an option's value, or text.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub answers: BTreeMap<String, Value>,
}

/// What answering did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerResult {
    pub survey_id: i64,
    pub answer_id: i64,
    pub status: String,
    pub channel: String,
    pub template_version: i32,
    pub overall_score: Option<i16>,
    /// The case the answer opened, if it did.
    pub case_id: Option<i64>,
    pub case_due_at: Option<DateTime<Utc>>,
    pub case_owner_id: Option<i64>,
}

/// Who is answering.
#[derive(Debug, Clone, Copy)]
pub enum Answerer<'a> {
    Staff(&'a Caller),
    /// The family, through the link with this id.
    FamilyLink(i64),
}

fn not_pending(s: &surveys::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), s.status.clone().into());
    ApiError::Conflict {
        code: "survey-not-pending",
        detail: format!("The survey is {}; it takes no more answers", s.status),
        extra: Some(extra),
    }
}

/// Records the answers to a survey. Everything is checked before anything is written;
/// the survey moves from pending to answered in a conditional update, so a second
/// answer (by phone and by link at once) is 409 and stores nothing.
pub async fn answer(
    state: &AppState,
    survey_id: i64,
    channel: Channel,
    answers: BTreeMap<String, Value>,
    who: Answerer<'_>,
) -> Result<AnswerResult, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let survey = surveys::Entity::find_by_id(survey_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    let recorded_by = match who {
        Answerer::Staff(caller) => {
            check_staff(&txn, caller, &survey, channel).await?;
            caller.user_id.map(|u| u.0)
        }
        Answerer::FamilyLink(_) => None,
    };
    if survey.status != SurveyStatus::Pending.as_str() {
        return Err(not_pending(&survey));
    }
    if survey.expires_at <= now {
        let mut extra = serde_json::Map::new();
        extra.insert("current_status".into(), SurveyStatus::Expired.as_str().into());
        return Err(ApiError::Conflict {
            code: "survey-not-pending",
            detail: "The survey has expired".into(),
            extra: Some(extra),
        });
    }
    let tpl = template(&txn, survey.template_id).await?;
    let checked = tpl.check(&answers)?;
    if let Answerer::FamilyLink(link) = who {
        super::links::consume(&txn, link, now).await?;
    }
    let moved = surveys::Entity::update_many()
        .col_expr(surveys::Column::Status, Expr::value(SurveyStatus::Answered.as_str()))
        .col_expr(surveys::Column::Channel, Expr::value(channel.as_str()))
        .col_expr(surveys::Column::AnsweredAt, Expr::value(Some(now)))
        .col_expr(surveys::Column::UpdatedAt, Expr::value(now))
        .col_expr(surveys::Column::Version, Expr::col(surveys::Column::Version).add(1))
        .filter(surveys::Column::Id.eq(survey.id))
        .filter(surveys::Column::Status.eq(SurveyStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 0 {
        let current = surveys::Entity::find_by_id(survey.id).one(&txn).await?.unwrap_or(survey);
        return Err(not_pending(&current));
    }
    let overall = checked.overall.and_then(|n| i16::try_from(n).ok());
    let row = survey_answers::ActiveModel {
        survey_id: Set(survey.id),
        senior_id: Set(survey.senior_id),
        community_id: Set(survey.community_id),
        task_id: Set(survey.task_id),
        task_kind: Set(survey.task_kind.clone()),
        responder_id: Set(survey.responder_id),
        channel: Set(channel.as_str().to_owned()),
        template_id: Set(survey.template_id),
        template_version: Set(survey.template_version),
        answers: Set(checked.answers.clone()),
        overall_score: Set(overall),
        recorded_by: Set(recorded_by),
        answered_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let case = open_case_if_needed(&txn, state, &survey, &tpl, &checked, recorded_by, now).await?;
    txn.commit().await?;
    metrics::counter!("linli_survey_answers_total", "channel" => channel.as_str()).increment(1);
    Ok(AnswerResult {
        survey_id: survey.id,
        answer_id: row.id,
        status: SurveyStatus::Answered.as_str().to_owned(),
        channel: channel.as_str().to_owned(),
        template_version: survey.template_version,
        overall_score: overall,
        case_id: case.as_ref().map(|c| c.id),
        case_due_at: case.as_ref().map(|c| c.due_at),
        case_owner_id: case.and_then(|c| c.owner_id),
    })
}

/// Workers and admins record calls (`phone`) and visits (`in_person`) in their
/// communities; a caregiver or volunteer records `in_person` answers for seniors of a
/// community they serve, never for their own visit.
async fn check_staff(
    db: &impl ConnectionTrait,
    caller: &Caller,
    survey: &surveys::Model,
    channel: Channel,
) -> Result<(), ApiError> {
    match caller.role {
        Role::Admin | Role::Worker => {
            caller.scope(CommunityId(survey.community_id))?;
            if channel == Channel::FamilyLink {
                return Err(ApiError::field("channel", "invalid", "family-link answers come through the link"));
            }
            Ok(())
        }
        Role::Caregiver | Role::Volunteer => {
            let me = crate::dispatch::responders::of_caller(db, caller).await?;
            let serves = responder_communities::Entity::find()
                .filter(responder_communities::Column::ResponderId.eq(me.id))
                .filter(responder_communities::Column::CommunityId.eq(survey.community_id))
                .one(db)
                .await?
                .is_some();
            if !serves {
                return Err(ApiError::NotFound);
            }
            if channel != Channel::InPerson {
                return Err(ApiError::field("channel", "invalid", "responders record answers in person"));
            }
            if survey.responder_id == Some(me.id) {
                return Err(ApiError::Conflict {
                    code: "own-visit",
                    detail: "The responder who served cannot survey their own visit".into(),
                    extra: None,
                });
            }
            Ok(())
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// A low overall rating or a serious answer opens a case: owned by whoever recorded
/// the answer if they work in the senior's community (they heard it first), else the
/// survey's conductor, else the community's worker.
async fn open_case_if_needed(
    db: &impl ConnectionTrait,
    state: &AppState,
    survey: &surveys::Model,
    tpl: &Template,
    checked: &Checked,
    recorded_by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<entity::cases::Model>, ApiError> {
    let low = checked.overall.is_some_and(|n| n <= state.settings.surveys.low_score_threshold);
    if !low && checked.serious.is_empty() {
        return Ok(None);
    }
    let severity = if checked.serious.is_empty() { Severity::Normal } else { Severity::Serious };
    let category = checked
        .serious
        .iter()
        .find_map(|q| q.case_category.as_deref().and_then(CaseCategory::parse))
        .unwrap_or(CaseCategory::ServiceQuality);
    let workers = cases::workers_of(db, survey.community_id).await?;
    let owner = recorded_by
        .filter(|u| workers.contains(u))
        .or(survey.conductor_id.filter(|u| workers.contains(u)))
        .or(workers.first().copied());
    let mut parts = Vec::new();
    if let Some(n) = checked.overall {
        parts.push(format!("总体评分 {n} 分"));
    }
    for q in &checked.serious {
        if q.id != "overall" {
            parts.push(format!(
                "{}：{}",
                q.text.zh,
                checked.answers.get(&q.id).map(Value::to_string).unwrap_or_default()
            ));
        }
    }
    let comments: Vec<String> = tpl
        .free_text_ids()
        .into_iter()
        .filter_map(|id| checked.answers.get(id).and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let kind = SurveyKind::parse(&survey.kind).unwrap_or(SurveyKind::Periodic);
    let label = match kind {
        SurveyKind::PostService => "服务回访",
        SurveyKind::Periodic => "每月回访",
        SurveyKind::FollowUp => "处理回访",
    };
    let case = cases::open(
        db,
        state,
        NewCase {
            senior_id: survey.senior_id,
            community_id: survey.community_id,
            category,
            severity,
            source: CaseSource::Survey,
            summary: format!("{label} #{}：{}", survey.id, parts.join("；")),
            description: if comments.is_empty() { None } else { Some(comments.join("\n")) },
            owner_id: owner,
            received_by: recorded_by,
            survey_id: Some(survey.id),
            task_id: survey.task_id,
        },
        now,
    )
    .await?;
    Ok(Some(case))
}
