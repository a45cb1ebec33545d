//! Tests of the whole pure generation: determinism, distributions, consistency.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{Datelike, Duration, NaiveDate};
use h3o::{LatLng, Resolution};

use super::*;
use crate::assessment::Dependency;
use crate::identity::gender_of_resident_id;
use crate::model::Demo;
use crate::people::age_on;
use crate::util::{distance_m, local_date};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn full_options() -> DemoOptions {
    DemoOptions::new(20261123, today())
}

/// The default-sized demo, generated once for all tests here.
fn full() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| generate(&full_options(), &IdBase::default()).unwrap())
}

fn share<T>(items: &[T], pred: impl Fn(&T) -> bool) -> f64 {
    items.iter().filter(|x| pred(x)).count() as f64 / items.len() as f64
}

#[test]
fn the_same_options_generate_the_same_district() {
    let opts = DemoOptions { seniors: 400, history_days: 14, ..full_options() };
    let a = generate(&opts, &IdBase::default()).unwrap();
    let b = generate(&opts, &IdBase::default()).unwrap();
    assert_eq!(a, b);
    let c = generate(&DemoOptions { seed: 7, ..opts }, &IdBase::default()).unwrap();
    assert_ne!(a.seniors, c.seniors, "another seed gives other seniors");
    assert_eq!(a.communities, c.communities, "the geography is fixed");
}

#[test]
fn ids_continue_after_the_given_base() {
    let opts = DemoOptions { seniors: 100, history_days: 7, ..full_options() };
    let base = IdBase { users: 3, seniors: 10, tasks: 100, events: 1000, ..IdBase::default() };
    let d = generate(&opts, &base).unwrap();
    assert_eq!(d.users[0].id, 4);
    assert_eq!(d.seniors[0].id, 11);
    assert_eq!(d.tasks[0].id, 101);
    assert_eq!(d.events[0].id, 1001);
    assert!(d.tasks.iter().all(|t| t.senior_id > 10));
    assert!(d.responders.iter().all(|r| d.users.iter().any(|u| u.id == r.user_id)));
}

#[test]
fn sizes_match_the_brief() {
    let d = full();
    let s = DemoSummary::of(d);
    assert_eq!(s.communities, 8);
    assert_eq!(s.seniors, 3000);
    assert_eq!(s.caregivers, 81, "cg001..cg080 and the demo caregiver");
    assert_eq!(s.volunteers, 201, "vol001..vol200 and the demo volunteer");
    assert!((2..=3).contains(&d.stations.iter().filter(|s| s.kind == "canteen").count()));
    assert_eq!(s.devices, 240);
    let plans = |k: &str| d.plans.iter().filter(|p| p.kind == k).count();
    assert_eq!(plans("meal_delivery"), 250);
    assert_eq!(plans("home_bed"), 60);
    assert_eq!(plans("housekeeping"), 150);
    assert!((10_000..20_000).contains(&s.tasks), "{} tasks", s.tasks);
    let weeks = 60.0 / 7.0;
    assert!((s.alarms as f64) >= 3.0 * weeks - 4.0 && (s.alarms as f64) <= 6.0 * weeks + 1.0, "{} alarms", s.alarms);
}

#[test]
fn seniors_follow_realistic_distributions() {
    let s = &full().seniors;
    let age = |lo: u8, hi: u8| share(s, |x| (lo..=hi).contains(&x.age));
    assert!((0.51..0.59).contains(&age(60, 69)), "{}", age(60, 69));
    assert!((0.26..0.34).contains(&age(70, 79)));
    assert!((0.10..0.16).contains(&age(80, 89)));
    assert!((0.01..0.04).contains(&age(90, 100)));
    let male = share(s, |x| x.gender == identity::Gender::Male);
    assert!((0.42..0.50).contains(&male), "{male}");
    let living = |l: Living| share(s, |x| x.living == l);
    assert!((0.10..0.15).contains(&living(Living::Alone)), "{}", living(Living::Alone));
    assert!((0.31..0.39).contains(&living(Living::Couple)));
    assert!(living(Living::Institution) < 0.025);
    let econ = |e: Economic| share(s, |x| x.economic == e);
    assert!((0.003..0.02).contains(&econ(Economic::Destitute)));
    assert!((0.025..0.055).contains(&econ(Economic::Subsistence)));
    assert!((0.06..0.10).contains(&econ(Economic::LowIncome)));
    let dependent = share(s, |x| x.assessment.barthel.total() <= 60);
    assert!((0.12..0.18).contains(&dependent), "{dependent}");
    let intact = share(s, |x| x.assessment.spmsq_errors <= 2);
    assert!(intact > 0.8, "{intact}");
    let outside = share(s, |x| x.outside_boundary);
    assert!((0.004..0.02).contains(&outside), "{outside}");
    let old_dependent =
        share(&s.iter().filter(|x| x.age >= 80).collect::<Vec<_>>(), |x| x.assessment.barthel.total() <= 60);
    assert!(old_dependent > 2.0 * dependent, "older seniors are more dependent");
}

#[test]
fn seniors_are_internally_consistent() {
    let d = full();
    let mut hashes = BTreeSet::new();
    for s in &d.seniors {
        assert!(is_valid_resident_id(&s.id_number), "{}", s.id_number);
        assert_eq!(&s.id_number[..6], "120101");
        assert_eq!(s.id_number[6..14], s.birth_date.format("%Y%m%d").to_string());
        assert_eq!(gender_of_resident_id(&s.id_number), Some(s.gender));
        assert!(hashes.insert(s.id_number.clone()), "ID numbers are unique");
        assert_eq!(age_on(s.birth_date, today()), s.age);
        assert!(s.assessment.barthel.is_valid());
        assert_eq!(s.assessment.dependency, Dependency::from_total(s.assessment.barthel.total()));
        assert!(s.assessment.spmsq_errors <= 10);
        let phone = &s.phone;
        assert!(phone.len() == 11 && phone.starts_with('1'));
        assert!(s.address.starts_with("和平区"));
        let c = d.communities.iter().find(|c| c.id == s.community_id).unwrap();
        assert_eq!(c.contains(s.latitude, s.longitude), !s.outside_boundary);
        let cell = LatLng::new(s.latitude, s.longitude).unwrap().to_cell(Resolution::Nine);
        assert_eq!(s.cell, u64::from(cell) as i64);
        if !s.outside_boundary {
            assert!(c.cells.binary_search(&s.cell).is_ok(), "a senior inside lies in a community cell");
        }
        let input = TierInput {
            age: s.age,
            living: s.living,
            economic: s.economic,
            dependency: s.assessment.dependency,
            barthel_total: s.assessment.barthel.total(),
            cognition: s.assessment.cognition,
            spmsq_errors: s.assessment.spmsq_errors,
        };
        assert_eq!(decide_tier(&input), s.decision);
        assert!(s.created_at < s.assessment.assessed_at);
        assert!(local_date(s.created_at) < today());
        let contacts: Vec<_> = d.contacts.iter().filter(|c| c.senior_id == s.id).collect();
        assert!((1..=3).contains(&contacts.len()));
        assert_eq!(
            contacts.iter().map(|c| c.call_order).collect::<Vec<_>>(),
            (1..=contacts.len() as i32).collect::<Vec<_>>()
        );
        assert!(contacts.iter().filter(|c| c.is_keyholder).count() <= 1);
        let children: BTreeSet<char> = contacts
            .iter()
            .filter(|c| c.relation == "儿子" || c.relation == "女儿")
            .filter_map(|c| c.name.chars().next())
            .collect();
        assert!(children.len() <= 1, "siblings share a surname: {contacts:?}");
    }
    let tiers: BTreeMap<&str, usize> = d.seniors.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.decision.tier.as_str()).or_default() += 1;
        m
    });
    assert_eq!(tiers.len(), 4, "{tiers:?}");
    assert_eq!(d.consents.len(), d.seniors.len() * 2);
}

#[test]
fn bells_go_mostly_to_seniors_alone_or_dependent() {
    let d = full();
    let with_bell: Vec<_> = d.seniors.iter().filter(|s| s.has_bell).collect();
    assert_eq!(with_bell.len(), d.devices.len());
    let at_risk = share(&with_bell, |s| s.decision.flags.iter().any(|f| *f == "alone" || *f == "disabled"));
    assert!(at_risk > 0.6, "{at_risk}");
    let prefixes: BTreeSet<_> = d.devices.iter().map(|x| x.api_key.clone()).collect();
    assert_eq!(prefixes.len(), d.devices.len());
}

#[test]
fn plans_charge_by_economic_status_and_home_beds_serve_tiers_a_and_b() {
    let d = full();
    let senior = |id: i64| &d.seniors[(id - 1) as usize];
    for p in &d.plans {
        let s = senior(p.senior_id);
        assert_eq!(p.fee_fen, s.economic.fee_fen(p.price_fen));
        if p.kind == "home_bed" {
            assert!(s.decision.tier <= Tier::B);
        }
        if p.kind == "meal_delivery" {
            assert_eq!((p.window_start, p.window_end), (util::hm(11, 0), util::hm(12, 30)));
            assert_eq!(p.price_fen, 1500);
        }
        assert!(p.created_at <= util::local_hm(p.starts_on, 23, 59));
    }
}

#[test]
fn the_history_is_consistent() {
    let d = full();
    let start = today() - Duration::days(60);
    let mut plan_days = BTreeSet::new();
    let mut events_by_task: BTreeMap<i64, Vec<&model::Event>> = BTreeMap::new();
    for e in &d.events {
        events_by_task.entry(e.task_id).or_default().push(e);
    }
    let mut offer_pairs = BTreeSet::new();
    for o in &d.offers {
        assert!(offer_pairs.insert((o.task_id, o.responder_id)), "one offer per responder and task");
    }
    let plans: BTreeMap<i64, &model::Plan> = d.plans.iter().map(|p| (p.id, p)).collect();
    let mut flagged = 0;
    for t in &d.tasks {
        let day = t.service_date.unwrap();
        assert!(day >= start && day < today(), "history ends yesterday");
        if let Some(plan) = t.plan_id {
            assert!(plan_days.insert((plan, day)), "unique (plan_id, service_date)");
            let p = plans[&plan];
            assert!(plans::due_on(p, day));
            assert_eq!((t.fee_fen, t.price_fen), (p.fee_fen, p.price_fen));
            assert_eq!(
                day.weekday().number_from_monday(),
                *p.weekdays.iter().find(|w| **w == day.weekday().number_from_monday()).unwrap()
            );
        }
        let events = &events_by_task[&t.id];
        assert_eq!(events[0].kind, "created");
        let mut status = None;
        let mut last = events[0].at;
        let mut transitions = 0;
        for e in events {
            assert!(e.at >= last, "events are in time order");
            last = e.at;
            if let Some(to) = e.to_status {
                assert_eq!(e.from_status, status, "task {} event {}", t.id, e.kind);
                status = Some(to);
                transitions += 1;
            }
        }
        assert_eq!(status, Some(t.status));
        assert_eq!(transitions, t.version);
        assert_eq!(t.updated_at, last);
        match t.status {
            "completed" => {
                let (i, o) = (t.check_in.as_ref().unwrap(), t.check_out.as_ref().unwrap());
                assert!(i.at < o.at);
                assert_eq!(t.completed_at, Some(o.at));
                assert_eq!(t.visit_flagged, i.distance_m > 100.0);
                let s = &d.seniors[(t.senior_id - 1) as usize];
                let dd = distance_m(s.latitude, s.longitude, i.latitude, i.longitude);
                assert!((dd - i.distance_m).abs() < 0.2);
                flagged += usize::from(t.visit_flagged);
                assert!(t.assignee_id.is_some());
                let accepted = d.offers.iter().filter(|o| o.task_id == t.id && o.status == "accepted").count();
                assert_eq!(accepted, 1);
            }
            "failed" => assert_eq!(t.failure_reason, Some("not_home")),
            "cancelled" => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(flagged > 20, "{flagged} flagged visits");
    let failed = d.tasks.iter().filter(|t| t.status == "failed").count();
    assert!(failed > 50, "{failed}");
    let meals_in_window = share(
        &d.tasks.iter().filter(|t| t.kind == "meal_delivery" && t.status == "completed").collect::<Vec<_>>(),
        |t| {
            let at = t.check_in.as_ref().unwrap().at;
            at >= t.window_start.unwrap() && at <= t.window_end.unwrap()
        },
    );
    assert!(meals_in_window > 0.97, "{meals_in_window}");
}

#[test]
fn alarms_are_answered_as_the_brief_describes() {
    let d = full();
    let mut family = 0;
    let mut outcomes = BTreeSet::new();
    for a in &d.alarms {
        let task = d.tasks.iter().find(|t| Some(t.id) == a.task_id).unwrap();
        assert_eq!(task.kind, "emergency");
        assert_eq!(task.priority, 0);
        let accept = (a.accepted_at.unwrap() - a.received_at).num_seconds();
        let arrive = (a.arrived_at.unwrap() - a.accepted_at.unwrap()).num_seconds();
        if a.family_notified_at.is_some() {
            family += 1;
            assert!(accept > 180);
            assert_eq!(task.escalation_level, 2);
        } else {
            assert!((10..=120).contains(&accept), "{accept}");
        }
        assert!((240..=1260).contains(&arrive), "{arrive}");
        assert_eq!(a.stage, "closed");
        assert_eq!(task.outcome, a.outcome);
        outcomes.insert(a.outcome.unwrap());
        let device = d.devices.iter().find(|x| x.id == a.device_id).unwrap();
        assert_eq!(device.senior_id, a.senior_id);
        assert!(device.created_at < a.received_at);
        assert_eq!(a.request_hash.len(), 64);
        let offers = d.offers.iter().filter(|o| o.task_id == task.id).count();
        assert!(offers >= 1);
    }
    assert_eq!(family, 2);
    assert_eq!(outcomes.len(), 3);
}

#[test]
fn accounts_cover_every_role_and_workers_are_scoped() {
    let d = full();
    let names: BTreeSet<&str> = d.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names.len(), d.users.len());
    for u in ["admin", "bureau", "worker", "caregiver", "volunteer", "worker01", "worker08", "cg080", "vol200"] {
        assert!(names.contains(u), "{u}");
    }
    let worker = d.users.iter().find(|u| u.username == "worker").unwrap();
    let scope: Vec<i64> = d.user_communities.iter().filter(|(u, _)| *u == worker.id).map(|(_, c)| *c).collect();
    assert_eq!(scope, vec![d.communities[0].id, d.communities[1].id]);
    for (i, c) in d.communities.iter().enumerate() {
        let head = d.users.iter().find(|u| u.id == d.community_heads[i]).unwrap();
        assert_eq!(head.username, format!("worker{:02}", i + 1));
        assert!(d.user_communities.contains(&(head.id, c.id)));
    }
    for (_, role, password) in &d.logins {
        assert_eq!(password, "linli-demo");
        assert!(["admin", "bureau", "worker", "caregiver", "volunteer"].contains(&role.as_str()));
    }
    let nurses: Vec<_> = d.responders.iter().filter(|r| r.has("nursing")).collect();
    assert!(nurses.iter().all(|r| r.nursing_licence.is_some() && r.licence_expires_on.is_some()));
    assert!(
        d.responders.iter().filter(|r| r.kind == "caregiver").all(|r| d.shifts.iter().any(|s| s.responder_id == r.id))
    );
    assert!(d.shifts.iter().any(|s| s.weekday >= 6), "a few weekend shifts");
    assert!(!d.absences.is_empty());
    assert!(d.responders.iter().filter(|r| r.on_duty).all(|r| r.last.is_some()));
    for p in d.responders.iter().filter_map(|r| r.last.as_ref()) {
        assert!(
            d.communities.iter().any(|c| c.contains(p.latitude, p.longitude)),
            "duty positions lie in the district"
        );
    }
}
