//! `/api/v1/coverage`: the bureau's and the console's coverage reports, read from the
//! monthly roll-ups (`coverage_refresh`), each also as CSV or XLSX (`format=`); and the
//! audited drill-down to the seniors behind a figure.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::Caller;
use crate::coverage::cache;
use crate::coverage::export::{self, Table};
use crate::coverage::reports::{self, MaskedSenior, READERS, Scorecard};
use crate::coverage::{Month, Privacy};
use crate::error::{ApiError, Problem};
use crate::http::extract::Query;
use crate::http::pagination::{Page, PageParams};
use crate::registry::export::ExportFormat;
use crate::registry::import::XLSX_CONTENT_TYPE;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(cells).service(communities).service(streets).service(gaps).service(scorecard).service(seniors);
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// `YYYY-MM` in the district's time zone; the current month when left out.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// H3 resolution of the cells: 7, 8 (default) or 9.
    #[validate(range(min = 7, max = 9, message = "one of 7, 8 or 9"))]
    #[param(minimum = 7, maximum = 9)]
    pub resolution: Option<u8>,
    /// Only this community (within the caller's).
    pub community_id: Option<i64>,
    /// Download the report as `csv` or `xlsx` instead of JSON.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// Gaps: how many rows at most (default 100).
    #[validate(range(min = 1, max = 1000))]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl CoverageQuery {
    fn month(&self, state: &AppState) -> Result<Month, ApiError> {
        let today = state.clock.now().with_timezone(&state.settings.tz()).date_naive();
        Month::from_param(self.month.as_deref(), today)
    }
}

fn file(table: &Table, month: Month, format: ExportFormat) -> Result<HttpResponse, ApiError> {
    let name = format!("{}-{month}", table.name);
    let disposition = |ext: &str| (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\""));
    Ok(match format {
        ExportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(disposition("csv"))
            .body(export::to_csv(table)?),
        ExportFormat::Xlsx => HttpResponse::Ok()
            .content_type(XLSX_CONTENT_TYPE)
            .insert_header(disposition("xlsx"))
            .body(export::to_xlsx(table)?),
    })
}

/// What a rendered report depends on besides the figures: the report, its
/// parameters, who may see which communities, and how small numbers are shown.
fn cache_key(report: &str, caller: &Caller, month: Month, q: &CoverageQuery, privacy: Privacy) -> String {
    let scope = caller.community_filter().map(|mut ids| {
        ids.sort_unstable();
        ids
    });
    format!("{report}|{month}|{:?}|{:?}|{scope:?}|{privacy:?}", q.resolution, q.community_id)
}

/// A JSON body from the cache when the figures have not changed since it was
/// rendered; else rendered by `render`, kept, and sent.
async fn cached<F>(
    state: &AppState,
    key: String,
    content_type: &'static str,
    render: impl FnOnce() -> F,
) -> Result<HttpResponse, ApiError>
where
    F: std::future::Future<Output = Result<Value, ApiError>>,
{
    let stamp = cache::stamp(&state.db).await?;
    if let Some(body) = state.report_cache.get(&key, &stamp) {
        return Ok(HttpResponse::Ok().content_type(content_type).body(body));
    }
    let turn = state.report_turn().await?;
    let body = Bytes::from(serde_json::to_vec(&render().await?).map_err(|e| ApiError::Internal(e.into()))?);
    drop(turn);
    state.report_cache.put(key, stamp, body.clone());
    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}

fn watermarked(mark: &reports::Watermark, privacy: Privacy, items: Value) -> Value {
    json!({
        "month": mark.month,
        "as_of": mark.as_of,
        "refreshed_at": mark.refreshed_at,
        "is_final": mark.is_final,
        "suppressed": matches!(privacy, Privacy::Suppressed { .. }),
        "items": items,
    })
}

/// The month's figures per H3 cell as a GeoJSON FeatureCollection: each Feature is
/// the cell's hexagon, `properties` its figures (`cell`, `seniors_total`,
/// `seniors_tier_a`, `served_30d`, `covered_15min_share`, `alarms`, `accept_p50_s`,
/// `accept_p90_s`, `satisfaction_mean`, …). For the bureau a count of 1 to 9 seniors
/// is `"<10"` and rates over fewer than 10 seniors are null (bureau, worker: own
/// communities, admin).
#[utoipa::path(
    tag = "coverage",
    params(CoverageQuery),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection, or the table as a file with `format`", content((Object = "application/geo+json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/cells")]
async fn cells(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(READERS)?;
    let q = query.0;
    let month = q.month(&state)?;
    let resolution = reports::parse_resolution(q.resolution)?;
    let privacy = reports::privacy(&state, &caller);
    if let Some(format) = q.format {
        let (_, rows) = reports::cells(&state, &caller, month, resolution, q.community_id).await?;
        return file(&reports::cells_table(&rows, privacy), month, format);
    }
    let key = cache_key("cells", &caller, month, &q, privacy);
    cached(&state, key, "application/geo+json", || async {
        let (mark, rows) = reports::cells(&state, &caller, month, resolution, q.community_id).await?;
        let mut body = reports::cells_geojson(&mark, resolution, &rows, privacy);
        body["basemap_tile_url"] = json!(state.settings.coverage.basemap_tile_url);
        Ok(body)
    })
    .await
}

/// One row per community with the cell figures plus the workforce (caregivers,
/// volunteers, certified nurses), volunteer hours and the fees waived or reduced by
/// economic status (`subsidy_fen`, fen) (bureau, worker: own communities, admin).
#[utoipa::path(
    tag = "coverage",
    params(CoverageQuery),
    responses(
        (status = 200, description = "The report, or the table as a file with `format`", content((Object = "application/json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/communities")]
async fn communities(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    per_community(&state, &caller, query.0, Grouping::Community).await
}

/// The communities summed per street (bureau, worker: own communities, admin).
#[utoipa::path(
    tag = "coverage",
    params(CoverageQuery),
    responses(
        (status = 200, description = "The report, or the table as a file with `format`", content((Object = "application/json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/streets")]
async fn streets(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    per_community(&state, &caller, query.0, Grouping::Street).await
}

enum Grouping {
    Community,
    Street,
}

/// The communities report, one row per community or per street.
async fn per_community(
    state: &AppState,
    caller: &Caller,
    q: CoverageQuery,
    by: Grouping,
) -> Result<HttpResponse, ApiError> {
    caller.allow(READERS)?;
    let month = q.month(state)?;
    let privacy = reports::privacy(state, caller);
    let (mark, rows) = reports::communities(state, caller, month, q.community_id).await?;
    if let Some(format) = q.format {
        let table = match by {
            Grouping::Community => reports::communities_table(&rows, privacy),
            Grouping::Street => reports::streets_table(&rows, privacy),
        };
        return file(&table, month, format);
    }
    let items: Vec<Value> = match by {
        Grouping::Community => rows.iter().map(|c| Value::Object(reports::community_row(c, privacy))).collect(),
        Grouping::Street => reports::streets(&rows, privacy).into_iter().map(Value::Object).collect(),
    };
    Ok(HttpResponse::Ok().json(watermarked(&mark, privacy, json!(items))))
}

/// Cells (at `resolution`) and communities ranked by unmet need, worst first: tier-A
/// seniors with no service in 30 days, alarms not accepted within 3 minutes, planned
/// seniors not served, low satisfaction, seniors outside the 15-minute circle. Each
/// row says why (`reason`, `reason_en`, `needs`) (bureau, worker, admin).
#[utoipa::path(
    tag = "coverage",
    params(CoverageQuery),
    responses(
        (status = 200, description = "The report, or the table as a file with `format`", content((Object = "application/json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/gaps")]
async fn gaps(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(READERS)?;
    let q = query.0;
    let month = q.month(&state)?;
    let resolution = reports::parse_resolution(q.resolution)?;
    let privacy = reports::privacy(&state, &caller);
    let (mark, mut rows) = reports::gaps(&state, &caller, month, resolution, q.community_id, privacy).await?;
    rows.truncate(q.limit.unwrap_or(100));
    if let Some(format) = q.format {
        return file(&reports::gaps_table(&rows), month, format);
    }
    let items = serde_json::to_value(&rows).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().json(watermarked(&mark, privacy, items)))
}

/// The balanced scorecard of a community, or of every community the caller sees
/// when `community_id` is left out: four perspectives (financial, senior
/// satisfaction, internal process, learning and growth), each indicator with its
/// target from the settings, the month's actual and the twelve-month trend (bureau,
/// worker, admin).
#[utoipa::path(
    tag = "coverage",
    params(CoverageQuery),
    responses(
        (status = 200, description = "The scorecard, or its table as a file with `format`", content((Scorecard = "application/json"), ("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/scorecard")]
async fn scorecard(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CoverageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(READERS)?;
    let q = query.0;
    let month = q.month(&state)?;
    let privacy = reports::privacy(&state, &caller);
    if let Some(format) = q.format {
        let card = reports::scorecard(&state, &caller, month, q.community_id, privacy).await?;
        return file(&reports::scorecard_table(&card), month, format);
    }
    let key = cache_key("scorecard", &caller, month, &q, privacy);
    cached(&state, key, "application/json", || async {
        let card = reports::scorecard(&state, &caller, month, q.community_id, privacy).await?;
        serde_json::to_value(card).map_err(|e| ApiError::Internal(e.into()))
    })
    .await
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrillQuery {
    /// An H3 cell (resolution 7 to 9) …
    pub cell: Option<String>,
    /// … or a community.
    pub community_id: Option<i64>,
    /// Why the list is needed: required, kept in the audit log.
    pub reason: Option<String>,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// The active seniors of a cell or community, identifiers masked, for a stated
/// reason; every call leaves an audit row (bureau, worker: own communities, admin).
#[utoipa::path(
    tag = "coverage",
    params(DrillQuery),
    responses(
        (status = 200, body = Page<MaskedSenior>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or neither cell nor community", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/coverage/seniors")]
async fn seniors(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DrillQuery>,
) -> Result<web::Json<Page<MaskedSenior>>, ApiError> {
    caller.allow(READERS)?;
    let q = query.0;
    let reason = q.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.chars().count() < 4 {
        return Err(ApiError::field(
            "reason",
            "required",
            "say why the list of individuals is needed (4 characters or more)",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(ApiError::field("reason", "length", "at most 500 characters"));
    }
    let cell = q.cell.as_deref().map(reports::parse_cell).transpose()?;
    if let Some(c) = cell
        && !crate::coverage::RESOLUTIONS.contains(&u8::from(c.resolution()))
    {
        return Err(ApiError::field("cell", "range", "a cell of resolution 7, 8 or 9"));
    }
    if cell.is_none() && q.community_id.is_none() {
        return Err(ApiError::field("cell", "required", "name a cell or a community_id"));
    }
    let params = PageParams { page: q.page, per_page: q.per_page };
    let (items, total) =
        reports::drill_down(&state, &caller, cell, q.community_id, reason, params.page(), params.per_page()).await?;
    Ok(web::Json(Page::new(items, &params, total)))
}
