//! Complaint and follow-up cases: every complaint, however it came in, and every low
//! survey score becomes a case with an owner (首问负责: whoever heard it first, else the
//! senior's community worker), a deadline by severity, a timeline of actions, and a
//! resolution the senior confirms. Overdue cases escalate to the community head.

use chrono::{DateTime, Duration, Utc};
use entity::{case_actions, cases, communities, seniors, surveys, user_communities, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Caller, CommunityId, Role};
use crate::dispatch::notify;
use crate::error::ApiError;
use crate::registry::kinds::vocabulary;
use crate::state::AppState;

vocabulary!(
    /// What a case is about.
    CaseCategory {
        ServiceQuality = "service_quality",
        Punctuality = "punctuality",
        Attitude = "attitude",
        Safety = "safety",
        Meals = "meals",
        Billing = "billing",
        Wellbeing = "wellbeing",
        /// A follow-up survey found the problem not solved.
        Unresolved = "unresolved",
        Other = "other",
    }
);

vocabulary!(
    /// Sets the deadline: `serious` cases are due sooner.
    Severity {
        Serious = "serious",
        Normal = "normal",
    }
);

vocabulary!(
    /// Where a case came in.
    CaseSource {
        Hotline = "hotline",
        WalkIn = "walk_in",
        Web = "web",
        Pwa = "pwa",
        /// Opened by a survey answer.
        Survey = "survey",
    }
);

vocabulary!(
    CaseStatus {
        Open = "open",
        Resolved = "resolved",
    }
);

vocabulary!(
    /// What a person can add to a case's timeline by hand.
    ActionKind {
        Note = "note",
        Call = "call",
        Visit = "visit",
        /// Hands the case to another worker (`owner_id`).
        Reassign = "reassign",
    }
);

/// A case with its timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub senior_id: i64,
    pub senior_name: Option<String>,
    pub community_id: i64,
    pub category: String,
    pub severity: String,
    pub source: String,
    pub status: String,
    pub summary: String,
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub received_by: Option<i64>,
    pub survey_id: Option<i64>,
    pub task_id: Option<i64>,
    pub due_at: DateTime<Utc>,
    /// Open past its deadline.
    pub overdue: bool,
    pub escalated_at: Option<DateTime<Utc>>,
    /// The community head it was escalated to.
    pub escalated_to: Option<i64>,
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<i64>,
    pub senior_confirmed: Option<bool>,
    pub confirmation_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub version: i32,
    /// Oldest first; empty in lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionView {
    pub id: i64,
    pub kind: String,
    pub note: Option<String>,
    pub actor_user_id: Option<i64>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub at: DateTime<Utc>,
}

fn view(c: cases::Model, now: DateTime<Utc>, senior_name: Option<String>, owner_name: Option<String>) -> CaseView {
    CaseView {
        overdue: c.status == CaseStatus::Open.as_str() && c.due_at <= now,
        id: c.id,
        senior_id: c.senior_id,
        senior_name,
        community_id: c.community_id,
        category: c.category,
        severity: c.severity,
        source: c.source,
        status: c.status,
        summary: c.summary,
        description: c.description,
        owner_id: c.owner_id,
        owner_name,
        received_by: c.received_by,
        survey_id: c.survey_id,
        task_id: c.task_id,
        due_at: c.due_at,
        escalated_at: c.escalated_at,
        escalated_to: c.escalated_to,
        resolution: c.resolution,
        resolved_at: c.resolved_at,
        resolved_by: c.resolved_by,
        senior_confirmed: c.senior_confirmed,
        confirmation_note: c.confirmation_note,
        created_at: c.created_at,
        version: c.version,
        actions: Vec::new(),
    }
}

/// The deadline of a case opened at `now`.
pub fn due_at(state: &AppState, severity: Severity, now: DateTime<Utc>) -> DateTime<Utc> {
    let s = &state.settings.surveys;
    now + Duration::hours(match severity {
        Severity::Serious => s.serious_case_hours,
        Severity::Normal => s.normal_case_hours,
    })
}

/// The senior's community worker: the active worker of the community with the lowest
/// id (the one registered first), if any.
pub async fn community_worker(db: &impl ConnectionTrait, community_id: i64) -> Result<Option<i64>, ApiError> {
    Ok(workers_of(db, community_id).await?.first().copied())
}

/// Active workers scoped to `community_id`, by id.
pub async fn workers_of(db: &impl ConnectionTrait, community_id: i64) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = user_communities::Entity::find()
        .select_only()
        .column(user_communities::Column::UserId)
        .inner_join(users::Entity)
        .filter(user_communities::Column::CommunityId.eq(community_id))
        .filter(users::Column::Role.eq(Role::Worker.as_str()))
        .filter(users::Column::IsActive.eq(true))
        .order_by_asc(user_communities::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids)
}

/// What a new case needs.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub senior_id: i64,
    pub community_id: i64,
    pub category: CaseCategory,
    pub severity: Severity,
    pub source: CaseSource,
    pub summary: String,
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    pub received_by: Option<i64>,
    pub survey_id: Option<i64>,
    pub task_id: Option<i64>,
}

/// Opens a case inside the caller's transaction: the row, its `opened` action and a
/// console alert for the community.
pub async fn open(
    db: &impl ConnectionTrait,
    state: &AppState,
    new: NewCase,
    now: DateTime<Utc>,
) -> Result<cases::Model, ApiError> {
    let case = cases::ActiveModel {
        senior_id: Set(new.senior_id),
        community_id: Set(new.community_id),
        category: Set(new.category.as_str().to_owned()),
        severity: Set(new.severity.as_str().to_owned()),
        source: Set(new.source.as_str().to_owned()),
        status: Set(CaseStatus::Open.as_str().to_owned()),
        summary: Set(new.summary),
        description: Set(new.description),
        owner_id: Set(new.owner_id),
        received_by: Set(new.received_by),
        survey_id: Set(new.survey_id),
        task_id: Set(new.task_id),
        due_at: Set(due_at(state, new.severity, now)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await?;
    action(
        db,
        case.id,
        "opened",
        None,
        new.received_by,
        json!({"owner_id": case.owner_id, "source": case.source}),
        now,
    )
    .await?;
    notify::console(
        db,
        case.community_id,
        "case_opened",
        json!({"case_id": case.id, "severity": case.severity, "owner_id": case.owner_id}),
        now,
    )
    .await?;
    metrics::counter!("linli_cases_opened_total", "source" => new.source.as_str()).increment(1);
    Ok(case)
}

async fn action(
    db: &impl ConnectionTrait,
    case_id: i64,
    kind: &str,
    note: Option<String>,
    actor: Option<i64>,
    details: Value,
    at: DateTime<Utc>,
) -> Result<case_actions::Model, ApiError> {
    Ok(case_actions::ActiveModel {
        case_id: Set(case_id),
        kind: Set(kind.to_owned()),
        note: Set(note),
        actor_user_id: Set(actor),
        details: Set(details),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The body of `POST /api/v1/cases`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CaseInput {
    pub senior_id: i64,
    pub category: CaseCategory,
    pub severity: Severity,
    /// `hotline`, `walk_in`, `web` or `pwa` (`survey` cases open themselves).
    pub source: CaseSource,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub summary: String,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// Defaults to whoever received the complaint (a worker), else the senior's
    /// community worker.
    pub owner_id: Option<i64>,
    pub task_id: Option<i64>,
}

/// A complaint received by a person. A worker or admin who receives it owns it
/// (首问负责) unless they name another worker of the community; one sent from the
/// PWA (a caregiver or volunteer) goes to the senior's community worker.
pub async fn create(state: &AppState, caller: &Caller, input: CaseInput) -> Result<CaseView, ApiError> {
    if input.source == CaseSource::Survey {
        return Err(ApiError::field("source", "invalid", "survey cases are opened by survey answers"));
    }
    let staff = matches!(caller.role, Role::Admin | Role::Worker);
    if !staff && input.source != CaseSource::Pwa {
        return Err(ApiError::field("source", "invalid", "complaints from the phone app have the source `pwa`"));
    }
    if input.summary.trim().is_empty() {
        return Err(ApiError::field("summary", "required", "say what the complaint is about"));
    }
    let senior = seniors::Entity::find_by_id(input.senior_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::field("senior_id", "unknown", "no such senior"))?;
    if staff {
        if !caller.sees_community(CommunityId(senior.community_id)) {
            return Err(ApiError::field("senior_id", "unknown", "no such senior"));
        }
    } else {
        let me = crate::dispatch::responders::of_caller(&state.db, caller).await?;
        let serves = entity::responder_communities::Entity::find()
            .filter(entity::responder_communities::Column::ResponderId.eq(me.id))
            .filter(entity::responder_communities::Column::CommunityId.eq(senior.community_id))
            .one(&state.db)
            .await?
            .is_some();
        if !serves {
            return Err(ApiError::field("senior_id", "unknown", "no such senior"));
        }
    }
    let workers = workers_of(&state.db, senior.community_id).await?;
    let me = caller.user_id.map(|u| u.0);
    let owner = match input.owner_id {
        Some(id) if workers.contains(&id) || (Some(id) == me && staff) => Some(id),
        Some(_) => return Err(ApiError::field("owner_id", "invalid", "not a worker of the senior's community")),
        None if staff => me,
        None => workers.first().copied(),
    };
    if let Some(task) = input.task_id {
        let ok =
            entity::tasks::Entity::find_by_id(task).one(&state.db).await?.is_some_and(|t| t.senior_id == senior.id);
        if !ok {
            return Err(ApiError::field("task_id", "unknown", "no such task of this senior"));
        }
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let case = open(
        &txn,
        state,
        NewCase {
            senior_id: senior.id,
            community_id: senior.community_id,
            category: input.category,
            severity: input.severity,
            source: input.source,
            summary: input.summary.trim().to_owned(),
            description: input.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
            owner_id: owner,
            received_by: me,
            survey_id: None,
            task_id: input.task_id,
        },
        now,
    )
    .await?;
    crate::audit::record(
        &txn,
        &state.clock,
        caller,
        crate::audit::Entry::new("case.open", "case", Some(case.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    find(state, caller, case.id).await
}

/// Filters of `GET /api/v1/cases`.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub owner_id: Option<i64>,
    pub community_id: Option<i64>,
    pub overdue: Option<bool>,
    pub escalated: Option<bool>,
    /// Open cases due by then (the console's "cases due today").
    pub due_before: Option<DateTime<Utc>>,
}

/// Cases in the caller's communities: open ones by deadline, then the rest newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: CaseFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<CaseView>, u64), ApiError> {
    let now = state.clock.now();
    let mut select = cases::Entity::find();
    if let Some(c) = filter.community_id {
        caller.scope(CommunityId(c))?;
        select = select.filter(cases::Column::CommunityId.eq(c));
    } else if let Some(mine) = caller.community_filter() {
        select = select.filter(cases::Column::CommunityId.is_in(mine));
    }
    if let Some(s) = filter.status {
        select = select.filter(cases::Column::Status.eq(s.as_str()));
    }
    if let Some(o) = filter.owner_id {
        select = select.filter(cases::Column::OwnerId.eq(o));
    }
    match filter.overdue {
        Some(true) => {
            select =
                select.filter(cases::Column::Status.eq(CaseStatus::Open.as_str())).filter(cases::Column::DueAt.lte(now))
        }
        Some(false) => {
            select = select.filter(
                Condition::any()
                    .add(cases::Column::Status.ne(CaseStatus::Open.as_str()))
                    .add(cases::Column::DueAt.gt(now)),
            )
        }
        None => {}
    }
    if let Some(by) = filter.due_before {
        select =
            select.filter(cases::Column::Status.eq(CaseStatus::Open.as_str())).filter(cases::Column::DueAt.lte(by));
    }
    match filter.escalated {
        Some(true) => select = select.filter(cases::Column::EscalatedAt.is_not_null()),
        Some(false) => select = select.filter(cases::Column::EscalatedAt.is_null()),
        None => {}
    }
    let select =
        select.order_by_asc(cases::Column::Status).order_by_asc(cases::Column::DueAt).order_by_desc(cases::Column::Id);
    let paginator = select.paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let views = with_names(&state.db, rows, now).await?;
    Ok((views, total))
}

async fn with_names(
    db: &impl ConnectionTrait,
    rows: Vec<cases::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseView>, ApiError> {
    let senior_ids: Vec<i64> = rows.iter().map(|c| c.senior_id).collect();
    let owner_ids: Vec<i64> = rows.iter().filter_map(|c| c.owner_id).collect();
    let seniors: std::collections::HashMap<i64, String> = seniors::Entity::find()
        .select_only()
        .column(seniors::Column::Id)
        .column(seniors::Column::Name)
        .filter(seniors::Column::Id.is_in(senior_ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let owners: std::collections::HashMap<i64, String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .filter(users::Column::Id.is_in(owner_ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            let s = seniors.get(&c.senior_id).cloned();
            let o = c.owner_id.and_then(|o| owners.get(&o).cloned());
            view(c, now, s, o)
        })
        .collect())
}

async fn find_model(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> Result<cases::Model, ApiError> {
    let case = cases::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(case.community_id))?;
    Ok(case)
}

/// One case with its timeline.
pub async fn find(state: &AppState, caller: &Caller, id: i64) -> Result<CaseView, ApiError> {
    let case = find_model(&state.db, caller, id).await?;
    let actions = case_actions::Entity::find()
        .filter(case_actions::Column::CaseId.eq(id))
        .order_by_asc(case_actions::Column::Id)
        .all(&state.db)
        .await?;
    let mut views = with_names(&state.db, vec![case], state.clock.now()).await?;
    let mut view = views.pop().ok_or(ApiError::NotFound)?;
    view.actions = actions
        .into_iter()
        .map(|a| ActionView {
            id: a.id,
            kind: a.kind,
            note: a.note,
            actor_user_id: a.actor_user_id,
            details: a.details,
            at: a.at,
        })
        .collect();
    Ok(view)
}

/// The body of `POST /api/v1/cases/{id}/actions`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ActionInput {
    pub kind: ActionKind,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub note: Option<String>,
    /// The new owner, for `reassign`.
    pub owner_id: Option<i64>,
}

fn not_open(case: &cases::Model) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_status".into(), case.status.clone().into());
    extra.insert("current_version".into(), case.version.into());
    ApiError::Conflict { code: "case-closed", detail: format!("The case is {}", case.status), extra: Some(extra) }
}

/// Adds a note, a call or a visit to an open case's timeline, or hands it to another
/// worker of the community.
pub async fn add_action(state: &AppState, caller: &Caller, id: i64, input: ActionInput) -> Result<CaseView, ApiError> {
    let note = input.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let case = find_model(&txn, caller, id).await?;
    if case.status != CaseStatus::Open.as_str() {
        return Err(not_open(&case));
    }
    let mut details = json!({});
    match input.kind {
        ActionKind::Reassign => {
            let Some(owner) = input.owner_id else {
                return Err(ApiError::field("owner_id", "required", "name the worker who takes the case over"));
            };
            if !workers_of(&txn, case.community_id).await?.contains(&owner) {
                return Err(ApiError::field("owner_id", "invalid", "not a worker of the senior's community"));
            }
            let moved = cases::Entity::update_many()
                .col_expr(cases::Column::OwnerId, Expr::value(Some(owner)))
                .col_expr(cases::Column::UpdatedAt, Expr::value(now))
                .col_expr(cases::Column::Version, Expr::col(cases::Column::Version).add(1))
                .filter(cases::Column::Id.eq(id))
                .filter(cases::Column::Status.eq(CaseStatus::Open.as_str()))
                .exec(&txn)
                .await?;
            if moved.rows_affected == 0 {
                return Err(not_open(&case));
            }
            details = json!({"from": case.owner_id, "to": owner});
        }
        _ if note.is_none() => return Err(ApiError::field("note", "required", "say what was done")),
        _ => {}
    }
    action(&txn, id, input.kind.as_str(), note, caller.user_id.map(|u| u.0), details, now).await?;
    txn.commit().await?;
    find(state, caller, id).await
}

/// The body of `POST /api/v1/cases/{id}/resolve`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CaseResolveInput {
    /// What was done.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub resolution: String,
    /// The senior (or their guardian) confirmed the resolution; a case is only
    /// resolved with that confirmation.
    pub senior_confirmed: bool,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub confirmation_note: Option<String>,
}

/// Resolves an open case with the senior's confirmation, and schedules the follow-up
/// survey in the same transaction.
pub async fn resolve(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: CaseResolveInput,
) -> Result<CaseView, ApiError> {
    if input.resolution.trim().is_empty() {
        return Err(ApiError::field("resolution", "required", "say how the case was resolved"));
    }
    if !input.senior_confirmed {
        return Err(ApiError::field(
            "senior_confirmed",
            "required",
            "the senior must confirm the resolution; record what they said as an action and keep the case open",
        ));
    }
    let now = state.clock.now();
    let me = caller.user_id.map(|u| u.0);
    let txn = crate::db::begin_write(&state.db).await?;
    let case = find_model(&txn, caller, id).await?;
    let note = input.confirmation_note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let done = cases::Entity::update_many()
        .col_expr(cases::Column::Status, Expr::value(CaseStatus::Resolved.as_str()))
        .col_expr(cases::Column::Resolution, Expr::value(Some(input.resolution.trim().to_owned())))
        .col_expr(cases::Column::ResolvedAt, Expr::value(Some(now)))
        .col_expr(cases::Column::ResolvedBy, Expr::value(me))
        .col_expr(cases::Column::SeniorConfirmed, Expr::value(Some(true)))
        .col_expr(cases::Column::ConfirmationNote, Expr::value(note.clone()))
        .col_expr(cases::Column::UpdatedAt, Expr::value(now))
        .col_expr(cases::Column::Version, Expr::col(cases::Column::Version).add(1))
        .filter(cases::Column::Id.eq(id))
        .filter(cases::Column::Status.eq(CaseStatus::Open.as_str()))
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(not_open(&case));
    }
    action(
        &txn,
        id,
        "resolved",
        Some(input.resolution.trim().to_owned()),
        me,
        json!({"senior_confirmed": true, "confirmation_note": note}),
        now,
    )
    .await?;
    let survey = crate::surveys::schedule::follow_up(&txn, state, &case, now).await?;
    if let Some(s) = survey {
        action(&txn, id, "follow_up_scheduled", None, None, json!({"survey_id": s}), now).await?;
    }
    crate::audit::record(
        &txn,
        &state.clock,
        caller,
        crate::audit::Entry::new("case.resolve", "case", Some(id.to_string())),
    )
    .await?;
    txn.commit().await?;
    find(state, caller, id).await
}

/// Escalates every open case past its deadline to its community's head, once: the
/// update is conditional on `escalated_at` being unset, so two instances escalate
/// each case once. Returns how many were escalated.
pub async fn escalate_overdue(state: &AppState) -> Result<i64, ApiError> {
    let now = state.clock.now();
    let overdue = cases::Entity::find()
        .filter(cases::Column::Status.eq(CaseStatus::Open.as_str()))
        .filter(cases::Column::DueAt.lte(now))
        .filter(cases::Column::EscalatedAt.is_null())
        .order_by_asc(cases::Column::Id)
        .all(&state.db)
        .await?;
    let heads: std::collections::HashMap<i64, Option<i64>> = communities::Entity::find()
        .select_only()
        .column(communities::Column::Id)
        .column(communities::Column::HeadUserId)
        .into_tuple::<(i64, Option<i64>)>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let mut escalated = 0;
    for case in overdue {
        let head = heads.get(&case.community_id).copied().flatten();
        let txn = crate::db::begin_write(&state.db).await?;
        let done = cases::Entity::update_many()
            .col_expr(cases::Column::EscalatedAt, Expr::value(Some(now)))
            .col_expr(cases::Column::EscalatedTo, Expr::value(head))
            .col_expr(cases::Column::UpdatedAt, Expr::value(now))
            .col_expr(cases::Column::Version, Expr::col(cases::Column::Version).add(1))
            .filter(cases::Column::Id.eq(case.id))
            .filter(cases::Column::EscalatedAt.is_null())
            .filter(cases::Column::Status.eq(CaseStatus::Open.as_str()))
            .exec(&txn)
            .await?;
        if done.rows_affected == 0 {
            continue;
        }
        action(&txn, case.id, "escalated", None, None, json!({"to": head, "due_at": case.due_at}), now).await?;
        notify::console(
            &txn,
            case.community_id,
            "case_escalated",
            json!({"case_id": case.id, "escalated_to": head, "owner_id": case.owner_id}),
            now,
        )
        .await?;
        if let Some(head) = head {
            notify::push(
                &txn,
                head,
                "case_escalated",
                &format!("case-{}", case.id),
                json!({"case_id": case.id, "title": "投诉处理超时", "body": format!("案件 #{} 已超过处理期限", case.id)}),
                notify::Urgency::Normal,
                now,
            )
            .await?;
        }
        txn.commit().await?;
        escalated += 1;
    }
    metrics::counter!("linli_cases_escalated_total").increment(escalated);
    Ok(escalated as i64)
}

/// The case a survey answer opened, if any (for the answer's response).
pub async fn of_survey(db: &impl ConnectionTrait, survey: &surveys::Model) -> Result<Option<cases::Model>, ApiError> {
    Ok(cases::Entity::find().filter(cases::Column::SurveyId.eq(survey.id)).one(db).await?)
}
