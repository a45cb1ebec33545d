//! Seniors with their assessment, tier, contacts and consents; bell devices.

use chrono::{Datelike, Duration, NaiveDate};
use h3o::Resolution;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeSet;

use crate::Timeline;
use crate::assessment::{Cognition, Dependency, draw_barthel, draw_spmsq};
use crate::district::{Community, cell};
use crate::identity::{Gender, full_name, given_name, mobile, resident_id, surname};
use crate::model::{Assessment, Consent, Contact, Device, IdBase, Senior};
use crate::tier::{Economic, Living, Tier, TierInput, decide};
use crate::util::{local_hm, pick, pick_weighted, random_hex, weighted_index, weighted_sample};

/// Relative size of each community's senior population.
const COMMUNITY_WEIGHTS: [f64; 8] = [1.0, 1.3, 0.9, 1.1, 1.2, 0.8, 1.0, 1.1];

/// Age on `today`: 55% 60–69, 30% 70–79, 13% 80–89, 2% 90–100, thinning with age
/// inside the older bands.
pub fn draw_age<R: Rng>(rng: &mut R) -> u8 {
    match weighted_index(rng, &[0.55, 0.30, 0.13, 0.02]) {
        0 => 60 + rng.random_range(0..10),
        1 => 70 + rng.random_range(0..10),
        2 => {
            let w: Vec<f64> = (0..10).map(|k| 1.0 - 0.07 * f64::from(k)).collect();
            80 + weighted_index(rng, &w) as u8
        }
        _ => {
            let w: Vec<f64> = (0..=10).map(|k| 1.0 - 0.09 * f64::from(k)).collect();
            90 + weighted_index(rng, &w) as u8
        }
    }
}

fn years_before(date: NaiveDate, years: i32) -> NaiveDate {
    let year = date.year() - years;
    date.with_year(year).or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28)).unwrap_or(date)
}

/// A birth date such that the person is exactly `age` on `today`.
pub fn birth_date<R: Rng>(rng: &mut R, today: NaiveDate, age: u8) -> NaiveDate {
    let latest = years_before(today, i32::from(age));
    let earliest = years_before(today, i32::from(age) + 1) + Duration::days(1);
    let span = (latest - earliest).num_days().max(0);
    earliest + Duration::days(rng.random_range(0..=span))
}

/// Age in whole years on `on`.
#[cfg(test)]
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u8 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.clamp(0, 255) as u8
}

fn draw_gender<R: Rng>(rng: &mut R, age: u8) -> Gender {
    let p_male = match age {
        0..=69 => 0.48,
        70..=79 => 0.45,
        80..=89 => 0.40,
        _ => 0.35,
    };
    if rng.random_bool(p_male) { Gender::Male } else { Gender::Female }
}

/// Living arrangement by age: about 12% alone, 35% couple only, 1% institution.
fn draw_living<R: Rng>(rng: &mut R, age: u8) -> Living {
    let (alone, couple, institution) = match age {
        0..=69 => (0.09, 0.42, 0.005),
        70..=79 => (0.14, 0.33, 0.01),
        80..=89 => (0.20, 0.18, 0.025),
        _ => (0.22, 0.08, 0.06),
    };
    let family = 1.0 - alone - couple - institution;
    *pick_weighted(
        rng,
        &[
            (Living::Alone, alone),
            (Living::Couple, couple),
            (Living::WithFamily, family),
            (Living::Institution, institution),
        ],
    )
}

/// Economic status: about 1% 特困 (mostly people living alone), 4% 低保, 8% low
/// income.
fn draw_economic<R: Rng>(rng: &mut R, living: Living) -> Economic {
    let destitute = if living == Living::Alone { 0.05 } else { 0.0045 };
    *pick_weighted(
        rng,
        &[
            (Economic::Destitute, destitute),
            (Economic::Subsistence, 0.04),
            (Economic::LowIncome, 0.08),
            (Economic::Ordinary, 1.0 - destitute - 0.12),
        ],
    )
}

fn medical_notes<R: Rng>(rng: &mut R, age: u8, dependency: Dependency, cognition: Cognition) -> serde_json::Value {
    let older = f64::from(age.saturating_sub(60)) / 40.0;
    let candidates: [(&str, f64); 11] = [
        ("高血压", 0.45 + 0.15 * older),
        ("糖尿病", 0.18),
        ("冠心病", 0.10 + 0.10 * older),
        ("骨关节炎", 0.15 + 0.15 * older),
        ("慢性阻塞性肺疾病", 0.07),
        ("脑卒中后遗症", if dependency >= Dependency::Moderate { 0.30 } else { 0.03 }),
        ("骨质疏松", 0.08 + 0.10 * older),
        ("白内障", 0.06 + 0.15 * older),
        ("慢性肾病", 0.04),
        ("帕金森病", 0.015),
        ("阿尔茨海默病", if cognition >= Cognition::Moderate { 0.6 } else { 0.0 }),
    ];
    let chronic: Vec<&str> = candidates.iter().filter(|(_, p)| rng.random_bool(p.min(1.0))).map(|(n, _)| *n).collect();
    let allergies: Vec<&str> = [("青霉素", 0.05), ("磺胺类药物", 0.02), ("海鲜", 0.02), ("花粉", 0.01)]
        .iter()
        .filter(|(_, p)| rng.random_bool(*p))
        .map(|(n, _)| *n)
        .collect();
    let mut diet = String::new();
    if chronic.contains(&"高血压") || chronic.contains(&"冠心病") {
        diet.push_str("低盐低脂");
    }
    if chronic.contains(&"糖尿病") {
        diet.push_str(if diet.is_empty() { "低糖" } else { "、低糖" });
    }
    if dependency == Dependency::Severe || chronic.contains(&"帕金森病") {
        diet.push_str(if diet.is_empty() { "软食" } else { "、软食" });
    }
    json!({ "chronic": chronic, "allergies": allergies, "diet": diet })
}

#[derive(Debug, Clone)]
pub struct People {
    pub seniors: Vec<Senior>,
    pub contacts: Vec<Contact>,
    pub consents: Vec<Consent>,
}

/// `n` seniors spread over the communities; `workers[i]` is the worker of
/// community `i`, who registers and assesses its seniors.
pub fn seniors(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    communities: &[Community],
    workers: &[i64],
    n: usize,
    resolution: Resolution,
    t: &Timeline,
) -> anyhow::Result<People> {
    let weights: Vec<f64> = (0..communities.len()).map(|i| COMMUNITY_WEIGHTS[i % COMMUNITY_WEIGHTS.len()]).collect();
    let mut ids_seen = BTreeSet::new();
    let mut out = People { seniors: Vec::with_capacity(n), contacts: Vec::new(), consents: Vec::new() };
    for i in 0..n {
        let id = base.seniors + i as i64 + 1;
        let ci = weighted_index(rng, &weights);
        let community = &communities[ci];
        let worker = workers[ci];
        let age = draw_age(rng);
        let mut birth = birth_date(rng, t.today, age);
        if years_before(birth, -60) >= t.today {
            // Turning 60 today: make it yesterday, so registration can precede today.
            birth -= Duration::days(1);
        }
        let gender = draw_gender(rng, age);
        let name = full_name(rng, gender, birth.year());
        let id_number = loop {
            let candidate = resident_id(rng, birth, gender, &communities[ci].area_code);
            if ids_seen.insert(candidate.clone()) {
                break candidate;
            }
        };
        let living = draw_living(rng, age);
        let economic = draw_economic(rng, living);
        let barthel = draw_barthel(rng, age);
        let dependency = barthel.dependency();
        let spmsq_errors = draw_spmsq(rng, age, dependency);
        let cognition = Cognition::from_errors(spmsq_errors);
        let decision = decide(&TierInput {
            age,
            living,
            economic,
            dependency,
            barthel_total: barthel.total(),
            cognition,
            spmsq_errors,
        });
        let outside_boundary = rng.random_bool(0.01);
        let (latitude, longitude) =
            if outside_boundary { community.point_just_outside(rng) } else { community.random_point(rng) };

        // Registered (and first assessed) after turning 60, mostly before the history.
        let sixty = years_before(birth, -60);
        let lo = sixty.max(t.setup + Duration::days(7));
        let hi = if lo < t.start { t.start - Duration::days(1) } else { (t.today - Duration::days(1)).max(lo) };
        let registered_on = lo + Duration::days(rng.random_range(0..=(hi - lo).num_days().max(0)));
        let registered_at = local_hm(registered_on, rng.random_range(9..16), rng.random_range(0..60));
        let (status, status_since) = match weighted_index(rng, &[0.975, 0.015, 0.006, 0.004]) {
            0 => ("active", registered_on),
            k => {
                let since = (t.today - Duration::days(rng.random_range(1..=if k == 1 { 30 } else { 60 })))
                    .max(registered_on + Duration::days(1));
                (["active", "hospitalised", "moved_away", "deceased"][k], since)
            }
        };
        let months = if decision.tier <= Tier::B { 180 } else { 365 };
        let notes = match cognition {
            Cognition::Moderate | Cognition::Severe => Some("部分问题由家属协助回答".to_owned()),
            _ if dependency == Dependency::Severe => Some("长期卧床，需专人照护".to_owned()),
            _ => None,
        };
        let medical = medical_notes(rng, age, dependency, cognition);
        let senior = Senior {
            id,
            community_id: community.id,
            name: name.clone(),
            gender,
            birth_date: birth,
            age,
            id_number,
            phone: mobile(rng),
            address: community.address(rng),
            latitude,
            longitude,
            cell: cell(latitude, longitude, resolution)?,
            outside_boundary,
            living,
            economic,
            medical_notes: medical,
            status,
            status_since,
            has_bell: false,
            reassessment_due_on: registered_on + Duration::days(months),
            created_by: Some(worker),
            created_at: registered_at,
            assessment: Assessment {
                id: base.assessments + i as i64 + 1,
                assessor_id: Some(worker),
                assessed_at: registered_at + Duration::minutes(rng.random_range(10..50)),
                barthel,
                dependency,
                spmsq_errors,
                cognition,
                notes,
            },
            tier_change_id: base.tier_changes + i as i64 + 1,
            decision,
        };
        contacts(rng, base, &senior, &mut out.contacts);
        consents(rng, base, &senior, worker, &out.contacts, &mut out.consents);
        out.seniors.push(senior);
    }
    Ok(out)
}

fn contacts<R: Rng>(rng: &mut R, base: &IdBase, s: &Senior, out: &mut Vec<Contact>) {
    let birth_year = s.birth_date.year();
    let mut list: Vec<(String, &'static str)> = Vec::new();
    // Children (and a son's children) carry the father's surname.
    let senior_surname: String = s.name.chars().take(1).collect();
    let father = if s.gender == Gender::Male { senior_surname } else { surname(rng).to_owned() };
    if s.living == Living::Couple {
        let year = birth_year + rng.random_range(-5..=5);
        let spouse = match s.gender {
            Gender::Female => format!("{father}{}", given_name(rng, Gender::Male, year)),
            Gender::Male => full_name(rng, Gender::Female, year),
        };
        list.push((spouse, "配偶"));
    }
    if s.economic == Economic::Destitute {
        // 特困 seniors have no legal supporters: relatives further out, neighbours.
        let relation = pick(rng, &["侄子", "外甥女", "侄女"]);
        let gender = if relation == "侄子" { Gender::Male } else { Gender::Female };
        let year = birth_year + rng.random_range(20..35);
        list.push((full_name(rng, gender, year), relation));
    } else {
        let children = rng.random_range(1..=2);
        for _ in 0..children {
            let year = birth_year + rng.random_range(22..36);
            let (gender, relation) =
                if rng.random_bool(0.5) { (Gender::Male, "儿子") } else { (Gender::Female, "女儿") };
            list.push((format!("{father}{}", given_name(rng, gender, year)), relation));
        }
        if s.living == Living::WithFamily && rng.random_bool(0.3) {
            let relation = pick(rng, &["儿媳", "女婿", "孙子", "孙女"]);
            let gender = if matches!(relation, "女婿" | "孙子") { Gender::Male } else { Gender::Female };
            let year = birth_year + rng.random_range(24..50);
            let name = if matches!(relation, "孙子" | "孙女") {
                format!("{father}{}", given_name(rng, gender, year))
            } else {
                full_name(rng, gender, year)
            };
            list.push((name, relation));
        }
    }
    if s.living == Living::Alone && rng.random_bool(0.5) {
        let gender = if rng.random_bool(0.6) { Gender::Female } else { Gender::Male };
        let year = birth_year + rng.random_range(-10..20);
        list.push((full_name(rng, gender, year), "邻居"));
    }
    list.truncate(3);
    let keyholder = match s.living {
        Living::Alone => list.iter().position(|(_, r)| *r == "邻居").or(Some(0)),
        Living::Institution => None,
        _ => rng.random_bool(0.5).then_some(0),
    };
    for (k, (name, relation)) in list.into_iter().enumerate() {
        out.push(Contact {
            id: base.contacts + out.len() as i64 + 1,
            senior_id: s.id,
            name,
            relation,
            phone: mobile(rng),
            call_order: k as i32 + 1,
            is_keyholder: keyholder == Some(k),
            created_at: s.created_at,
        });
    }
}

/// Consent scopes recorded at registration.
pub const CONSENT_SCOPES: [&str; 2] = ["health_to_responders", "notify_family"];

fn consents<R: Rng>(rng: &mut R, base: &IdBase, s: &Senior, worker: i64, contacts: &[Contact], out: &mut Vec<Consent>) {
    let guardian = s.assessment.cognition >= Cognition::Moderate;
    let guardian_name = if guardian {
        contacts.iter().rev().find(|c| c.senior_id == s.id && c.call_order == 1).map(|c| c.name.clone())
    } else {
        None
    };
    for scope in CONSENT_SCOPES {
        let granted = rng.random_bool(if scope == "health_to_responders" { 0.97 } else { 0.99 });
        out.push(Consent {
            id: base.consents + out.len() as i64 + 1,
            senior_id: s.id,
            scope,
            granted,
            granted_by: if guardian { "guardian" } else { "senior" },
            guardian_name: guardian_name.clone(),
            recorded_by: worker,
            recorded_at: s.assessment.assessed_at,
        });
    }
}

/// Emergency bells for about 8% of the seniors, mostly those living alone or
/// dependent. Marks `has_bell` on the chosen seniors.
pub fn devices(
    rng: &mut ChaCha8Rng,
    base: &IdBase,
    seniors: &mut [Senior],
    workers_by_community: &dyn Fn(i64) -> Option<i64>,
    t: &Timeline,
) -> Vec<Device> {
    let weights: Vec<f64> = seniors
        .iter()
        .map(|s| {
            let eligible = matches!(s.status, "active" | "hospitalised")
                && s.living != Living::Institution
                && s.created_at < local_hm(t.start - Duration::days(1), 0, 0);
            if !eligible {
                return 0.0;
            }
            let f = &s.decision.flags;
            0.15 + if f.contains(&"alone") { 2.0 } else { 0.0 }
                + if f.contains(&"disabled") { 1.5 } else { 0.0 }
                + if f.contains(&"oldest_old") { 0.6 } else { 0.0 }
                + if f.contains(&"cognitive_impairment") { 0.4 } else { 0.0 }
        })
        .collect();
    let k = (seniors.len() as f64 * 0.08).round() as usize;
    let chosen = weighted_sample(rng, &weights, k);
    let mut out = Vec::with_capacity(chosen.len());
    for index in chosen {
        let s = &mut seniors[index];
        s.has_bell = true;
        let from = crate::util::local_date(s.created_at) + Duration::days(1);
        let span = (t.start - from).num_days().max(1);
        let on = from + Duration::days(rng.random_range(0..span));
        let label = pick(rng, &["卧室急救铃", "随身急救铃", "客厅急救铃", "一键呼叫器"]);
        out.push(Device {
            id: base.devices + out.len() as i64 + 1,
            senior_id: s.id,
            label: label.to_owned(),
            api_key: format!("lb_{}", random_hex(rng, 20)),
            created_by: workers_by_community(s.community_id),
            created_at: local_hm(on, rng.random_range(9..17), rng.random_range(0..60)),
            last_seen_at: Some(t.now - Duration::seconds(rng.random_range(30..3600))),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{Stream, rng};

    #[test]
    fn birth_dates_give_the_drawn_age() {
        let mut r = rng(21, Stream::Seniors);
        for today in [NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()] {
            for _ in 0..2000 {
                let age = draw_age(&mut r);
                assert!((60..=100).contains(&age));
                let b = birth_date(&mut r, today, age);
                assert_eq!(age_on(b, today), age, "{b} {today}");
            }
        }
    }

    #[test]
    fn ages_are_weighted_to_the_young_old() {
        let mut r = rng(22, Stream::Seniors);
        let n = 20_000;
        let ages: Vec<u8> = (0..n).map(|_| draw_age(&mut r)).collect();
        let share = |lo: u8, hi: u8| ages.iter().filter(|a| (lo..=hi).contains(*a)).count() as f64 / n as f64;
        assert!((0.52..0.58).contains(&share(60, 69)));
        assert!((0.27..0.33).contains(&share(70, 79)));
        assert!((0.11..0.15).contains(&share(80, 89)));
        assert!((0.01..0.03).contains(&share(90, 100)));
    }
}
