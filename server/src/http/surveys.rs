//! `/api/v1/surveys`: lists, the call list, answers, family links, the analysis and
//! its export; `/api/v1/public/surveys/{token}`: the family link's page, no login.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::registry::export::ExportFormat;
use crate::registry::import::XLSX_CONTENT_TYPE;
use crate::state::AppState;
use crate::surveys::analysis::{self, Analysis, AnalysisQuery, GroupBy};
use crate::surveys::links::{self, FamilyLink, PublicSurvey};
use crate::surveys::service::{
    self, AnswerInput, AnswerResult, Answerer, CallList, InPersonSurvey, SurveyFilter, SurveyView,
};
use crate::surveys::template::Template;
use crate::surveys::{Channel, SurveyKind, SurveyStatus};

/// Fixed paths first: `/surveys/call-list` is not `/surveys/{id}`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_surveys)
        .service(my_surveys)
        .service(call_list)
        .service(analysis_endpoint)
        .service(analysis_export)
        .service(list_templates)
        .service(get_survey)
        .service(answer)
        .service(family_link)
        .service(public_survey)
        .service(public_answer);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyQuery {
    #[param(inline)]
    pub status: Option<SurveyStatus>,
    #[param(inline)]
    pub kind: Option<SurveyKind>,
    pub senior_id: Option<i64>,
    pub community_id: Option<i64>,
    /// Only the surveys this user is to conduct.
    pub conductor_id: Option<i64>,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Surveys in the caller's communities, newest first (worker, admin).
#[utoipa::path(
    tag = "surveys",
    params(SurveyQuery),
    responses((status = 200, body = Page<SurveyView>), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/surveys")]
async fn list_surveys(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SurveyQuery>,
) -> Result<web::Json<Page<SurveyView>>, ApiError> {
    caller.allow(STAFF)?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let filter = SurveyFilter {
        status: q.status,
        kind: q.kind,
        senior_id: q.senior_id,
        community_id: q.community_id,
        conductor_id: q.conductor_id,
    };
    let (items, total) = service::list(&state, &caller, filter, params.page(), params.per_page()).await?;
    Ok(web::Json(Page::new(items, &params, total)))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallListQuery {
    /// The day (YYYY-MM-DD, local); today by default.
    pub date: Option<NaiveDate>,
}

/// Whom to call: pending surveys due by the date in the caller's communities, assigned
/// to the caller or to nobody, with phones and the script (worker, admin).
#[utoipa::path(
    tag = "surveys",
    params(CallListQuery),
    responses((status = 200, body = CallList)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/surveys/call-list")]
async fn call_list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CallListQuery>,
) -> Result<web::Json<CallList>, ApiError> {
    caller.allow(STAFF)?;
    let date = query.0.date.unwrap_or_else(|| state.clock.now().with_timezone(&state.settings.tz()).date_naive());
    Ok(web::Json(service::call_list(&state, &caller, date).await?))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalysisParams {
    #[param(inline)]
    pub group_by: GroupBy,
    /// First local day (surveys by creation, cases by opening).
    pub from: Option<NaiveDate>,
    /// Last local day, included.
    pub to: Option<NaiveDate>,
    pub community_id: Option<i64>,
    /// For the export: `csv` (default) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

impl AnalysisParams {
    fn query(&self) -> Result<AnalysisQuery, ApiError> {
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(ApiError::field("to", "range", "must not be before `from`"));
        }
        Ok(AnalysisQuery { group_by: self.group_by, from: self.from, to: self.to, community_id: self.community_id })
    }
}

/// Satisfaction by responder, task kind, community or month, with response counts and
/// rates; complaint rates per 100 seniors; case categories; common words and phrases
/// (worker: own communities; admin, bureau: all). Groups with fewer than five
/// responses are `insufficient` and show no mean.
#[utoipa::path(
    tag = "surveys",
    params(AnalysisParams),
    responses((status = 200, body = Analysis), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/surveys/analysis")]
async fn analysis_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AnalysisParams>,
) -> Result<web::Json<Analysis>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Bureau])?;
    Ok(web::Json(analysis::analyse(&state, &caller, query.0.query()?).await?))
}

/// The analysis as CSV (the groups) or XLSX (groups, complaints, categories, words).
#[utoipa::path(
    tag = "surveys",
    params(AnalysisParams),
    responses((status = 200, description = "The spreadsheet, as an attachment", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/surveys/analysis/export")]
async fn analysis_export(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AnalysisParams>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Bureau])?;
    let params = query.0;
    let a = analysis::analyse(&state, &caller, params.query()?).await?;
    let name = format!("survey-analysis-{}", params.group_by.as_str());
    let attachment = |ext: &str| (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\""));
    Ok(match params.format.unwrap_or_default() {
        ExportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment("csv"))
            .body(analysis::to_csv(&a)?),
        ExportFormat::Xlsx => HttpResponse::Ok()
            .content_type(XLSX_CONTENT_TYPE)
            .insert_header(attachment("xlsx"))
            .body(analysis::to_xlsx(&a)?),
    })
}

/// Every version of every survey template: the questions, in Chinese and English.
#[utoipa::path(tag = "surveys", responses((status = 200, body = Vec<Template>)), security(("bearer" = []), ("cookie" = [])))]
#[get("/surveys/templates")]
async fn list_templates(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<Template>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Bureau, Role::Caregiver, Role::Volunteer])?;
    Ok(web::Json(service::templates(&state.db).await?))
}

/// Surveys the caller can take in person at the door: pending surveys of the seniors
/// whose tasks they hold, never of their own visits, with the questions (caregiver,
/// volunteer). Answer with `channel: in_person`.
#[utoipa::path(
    tag = "surveys",
    responses((status = 200, body = Vec<InPersonSurvey>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/surveys")]
async fn my_surveys(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<InPersonSurvey>>, ApiError> {
    caller.allow(&[Role::Caregiver, Role::Volunteer])?;
    Ok(web::Json(service::in_person_for(&state, &caller).await?))
}

/// One survey, with its answers once answered (worker, admin).
#[utoipa::path(
    tag = "surveys",
    params(("id" = i64, Path, description = "Survey id")),
    responses((status = 200, body = SurveyView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/surveys/{id}")]
async fn get_survey(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<SurveyView>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(service::find(&state, &caller, id.into_inner()).await?))
}

/// Record the answers to a survey: a worker's call (`phone`) or a visit by a caregiver
/// other than the one who served (`in_person`). Each answer is checked against the
/// survey's template version; a bad one is 422 naming `answers.<question>` and
/// nothing is stored. An overall rating of 2 or lower, or a serious answer, opens a
/// case in the same transaction (`case_id`).
#[utoipa::path(
    tag = "surveys",
    params(("id" = i64, Path, description = "Survey id")),
    request_body = AnswerInput,
    responses(
        (status = 201, body = AnswerResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered or expired; or the serving responder", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/surveys/{id}/answers")]
async fn answer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<AnswerInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Caregiver, Role::Volunteer])?;
    let input = body.0;
    let result =
        service::answer(&state, id.into_inner(), input.channel, input.answers, Answerer::Staff(&caller)).await?;
    Ok(HttpResponse::Created().json(result))
}

/// Make a single-use family link for a pending survey (worker, admin). The token is
/// shown once; the page is `/s/{token}`.
#[utoipa::path(
    tag = "surveys",
    params(("id" = i64, Path, description = "Survey id")),
    responses(
        (status = 201, body = FamilyLink),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/surveys/{id}/family-link")]
async fn family_link(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    caller.allow(STAFF)?;
    Ok(HttpResponse::Created().json(links::create(&state, &caller, id.into_inner()).await?))
}

/// The survey behind a family link (no login). 404 for an unknown token, 410 once it
/// was used or has expired.
#[utoipa::path(
    tag = "surveys",
    params(("token" = String, Path, description = "The link's token")),
    responses(
        (status = 200, body = PublicSurvey),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/public/surveys/{token}")]
async fn public_survey(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<web::Json<PublicSurvey>, ApiError> {
    Ok(web::Json(links::public_view(&state, &token).await?))
}

/// The body of a family link's answer.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct PublicAnswerInput {
    /// Question id -> value.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// Answer through a family link (no login): works once. A used or expired link is
/// 410; a survey already answered another way is 409.
#[utoipa::path(
    tag = "surveys",
    params(("token" = String, Path, description = "The link's token")),
    request_body = PublicAnswerInput,
    responses(
        (status = 201, body = AnswerResult),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/public/surveys/{token}/answers")]
async fn public_answer(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: Json<PublicAnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let (link, survey) = links::usable(&state, &token).await?;
    let result =
        service::answer(&state, survey.id, Channel::FamilyLink, body.0.answers, Answerer::FamilyLink(link.id)).await?;
    // The family never sees internal ids of cases or staff.
    let mut shown = result;
    shown.case_id = None;
    shown.case_due_at = None;
    shown.case_owner_id = None;
    Ok(HttpResponse::Created().json(shown))
}
