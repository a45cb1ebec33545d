//! `/api/v1/users`: administrators manage accounts.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::accounts::{self, NewUser};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users).service(create_user);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub is_active: bool,
    pub community_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users of this role.
    pub role: Option<Role>,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// At most 200.
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// List user accounts (admin).
#[utoipa::path(
    tag = "users",
    params(UserFilter),
    responses((status = 200, body = Page<UserView>), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/users")]
async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<UserFilter>,
) -> Result<web::Json<Page<UserView>>, ApiError> {
    caller.allow(&[Role::Admin])?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let (rows, total) = accounts::list_users(&state.db, q.role, params.page(), params.per_page()).await?;
    let items = rows
        .into_iter()
        .map(|(u, community_ids)| UserView {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            is_active: u.is_active,
            community_ids,
            created_at: u.created_at,
        })
        .collect();
    Ok(web::Json(Page::new(items, &params, total)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateUserRequest {
    /// 3–32 characters: lowercase letters, digits, '.', '_' or '-'.
    #[schema(pattern = "^[a-z0-9._-]{3,32}$")]
    pub username: String,
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters long"))]
    #[schema(min_length = 1, max_length = 64)]
    pub display_name: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
    /// Required for workers: the communities they serve.
    #[serde(default)]
    pub community_ids: Vec<i64>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Create a user account (admin).
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = Created),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/users")]
async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(&[Role::Admin])?;
    let b = body.0;
    let user = accounts::create_user(
        &state.db,
        NewUser {
            username: b.username,
            display_name: b.display_name,
            password: b.password,
            role: b.role,
            community_ids: b.community_ids,
            phone: b.phone,
        },
    )
    .await?;
    crate::audit::record(
        &state.db,
        &state.clock,
        &caller,
        crate::audit::Entry::new("user.create", "user", Some(user.id.to_string())),
    )
    .await?;
    Ok(HttpResponse::Created().json(Created { id: user.id }))
}
