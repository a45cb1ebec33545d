//! Request-body and query extractors that name the offending field in their errors.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A JSON body, deserialised with the path of any bad field and then validated.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            })
            .unwrap_or(false);
        let limit = req.app_data::<web::Data<AppState>>().map_or(1024 * 1024, |s| s.settings.max_body_bytes);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType("The body must be sent as application/json".into()));
            }
            let bytes = body.await.map_err(|e| match e.as_response_error().status_code().as_u16() {
                413 => ApiError::PayloadTooLarge,
                _ => ApiError::BadRequest(e.to_string()),
            })?;
            if bytes.len() > limit {
                return Err(ApiError::PayloadTooLarge);
            }
            let value = parse_json::<T>(&bytes)?;
            value.validate()?;
            Ok(Json(value))
        })
    }
}

/// Parses JSON, reporting syntax errors as 400 and shape errors as 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
                    let field = if path == "." { missing.to_owned() } else { format!("{path}.{missing}") };
                    ApiError::Validation(vec![FieldError::new(field, "required", "is required")])
                } else {
                    let field = if path == "." { "body".to_owned() } else { path };
                    ApiError::Validation(vec![FieldError::new(field, "invalid", message)])
                }
            }
            _ => ApiError::BadRequest(format!("Malformed JSON: {inner}")),
        }
    })
}

/// Query parameters with the same error reporting.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()))
    }
}

fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<Query<T>, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let value: T = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
            .map(ToOwned::to_owned)
            .unwrap_or(if path == "." { "query".to_owned() } else { path });
        ApiError::Validation(vec![FieldError::new(field, "invalid", message)])
    })?;
    value.validate()?;
    Ok(Query(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    struct Inner {
        #[allow(dead_code)]
        feeding: u8,
    }
    #[derive(Debug, Deserialize, Validate)]
    struct Outer {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        barthel: Inner,
    }

    fn field_of(r: Result<Outer, ApiError>) -> String {
        match r {
            Err(ApiError::Validation(e)) => e[0].field.clone(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn nested_type_errors_name_their_path() {
        assert_eq!(field_of(parse_json(br#"{"name":"a","barthel":{"feeding":"x"}}"#)), "barthel.feeding");
        assert_eq!(field_of(parse_json(br#"{"barthel":{"feeding":5}}"#)), "name");
        assert_eq!(field_of(parse_json(br#"{"name":"a","barthel":{}}"#)), "barthel.feeding");
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(parse_json::<Outer>(b"{not json"), Err(ApiError::BadRequest(_))));
    }
}
