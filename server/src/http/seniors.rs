//! `/api/v1/seniors`: reading the registry (registration and assessment build on it).

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use entity::{assessments, seniors, service_plans};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::assessment::service::{self as assessing, Assessment, AssessmentInput, AssessmentView};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::grid::cell_string;
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::registry::records::{self, ChangeView, ConsentView, ContactView};
use crate::registry::service::{self as registry, MedicalNotes, NewSenior, SeniorInput, SeniorUpdate};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_seniors)
        .service(create_senior)
        .service(get_senior)
        .service(update_senior)
        .service(overview)
        .service(create_assessment)
        .service(list_assessments)
        .service(reveal_id_number);
}

/// A senior as workers see them: the ID number is always masked here.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeniorView {
    pub id: i64,
    pub name: String,
    pub gender: String,
    pub birth_date: NaiveDate,
    /// Masked, e.g. `120101********123X`.
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub community_id: i64,
    pub living_arrangement: String,
    pub economic_status: String,
    pub status: String,
    /// H3 cell, 15 hex digits.
    pub cell: String,
    pub tier: Option<String>,
    pub flags: Vec<String>,
    /// The point lies outside the community's boundary: flagged for review.
    pub outside_boundary: bool,
    pub medical_notes: MedicalNotes,
    pub reassessment_due_on: Option<NaiveDate>,
    pub version: i32,
}

impl From<seniors::Model> for SeniorView {
    fn from(s: seniors::Model) -> Self {
        Self {
            id: s.id,
            name: s.name,
            gender: s.gender,
            birth_date: s.birth_date,
            id_number: s.id_number_masked,
            phone: s.phone,
            address: s.address,
            latitude: s.latitude,
            longitude: s.longitude,
            community_id: s.community_id,
            living_arrangement: s.living_arrangement,
            economic_status: s.economic_status,
            status: s.status,
            cell: cell_string(s.cell),
            tier: s.tier,
            flags: serde_json::from_value(s.flags).unwrap_or_default(),
            outside_boundary: s.outside_boundary,
            medical_notes: serde_json::from_value(s.medical_notes).unwrap_or_default(),
            reassessment_due_on: s.reassessment_due_on,
            version: s.version,
        }
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeniorFilter {
    /// Only this community (must be in the caller's scope).
    pub community_id: Option<i64>,
    /// Only this care tier.
    pub tier: Option<String>,
    /// Part of the name, or the start of the phone number.
    #[validate(length(max = 50))]
    #[param(max_length = 50)]
    pub q: Option<String>,
    /// `active`, `hospitalised`, `moved_away` or `deceased`.
    #[param(pattern = "^(active|hospitalised|moved_away|deceased)$")]
    pub status: Option<String>,
    /// Only seniors with this flag (`alone`, `empty_nest`, `oldest_old`, `disabled`,
    /// `cognitive_impairment`, `destitute`, `subsistence`).
    #[param(pattern = "^(alone|empty_nest|oldest_old|disabled|cognitive_impairment|destitute|subsistence)$")]
    pub flag: Option<String>,
    /// Only seniors whose reassessment is due today or overdue.
    #[serde(default)]
    pub reassessment_due: bool,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// At most 200.
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Seniors in the caller's communities, newest first.
#[utoipa::path(
    tag = "seniors",
    params(SeniorFilter),
    responses((status = 200, body = Page<SeniorView>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors")]
async fn list_seniors(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SeniorFilter>,
) -> Result<web::Json<Page<SeniorView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    if let Some(status) = q.status.as_deref()
        && crate::registry::SeniorStatus::parse(status).is_none()
    {
        return Err(ApiError::field(
            "status",
            "invalid",
            format!("one of {}", crate::registry::SeniorStatus::choices()),
        ));
    }
    if let Some(flag) = q.flag.as_deref()
        && crate::segmentation::Flag::parse(flag).is_none()
    {
        return Err(ApiError::field("flag", "invalid", format!("one of {}", crate::segmentation::Flag::choices())));
    }
    let today = state.clock.now().with_timezone(&state.settings.tz()).date_naive();
    let filter = crate::registry::export::ExportFilter {
        community_id: q.community_id,
        tier: q.tier,
        q: q.q,
        status: q.status,
        flag: q.flag,
        due_by: q.reassessment_due.then_some(today),
    };
    let select = crate::registry::export::visible_seniors(&caller, &filter)?.order_by_desc(seniors::Column::Id);
    let paginator = select.paginate(&state.db, params.per_page());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(params.page() - 1).await?;
    Ok(web::Json(Page::new(rows.into_iter().map(SeniorView::from).collect(), &params, total)))
}

/// One senior (404 when outside the caller's communities).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = SeniorView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}")]
async fn get_senior(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<SeniorView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let senior = registry::find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(senior.into()))
}

/// Change a senior's record (worker, admin): send only the fields to change and the
/// `version` you read. A stale version is 409 with `current_version`; nothing changes.
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = SeniorUpdate,
    responses(
        (status = 200, body = SeniorView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/seniors/{id}")]
async fn update_senior(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<SeniorUpdate>,
) -> Result<web::Json<SeniorView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let updated = registry::update(&state, &caller, id.into_inner(), body.0).await?;
    Ok(web::Json(updated.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSenior {
    pub id: i64,
    pub cell: String,
    pub outside_boundary: bool,
}

/// Register a senior (worker, admin). Every invalid field is named in one 422; a
/// second senior with the same ID number is 409 with `existing_id`.
#[utoipa::path(
    tag = "seniors",
    request_body = SeniorInput,
    responses(
        (status = 201, body = CreatedSenior),
        (status = 409, description = "Already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors")]
async fn create_senior(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SeniorInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let new = NewSenior::parse(body.0, &state)?;
    let senior = registry::register(&state, &caller, new).await?;
    Ok(HttpResponse::Created().json(CreatedSenior {
        id: senior.id,
        cell: cell_string(senior.cell),
        outside_boundary: senior.outside_boundary,
    }))
}

/// A service plan as the overview lists it (the whole plan: `GET /seniors/{id}/plans`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub fee_fen: i64,
    pub price_fen: i64,
}

/// The 360° view: everything a worker needs when the phone rings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    pub senior: SeniorView,
    /// The latest assessment, if any.
    pub assessment: Option<AssessmentView>,
    pub tier: Option<String>,
    /// Why the senior is in this tier (English), from the latest tier change.
    pub tier_reasons: Vec<String>,
    /// The same reasons in Chinese.
    pub tier_reasons_zh: Vec<String>,
    /// The rule that decided the tier.
    pub tier_rule: Option<String>,
    pub flags: Vec<String>,
    pub contacts: Vec<ContactView>,
    /// The current answer per consent scope (scopes never asked are absent).
    pub consents: Vec<ConsentView>,
    /// Recently marked changes (falls, hospital discharges), newest first.
    pub changes: Vec<ChangeView>,
    pub plans: Vec<PlanSummary>,
}

/// One call for the senior's whole record (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Overview), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/overview")]
async fn overview(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Overview>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let db = &state.db;
    let senior = registry::find_visible(db, &caller, id.into_inner()).await?;
    let (latest, contacts, consents, changes, plans, change) = futures_util::try_join!(
        async {
            assessments::Entity::find()
                .filter(assessments::Column::SeniorId.eq(senior.id))
                .order_by_desc(assessments::Column::AssessedAt)
                .order_by_desc(assessments::Column::Id)
                .one(db)
                .await
                .map_err(ApiError::from)
        },
        records::contacts_of(db, senior.id),
        records::consents_of(db, senior.id),
        records::changes_of(db, senior.id, 5),
        async {
            service_plans::Entity::find()
                .filter(service_plans::Column::SeniorId.eq(senior.id))
                .order_by_asc(service_plans::Column::Id)
                .all(db)
                .await
                .map_err(ApiError::from)
        },
        async {
            entity::tier_changes::Entity::find()
                .filter(entity::tier_changes::Column::SeniorId.eq(senior.id))
                .order_by_desc(entity::tier_changes::Column::Id)
                .limit(1)
                .one(db)
                .await
                .map_err(ApiError::from)
        },
    )?;
    // Reasons are stored as {"en": [...], "zh": [...]}; a plain list (older rows) is Chinese.
    let reasons = |lang: &str| -> Vec<String> {
        let Some(stored) = change.as_ref().map(|c| &c.reasons) else { return Vec::new() };
        let list = if stored.is_array() {
            if lang == "zh" { Some(stored.clone()) } else { None }
        } else {
            stored.get(lang).cloned()
        };
        list.and_then(|l| serde_json::from_value(l).ok()).unwrap_or_default()
    };
    let (tier_reasons, tier_reasons_zh) = (reasons("en"), reasons("zh"));
    let tier_rule = change.as_ref().map(|c| c.rule.clone());
    let view = SeniorView::from(senior);
    Ok(web::Json(Overview {
        tier: view.tier.clone(),
        flags: view.flags.clone(),
        senior: view,
        assessment: latest.map(AssessmentView::from),
        tier_reasons,
        tier_reasons_zh,
        tier_rule,
        contacts,
        consents: consents.current,
        changes,
        plans: plans
            .into_iter()
            .map(|p| PlanSummary {
                id: p.id,
                kind: p.kind,
                status: p.status,
                starts_on: p.starts_on,
                ends_on: p.ends_on,
                fee_fen: p.fee_fen,
                price_fen: p.price_fen,
            })
            .collect(),
    }))
}

/// Record an assessment (worker, admin): the server computes the Barthel total, the
/// dependency level and the cognition level.
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = AssessmentInput,
    responses(
        (status = 201, body = AssessmentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/assessments")]
async fn create_assessment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<AssessmentInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let id = id.into_inner();
    registry::find_visible(&state.db, &caller, id).await?;
    let assessment = Assessment::parse(body.0)?;
    let row = assessing::record(&state, &caller, id, assessment).await?;
    Ok(HttpResponse::Created().json(AssessmentView::from(row)))
}

/// A senior's assessments, newest first (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Vec<AssessmentView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/assessments")]
async fn list_assessments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<AssessmentView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let senior = registry::find_visible(&state.db, &caller, id.into_inner()).await?;
    let rows = assessments::Entity::find()
        .filter(assessments::Column::SeniorId.eq(senior.id))
        .order_by_desc(assessments::Column::AssessedAt)
        .order_by_desc(assessments::Column::Id)
        .all(&state.db)
        .await?;
    Ok(web::Json(rows.into_iter().map(AssessmentView::from).collect()))
}

#[derive(Debug, serde::Deserialize, Validate, ToSchema)]
pub struct RevealRequest {
    /// Why the full number is needed; kept in the audit log.
    #[validate(length(min = 4, max = 500, message = "state a reason of at least 4 characters"))]
    #[schema(min_length = 4, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevealedIdNumber {
    pub id_number: String,
}

/// Reveal the full resident ID number (worker, admin) for a stated reason; the read is
/// written to the audit log in the same transaction.
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = RevealRequest,
    responses(
        (status = 200, body = RevealedIdNumber),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/reveal-id-number")]
async fn reveal_id_number(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<RevealRequest>,
) -> Result<web::Json<RevealedIdNumber>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let id_number = registry::reveal_id_number(&state, &caller, id.into_inner(), body.0.reason.trim()).await?;
    Ok(web::Json(RevealedIdNumber { id_number }))
}
