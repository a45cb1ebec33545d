//! Service plans: lunch delivery from the canteens, weekly home-bed nursing visits
//! for tier A/B seniors, and weekly or fortnightly housekeeping.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::Timeline;
use crate::model::{IdBase, Plan, Responder, Senior, Station};
use crate::tier::{Living, Tier};
use crate::util::{distance_m, hm, local_date, local_hm, pick_weighted, weighted_sample};
use crate::workforce::nearest_station;

/// List prices in fen.
pub const MEAL_PRICE_FEN: i64 = 1500;
pub const HOME_BED_PRICE_FEN: i64 = 8000;
pub const HOUSEKEEPING_PRICE_FEN: i64 = 5000;

fn scaled(per_3000: usize, seniors: usize) -> usize {
    ((per_3000 * seniors) as f64 / 3000.0).round() as usize
}

fn eligible(s: &Senior, t: &Timeline) -> bool {
    matches!(s.status, "active" | "hospitalised")
        && s.living != Living::Institution
        && local_date(s.created_at) < t.today - Duration::days(1)
}

fn flag(s: &Senior, f: &str) -> bool {
    s.decision.flags.contains(&f)
}

/// The day a plan starts: mostly before the history window, some within it.
fn starts_on(rng: &mut ChaCha8Rng, s: &Senior, t: &Timeline) -> NaiveDate {
    let registered = local_date(s.created_at) + Duration::days(1);
    let (lo, hi) = if registered < t.start && rng.random_bool(0.85) {
        (registered, t.start)
    } else {
        (registered.max(t.start), t.today)
    };
    lo + Duration::days(rng.random_range(0..(hi - lo).num_days().max(1)))
}

/// The nearest responder with `skill` serving the senior's community.
fn preferred(responders: &[Responder], skill: &str, s: &Senior) -> Option<i64> {
    responders
        .iter()
        .filter(|r| r.kind == "caregiver" && r.has(skill) && r.communities.contains(&s.community_id))
        .min_by(|a, b| {
            let da = distance_m(s.latitude, s.longitude, a.home_latitude, a.home_longitude);
            let db = distance_m(s.latitude, s.longitude, b.home_latitude, b.home_longitude);
            da.total_cmp(&db).then(a.id.cmp(&b.id))
        })
        .map(|r| r.id)
}

pub fn plans(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    seniors: &[Senior],
    stations: &[Station],
    responders: &[Responder],
    t: &Timeline,
) -> Vec<Plan> {
    let n = seniors.len();
    let mut out: Vec<Plan> = Vec::new();
    let mut add = |rng: &mut ChaCha8Rng, s: &Senior, mut plan: Plan| {
        plan.id = base.plans + out.len() as i64 + 1;
        plan.senior_id = s.id;
        plan.fee_fen = s.economic.fee_fen(plan.price_fen);
        plan.starts_on = starts_on(rng, s, t);
        plan.created_at =
            local_hm(plan.starts_on - Duration::days(rng.random_range(1..5)), 10, rng.random_range(0..60));
        plan.created_at = plan.created_at.max(s.created_at + Duration::hours(1));
        plan.created_by = s.created_by;
        if s.status == "hospitalised" {
            plan.status = "suspended";
            plan.suspended_from = Some(s.status_since);
        }
        out.push(plan);
    };
    let template = Plan {
        id: 0,
        senior_id: 0,
        kind: "",
        weekdays: Vec::new(),
        interval_weeks: 1,
        window_start: hm(0, 0),
        window_end: hm(0, 0),
        starts_on: t.today,
        ends_on: None,
        fee_fen: 0,
        price_fen: 0,
        station_id: None,
        preferred_responder_id: None,
        details: json!({}),
        status: "active",
        suspended_from: None,
        suspended_until: None,
        created_by: None,
        created_at: local_hm(t.today, 0, 0),
    };

    // Lunch delivery.
    let weights: Vec<f64> = seniors
        .iter()
        .map(|s| {
            if !eligible(s, t) {
                return 0.0;
            }
            0.25 + if flag(s, "alone") { 1.5 } else { 0.0 }
                + if flag(s, "oldest_old") { 1.0 } else { 0.0 }
                + if flag(s, "disabled") { 1.0 } else { 0.0 }
                + if flag(s, "destitute") || flag(s, "subsistence") { 1.5 } else { 0.0 }
                + if s.economic == crate::tier::Economic::LowIncome { 0.5 } else { 0.0 }
                + if flag(s, "cognitive_impairment") { 0.5 } else { 0.0 }
        })
        .collect();
    for i in weighted_sample(rng, &weights, scaled(250, n)) {
        let s = &seniors[i];
        let canteen = nearest_station(stations, "canteen", s.latitude, s.longitude);
        let options: [(Vec<u32>, f64); 3] =
            [((1..=5).collect(), 0.55), ((1..=6).collect(), 0.3), ((1..=7).collect(), 0.15)];
        let weekdays = pick_weighted(rng, &options).clone();
        let diet = s.medical_notes["diet"].as_str().unwrap_or("").to_owned();
        let plan = Plan {
            kind: "meal_delivery",
            weekdays,
            window_start: hm(11, 0),
            window_end: hm(12, 30),
            price_fen: MEAL_PRICE_FEN,
            station_id: canteen.map(|c| c.id),
            details: json!({ "meal": "lunch", "diet": diet, "portion": if s.age >= 85 { "small" } else { "standard" } }),
            ..template.clone()
        };
        add(rng, s, plan);
    }

    // Home-bed nursing visits for tier A and B.
    let weights: Vec<f64> = seniors
        .iter()
        .map(|s| match s.decision.tier {
            _ if !eligible(s, t) => 0.0,
            Tier::A => 2.0 + if flag(s, "disabled") { 1.0 } else { 0.0 },
            Tier::B => 1.0 + if flag(s, "disabled") { 1.0 } else { 0.0 },
            _ => 0.0,
        })
        .collect();
    for i in weighted_sample(rng, &weights, scaled(60, n)) {
        let s = &seniors[i];
        let station = nearest_station(stations, "service_station", s.latitude, s.longitude);
        let morning = rng.random_bool(0.6);
        let services: Vec<&str> = ["生命体征监测", "用药指导", "压疮护理", "康复训练", "血糖监测", "导尿管护理"]
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k < 2 || rng.random_bool(0.3))
            .map(|(_, v)| v)
            .collect();
        let nurse = preferred(responders, "nursing", s);
        let plan = Plan {
            kind: "home_bed",
            weekdays: vec![rng.random_range(1..=5)],
            window_start: if morning { hm(9, 0) } else { hm(14, 0) },
            window_end: if morning { hm(11, 0) } else { hm(16, 0) },
            price_fen: HOME_BED_PRICE_FEN,
            station_id: station.map(|c| c.id),
            preferred_responder_id: nurse,
            details: json!({ "services": services, "preferred_responder_id": nurse }),
            ..template.clone()
        };
        add(rng, s, plan);
    }

    // Housekeeping.
    let weights: Vec<f64> = seniors
        .iter()
        .map(|s| {
            if !eligible(s, t) {
                return 0.0;
            }
            0.3 + if flag(s, "alone") { 1.5 } else { 0.0 }
                + if flag(s, "oldest_old") { 1.0 } else { 0.0 }
                + if flag(s, "disabled") { 0.8 } else { 0.0 }
                + if s.assessment.dependency == crate::assessment::Dependency::Mild { 0.5 } else { 0.0 }
        })
        .collect();
    for i in weighted_sample(rng, &weights, scaled(150, n)) {
        let s = &seniors[i];
        let station = nearest_station(stations, "service_station", s.latitude, s.longitude);
        let interval_weeks = if rng.random_bool(0.6) { 1 } else { 2 };
        let morning = rng.random_bool(0.55);
        let helper = preferred(responders, "housekeeping", s);
        let items: Vec<&str> = ["室内清洁", "洗衣晾晒", "厨房清理", "整理床铺", "代购生活用品"]
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k == 0 || rng.random_bool(0.45))
            .map(|(_, v)| v)
            .collect();
        let plan = Plan {
            kind: "housekeeping",
            weekdays: vec![rng.random_range(1..=6)],
            interval_weeks,
            window_start: if morning { hm(9, 0) } else { hm(14, 0) },
            window_end: if morning { hm(11, 0) } else { hm(16, 0) },
            price_fen: HOUSEKEEPING_PRICE_FEN,
            station_id: station.map(|c| c.id),
            preferred_responder_id: helper,
            details: json!({
                "interval_weeks": interval_weeks,
                "hours": 2,
                "items": items,
                "preferred_responder_id": helper,
            }),
            ..template.clone()
        };
        add(rng, s, plan);
    }
    out
}

/// Whether a plan produces a task on `date`.
pub fn due_on(plan: &Plan, date: NaiveDate) -> bool {
    use chrono::Datelike;
    if date < plan.starts_on || plan.ends_on.is_some_and(|end| date > end) {
        return false;
    }
    if plan.suspended_from.is_some_and(|from| date >= from) && plan.suspended_until.is_none_or(|until| date <= until) {
        return false;
    }
    if !plan.weekdays.contains(&date.weekday().number_from_monday()) {
        return false;
    }
    if plan.interval_weeks > 1 {
        let weeks = (date - plan.starts_on).num_days().div_euclid(7);
        return weeks % i64::from(plan.interval_weeks) == 0;
    }
    true
}
