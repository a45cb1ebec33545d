//! `POST /api/v1/routing/solve`: the meal-routing solver as a service. Times are
//! plain numbers: minutes for `haversine` (e.g. 660 for 11:00), the instance's own
//! units for `euclidean`, where travel time equals distance as in the Solomon
//! instances.

use std::time::Duration;

use actix_web::{get, post, web};
use chrono::NaiveDate;
use entity::stations;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, Role};
use crate::dispatch::meals::{MealPlan, Published};
use crate::error::{ApiError, FieldError, Problem as ProblemJson};
use crate::http::extract::{Json, Query};
use crate::routing::{self, Metric, Options, Point, Problem, ProblemSpec, Stop, VehicleType};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(solve).service(meal_routes).service(publish_meal_routes).service(list_stations);
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MealRouteQuery {
    /// The canteen.
    pub station_id: i64,
    /// The service day (YYYY-MM-DD).
    pub date: NaiveDate,
}

/// Route sheets for a canteen's meals on a day: each available courier's trips with
/// ordered stops, arrival times and diet notes, and the meals that cannot be served
/// with the reason (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    params(MealRouteQuery),
    responses((status = 200, body = MealPlan), (status = 404, body = ProblemJson, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/routing/meals")]
async fn meal_routes(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<MealRouteQuery>,
) -> Result<web::Json<MealPlan>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    Ok(web::Json(crate::dispatch::meals::plan(&state, &caller, query.0.station_id, query.0.date).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PublishInput {
    /// The canteen.
    pub station_id: i64,
    /// The service day (YYYY-MM-DD).
    pub date: NaiveDate,
}

/// Publish a canteen's rounds for a day: each meal nobody holds goes to the courier
/// of its sheet, and each courier gets a push (worker, admin). Publishing again
/// leaves what is held alone.
#[utoipa::path(
    tag = "dispatch",
    request_body = PublishInput,
    responses((status = 200, body = Published), (status = 404, body = ProblemJson, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/routing/meals/publish")]
async fn publish_meal_routes(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PublishInput>,
) -> Result<web::Json<Published>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    Ok(web::Json(crate::dispatch::meals::publish(&state, &caller, body.0.station_id, body.0.date).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StationView {
    pub id: i64,
    pub community_id: Option<i64>,
    /// `canteen`, `service_station` or `day_care`.
    pub kind: String,
    pub name: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub meal_capacity: Option<i32>,
}

/// Canteens, service stations and day-care centres of the caller's communities
/// (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    responses((status = 200, body = Vec<StationView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/stations")]
async fn list_stations(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Vec<StationView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let mut q = stations::Entity::find().order_by_asc(stations::Column::Id);
    if caller.role == Role::Worker {
        q = q.filter(stations::Column::CommunityId.is_in(caller.communities.iter().map(|c| c.0)));
    }
    Ok(web::Json(
        q.all(&state.db)
            .await?
            .into_iter()
            .map(|s| StationView {
                id: s.id,
                community_id: s.community_id,
                kind: s.kind,
                name: s.name,
                address: s.address,
                latitude: s.latitude,
                longitude: s.longitude,
                meal_capacity: s.meal_capacity,
            })
            .collect(),
    ))
}

/// A place: `latitude`/`longitude` with `haversine`, `x`/`y` with `euclidean`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub struct Place {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub x: Option<f64>,
    pub y: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub struct Vehicles {
    #[schema(minimum = 1)]
    pub count: usize,
    pub capacity: u32,
    pub shift_start: f64,
    pub shift_end: f64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StopInput {
    pub id: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub x: Option<f64>,
    pub y: Option<f64>,
    #[serde(default = "one")]
    pub demand: u32,
    pub window_start: f64,
    pub window_end: f64,
    #[serde(default)]
    pub service_time: f64,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    Haversine,
    Euclidean,
}

/// The body of `POST /api/v1/routing/solve`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct SolveRequest {
    pub depot: Place,
    pub vehicles: Vehicles,
    /// 1 to 5000 stops.
    #[schema(min_items = 1, max_items = 5000)]
    pub stops: Vec<StopInput>,
    pub metric: MetricName,
    /// Haversine only: travel speed in metres per minute (default: the e-bike speed).
    pub speed_m_per_min: Option<f64>,
    /// The longest ride from leaving the depot to any delivery (e.g. 45 minutes).
    pub max_ride_time: Option<f64>,
    /// Search time cap in milliseconds (default 3000, at most 30000).
    #[validate(range(min = 10, max = 30000))]
    #[schema(minimum = 10, maximum = 30000)]
    pub time_limit_ms: Option<u64>,
    /// Search iterations (default 100000); the plan is the same for the same input
    /// and seed unless the time cap stops the search first.
    #[validate(range(min = 1, max = 10000000))]
    #[schema(minimum = 1, maximum = 10000000)]
    pub iterations: Option<u64>,
    pub seed: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    pub id: String,
    pub arrival: f64,
    pub start: f64,
    pub departure: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    pub departure: f64,
    pub return_time: f64,
    pub load: u32,
    pub distance: f64,
    pub visits: Vec<VisitView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnassignedView {
    pub id: String,
    /// `demand_exceeds_capacity`, `window_unreachable`, `ride_time_exceeded` or `no_vehicle_left`.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SolveResponse {
    /// Stop ids in visiting order, one list per vehicle used.
    pub routes: Vec<Vec<String>>,
    /// Total distance: metres for `haversine`, instance units for `euclidean`.
    pub distance: f64,
    pub unassigned: Vec<UnassignedView>,
    /// Times of every visit, route by route.
    pub schedule: Vec<RouteView>,
    pub iterations: u64,
    pub stopped_by_time_limit: bool,
    pub elapsed_ms: u64,
}

fn point(
    metric: MetricName,
    field: &str,
    lat: Option<f64>,
    lng: Option<f64>,
    x: Option<f64>,
    y: Option<f64>,
) -> Result<Point, FieldError> {
    match (metric, lat, lng, x, y) {
        (MetricName::Haversine, Some(lat), Some(lng), _, _) => Ok(Point::lat_lng(lat, lng)),
        (MetricName::Euclidean, _, _, Some(x), Some(y)) => Ok(Point::xy(x, y)),
        (MetricName::Haversine, ..) => Err(FieldError::new(field, "required", "give latitude and longitude")),
        (MetricName::Euclidean, ..) => Err(FieldError::new(field, "required", "give x and y")),
    }
}

fn reason(r: routing::UnassignedReason) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{r:?}"))
}

/// Plan delivery routes with time windows (worker, admin).
#[utoipa::path(
    tag = "dispatch",
    request_body = SolveRequest,
    responses((status = 200, body = SolveResponse), (status = 422, body = ProblemJson, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/routing/solve")]
async fn solve(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SolveRequest>,
) -> Result<web::Json<SolveResponse>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let req = body.0;
    let mut errors = Vec::new();
    let d = req.depot;
    let depot = point(req.metric, "depot", d.latitude, d.longitude, d.x, d.y).map_err(|e| errors.push(e)).ok();
    let mut stops = Vec::with_capacity(req.stops.len());
    for (i, s) in req.stops.iter().enumerate() {
        match point(req.metric, &format!("stops[{i}]"), s.latitude, s.longitude, s.x, s.y) {
            Ok(location) => stops.push(Stop {
                id: s.id.clone(),
                location,
                demand: s.demand,
                window_start: s.window_start,
                window_end: s.window_end,
                service_time: s.service_time,
            }),
            Err(e) => errors.push(e),
        }
    }
    if req.stops.is_empty() || req.stops.len() > 5000 {
        errors.push(FieldError::new("stops", "invalid", "give 1 to 5000 stops"));
    }
    if req.vehicles.count == 0 || req.vehicles.count > 2000 {
        errors.push(FieldError::new("vehicles.count", "invalid", "1 to 2000 vehicles"));
    }
    let (Some(depot), true) = (depot, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let metric = match req.metric {
        MetricName::Euclidean => Metric::Euclidean,
        MetricName::Haversine => Metric::Haversine {
            metres_per_minute: req.speed_m_per_min.unwrap_or(state.settings.dispatch.ebike_m_per_min),
        },
    };
    let v = req.vehicles;
    let problem = Problem::new(ProblemSpec {
        depot,
        fleet: vec![VehicleType {
            count: v.count,
            capacity: v.capacity,
            shift_start: v.shift_start,
            shift_end: v.shift_end,
            cost_per_route: 0.0,
        }],
        stops,
        metric,
        max_ride_time: req.max_ride_time,
    })
    .map_err(|e| ApiError::field("stops", "invalid", e.to_string()))?;
    let options = Options {
        time_limit: Duration::from_millis(req.time_limit_ms.unwrap_or(3000)),
        iterations: req.iterations.unwrap_or(100_000),
        seed: req.seed.unwrap_or(1),
    };
    let started = std::time::Instant::now();
    // The search is CPU-bound: keep it off the async workers.
    let plan = web::block(move || routing::solve(&problem, &options))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("routing worker: {e}")))?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(stops = req.stops.len(), routes = plan.routes.len(), elapsed_ms, "routes planned");
    Ok(web::Json(SolveResponse {
        routes: plan.routes.iter().map(|r| r.visits.iter().map(|v| v.stop_id.clone()).collect()).collect(),
        distance: (plan.total_distance * 100.0).round() / 100.0,
        unassigned: plan
            .unassigned
            .iter()
            .map(|u| UnassignedView { id: u.stop_id.clone(), reason: reason(u.reason) })
            .collect(),
        schedule: plan
            .routes
            .iter()
            .map(|r| RouteView {
                departure: r.departure,
                return_time: r.return_time,
                load: r.load,
                distance: r.distance,
                visits: r
                    .visits
                    .iter()
                    .map(|v| VisitView {
                        id: v.stop_id.clone(),
                        arrival: v.arrival,
                        start: v.start,
                        departure: v.departure,
                    })
                    .collect(),
            })
            .collect(),
        iterations: plan.iterations,
        stopped_by_time_limit: plan.stopped_by_time_limit,
        elapsed_ms,
    }))
}
