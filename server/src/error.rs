//! RFC 9457 problem details: the single error envelope of the API.
//!
//! Every area has its own error enum and converts into [`ApiError`] here, once.
//! Framework errors (bad JSON, bad query, unknown route, ...) use the same envelope.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://linli.dev/problems/";

/// One field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, as a JSON path (`barthel.feeding`, `contacts[0].phone`).
    pub field: String,
    /// A stable machine-readable code (`required`, `length`, `range`, ...).
    pub code: String,
    /// A human message.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, usable as a code.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub errors: Vec<FieldError>,
    /// Extra members (for example `existing_id` on a conflict, `current` on a lost race).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("no such route")]
    RouteNotFound,
    /// The path exists; `allow` lists its methods for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String, extra: Option<serde_json::Map<String, serde_json::Value>> },
    /// Existed once, and is no more (a used or expired single-use link).
    #[error("gone: {detail}")]
    Gone { code: &'static str, detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64, detail: String },
    #[error("service unavailable")]
    Unavailable,
    /// Too many heavy reports under way on this instance: 503, try again shortly.
    #[error("busy")]
    Busy,
    /// A business rule refused the request (a cap, a balance, an age): 422 naming the
    /// rule in `rule` and the field it concerns; nothing was stored.
    #[error("refused by rule {rule}: {detail}")]
    Refused { rule: &'static str, field: &'static str, detail: String },
    /// The database gave up on a write under contention (SQLite busy, PostgreSQL
    /// serialization failure or deadlock) after the retries: 503, try again.
    #[error("contention")]
    Contention,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict { code, detail: detail.into(), extra: None }
    }

    fn parts(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "The request could not be read"),
            Self::Unauthenticated => ("unauthenticated", "Log in first"),
            Self::Forbidden => ("forbidden", "Your role may not do this"),
            Self::NotFound => ("not-found", "No such object"),
            Self::RouteNotFound => ("route-not-found", "No such endpoint"),
            Self::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed on this endpoint"),
            Self::Conflict { code, .. } => (code, "The request conflicts with the current state"),
            Self::Gone { code, .. } => (code, "This is no longer available"),
            Self::Validation(_) => ("validation", "Some fields are invalid"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Send application/json"),
            Self::PayloadTooLarge => ("payload-too-large", "The request body is too large"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many attempts"),
            Self::Unavailable => ("unavailable", "The service is temporarily unavailable"),
            Self::Busy => ("busy", "Too many reports are being prepared"),
            Self::Refused { .. } => ("rule-refused", "A rule refused the request"),
            Self::Contention => ("contention", "Too many concurrent writes; try again"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (code, title) = self.parts();
        let (detail, errors, extra) = match self {
            Self::BadRequest(d) | Self::UnsupportedMediaType(d) => (Some(d.clone()), vec![], None),
            Self::Conflict { detail, extra, .. } => (Some(detail.clone()), vec![], extra.clone()),
            Self::Gone { detail, .. } => (Some(detail.clone()), vec![], None),
            Self::Validation(errors) => (None, errors.clone(), None),
            Self::TooManyRequests { detail, .. } => (Some(detail.clone()), vec![], None),
            Self::Unavailable => (Some("The database is unreachable; try again shortly.".into()), vec![], None),
            Self::Busy => (Some("Other reports are being prepared; try again in a few seconds.".into()), vec![], None),
            Self::Refused { rule, field, detail } => {
                let mut extra = serde_json::Map::new();
                extra.insert("rule".into(), (*rule).into());
                (Some(detail.clone()), vec![FieldError::new(*field, *rule, detail.clone())], Some(extra))
            }
            _ => (None, vec![], None),
        };
        Problem {
            kind: format!("{TYPE_BASE}{code}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            extra,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::Busy | Self::Contention => StatusCode::SERVICE_UNAVAILABLE,
            Self::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Self::TooManyRequests { retry_after_secs, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unauthenticated => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::Unavailable | Self::Busy => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::Contention => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::conflict("duplicate", "An object with the same unique value exists");
        }
        if is_contention(&err) {
            return Self::Contention;
        }
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Unavailable;
        }
        Self::Internal(anyhow::Error::new(err))
    }
}

/// Pool time-outs, refused or broken connections, and a PostgreSQL server shutting
/// down under a query: the database is down, not the request wrong.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => {
            match &**e {
                sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::Tls(_)
                | sea_orm::sqlx::Error::WorkerCrashed => true,
                // SQLSTATE class 08 (connection exception); 57P01-57P03: the server was shut
                // down by its administrator, crashed, or is starting up.
                sea_orm::sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Errors a retry of the whole transaction can cure: SQLite busy or locked,
/// PostgreSQL serialization failure, deadlock or lock time-out.
pub fn is_contention(err: &DbErr) -> bool {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    match &**e {
        sea_orm::sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(code.as_ref(), "5" | "6" | "261" | "262" | "517" | "40001" | "40P01" | "55P03")
        }
        _ => false,
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        flatten_validation("", &errors, &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Validation(out)
    }
}

fn flatten_validation(prefix: &str, errors: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as Kind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            Kind::Field(list) => {
                for e in list {
                    let message = e.message.as_ref().map_or_else(|| default_message(e), ToString::to_string);
                    out.push(FieldError::new(path.clone(), e.code.to_string(), message));
                }
            }
            Kind::Struct(inner) => flatten_validation(&path, inner, out),
            Kind::List(items) => {
                for (i, inner) in items {
                    flatten_validation(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn default_message(e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(ToString::to_string);
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        "required" => "is required".into(),
        "email" => "must be an e-mail address".into(),
        other => format!("is invalid ({other})"),
    }
}

pub fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    if let Some(wrong_method) = crate::http::method_not_allowed_on(req.path()) {
        return wrong_method.into();
    }
    ApiError::field("path", "invalid", err.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error with only a SQLSTATE, as the driver reports one.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sea_orm::sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
            sea_orm::sqlx::error::ErrorKind::Other
        }
    }

    fn query_error(code: &'static str) -> DbErr {
        DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(sea_orm::sqlx::Error::Database(Box::new(
            Sqlstate(code),
        )))))
    }

    #[test]
    fn a_database_shutting_down_under_a_query_is_503_not_500() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003"] {
            let err = ApiError::from(query_error(code));
            assert!(matches!(err, ApiError::Unavailable), "{code}: {err:?}");
        }
        let err = ApiError::from(query_error("42P01"));
        assert!(matches!(err, ApiError::Internal(_)), "an unknown table is still a bug: {err:?}");
    }

    #[test]
    fn problems_carry_status_and_type() {
        let p = ApiError::NotFound.problem();
        assert_eq!(p.status, 404);
        assert!(p.kind.ends_with("/not-found"));
    }
}
