//! `/api/v1/console/today`: the worker console's landing list.

use actix_web::{get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Role};
use crate::dispatch::today::{self, Today};
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_today);
}

/// What needs a worker today in their communities (worker, admin): open alarms with
/// the escalation clock, late and missed visits, unassigned tasks and cases due. Each
/// list carries at most 50 rows; `counts` has the totals.
#[utoipa::path(tag = "dispatch", responses((status = 200, body = Today)), security(("bearer" = []), ("cookie" = [])))]
#[get("/console/today")]
async fn get_today(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Today>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    Ok(web::Json(today::today(&state, &caller).await?))
}
