//! Route sheets: a canteen's meals for a day split among its available couriers by
//! the routing solver, each courier with ordered stops, arrival times and diet notes.
//!
//! Every courier makes up to two trips (a first wave leaving from 10:30, a second
//! from 11:50): the solver sees them as two fleets of the same couriers. Meals that
//! cannot be served in their window, or within the ride limit, are listed with the
//! reason.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Timelike};
use entity::{responders, seniors, stations, tasks, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::candidates::speed_m_per_min;
use super::index::Entry;
use super::kinds::{Skill, TaskKind, TaskStatus, TravelMode};
use super::notify::{self, Urgency};
use super::tasks::{Actor, Note, status_of, transition, withdraw_offers};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;
use crate::routing::{self, Metric, Options, Point, Problem, ProblemSpec, Stop, VehicleType};
use crate::state::AppState;

/// The two trips of a courier, in minutes after midnight.
const WAVES: [(f64, f64); 2] = [(630.0, 710.0), (710.0, 790.0)];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetStop {
    pub task_id: i64,
    pub senior_id: i64,
    /// False for a senior outside the caller's communities: name, address and
    /// phone are then left empty (the courier's own sheet carries them).
    pub visible: bool,
    pub senior_name: String,
    pub address: String,
    pub phone: String,
    /// The home, for the courier's map link (only when `visible`).
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Planned arrival, local `HH:MM`.
    pub eta: String,
    pub window: String,
    pub diet: Option<String>,
    pub allergies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RouteSheet {
    pub responder_id: i64,
    pub courier_name: String,
    /// 1: the first trip, 2: the second.
    pub trip: u8,
    /// Leaves the kitchen, local `HH:MM`.
    pub departs: String,
    pub returns: String,
    pub distance_m: f64,
    pub stops: Vec<SheetStop>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnplannedMeal {
    pub task_id: i64,
    pub senior_name: String,
    /// `window_unreachable`, `ride_time_exceeded`, `no_vehicle_left`,
    /// `demand_exceeds_capacity`, `no_courier` (nobody is available), or
    /// `senior_missing` (the task's senior record is gone).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MealPlan {
    pub date: NaiveDate,
    pub station_id: i64,
    pub station_name: String,
    pub meals: usize,
    pub couriers: usize,
    pub sheets: Vec<RouteSheet>,
    pub unplanned: Vec<UnplannedMeal>,
    pub elapsed_ms: u64,
}

fn hhmm(minutes: f64) -> String {
    let m = minutes.round().max(0.0) as u32;
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn minutes(t: NaiveTime) -> f64 {
    f64::from(t.hour() * 60 + t.minute())
}

/// Plans the meal rounds of `station_id` on `date`.
pub async fn plan(state: &AppState, caller: &Caller, station_id: i64, date: NaiveDate) -> Result<MealPlan, ApiError> {
    let station = stations::Entity::find_by_id(station_id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    if station.kind != "canteen" {
        return Err(ApiError::field("station_id", "not_a_canteen", "only canteens send out meals"));
    }
    if caller.role == Role::Worker && !station.community_id.is_some_and(|c| caller.sees_community(CommunityId(c))) {
        return Err(ApiError::NotFound);
    }
    let open = TaskStatus::OPEN.iter().map(|s| s.as_str());
    let meals = tasks::Entity::find()
        .filter(tasks::Column::Kind.eq(TaskKind::MealDelivery.as_str()))
        .filter(tasks::Column::StationId.eq(station_id))
        .filter(tasks::Column::ServiceDate.eq(date))
        .filter(tasks::Column::Status.is_in(open))
        .find_also_related(seniors::Entity)
        .order_by_asc(tasks::Column::Id)
        .all(&state.db)
        .await?;
    let communities: Vec<i64> = {
        let mut c: Vec<i64> = meals.iter().map(|(t, _)| t.community_id).chain(station.community_id).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let lunch =
        (NaiveTime::from_hms_opt(11, 0, 0).unwrap_or_default(), NaiveTime::from_hms_opt(12, 30, 0).unwrap_or_default());
    let mut couriers: Vec<_> = communities
        .iter()
        .flat_map(|c| state.responders.in_community(*c))
        .filter(|e| e.has(Skill::MealDelivery) && !e.absent_on(date) && e.on_shift(date, lunch.0, lunch.1))
        .collect();
    couriers.sort_by_key(|e| e.id);
    couriers.dedup_by_key(|e| e.id);
    let visible =
        |s: &seniors::Model| caller.role != Role::Worker || caller.sees_community(CommunityId(s.community_id));
    route(state, station, date, meals, couriers, &visible).await
}

/// What publishing a canteen's rounds did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Published {
    /// The rounds as planned and published.
    pub plan: MealPlan,
    /// Meals given now to the courier of their sheet.
    pub assigned: usize,
    /// Meals left as they were: already held, changed meanwhile, or outside the
    /// caller's communities.
    pub kept: usize,
    /// Couriers sent their round by push.
    pub notified: usize,
}

/// Plans the canteen's rounds and gives each meal nobody holds yet to the courier of
/// its sheet, in one transaction, with one push per courier (worker, admin). A meal
/// taken meanwhile is kept by whoever took it; publishing again changes nothing.
pub async fn publish(
    state: &AppState,
    caller: &Caller,
    station_id: i64,
    date: NaiveDate,
) -> Result<Published, ApiError> {
    let plan = plan(state, caller, station_id, date).await?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let (mut assigned, mut kept) = (0, 0);
    let mut per_courier: BTreeMap<i64, usize> = BTreeMap::new();
    for sheet in &plan.sheets {
        for (seq, stop) in sheet.stops.iter().enumerate() {
            let task = tasks::Entity::find_by_id(stop.task_id).one(&txn).await?;
            let Some(task) = task.filter(|t| stop.visible && t.assignee_id.is_none()) else {
                kept += 1;
                continue;
            };
            if !matches!(status_of(&task), TaskStatus::Created | TaskStatus::Offered | TaskStatus::Escalated) {
                kept += 1;
                continue;
            }
            let route = json!({"trip": sheet.trip, "seq": seq + 1, "eta": stop.eta});
            let note = Note::details(json!({"responder_id": sheet.responder_id, "route": route}));
            let taken =
                transition(&txn, &task, TaskStatus::Accepted, "assigned", Actor::of(caller), note, now, |row| {
                    row.assignee_id = Set(Some(sheet.responder_id));
                })
                .await;
            match taken {
                Ok(_) => {
                    withdraw_offers(&txn, task.id, None, "route_published", now).await?;
                    assigned += 1;
                    *per_courier.entry(sheet.responder_id).or_default() += 1;
                }
                // Accepted or changed by someone else since the plan was read.
                Err(ApiError::Conflict { .. }) => kept += 1,
                Err(e) => return Err(e),
            }
        }
    }
    for (responder_id, meals) in &per_courier {
        let Some(courier) = state.responders.get(*responder_id) else { continue };
        let payload = json!({"date": date, "station_id": station_id, "meals": meals});
        let topic = format!("route-{station_id}-{date}");
        notify::push(&txn, courier.user_id, "route_sheet", &topic, payload, Urgency::Normal, now).await?;
    }
    let entry = audit::Entry::new("meals.publish", "station", Some(station_id.to_string()));
    audit::record(&txn, &state.clock, caller, entry.reason(format!("{date}: {assigned} meals"))).await?;
    txn.commit().await?;
    state.events.notify_waiters();
    Ok(Published { plan, assigned, kept, notified: per_courier.len() })
}

/// The caller's own round on `date`: the meals they hold, per canteen, in the order
/// to deliver them (up to two trips), with everything needed at each door.
pub async fn my_sheets(state: &AppState, me: &responders::Model, date: NaiveDate) -> Result<Vec<MealPlan>, ApiError> {
    let held = TaskStatus::ACTIVE.iter().map(|s| s.as_str());
    let meals = tasks::Entity::find()
        .filter(tasks::Column::Kind.eq(TaskKind::MealDelivery.as_str()))
        .filter(tasks::Column::AssigneeId.eq(me.id))
        .filter(tasks::Column::ServiceDate.eq(date))
        .filter(tasks::Column::Status.is_in(held))
        .filter(tasks::Column::StationId.is_not_null())
        .find_also_related(seniors::Entity)
        .order_by_asc(tasks::Column::Id)
        .all(&state.db)
        .await?;
    let mut by_station: BTreeMap<i64, Vec<(tasks::Model, Option<seniors::Model>)>> = BTreeMap::new();
    for m in meals {
        by_station.entry(m.0.station_id.unwrap_or_default()).or_default().push(m);
    }
    let couriers: Vec<Entry> = state.responders.get(me.id).into_iter().collect();
    let stations: HashMap<i64, stations::Model> = stations::Entity::find()
        .filter(stations::Column::Id.is_in(by_station.keys().copied()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut plans = Vec::with_capacity(by_station.len());
    for (station_id, meals) in by_station {
        let Some(station) = stations.get(&station_id) else { continue };
        plans.push(route(state, station.clone(), date, meals, couriers.clone(), &|_| true).await?);
    }
    Ok(plans)
}

/// Splits `meals` among `couriers` with the solver; `visible` says whose name,
/// address and phone the reader may see.
async fn route(
    state: &AppState,
    station: stations::Model,
    date: NaiveDate,
    meals: Vec<(tasks::Model, Option<seniors::Model>)>,
    couriers: Vec<Entry>,
    visible: &(dyn Fn(&seniors::Model) -> bool + Sync),
) -> Result<MealPlan, ApiError> {
    let tz = state.settings.tz();
    let settings = &state.settings.dispatch;
    let slowest = couriers
        .iter()
        .map(|e| e.travel_mode)
        .min_by(|a, b| speed_m_per_min(settings, *a).total_cmp(&speed_m_per_min(settings, *b)));
    let speed = speed_m_per_min(settings, slowest.unwrap_or(TravelMode::Ebike));
    let by_id: HashMap<String, &(tasks::Model, Option<seniors::Model>)> =
        meals.iter().map(|m| (m.0.id.to_string(), m)).collect();
    let stops: Vec<Stop> = meals
        .iter()
        .filter_map(|(t, s)| {
            let s = s.as_ref()?;
            let from = t.window_start.map_or(660.0, |w| minutes(w.with_timezone(&tz).time()));
            let to = t.window_end.map_or(750.0, |w| minutes(w.with_timezone(&tz).time()));
            Some(Stop {
                id: t.id.to_string(),
                location: Point::lat_lng(s.latitude, s.longitude),
                demand: 1,
                window_start: from,
                window_end: to,
                service_time: settings.meal_service_minutes,
            })
        })
        .collect();
    let names: HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(couriers.iter().map(|c| c.user_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let started = std::time::Instant::now();
    let solution = if stops.is_empty() || couriers.is_empty() {
        None
    } else {
        let problem = Problem::new(ProblemSpec {
            depot: Point::lat_lng(station.latitude, station.longitude),
            fleet: WAVES
                .iter()
                .map(|(start, end)| VehicleType {
                    count: couriers.len(),
                    capacity: settings.meal_trip_capacity,
                    shift_start: *start,
                    shift_end: *end,
                    cost_per_route: 0.0,
                })
                .collect(),
            stops: stops.clone(),
            metric: Metric::Haversine { metres_per_minute: speed },
            max_ride_time: Some(settings.meal_max_ride_minutes),
        })
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("meal routing problem: {e}")))?;
        // Interactive: a good plan in a few seconds rather than the last fraction of a percent.
        let options = Options { time_limit: Duration::from_secs(5), iterations: 30_000, seed: 1 };
        Some(
            actix_web::web::block(move || routing::solve(&problem, &options))
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("routing worker: {e}")))?,
        )
    };
    let mut sheets = Vec::new();
    let mut unplanned = Vec::new();
    let mut trips_used = [0usize; 2];
    if let Some(solution) = &solution {
        for route in &solution.routes {
            let trip = route.vehicle_type.min(1);
            let Some(courier) = couriers.get(trips_used[trip]) else { continue };
            trips_used[trip] += 1;
            let stops = route
                .visits
                .iter()
                .filter_map(|v| {
                    let (t, s) = by_id.get(&v.stop_id)?;
                    let s = s.as_ref()?;
                    let visible = visible(s);
                    let shown = |text: &String| if visible { text.clone() } else { String::new() };
                    Some(SheetStop {
                        task_id: t.id,
                        senior_id: s.id,
                        visible,
                        senior_name: shown(&s.name),
                        address: shown(&s.address),
                        phone: shown(&s.phone),
                        latitude: visible.then_some(s.latitude),
                        longitude: visible.then_some(s.longitude),
                        eta: hhmm(v.arrival.max(v.start)),
                        window: format!(
                            "{}-{}",
                            t.window_start
                                .map(|w| w.with_timezone(&tz).format("%H:%M").to_string())
                                .unwrap_or_default(),
                            t.window_end.map(|w| w.with_timezone(&tz).format("%H:%M").to_string()).unwrap_or_default()
                        ),
                        diet: t.details["diet"].as_str().map(str::to_owned),
                        allergies: serde_json::from_value(t.details["allergies"].clone()).unwrap_or_default(),
                    })
                })
                .collect();
            sheets.push(RouteSheet {
                responder_id: courier.id,
                courier_name: names.get(&courier.user_id).cloned().unwrap_or_default(),
                trip: trip as u8 + 1,
                departs: hhmm(route.departure),
                returns: hhmm(route.return_time),
                distance_m: route.distance.round(),
                stops,
            });
        }
        for u in &solution.unassigned {
            let name = by_id
                .get(&u.stop_id)
                .and_then(|m| m.1.as_ref())
                .filter(|s| visible(s))
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let reason =
                serde_json::to_value(u.reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            unplanned.push(UnplannedMeal { task_id: u.stop_id.parse().unwrap_or_default(), senior_name: name, reason });
        }
    } else {
        let reason = if couriers.is_empty() { "no_courier" } else { "senior_missing" };
        for (t, s) in &meals {
            unplanned.push(UnplannedMeal {
                task_id: t.id,
                senior_name: s.as_ref().filter(|s| visible(s)).map(|s| s.name.clone()).unwrap_or_default(),
                reason: reason.to_owned(),
            });
        }
    }
    sheets.sort_by_key(|s| (s.responder_id, s.trip));
    Ok(MealPlan {
        date,
        station_id: station.id,
        station_name: station.name,
        meals: meals.len(),
        couriers: couriers.len(),
        sheets,
        unplanned,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
