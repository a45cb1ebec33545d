//! Accounts, service stations and the responders (caregivers and volunteers) with
//! their shifts and absences.

use chrono::{Datelike, Duration, NaiveDate};
use h3o::Resolution;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::Timeline;
use crate::district::{Community, cell};
use crate::identity::{Gender, full_name, mobile};
use crate::model::{Absence, IdBase, Position, Responder, Shift, Station, User};
use crate::util::{distance_m, hm, local_hm, offset, pick, pick_weighted};

pub const DEMO_PASSWORD: &str = "linli-demo";

/// Users, with the index ranges of the kinds the other generators need.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub users: Vec<User>,
    pub user_communities: Vec<(i64, i64)>,
    /// The community worker (`worker01`..) per community, same order.
    pub community_workers: Vec<i64>,
    pub logins: Vec<(String, String, String)>,
}

fn login(username: &str, role: &str) -> (String, String, String) {
    (username.to_owned(), role.to_owned(), DEMO_PASSWORD.to_owned())
}

/// The demo logins, one worker per community, and a user per responder (the
/// responder rows themselves come from [`responders`]). Every username ends with
/// `suffix` (empty for the demo; a city's further tiles number theirs).
#[allow(clippy::too_many_arguments)]
pub fn accounts(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    communities: &[Community],
    caregivers: usize,
    volunteers: usize,
    t: &Timeline,
    suffix: &str,
) -> Accounts {
    let mut users = Vec::new();
    let created_at = local_hm(t.setup, 9, 0);
    let mut push = |username: String, display_name: String, role: &'static str, phone: Option<String>| {
        let id = base.users + users.len() as i64 + 1;
        let username = format!("{username}{suffix}");
        users.push(User { id, username, display_name, role, phone, created_at });
        id
    };
    push("admin".into(), "系统管理员".into(), "admin", None);
    push("bureau".into(), "区民政局 周慧敏".into(), "bureau", Some(mobile(rng)));
    let demo_worker = push("worker".into(), "王丽娟".into(), "worker", Some(mobile(rng)));
    push("caregiver".into(), "张海燕".into(), "caregiver", Some(mobile(rng)));
    push("volunteer".into(), "李文博".into(), "volunteer", Some(mobile(rng)));
    let mut community_workers = Vec::new();
    for (i, _) in communities.iter().enumerate() {
        let gender = if rng.random_bool(0.75) { Gender::Female } else { Gender::Male };
        let year = rng.random_range(1970..1995);
        let name = full_name(rng, gender, year);
        community_workers.push(push(format!("worker{:02}", i + 1), name, "worker", Some(mobile(rng))));
    }
    for i in 0..caregivers {
        let gender = if rng.random_bool(0.8) { Gender::Female } else { Gender::Male };
        let year = rng.random_range(1968..2000);
        let name = full_name(rng, gender, year);
        push(format!("cg{:03}", i + 1), name, "caregiver", Some(mobile(rng)));
    }
    for i in 0..volunteers {
        let gender = if rng.random_bool(0.6) { Gender::Female } else { Gender::Male };
        let year = rng.random_range(1955..2006);
        let name = full_name(rng, gender, year);
        push(format!("vol{:03}", i + 1), name, "volunteer", Some(mobile(rng)));
    }
    let mut user_communities = Vec::new();
    for c in communities.iter().take(2) {
        user_communities.push((demo_worker, c.id));
    }
    for (worker, c) in community_workers.iter().zip(communities) {
        user_communities.push((*worker, c.id));
    }
    user_communities.sort_unstable();
    let mut logins: Vec<_> = ["admin", "bureau", "worker", "caregiver", "volunteer"]
        .iter()
        .map(|u| login(&format!("{u}{suffix}"), u))
        .collect();
    logins.push(login(&format!("worker01{suffix}"), "worker"));
    if caregivers > 0 {
        logins.push(login(&format!("cg001{suffix}"), "caregiver"));
    }
    if volunteers > 0 {
        logins.push(login(&format!("vol001{suffix}"), "volunteer"));
    }
    Accounts { users, user_communities, community_workers, logins }
}

/// Canteens (长者食堂 / 助餐点), service stations (养老服务驿站) and a day-care centre,
/// placed in fixed communities.
pub fn stations(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    communities: &[Community],
    resolution: Resolution,
    t: &Timeline,
) -> anyhow::Result<Vec<Station>> {
    let plan: [(usize, &str, &str, Option<i32>); 8] = [
        (1, "canteen", "劝业场街道老年助餐中心", Some(150)),
        (4, "canteen", "南营门街道长者食堂", Some(120)),
        (7, "canteen", "小白楼街道老年助餐点", Some(120)),
        (0, "service_station", "兴安路社区养老服务驿站", None),
        (3, "service_station", "承德道社区养老服务驿站", None),
        (5, "service_station", "新文化花园社区养老服务驿站", None),
        (6, "service_station", "曲阜道社区养老服务驿站", None),
        (2, "day_care", "劝业场街道日间照料中心", None),
    ];
    let mut out = Vec::new();
    for (i, (community, kind, name, meal_capacity)) in plan.into_iter().enumerate() {
        let Some(c) = communities.get(community % communities.len().max(1)) else { continue };
        let (latitude, longitude) = c.random_point(rng);
        let road = pick(rng, c.roads);
        out.push(Station {
            id: base.stations + i as i64 + 1,
            community_id: Some(c.id),
            kind,
            name: name.to_owned(),
            address: format!("{}{road}{}号", c.district, rng.random_range(1..=200)),
            latitude,
            longitude,
            cell: cell(latitude, longitude, resolution)?,
            meal_capacity,
            created_at: local_hm(t.setup, 9, 30),
        });
    }
    Ok(out)
}

/// Communities adjacent to `index` in the 4 x 2 layout of the demo district.
fn neighbours(index: usize, n: usize) -> Vec<usize> {
    let (row, col) = (index / 4, index % 4);
    let mut out = Vec::new();
    if col > 0 {
        out.push(index - 1);
    }
    if col < 3 && index + 1 < n {
        out.push(index + 1);
    }
    let other = (1 - row) * 4 + col;
    if other < n {
        out.push(other);
    }
    out
}

#[derive(Debug, Clone)]
pub struct Workforce {
    pub responders: Vec<Responder>,
    pub shifts: Vec<Shift>,
    pub absences: Vec<Absence>,
}

/// A responder's weekly caregiver shifts: weekdays in one of three patterns, and
/// sometimes a weekend day.
fn caregiver_shifts(rng: &mut ChaCha8Rng, standard: bool) -> Vec<(i16, u32, u32)> {
    let (start, end) =
        if standard { (8, 17) } else { *pick_weighted(rng, &[((8, 17), 0.7), ((7, 15), 0.15), ((10, 19), 0.15)]) };
    let mut out: Vec<(i16, u32, u32)> = (1..=5).map(|d| (d, start, end)).collect();
    if !standard && rng.random_bool(0.2) {
        out.push((6, 8, 17));
    }
    if !standard && rng.random_bool(0.1) {
        out.push((7, 8, 14));
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub fn responders(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    accounts: &Accounts,
    communities: &[Community],
    caregivers: usize,
    volunteers: usize,
    resolution: Resolution,
    t: &Timeline,
) -> anyhow::Result<Workforce> {
    // The demo caregiver and volunteer (users 4 and 5), then cgNNN, then volNNN.
    let demo_caregiver_user = base.users + 4;
    let demo_volunteer_user = base.users + 5;
    let first_cg_user = base.users + 5 + communities.len() as i64 + 1;
    let mut plan: Vec<(i64, &'static str, bool)> =
        vec![(demo_caregiver_user, "caregiver", true), (demo_volunteer_user, "volunteer", true)];
    plan.extend((0..caregivers).map(|i| (first_cg_user + i as i64, "caregiver", false)));
    plan.extend((0..volunteers).map(|i| (first_cg_user + (caregivers + i) as i64, "volunteer", false)));
    debug_assert!(plan.iter().all(|(u, _, _)| accounts.users.iter().any(|x| x.id == *u)));

    let mut out = Workforce { responders: Vec::new(), shifts: Vec::new(), absences: Vec::new() };
    for (i, (user_id, kind, demo)) in plan.into_iter().enumerate() {
        let id = base.responders + i as i64 + 1;
        let caregiver = kind == "caregiver";
        let home_index = if demo { 0 } else { rng.random_range(0..communities.len()) };
        let home = &communities[home_index];
        let (home_latitude, home_longitude) = home.random_point(rng);
        let nurse = caregiver && (demo || rng.random_bool(0.3));
        let mut skills: Vec<&'static str> = Vec::new();
        let maybe = |skills: &mut Vec<&'static str>, skill: &'static str, p: f64, rng: &mut ChaCha8Rng| {
            if rng.random_bool(p) {
                skills.push(skill);
            }
        };
        if demo && caregiver {
            skills = vec!["nursing", "bathing", "housekeeping", "companionship", "emergency_response"];
        } else if demo {
            skills = vec!["meal_delivery", "companionship", "emergency_response"];
        } else if nurse {
            maybe(&mut skills, "meal_delivery", 0.05, rng);
            skills.push("nursing");
            maybe(&mut skills, "bathing", 0.5, rng);
            maybe(&mut skills, "companionship", 0.4, rng);
            maybe(&mut skills, "emergency_response", 0.7, rng);
        } else if caregiver {
            maybe(&mut skills, "meal_delivery", 0.3, rng);
            maybe(&mut skills, "housekeeping", 0.8, rng);
            maybe(&mut skills, "bathing", 0.5, rng);
            maybe(&mut skills, "companionship", 0.6, rng);
            maybe(&mut skills, "emergency_response", 0.4, rng);
        } else {
            maybe(&mut skills, "meal_delivery", 0.6, rng);
            maybe(&mut skills, "housekeeping", 0.12, rng);
            maybe(&mut skills, "companionship", 0.7, rng);
            maybe(&mut skills, "emergency_response", 0.25, rng);
        }
        if skills.is_empty() {
            skills.push(if caregiver { "housekeeping" } else { "companionship" });
        }
        let (nursing_licence, licence_expires_on) = if nurse {
            let year = rng.random_range(2008..2024);
            let licence = format!("{year}12{:06}", rng.random_range(0..1_000_000));
            // Registrations run five years; a few are already past or about to lapse.
            let expires = if rng.random_bool(0.08) {
                t.today - Duration::days(rng.random_range(1..90))
            } else {
                t.today + Duration::days(rng.random_range(20..1800))
            };
            (Some(licence), Some(expires))
        } else {
            (None, None)
        };
        let travel_mode = if demo && caregiver {
            "ebike"
        } else if demo {
            "bicycle"
        } else if caregiver {
            *pick_weighted(rng, &[("ebike", 0.6), ("bicycle", 0.25), ("walk", 0.15)])
        } else {
            *pick_weighted(rng, &[("walk", 0.5), ("bicycle", 0.35), ("ebike", 0.15)])
        };
        let max_concurrent = if skills.contains(&"meal_delivery") {
            rng.random_range(6..=10)
        } else if caregiver {
            rng.random_range(2..=3)
        } else {
            rng.random_range(1..=2)
        };
        let on_duty = demo || rng.random_bool(if caregiver { 0.45 } else { 0.15 });
        let last = if on_duty {
            // Somewhere on their rounds within the district, a few hundred metres from home.
            let (mut lat, mut lon) = (home_latitude, home_longitude);
            for _ in 0..20 {
                let metres = rng.random_range(20.0..500.0);
                let bearing = rng.random_range(0.0..std::f64::consts::TAU);
                (lat, lon) = offset(home_latitude, home_longitude, metres, bearing);
                if communities.iter().any(|c| c.contains(lat, lon)) {
                    break;
                }
                (lat, lon) = (home_latitude, home_longitude);
            }
            Some(Position {
                latitude: lat,
                longitude: lon,
                accuracy_m: f64::from(rng.random_range(5..=30)),
                cell: cell(lat, lon, resolution)?,
                seen_at: t.now - Duration::seconds(rng.random_range(10..900)),
            })
        } else {
            None
        };
        let mut served: Vec<i64> = vec![home.id];
        if demo {
            served = communities.iter().take(2).map(|c| c.id).collect();
        } else {
            for n in neighbours(home_index, communities.len()) {
                if rng.random_bool(0.55) {
                    served.push(communities[n].id);
                }
            }
        }
        served.sort_unstable();
        served.dedup();
        let created_at = local_hm(t.setup + Duration::days(rng.random_range(1..60)), 10, rng.random_range(0..60));
        out.responders.push(Responder {
            id,
            user_id,
            kind,
            skills,
            nursing_licence,
            licence_expires_on,
            home_latitude,
            home_longitude,
            home_cell: cell(home_latitude, home_longitude, resolution)?,
            travel_mode,
            max_concurrent,
            on_duty,
            last,
            communities: served,
            created_at,
        });
        if caregiver {
            for (weekday, start, end) in caregiver_shifts(rng, demo) {
                out.shifts.push(Shift {
                    id: base.shifts + out.shifts.len() as i64 + 1,
                    responder_id: id,
                    weekday,
                    starts_at: hm(start, 0),
                    ends_at: hm(end, 0),
                });
            }
        }
        if !demo && rng.random_bool(if caregiver { 0.08 } else { 0.02 }) {
            let starts_on = t.start - Duration::days(10) + Duration::days(rng.random_range(0..(t.days() + 30)));
            let ends_on = starts_on + Duration::days(rng.random_range(0..7));
            let (reason, note) = *pick_weighted(
                rng,
                &[(("leave", Some("年假")), 0.45), (("sick", Some("病假")), 0.4), (("other", Some("家中有事")), 0.15)],
            );
            out.absences.push(Absence {
                id: base.absences + out.absences.len() as i64 + 1,
                responder_id: id,
                starts_on,
                ends_on,
                reason,
                note: note.map(str::to_owned),
            });
        }
    }
    Ok(out)
}

/// Whether a responder can take work on `date`: not absent, and a caregiver only on
/// a day with a shift.
pub fn available(w: &Workforce, shifts_by_responder: &[Vec<i16>], index: usize, date: NaiveDate) -> bool {
    let r = &w.responders[index];
    let absent = w.absences.iter().any(|a| a.responder_id == r.id && a.starts_on <= date && date <= a.ends_on);
    if absent {
        return false;
    }
    r.kind == "volunteer" || shifts_by_responder[index].contains(&(date.weekday().number_from_monday() as i16))
}

/// Weekdays with a shift, per responder (same order as `responders`).
pub fn shift_days(w: &Workforce) -> Vec<Vec<i16>> {
    let first = w.responders.first().map_or(0, |r| r.id);
    let mut out = vec![Vec::new(); w.responders.len()];
    for s in &w.shifts {
        if let Some(days) = out.get_mut((s.responder_id - first) as usize) {
            days.push(s.weekday);
        }
    }
    out
}

/// The nearest station of `kind` to a point.
pub fn nearest_station<'a>(stations: &'a [Station], kind: &str, lat: f64, lon: f64) -> Option<&'a Station> {
    stations.iter().filter(|s| s.kind == kind).min_by(|a, b| {
        distance_m(lat, lon, a.latitude, a.longitude).total_cmp(&distance_m(lat, lon, b.latitude, b.longitude))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_follow_the_grid() {
        assert_eq!(neighbours(0, 8), vec![1, 4]);
        assert_eq!(neighbours(5, 8), vec![4, 6, 1]);
        assert_eq!(neighbours(7, 8), vec![6, 3]);
    }
}
