//! `/api/v1/segmentation`: the rules in force, and "what would change" under others.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::registry::tiering;
use crate::segmentation::{Rules, compare};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(current_rules).service(preview);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesInfo {
    pub version: String,
    /// The tiers, most needy first.
    pub tiers: Vec<String>,
}

/// The segmentation rules in force (admin, worker, bureau).
#[utoipa::path(
    tag = "segmentation",
    responses((status = 200, body = RulesInfo)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/segmentation/rules")]
async fn current_rules(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<RulesInfo>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Bureau])?;
    Ok(web::Json(RulesInfo {
        version: state.rules.version().to_owned(),
        tiers: state.rules.tiers().iter().map(|t| t.id().to_owned()).collect(),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PreviewRequest {
    /// A complete rules file (TOML).
    #[validate(length(min = 1, max = 200000))]
    #[schema(min_length = 1, max_length = 200000)]
    pub rules: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub seniors: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub current_version: String,
    pub proposed_version: String,
    /// Active seniors compared.
    pub seniors: usize,
    /// Seniors whose tier would change.
    pub moved: usize,
    /// Every (current tier, proposed tier) pair with its count, unchanged pairs included.
    pub transitions: Vec<Transition>,
}

/// What would change under other rules, without applying them (admin). A rules file
/// with a mistake is 422 naming its line and column.
#[utoipa::path(
    tag = "segmentation",
    request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/segmentation/preview")]
async fn preview(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PreviewRequest>,
) -> Result<web::Json<Preview>, ApiError> {
    caller.allow(&[Role::Admin])?;
    let proposed = Rules::parse(&body.0.rules).map_err(|e| ApiError::Validation(vec![e.to_field_error("rules")]))?;
    let facts = tiering::all_facts(&state).await?;
    let comparison = compare(&state.rules, &proposed, facts.into_iter());
    Ok(web::Json(Preview {
        current_version: comparison.old_version,
        proposed_version: comparison.new_version,
        seniors: comparison.seniors,
        moved: comparison.moved.len(),
        transitions: comparison
            .counts
            .into_iter()
            .map(|(from, to, seniors)| Transition { from, to, seniors })
            .collect(),
    }))
}
