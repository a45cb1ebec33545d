//! `/api/v1/auth`: log in, log out, who am I, change password.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role, SESSION_COOKIE, accounts, sessions};
use crate::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(logout).service(me).service(change_password);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64, message = "is required"))]
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 256, message = "is required"))]
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Communities the user works in (workers); empty otherwise.
    pub community_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Opaque session token for `Authorization: Bearer`; browsers use the cookie instead.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: Me,
}

/// Log in with a username and password.
///
/// Sets the HttpOnly `linli_session` cookie and returns the same token for API
/// clients. Five failed attempts for one username within 15 minutes lock further
/// attempts with 429 and `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let user_agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(ToOwned::to_owned);
    let session = sessions::login(&state, body.username.trim(), &body.password, user_agent).await?;
    let role: Role = session.user.role.parse().map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    let max_age = (session.expires_at - state.clock.now()).num_seconds().max(0);
    let cookie = Cookie::build(SESSION_COOKIE, session.token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.cookie_secure)
        .max_age(CookieDuration::seconds(max_age))
        .finish();
    Ok(HttpResponse::Ok().cookie(cookie).json(LoginResponse {
        token: session.token,
        expires_at: session.expires_at,
        user: Me {
            id: session.user.id,
            username: session.user.username,
            display_name: session.user.display_name,
            role,
            community_ids: session.communities,
        },
    }))
}

/// Log out: revokes this session's token and clears the cookie.
#[utoipa::path(
    tag = "auth",
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/auth/logout")]
async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    sessions::logout(&state, &caller).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").http_only(true).same_site(SameSite::Strict).finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

/// Who is logged in.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/auth/me")]
async fn me(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Me>, ApiError> {
    caller.allow(&Role::USER_ROLES)?;
    let user_id = caller.user_id()?;
    let user = entity::users::Entity::find_by_id(user_id.0).one(&state.db).await?.ok_or(ApiError::Unauthenticated)?;
    Ok(web::Json(Me {
        id: user.id,
        username: user.username,
        display_name: user.display_name,
        role: caller.role,
        community_ids: caller.communities.iter().map(|c| c.0).collect(),
    }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordRequest {
    #[validate(length(min = 1, message = "is required"))]
    #[schema(min_length = 1)]
    pub current_password: String,
    #[validate(custom(function = "new_password_rules"))]
    #[schema(min_length = 8)]
    pub new_password: String,
}

fn new_password_rules(password: &str) -> Result<(), validator::ValidationError> {
    accounts::validate_password("new_password", password).map_err(|e| {
        let mut err = validator::ValidationError::new("length");
        err.message = Some(e.message.into());
        err
    })
}

/// Change your password. Every session of yours is revoked, this one included.
#[utoipa::path(
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&Role::USER_ROLES)?;
    sessions::change_password(&state, caller.user_id()?, &body.0.current_password, &body.0.new_password).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}
