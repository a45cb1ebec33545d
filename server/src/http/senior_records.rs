//! `/api/v1/seniors/{id}/contacts`, `/consents` and `/changes`: the parts of a
//! senior's record that workers keep up to date after registration.

use actix_web::{HttpResponse, delete, get, post, put, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::Json;
use crate::registry::records::{self, ChangeInput, ChangeView, ConsentInput, ConsentView, Consents, ContactView};
use crate::registry::service::{ContactInput, find_visible};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_contacts)
        .service(add_contact)
        .service(update_contact)
        .service(remove_contact)
        .service(list_consents)
        .service(record_consent)
        .service(list_changes)
        .service(mark_change);
}

const WRITERS: &[Role] = &[Role::Admin, Role::Worker];

/// A senior's contacts in call order (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Vec<ContactView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/contacts")]
async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<ContactView>>, ApiError> {
    caller.allow(WRITERS)?;
    let senior = find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(records::contacts_of(&state.db, senior.id).await?))
}

/// Add a family member or keyholder (worker, admin); at most ten per senior.
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = ContactInput,
    responses(
        (status = 201, body = ContactView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/contacts")]
async fn add_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ContactInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(WRITERS)?;
    let contact = records::add_contact(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(contact))
}

/// Replace a contact's details (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id"), ("contact_id" = i64, Path, description = "Contact id")),
    request_body = ContactInput,
    responses(
        (status = 200, body = ContactView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/seniors/{id}/contacts/{contact_id}")]
async fn update_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
    body: Json<ContactInput>,
) -> Result<web::Json<ContactView>, ApiError> {
    caller.allow(WRITERS)?;
    let (id, contact_id) = path.into_inner();
    Ok(web::Json(records::update_contact(&state, &caller, id, contact_id, body.0).await?))
}

/// Remove a contact (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id"), ("contact_id" = i64, Path, description = "Contact id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/seniors/{id}/contacts/{contact_id}")]
async fn remove_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(WRITERS)?;
    let (id, contact_id) = path.into_inner();
    records::remove_contact(&state, &caller, id, contact_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What the senior agreed to share: the current answer per scope and the history
/// (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Consents), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/consents")]
async fn list_consents(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Consents>, ApiError> {
    caller.allow(WRITERS)?;
    let senior = find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(records::consents_of(&state.db, senior.id).await?))
}

/// Record a consent given, refused or withdrawn, by the senior or a named guardian
/// (worker, admin). Earlier answers stay in the history.
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = ConsentInput,
    responses(
        (status = 201, body = ConsentView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/consents")]
async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ConsentInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(WRITERS)?;
    let consent = records::record_consent(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(consent))
}

/// Changes marked on a senior, newest first (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    responses((status = 200, body = Vec<ChangeView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/seniors/{id}/changes")]
async fn list_changes(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<ChangeView>>, ApiError> {
    caller.allow(WRITERS)?;
    let senior = find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(records::changes_of(&state.db, senior.id, 200).await?))
}

/// Mark a change (hospital discharge, fall): the reassessment falls due today and the
/// senior appears on the overdue list (worker, admin).
#[utoipa::path(
    tag = "seniors",
    params(("id" = i64, Path, description = "Senior id")),
    request_body = ChangeInput,
    responses(
        (status = 201, body = ChangeView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/seniors/{id}/changes")]
async fn mark_change(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ChangeInput>,
) -> Result<HttpResponse, ApiError> {
    caller.allow(WRITERS)?;
    let change = records::mark_change(&state, &caller, id.into_inner(), body.0).await?;
    Ok(HttpResponse::Created().json(change))
}
