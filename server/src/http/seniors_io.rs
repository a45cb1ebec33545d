//! `/api/v1/seniors/import` and `/api/v1/seniors/export`: the registry as spreadsheets.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use anyhow::Context;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::http::extract::Query;
use crate::registry::export::{self, ExportFilter, ExportFormat};
use crate::registry::import::{self, Format, ImportOptions, ImportReport, XLSX_CONTENT_TYPE};
use crate::state::AppState;

/// Must be registered before `/seniors/{id}`, which would otherwise take `export` for an id.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(import_seniors).service(export_seniors);
}

/// The largest file an import accepts.
pub const MAX_IMPORT_BYTES: u64 = 50 * 1024 * 1024;

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Check every row and store nothing (default false).
    pub dry_run: Option<bool>,
    /// The community of rows that leave `community_id` (社区ID) empty.
    pub community_default: Option<i64>,
}

/// The body of a 422 from an import: the report of a file with bad rows (its members
/// ride on a problem), or a plain problem naming a bad query parameter.
pub struct ImportRejected;

impl utoipa::PartialSchema for ImportRejected {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::Ref;
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder};
        AnyOfBuilder::new()
            .item(
                AllOfBuilder::new().item(Ref::from_schema_name("Problem")).item(Ref::from_schema_name("ImportReport")),
            )
            .item(Ref::from_schema_name("Problem"))
            .into()
    }
}

impl utoipa::ToSchema for ImportRejected {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push(("Problem".into(), Problem::schema()));
        schemas.push(("ImportReport".into(), ImportReport::schema()));
        <ImportReport as utoipa::ToSchema>::schemas(schemas);
    }
}

/// Import seniors from a spreadsheet (worker, admin): the file is the request body, a
/// CSV (UTF-8, or GBK as Excel saves it) or an XLSX workbook (first sheet), with a
/// header row in English (`name`, `birth_date`, ...) or Chinese (`姓名`, `出生日期`, ...).
/// Every row gets the same checks as `POST /seniors`, plus duplicate ID numbers in the
/// file and in the registry. All rows are stored, or none: any bad row makes a real
/// import 422 with the same report a dry run gives. Line numbers count the header as 1.
#[utoipa::path(
    tag = "seniors",
    params(ImportParams),
    request_body(
        description = "The file: at most 50 MB.",
        content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    ),
    responses(
        (status = 200, description = "Checked (and, unless a dry run, stored)", body = ImportReport),
        (status = 400, description = "Not a readable file", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some rows are invalid and nothing was stored (the report's members ride on a problem), or a parameter is invalid", body = ImportRejected, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/import")]
async fn import_seniors(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<ImportParams>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = Format::from_content_type(content_type)
        .ok_or_else(|| ApiError::UnsupportedMediaType(format!("Send the file as text/csv or {XLSX_CONTENT_TYPE}")))?;
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let file = spool(body, MAX_IMPORT_BYTES).await?;
    let options = ImportOptions {
        dry_run: query.0.dry_run.unwrap_or(false),
        community_default: query.0.community_default,
        progress: None,
    };
    let report = import::import_seniors(&state, &caller, file, format, options).await?;
    if report.dry_run || report.is_clean() { Ok(HttpResponse::Ok().json(report)) } else { Ok(rejected(&report)) }
}

/// The upload, written to an anonymous temporary file as it arrives.
async fn spool(mut body: web::Payload, limit: u64) -> Result<std::fs::File, ApiError> {
    let file = tempfile::tempfile().context("creating a temporary file for the upload")?;
    let mut out = tokio::fs::File::from_std(file);
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("The upload could not be read: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        out.write_all(&chunk).await.context("spooling the upload")?;
    }
    out.flush().await.context("spooling the upload")?;
    Ok(out.into_std().await)
}

/// 422 as problem+json (`type` validation), carrying the report's members.
fn rejected(report: &ImportReport) -> HttpResponse {
    let mut problem = ApiError::Validation(Vec::new()).problem();
    problem.detail = Some(format!(
        "{} problems found ({} of {} rows are bad); nothing was stored",
        report.error_count, report.bad_rows, report.rows
    ));
    problem.extra = match serde_json::to_value(report) {
        Ok(serde_json::Value::Object(members)) => Some(members),
        _ => None,
    };
    HttpResponse::UnprocessableEntity().content_type(PROBLEM_JSON).json(problem)
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default; UTF-8 with a BOM) or `xlsx`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// Only this community (must be in the caller's scope).
    pub community_id: Option<i64>,
    /// Only this care tier.
    pub tier: Option<String>,
}

/// Export the seniors in the caller's communities (worker, admin) as CSV or XLSX, with
/// the list's filters. Headers are Chinese and English (`姓名 (name)`); ID numbers are
/// masked. The export is written to the audit log.
#[utoipa::path(
    tag = "seniors",
    params(ExportParams),
    responses(
        (status = 200, description = "The spreadsheet, as an attachment", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The community is not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/export")]
async fn export_seniors(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let q = query.0;
    let format = q.format.unwrap_or_default();
    let filter = ExportFilter { community_id: q.community_id, tier: q.tier, ..ExportFilter::default() };
    let base = export::visible_seniors(&caller, &filter)?;
    let names = export::community_names(&state.db).await?;
    export::audit_export(&state, &caller, format, &filter).await?;
    let attachment = |name: &str| (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""));
    Ok(match format {
        ExportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(attachment("seniors.csv"))
            .streaming(export::csv_stream(state.db.clone(), base, names)),
        ExportFormat::Xlsx => HttpResponse::Ok()
            .content_type(XLSX_CONTENT_TYPE)
            .insert_header(attachment("seniors.xlsx"))
            .body(export::xlsx(&state.db, &base, &names).await?),
    })
}
