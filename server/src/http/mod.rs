//! HTTP surface: every API route is registered through utoipa-actix-web, so a handler
//! without an OpenAPI description does not compile into the app.

pub mod alarms;
pub mod auth;
pub mod cases;
pub mod communities;
pub mod console;
pub mod coverage;
pub mod extract;
pub mod grid;
pub mod ops;
pub mod pagination;
pub mod push;
pub mod responders;
pub mod routing;
pub mod segmentation;
pub mod senior_records;
pub mod seniors;
pub mod seniors_io;
pub mod surveys;
pub mod tasks;
pub mod timebank;
pub mod users;

use std::path::{Path, PathBuf};

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::{UtoipaApp, scope};

use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linli API",
        description = "Linli (邻里) coordinates community elderly care: the senior registry, dispatch of meals, home-bed visits, housekeeping and emergency bells, the volunteer time bank, satisfaction surveys and the bureau's coverage review.\n\nErrors are RFC 9457 `application/problem+json`. Lists are paginated with `page` and `per_page` (at most 200).",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&SecurityAddon),
    tags(
        (name = "auth", description = "Sessions"),
        (name = "users", description = "Accounts (admin)"),
        (name = "communities", description = "Communities of the street"),
        (name = "seniors", description = "The senior registry"),
        (name = "grid", description = "H3 grid cells"),
        (name = "push", description = "Web push subscriptions"),
        (name = "dispatch", description = "Responders, plans, tasks, emergency bells and the live board"),
        (name = "segmentation", description = "Care tiers and their rules"),
        (name = "timebank", description = "The volunteer time bank: accounts, ledger, transfers, grants, bookings"),
        (name = "surveys", description = "Satisfaction surveys: call lists, answers, family links, analysis"),
        (name = "cases", description = "Complaints and follow-up cases"),
        (name = "coverage", description = "Coverage reports for the bureau and the console"),
        (name = "ops", description = "Health, readiness, metrics, jobs"),
    )
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// Documents the problem responses every operation can give besides its own: 401 and
/// 403 when it takes a session, 404 when its path or a `…_id` parameter names an
/// object (the caller may not see it, or it does not exist), 422 when it reads
/// parameters or a body, 400/413/415 when it reads a body, and 500/503 everywhere.
/// An operation that describes one of these itself keeps its own description.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
            for operation in operations.into_iter().flatten() {
                let names_an_object = path.contains('{')
                    || operation.parameters.iter().flatten().any(|p| match p {
                        utoipa::openapi::RefOr::T(p) => p.name.ends_with("_id"),
                        utoipa::openapi::RefOr::Ref(_) => false,
                    });
                let has_body = operation.request_body.is_some();
                let has_params = has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let needs_session = operation.security.as_ref().is_some_and(|alternatives| {
                    alternatives.iter().all(|r| serde_json::to_value(r).is_ok_and(|v| v != serde_json::json!({})))
                });
                let mut add = |status: &str, description: &str| {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
                        let content =
                            utoipa::openapi::Content::new(Some(utoipa::openapi::Ref::from_schema_name("Problem")));
                        utoipa::openapi::ResponseBuilder::new()
                            .description(description)
                            .content(crate::error::PROBLEM_JSON, content)
                            .build()
                            .into()
                    });
                };
                if has_body {
                    add("400", "The body is not well-formed JSON");
                    add("413", "The body is too large");
                    add("415", "The body is not sent as JSON");
                }
                if needs_session {
                    add("401", "Not logged in, or the session has expired");
                    add("403", "The caller's role may not do this");
                }
                if names_an_object {
                    add("404", "No such object, or not one the caller may see");
                }
                if has_params {
                    add("422", "Invalid parameters or body; `errors` names each field");
                }
                add("500", "Unexpected error; the cause is logged");
                add("503", "The database is unreachable or busy; try again after `Retry-After`");
            }
        }
    }
}

/// `/api/v1/...` routes.
fn configure_api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    auth::configure(cfg);
    users::configure(cfg);
    communities::configure(cfg);
    seniors_io::configure(cfg); // before `seniors`: `/seniors/export` is not `/seniors/{id}`
    seniors::configure(cfg);
    senior_records::configure(cfg);
    responders::configure(cfg);
    tasks::configure(cfg);
    timebank::configure(cfg);
    alarms::configure(cfg);
    console::configure(cfg);
    routing::configure(cfg);
    push::configure(cfg);
    grid::configure(cfg);
    segmentation::configure(cfg);
    surveys::configure(cfg);
    cases::configure(cfg);
    coverage::configure(cfg);
    ops::configure_api(cfg);
}

/// Registers every documented route on `app`.
pub fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi()).service(scope("/api/v1").configure(configure_api)).configure(ops::configure_root)
}

/// Completes the document the registered routes describe: the responses every
/// operation shares are only known once all operations are in.
pub fn complete(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    ProblemResponses.modify(&mut api);
    api
}

/// The OpenAPI document, without starting a server (`linli openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, api) = register(actix_web::App::new().into_utoipa_app()).split_for_parts();
    complete(api)
}

/// Unknown routes: 405 with `Allow` when the path exists with other methods, else 404;
/// both problem+json.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let pattern = req.resource_map().match_pattern(req.path()).filter(|p| !p.is_empty() && p != "/");
    match pattern {
        // Paths outside the document (the docs page, the document itself) only answer GET.
        Some(pattern) => Err(ApiError::MethodNotAllowed {
            allow: allowed_methods().get(&pattern).cloned().unwrap_or_else(|| "GET".to_owned()),
        }),
        None => Err(ApiError::RouteNotFound),
    }
}

/// 405 when `path` is itself a documented path (`/seniors/export`) that another
/// template (`/seniors/{id}`) took for a bad parameter with a method it lacks.
pub fn method_not_allowed_on(path: &str) -> Option<ApiError> {
    allowed_methods().get(path).map(|allow| ApiError::MethodNotAllowed { allow: allow.clone() })
}

/// The methods of each documented path template, as an `Allow` header value.
fn allowed_methods() -> &'static std::collections::HashMap<String, String> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> = std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| {
        openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("HEAD", item.head.is_some()),
                ];
                let allow: Vec<&str> = methods.iter().filter(|(_, has)| *has).map(|(m, _)| *m).collect();
                (path.clone(), allow.join(", "))
            })
            .collect()
    })
}

/// Serves the built frontend; unknown non-API paths get `index.html` (client routing).
pub fn frontend(dir: &Path) -> actix_files::Files {
    let index: PathBuf = dir.join("index.html");
    actix_files::Files::new("/", dir).index_file("index.html").prefer_utf8(true).default_handler(web::to(
        move |req: HttpRequest| {
            let index = index.clone();
            async move { spa_fallback(req, &index).await }
        },
    ))
}

async fn spa_fallback(req: HttpRequest, index: &Path) -> Result<HttpResponse, actix_web::Error> {
    let path = req.path();
    let wants_page = req.method() == actix_web::http::Method::GET
        && !path.starts_with("/api/")
        && !path.rsplit('/').next().unwrap_or_default().contains('.');
    if !wants_page {
        return Err(not_found(req).await.err().unwrap_or(ApiError::RouteNotFound).into());
    }
    let file = actix_files::NamedFile::open_async(index).await?;
    let mut res = file.into_response(&req);
    res.headers_mut()
        .insert(actix_web::http::header::CACHE_CONTROL, actix_web::http::header::HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// Shown at `/` when the frontend has not been built.
pub async fn no_frontend(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.method() == actix_web::http::Method::GET && !req.path().starts_with("/api/") {
        return Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
            "<!doctype html><meta charset=utf-8><title>Linli</title><h1>邻里 Linli</h1>\
             <p>The web app has not been built. Run <code>make run</code> (or <code>npm run build</code> in <code>frontend/</code>).</p>\
             <p>API documentation: <a href=\"/api/docs/\">/api/docs/</a></p>",
        ));
    }
    not_found(req).await
}
