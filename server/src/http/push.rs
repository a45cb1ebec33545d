//! `/api/v1/push`: the VAPID public key and the caller's browser subscriptions.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::push::{self, SubscriptionInput, SubscriptionView};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(vapid_public_key).service(subscribe).service(list_subscriptions).service(unsubscribe);
}

const PEOPLE: &[Role] = &[Role::Admin, Role::Bureau, Role::Worker, Role::Caregiver, Role::Volunteer];

#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKey {
    /// base64url of the uncompressed P-256 point: the `applicationServerKey`.
    pub public_key: String,
}

/// The server's VAPID public key (no login needed: it is public).
#[utoipa::path(
    tag = "push",
    responses((status = 200, body = VapidKey), (status = 503, body = Problem, content_type = "application/problem+json"))
)]
#[get("/push/vapid-public-key")]
async fn vapid_public_key(state: web::Data<AppState>) -> Result<web::Json<VapidKey>, ApiError> {
    let keys = state.push.as_ref().ok_or(ApiError::Unavailable)?;
    Ok(web::Json(VapidKey { public_key: keys.public_key().to_owned() }))
}

/// Register this browser for push (`PushSubscription.toJSON()`). One user may have
/// several devices; logging out of this session removes this one.
#[utoipa::path(
    tag = "push",
    request_body = SubscriptionInput,
    responses((status = 201, body = SubscriptionView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/push/subscriptions")]
async fn subscribe(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SubscriptionInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(PEOPLE)?;
    let sub = push::subscribe(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(sub))
}

/// The caller's push subscriptions.
#[utoipa::path(
    tag = "push",
    responses((status = 200, body = Vec<SubscriptionView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/push/subscriptions")]
async fn list_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<SubscriptionView>>, ApiError> {
    caller.allow(PEOPLE)?;
    Ok(web::Json(push::list_mine(&state, &caller).await?))
}

/// Stop push to one of the caller's devices.
#[utoipa::path(
    tag = "push",
    params(("id" = i64, Path, description = "Subscription id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/push/subscriptions/{id}")]
async fn unsubscribe(state: web::Data<AppState>, caller: Caller, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    caller.allow(PEOPLE)?;
    push::unsubscribe(&state, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
