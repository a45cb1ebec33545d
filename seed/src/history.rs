//! The service history over the last `history_days` days (up to yesterday): tasks
//! from the plans on their days, with offers and an event per transition, and
//! emergency alarms from the bells, each with its emergency task.
//!
//! Recurring tasks are created by the nightly job at 18:00 local the day before and
//! offered at once. Lunches leave the canteens at 11:00 in routes (one courier per
//! route, stops in sweep order around the canteen); nursing and housekeeping visits
//! go to the plan's preferred caregiver when possible.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Timeline;
use crate::model::{Alarm, Device, Event, IdBase, Offer, Plan, Responder, Senior, Station, Task, Visit};
use crate::plans::due_on;
use crate::util::{distance_m, local, local_date, local_hm, offset, pick, random_hex, weighted_index};
use crate::workforce::{Workforce, available, shift_days};

/// Smaller is more urgent.
pub fn priority(kind: &str) -> i16 {
    match kind {
        "emergency" => 0,
        "meal_delivery" => 1,
        "home_bed" => 2,
        _ => 3,
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub tasks: Vec<Task>,
    pub offers: Vec<Offer>,
    pub events: Vec<Event>,
    pub alarms: Vec<Alarm>,
}

pub struct Inputs<'a> {
    pub base: &'a IdBase,
    pub seniors: &'a [Senior],
    pub workforce: &'a Workforce,
    pub stations: &'a [Station],
    pub plans: &'a [Plan],
    pub devices: &'a [Device],
    /// The community worker per community id.
    pub worker_of: &'a dyn Fn(i64) -> Option<i64>,
}

struct Gen<'a> {
    inp: Inputs<'a>,
    shift_days: Vec<Vec<i16>>,
    out: History,
}

/// One state change of a task, as recorded in `task_events`.
struct Step {
    kind: &'static str,
    to: &'static str,
    actor: Option<i64>,
    actor_kind: &'static str,
    pos: Option<(f64, f64)>,
    details: Value,
    at: DateTime<Utc>,
}

fn step(kind: &'static str, actor: Option<i64>, actor_kind: &'static str, at: DateTime<Utc>) -> Step {
    Step { kind, to: kind, actor, actor_kind, pos: None, details: json!({}), at }
}

impl<'a> Gen<'a> {
    fn senior(&self, id: i64) -> &'a Senior {
        &self.inp.seniors[(id - self.inp.base.seniors - 1) as usize]
    }

    fn responders(&self) -> &'a [Responder] {
        &self.inp.workforce.responders
    }

    fn next_task_id(&self) -> i64 {
        self.inp.base.tasks + self.out.tasks.len() as i64 + 1
    }

    fn offer(
        &mut self,
        task_id: i64,
        r: &Responder,
        status: &'static str,
        round: i16,
        from: (f64, f64),
        (offered_at, responded_at): (DateTime<Utc>, Option<DateTime<Utc>>),
    ) {
        let distance = distance_m(r.home_latitude, r.home_longitude, from.0, from.1);
        self.out.offers.push(Offer {
            id: self.inp.base.offers + self.out.offers.len() as i64 + 1,
            task_id,
            responder_id: r.id,
            status,
            round,
            distance_m: Some(distance.round()),
            offered_at,
            responded_at,
        });
    }

    /// Writes the events of `steps` (the first is `created`) and returns the number
    /// of transitions, which is also the task's version.
    fn events(&mut self, task_id: i64, steps: Vec<Step>) -> i32 {
        let mut from: Option<&'static str> = None;
        let mut version = 0;
        for s in steps {
            let transition = !s.to.is_empty();
            self.out.events.push(Event {
                id: self.inp.base.events + self.out.events.len() as i64 + 1,
                task_id,
                kind: s.kind,
                from_status: if transition { from } else { None },
                to_status: if transition { Some(s.to) } else { None },
                actor_user_id: s.actor,
                actor_kind: s.actor_kind,
                latitude: s.pos.map(|p| p.0),
                longitude: s.pos.map(|p| p.1),
                details: s.details,
                at: s.at,
            });
            if transition {
                from = Some(s.to);
                version += 1;
            }
        }
        version
    }

    fn available(&self, index: usize, date: NaiveDate) -> bool {
        available(self.inp.workforce, &self.shift_days, index, date)
    }
}

/// A position near the door: GPS scatter of a few tens of metres, or, for a
/// flagged visit, 120–400 m away.
fn near<R: Rng>(rng: &mut R, s: &Senior, flagged: bool) -> Visit {
    let metres = if flagged { rng.random_range(120.0..400.0) } else { 3.0 + (crate::util::normal(rng).abs() * 12.0) };
    let (lat, lon) = offset(s.latitude, s.longitude, metres, rng.random_range(0.0..std::f64::consts::TAU));
    Visit {
        at: DateTime::<Utc>::MIN_UTC,
        latitude: lat,
        longitude: lon,
        distance_m: (distance_m(s.latitude, s.longitude, lat, lon) * 10.0).round() / 10.0,
    }
}

fn at(mut v: Visit, when: DateTime<Utc>) -> Visit {
    v.at = when;
    v
}

#[derive(Clone, Copy, PartialEq)]
enum End {
    Completed { flagged: bool },
    NotHome,
    Cancelled,
}

fn draw_end<R: Rng>(rng: &mut R) -> End {
    let u: f64 = rng.random();
    if u < 0.01 {
        End::Cancelled
    } else if u < 0.025 {
        End::NotHome
    } else {
        End::Completed { flagged: rng.random_bool(0.01) }
    }
}

const CANCEL_REASONS: [&str; 4] = ["老人临时外出", "家属接回家中", "老人身体不适改期", "家属已安排"];

pub fn generate(rng: &mut ChaCha8Rng, alarm_rng: &mut ChaCha8Rng, inp: Inputs<'_>, t: &Timeline) -> History {
    let shift_days = shift_days(inp.workforce);
    let mut g = Gen { inp, shift_days, out: History::default() };
    let pools = meal_pools(&g);
    let alarms = alarm_schedule(alarm_rng, t);
    let family_stage: BTreeSet<usize> = if alarms.len() >= 3 {
        let k = (alarms.len() / 15).clamp(1, 2);
        let mut picks = BTreeSet::new();
        while picks.len() < k {
            picks.insert(alarm_rng.random_range(0..alarms.len()));
        }
        picks
    } else {
        BTreeSet::new()
    };
    let mut event_ids = BTreeSet::new();
    let mut next_alarm = 0;
    let mut day = t.start;
    while day < t.today {
        let due: Vec<&Plan> = g.inp.plans.iter().filter(|p| due_on(p, day)).collect();
        let canteens: Vec<&Station> = g.inp.stations.iter().filter(|s| s.kind == "canteen").collect();
        for (ci, canteen) in canteens.iter().enumerate() {
            let meals: Vec<&Plan> =
                due.iter().copied().filter(|p| p.kind == "meal_delivery" && p.station_id == Some(canteen.id)).collect();
            meal_routes(&mut g, rng, canteen, &pools[ci], &meals, day);
        }
        for plan in due.iter().filter(|p| p.kind != "meal_delivery") {
            visit(&mut g, rng, plan, day);
        }
        while next_alarm < alarms.len() && local_date(alarms[next_alarm]) == day {
            alarm(&mut g, alarm_rng, alarms[next_alarm], family_stage.contains(&next_alarm), &mut event_ids);
            next_alarm += 1;
        }
        day += Duration::days(1);
    }
    g.out
}

/// Meal-capable responders per canteen (same order as the canteens), nearest
/// first; every such responder belongs to the pool of their nearest canteen.
fn meal_pools(g: &Gen<'_>) -> Vec<Vec<usize>> {
    let canteens: Vec<&Station> = g.inp.stations.iter().filter(|s| s.kind == "canteen").collect();
    let rs = g.responders();
    let mut capable: Vec<usize> = (0..rs.len()).filter(|&i| rs[i].has("meal_delivery")).collect();
    if capable.is_empty() {
        capable = (0..rs.len()).collect();
    }
    let dist = |i: usize, c: &Station| distance_m(rs[i].home_latitude, rs[i].home_longitude, c.latitude, c.longitude);
    let mut pools: Vec<Vec<usize>> = vec![Vec::new(); canteens.len()];
    for &i in &capable {
        let nearest = (0..canteens.len()).min_by(|&a, &b| dist(i, canteens[a]).total_cmp(&dist(i, canteens[b])));
        if let Some(c) = nearest {
            pools[c].push(i);
        }
    }
    for (c, pool) in pools.iter_mut().enumerate() {
        if pool.is_empty() {
            pool.clone_from(&capable);
        }
        pool.sort_by(|&a, &b| dist(a, canteens[c]).total_cmp(&dist(b, canteens[c])).then(a.cmp(&b)));
    }
    pools
}

fn meal_routes(
    g: &mut Gen<'_>,
    rng: &mut ChaCha8Rng,
    canteen: &Station,
    pool: &[usize],
    meals: &[&Plan],
    day: NaiveDate,
) {
    if meals.is_empty() || pool.is_empty() {
        return;
    }
    // Sweep order around the canteen gives compact routes.
    let mut stops: Vec<(&Plan, &Senior)> = meals.iter().map(|p| (*p, g.senior(p.senior_id))).collect();
    let bearing = |s: &Senior| (s.longitude - canteen.longitude).atan2(s.latitude - canteen.latitude);
    stops.sort_by(|a, b| bearing(a.1).total_cmp(&bearing(b.1)).then(a.0.id.cmp(&b.0.id)));
    let mut used = BTreeSet::new();
    let mut route = 0;
    let mut next = 0;
    while next < stops.len() {
        // The route's courier: the pool member for this route number, or the next
        // one available today.
        let courier = (0..pool.len())
            .map(|k| pool[(route + k) % pool.len()])
            .find(|&i| !used.contains(&i) && g.available(i, day))
            .or_else(|| (0..pool.len()).map(|k| pool[(route + k) % pool.len()]).find(|&i| !used.contains(&i)))
            .unwrap_or(pool[route % pool.len()]);
        used.insert(courier);
        let r = &g.responders()[courier];
        // What one courier carries: a walker a few meals, a bicycle or e-bike more.
        let mode_capacity = match r.travel_mode {
            "walk" => 5,
            "bicycle" => 8,
            _ => 10,
        };
        let capacity = (r.max_concurrent.max(1) as usize).min(mode_capacity);
        let depart = local_hm(day, 11, 0) + Duration::seconds(rng.random_range(0..600));
        let last_arrival = local_hm(day, 12, 20);
        let mut clock = depart;
        let mut here = (canteen.latitude, canteen.longitude);
        let mut k = 0;
        while next < stops.len() && k < capacity {
            let (plan, s) = stops[next];
            let travel = distance_m(here.0, here.1, s.latitude, s.longitude) / r.speed_mps();
            let arrival = clock + Duration::seconds(travel.round() as i64 + rng.random_range(20..90));
            if k > 0 && arrival > last_arrival {
                break;
            }
            let details = json!({ "route": route + 1, "stop": k + 1 });
            let end = draw_end(rng);
            let handover = Duration::seconds(rng.random_range(60..240));
            let from = (canteen.latitude, canteen.longitude);
            plan_task(g, rng, plan, s, day, courier, &[], details, depart, from, arrival, handover, end);
            clock = arrival + handover;
            here = (s.latitude, s.longitude);
            next += 1;
            k += 1;
        }
        route += 1;
    }
}

/// A nursing or housekeeping visit, offered to up to three caregivers.
fn visit(g: &mut Gen<'_>, rng: &mut ChaCha8Rng, plan: &Plan, day: NaiveDate) {
    let s = g.senior(plan.senior_id);
    let skill = if plan.kind == "home_bed" { "nursing" } else { "housekeeping" };
    let rs = g.responders();
    let by_distance = |list: &mut Vec<usize>| {
        list.sort_by(|&a, &b| {
            let pa = Some(rs[a].id) == plan.preferred_responder_id;
            let pb = Some(rs[b].id) == plan.preferred_responder_id;
            pb.cmp(&pa)
                .then(
                    distance_m(s.latitude, s.longitude, rs[a].home_latitude, rs[a].home_longitude)
                        .total_cmp(&distance_m(s.latitude, s.longitude, rs[b].home_latitude, rs[b].home_longitude)),
                )
                .then(a.cmp(&b))
        });
    };
    let mut candidates: Vec<usize> = (0..rs.len())
        .filter(|&i| rs[i].has(skill) && rs[i].communities.contains(&s.community_id) && g.available(i, day))
        .collect();
    if candidates.is_empty() {
        candidates = (0..rs.len()).filter(|&i| rs[i].has(skill) && g.available(i, day)).collect();
    }
    if candidates.is_empty() {
        candidates = (0..rs.len()).filter(|&i| rs[i].has(skill)).collect();
    }
    if candidates.is_empty() {
        candidates = (0..rs.len()).collect();
    }
    if candidates.is_empty() {
        return;
    }
    by_distance(&mut candidates);
    candidates.truncate(3);
    let accepting = if candidates.len() > 1 && rng.random_bool(0.15) { 1 } else { 0 };
    let courier = candidates[accepting];
    let r = &rs[courier];
    let window_start = local(day, plan.window_start);
    let arrival = window_start + Duration::minutes(rng.random_range(-10..45));
    let travel = distance_m(r.home_latitude, r.home_longitude, s.latitude, s.longitude) / r.speed_mps();
    let depart = arrival - Duration::seconds(travel.round() as i64 + rng.random_range(30..240));
    let duration = if plan.kind == "home_bed" {
        Duration::minutes(rng.random_range(30..60))
    } else {
        Duration::minutes(rng.random_range(100..130))
    };
    let others: Vec<(usize, bool)> =
        candidates.iter().enumerate().filter(|(k, _)| *k != accepting).map(|(k, &i)| (i, k < accepting)).collect();
    let end = draw_end(rng);
    plan_task(
        g,
        rng,
        plan,
        s,
        day,
        courier,
        &others,
        json!({}),
        depart,
        (r.home_latitude, r.home_longitude),
        arrival,
        duration,
        end,
    );
}

/// Writes one recurring task with its offers and events.
///
/// `others` are the responders also offered the task, with whether they declined
/// before the assignee accepted (otherwise their offer is withdrawn).
#[allow(clippy::too_many_arguments)]
fn plan_task(
    g: &mut Gen<'_>,
    rng: &mut ChaCha8Rng,
    plan: &Plan,
    s: &Senior,
    day: NaiveDate,
    assignee: usize,
    others: &[(usize, bool)],
    details: Value,
    depart: DateTime<Utc>,
    depart_from: (f64, f64),
    arrival: DateTime<Utc>,
    on_site_for: Duration,
    end: End,
) {
    let id = g.next_task_id();
    let r = &g.responders()[assignee];
    let created = local_hm(day - Duration::days(1), 18, 0);
    let offered = created + Duration::seconds(rng.random_range(1..30));
    let accepted = if plan.kind == "meal_delivery" && rng.random_bool(0.3) {
        local_hm(day, 7, 30) + Duration::seconds(rng.random_range(0..7200))
    } else {
        offered + Duration::seconds(rng.random_range(120..10_800))
    };
    let cancel_at = local_hm(day, 8, 0) + Duration::seconds(rng.random_range(0..7200));
    let cancelled_before_accept = end == End::Cancelled && cancel_at < accepted;
    let worker = (g.inp.worker_of)(s.community_id);

    let mut steps = vec![
        Step { details: json!({ "source": "plan", "plan_id": plan.id }), ..step("created", None, "system", created) },
        Step {
            details: json!({ "round": 1, "responder_ids": std::iter::once(r.id).chain(others.iter().map(|(i, _)| g.responders()[*i].id)).collect::<Vec<_>>() }),
            ..step("offered", None, "system", offered)
        },
    ];
    let home = (s.latitude, s.longitude);
    // Offers: the assignee's, then the others'.
    let assignee_offer = if cancelled_before_accept { "withdrawn" } else { "accepted" };
    g.offer(id, r, assignee_offer, 1, home, (offered, (!cancelled_before_accept).then_some(accepted)));
    for &(i, declined) in others {
        let other = &g.inp.workforce.responders[i];
        let responded = offered + Duration::seconds(rng.random_range(60..3600));
        if declined {
            g.offer(id, other, "declined", 1, home, (offered, Some(responded.min(accepted))));
        } else {
            g.offer(id, other, "withdrawn", 1, home, (offered, None));
        }
    }

    let mut task = Task {
        id,
        kind: plan.kind,
        senior_id: s.id,
        community_id: s.community_id,
        plan_id: Some(plan.id),
        station_id: plan.station_id,
        service_date: Some(day),
        window_start: Some(local(day, plan.window_start)),
        window_end: Some(local(day, plan.window_end)),
        priority: priority(plan.kind),
        status: "completed",
        assignee_id: Some(r.id),
        escalation_level: 0,
        check_in: None,
        check_out: None,
        visit_flagged: false,
        outcome: None,
        failure_reason: None,
        notes: None,
        fee_fen: plan.fee_fen,
        price_fen: plan.price_fen,
        details,
        created_by: None,
        created_at: created,
        updated_at: created,
        completed_at: None,
        version: 1,
    };
    if !cancelled_before_accept {
        steps.push(step("accepted", Some(r.user_id), "user", accepted));
    }
    match end {
        End::Cancelled => {
            let reason = pick(rng, &CANCEL_REASONS);
            steps.push(Step { details: json!({ "reason": reason }), ..step("cancelled", worker, "user", cancel_at) });
            task.status = "cancelled";
            task.notes = Some(reason.to_owned());
            if cancelled_before_accept {
                task.assignee_id = None;
            }
        }
        End::NotHome => {
            steps.push(Step {
                pos: Some(depart_from),
                ..step("en_route", Some(r.user_id), "user", depart.max(accepted))
            });
            let door = near(rng, s, false);
            let failed_at = arrival.max(accepted) + Duration::minutes(rng.random_range(3..9));
            steps.push(Step {
                pos: Some((door.latitude, door.longitude)),
                details: json!({ "reason": "not_home" }),
                ..step("failed", Some(r.user_id), "user", failed_at)
            });
            task.status = "failed";
            task.failure_reason = Some("not_home");
            task.notes = Some("敲门无人应答，已电话联系家属".to_owned());
        }
        End::Completed { flagged } => {
            let depart = depart.max(accepted);
            let arrival = arrival.max(depart + Duration::seconds(60));
            steps.push(Step { pos: Some(depart_from), ..step("en_route", Some(r.user_id), "user", depart) });
            let check_in = at(near(rng, s, flagged), arrival);
            let check_out = at(if flagged { near(rng, s, true) } else { near(rng, s, false) }, arrival + on_site_for);
            steps.push(Step {
                pos: Some((check_in.latitude, check_in.longitude)),
                details: json!({ "distance_m": check_in.distance_m }),
                ..step("on_site", Some(r.user_id), "user", check_in.at)
            });
            steps.push(Step {
                pos: Some((check_out.latitude, check_out.longitude)),
                details: json!({ "distance_m": check_out.distance_m }),
                ..step("completed", Some(r.user_id), "user", check_out.at)
            });
            task.visit_flagged = flagged;
            if flagged {
                task.notes = Some("签到位置距老人住址超过100米".to_owned());
            }
            task.completed_at = Some(check_out.at);
            task.check_in = Some(check_in);
            task.check_out = Some(check_out);
        }
    }
    task.updated_at = steps.last().map_or(created, |s| s.at);
    task.version = g.events(id, steps);
    g.out.tasks.push(task);
}

/// When the bells ring: 3–6 alarms a week, mostly in the day and evening.
fn alarm_schedule(rng: &mut ChaCha8Rng, t: &Timeline) -> Vec<DateTime<Utc>> {
    let hours: Vec<f64> = (0..24)
        .map(|h| {
            if h < 6 {
                0.3
            } else if h < 22 {
                1.0
            } else {
                0.5
            }
        })
        .collect();
    let mut out = Vec::new();
    let weeks = (t.days() + 6) / 7;
    for w in 0..weeks {
        for _ in 0..rng.random_range(3..=6) {
            let day = t.start + Duration::days(w * 7 + rng.random_range(0..7));
            let hour = weighted_index(rng, &hours) as u32;
            let at = local_hm(day, hour, rng.random_range(0..60)) + Duration::seconds(rng.random_range(0..60));
            if day < t.today {
                out.push(at);
            }
        }
    }
    out.sort();
    out
}

fn alarm(
    g: &mut Gen<'_>,
    rng: &mut ChaCha8Rng,
    received: DateTime<Utc>,
    family: bool,
    event_ids: &mut BTreeSet<(i64, String)>,
) {
    let devices = g.inp.devices;
    let weights: Vec<f64> = devices
        .iter()
        .map(|d| {
            let s = g.senior(d.senior_id);
            let active = s.status == "active" || local(s.status_since, crate::util::hm(0, 0)) > received;
            if !active || d.created_at >= received {
                return 0.0;
            }
            let f = &s.decision.flags;
            1.0 + if f.contains(&"disabled") { 2.0 } else { 0.0 }
                + if f.contains(&"oldest_old") { 1.5 } else { 0.0 }
                + if f.contains(&"alone") { 1.0 } else { 0.0 }
        })
        .collect();
    if weights.iter().all(|w| *w <= 0.0) {
        return;
    }
    let device = &devices[weighted_index(rng, &weights)];
    let s = g.senior(device.senior_id);
    let day = local_date(received);
    let rs = g.responders();
    let dist = |i: usize| distance_m(s.latitude, s.longitude, rs[i].home_latitude, rs[i].home_longitude);
    let mut near_first: Vec<usize> =
        (0..rs.len()).filter(|&i| rs[i].has("emergency_response") && g.available(i, day)).collect();
    if near_first.is_empty() {
        near_first = (0..rs.len()).collect();
    }
    if near_first.is_empty() {
        return;
    }
    near_first.sort_by(|&a, &b| dist(a).total_cmp(&dist(b)).then(a.cmp(&b)));
    let round1: Vec<usize> = near_first.iter().copied().take(3).collect();
    let delay =
        if family { rng.random_range(190..=420) } else { 10 + (110.0 * rng.random::<f64>().powf(1.8)).round() as i64 };
    let widened = delay > 60;
    let round2: Vec<usize> = if widened { near_first.iter().copied().skip(3).take(4).collect() } else { Vec::new() };
    let acceptor = if !round2.is_empty() && rng.random_bool(0.7) {
        round2[rng.random_range(0..round2.len())]
    } else {
        round1[weighted_index(rng, &[0.5, 0.3, 0.2][..round1.len()])]
    };
    let r = &rs[acceptor];
    let accepted_at = received + Duration::seconds(delay);
    let travel = (dist(acceptor) / r.speed_mps() + 60.0).clamp(240.0, 1200.0) as i64;
    let arrived_at = accepted_at + Duration::seconds(travel + rng.random_range(0..60));
    let outcome = *crate::util::pick_weighted(
        rng,
        &[("false_alarm", 0.45), ("helped_at_home", 0.40), ("sent_to_hospital", 0.15)],
    );
    let (on_site, note) = match outcome {
        "false_alarm" => (rng.random_range(5..15), "误触急救铃，老人状况良好"),
        "helped_at_home" => (rng.random_range(20..50), "老人在家中跌倒，已协助起身并测量血压，通知家属"),
        _ => (rng.random_range(30..90), "疑似急症，已协助拨打120送往天津医科大学总医院，家属已到场"),
    };
    let closed_at = arrived_at + Duration::minutes(on_site);
    let event_id = loop {
        let candidate = random_hex(rng, 8);
        if event_ids.insert((device.id, candidate.clone())) {
            break candidate;
        }
    };
    let occurred_at = received - Duration::seconds(rng.random_range(1..5));
    let body = format!(r#"{{"event_id":"{event_id}","occurred_at":"{}"}}"#, occurred_at.to_rfc3339());
    let request_hash = hex::encode(Sha256::digest(body.as_bytes()));

    let id = g.next_task_id();
    let home = (s.latitude, s.longitude);
    let ids = |list: &[usize]| list.iter().map(|&i| rs[i].id).collect::<Vec<_>>();
    let mut steps = vec![
        Step {
            details: json!({ "source": "bell", "device_id": device.id, "event_id": event_id }),
            ..step("created", None, "device", received)
        },
        Step {
            details: json!({ "round": 1, "responder_ids": ids(&round1) }),
            ..step("offered", None, "system", received + Duration::seconds(1))
        },
    ];
    if widened {
        steps.push(Step {
            to: "",
            details: json!({ "round": 2, "responder_ids": ids(&round2) }),
            ..step("widened", None, "system", received + Duration::seconds(60))
        });
    }
    let family_at = received + Duration::seconds(180);
    if family {
        steps.push(Step {
            to: "",
            details: json!({ "contacts_notified": 1, "call_120_flagged": true }),
            ..step("family_notified", None, "system", family_at)
        });
    }
    for &i in &round1 {
        let status = if i == acceptor {
            "accepted"
        } else if rng.random_bool(0.25) {
            "declined"
        } else {
            "withdrawn"
        };
        let responded = match status {
            "accepted" => Some(accepted_at),
            "declined" => Some(received + Duration::seconds(rng.random_range(5..delay.clamp(6, 60)))),
            _ => None,
        };
        g.offer(id, &rs[i], status, 1, home, (received + Duration::seconds(1), responded));
    }
    for &i in &round2 {
        let status = if i == acceptor { "accepted" } else { "withdrawn" };
        g.offer(
            id,
            &rs[i],
            status,
            2,
            home,
            (received + Duration::seconds(60), (i == acceptor).then_some(accepted_at)),
        );
    }
    steps.push(step("accepted", Some(r.user_id), "user", accepted_at));
    steps.push(Step {
        pos: Some((r.home_latitude, r.home_longitude)),
        ..step("en_route", Some(r.user_id), "user", accepted_at + Duration::seconds(rng.random_range(5..40)))
    });
    let check_in = at(near(rng, s, false), arrived_at);
    let check_out = at(near(rng, s, false), closed_at);
    steps.push(Step {
        pos: Some((check_in.latitude, check_in.longitude)),
        details: json!({ "distance_m": check_in.distance_m }),
        ..step("on_site", Some(r.user_id), "user", arrived_at)
    });
    steps.push(Step {
        pos: Some((check_out.latitude, check_out.longitude)),
        details: json!({ "outcome": outcome }),
        ..step("completed", Some(r.user_id), "user", closed_at)
    });
    let version = g.events(id, steps);
    g.out.tasks.push(Task {
        id,
        kind: "emergency",
        senior_id: s.id,
        community_id: s.community_id,
        plan_id: None,
        station_id: None,
        service_date: Some(day),
        window_start: Some(received),
        window_end: Some(received + Duration::minutes(15)),
        priority: priority("emergency"),
        status: "completed",
        assignee_id: Some(r.id),
        escalation_level: if family {
            2
        } else if widened {
            1
        } else {
            0
        },
        check_in: Some(check_in),
        check_out: Some(check_out),
        visit_flagged: false,
        outcome: Some(outcome),
        failure_reason: None,
        notes: Some(note.to_owned()),
        fee_fen: 0,
        price_fen: 0,
        details: json!({ "source": "bell", "device_id": device.id, "event_id": event_id }),
        created_by: None,
        created_at: received,
        updated_at: closed_at,
        completed_at: Some(closed_at),
        version,
    });
    g.out.alarms.push(Alarm {
        id: g.inp.base.alarms + g.out.alarms.len() as i64 + 1,
        device_id: device.id,
        senior_id: s.id,
        community_id: s.community_id,
        event_id,
        request_hash,
        task_id: Some(id),
        occurred_at: Some(occurred_at),
        received_at: received,
        stage: "closed",
        accepted_at: Some(accepted_at),
        arrived_at: Some(arrived_at),
        family_notified_at: family.then_some(family_at),
        call_120_flagged_at: family.then_some(family_at),
        outcome: Some(outcome),
        closed_at: Some(closed_at),
    });
}
