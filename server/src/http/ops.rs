//! Operations: liveness, readiness, metrics, and running jobs by hand.

use std::time::Duration;

use actix_web::{HttpResponse, get, post, web};
use migration::{Migrator, MigratorTrait};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::jobs::{self, Job, JobRunView};
use crate::state::AppState;

pub fn configure_root(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics_endpoint);
}

pub fn configure_api(cfg: &mut ServiceConfig) {
    cfg.service(run_job);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: bool,
    pub migrations_current: bool,
}

/// The process is up.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Ready to serve: the database answers within two seconds and no migration is pending.
#[utoipa::path(tag = "ops", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = crate::db::ping(&state.db, Duration::from_secs(2)).await;
    let migrations_current = database
        && matches!(
            tokio::time::timeout(Duration::from_secs(2), Migrator::get_pending_migrations(&state.db)).await,
            Ok(Ok(pending)) if pending.is_empty()
        );
    let ready = database && migrations_current;
    let body = Readiness { status: if ready { "ready" } else { "not ready" }, database, migrations_current };
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn metrics_endpoint(state: web::Data<AppState>) -> HttpResponse {
    record_pool_gauges(&state);
    let body = crate::telemetry::metrics_handle().render();
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

fn record_pool_gauges(state: &AppState) {
    let (size, idle) = match state.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = state.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = state.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    metrics::gauge!("linli_db_pool_connections").set(f64::from(size));
    metrics::gauge!("linli_db_pool_idle").set(idle as f64);
}

/// Run a scheduled job now, for the current window (admin). A window already run is
/// not run again: the existing record is returned with `ran_now: false`.
#[utoipa::path(
    tag = "ops",
    params(("name" = String, Path, description = "Job name, e.g. `session_sweep`")),
    responses((status = 200, body = JobRunView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/jobs/{name}/run")]
async fn run_job(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<web::Json<JobRunView>, ApiError> {
    caller.allow(&[Role::Admin])?;
    let job = Job::from_name(&name).ok_or(ApiError::NotFound)?;
    Ok(web::Json(jobs::run_now(&state, job).await?))
}
