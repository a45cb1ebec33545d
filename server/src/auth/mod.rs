//! Who is calling: roles, sessions, device keys, and community scope.

pub mod accounts;
pub mod sessions;

use std::fmt;
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::RequestId;

pub const SESSION_COOKIE: &str = "linli_session";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Bureau,
    Worker,
    Caregiver,
    Volunteer,
    Device,
}

impl Role {
    pub const USER_ROLES: [Role; 5] = [Role::Admin, Role::Bureau, Role::Worker, Role::Caregiver, Role::Volunteer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Worker => "worker",
            Role::Caregiver => "caregiver",
            Role::Volunteer => "volunteer",
            Role::Device => "device",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "bureau" => Ok(Role::Bureau),
            "worker" => Ok(Role::Worker),
            "caregiver" => Ok(Role::Caregiver),
            "volunteer" => Ok(Role::Volunteer),
            "device" => Ok(Role::Device),
            other => Err(format!("unknown role `{other}`; one of admin, bureau, worker, caregiver, volunteer")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommunityId(pub i64);

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub role: Role,
    /// Set for people; `None` for devices.
    pub user_id: Option<UserId>,
    /// Set for bell devices.
    pub device_id: Option<i64>,
    /// Communities a worker is scoped to (empty for other roles).
    pub communities: Vec<CommunityId>,
    /// The session this request came with (to revoke on logout).
    pub session_id: Option<i64>,
    pub request_id: Option<String>,
}

impl Caller {
    /// The operator at the command line: an admin with no user, device or session
    /// (imports from the CLI, benchmarks, fuzzing).
    pub fn operator() -> Self {
        Self {
            role: Role::Admin,
            user_id: None,
            device_id: None,
            communities: Vec::new(),
            session_id: None,
            request_id: None,
        }
    }

    /// Declares which roles may call a handler: 403 for the others.
    pub fn allow(&self, roles: &[Role]) -> Result<&Self, ApiError> {
        if roles.contains(&self.role) { Ok(self) } else { Err(ApiError::Forbidden) }
    }

    /// Whether objects of this community are visible to the caller. Workers see their
    /// own communities; admins and bureau reviewers see all (the bureau only through
    /// aggregate endpoints, which check the role themselves).
    pub fn sees_community(&self, community: CommunityId) -> bool {
        match self.role {
            Role::Admin | Role::Bureau => true,
            Role::Worker => self.communities.contains(&community),
            Role::Caregiver | Role::Volunteer | Role::Device => false,
        }
    }

    /// 404 (not 403) for objects outside the caller's scope: their existence is not disclosed.
    pub fn scope(&self, community: CommunityId) -> Result<(), ApiError> {
        if self.sees_community(community) { Ok(()) } else { Err(ApiError::NotFound) }
    }

    /// `None` when every community is visible, else the list to filter by.
    pub fn community_filter(&self) -> Option<Vec<i64>> {
        match self.role {
            Role::Admin | Role::Bureau => None,
            _ => Some(self.communities.iter().map(|c| c.0).collect()),
        }
    }

    pub fn user_id(&self) -> Result<UserId, ApiError> {
        self.user_id.ok_or(ApiError::Forbidden)
    }
}

/// The credential a request carries: `Authorization: Bearer` first, then the cookie.
pub fn presented_token(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    bearer.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty()))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = presented_token(req);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            let token = token.ok_or(ApiError::Unauthenticated)?;
            let mut caller = sessions::resolve(&state, &token).await?.ok_or(ApiError::Unauthenticated)?;
            caller.request_id = request_id;
            Ok(caller)
        })
    }
}
