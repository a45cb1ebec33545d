//! Coverage review: is every senior of the district covered, and how well?
//!
//! The `coverage_refresh` job (`refresh`) computes each month's counters per H3 cell
//! (resolutions 9, 8 and 7, each cell split by community) and per community, and
//! stores them with a watermark in `coverage_months`. The reports (`reports`) read
//! only those rows, merge them (counts add, alarm times concatenate) and derive the
//! figures, suppressing small numbers for the bureau. See docs/coverage.md.

pub mod cache;
pub mod export;
pub mod refresh;
pub mod reports;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// The resolutions the roll-ups are kept at: 9 (about 0.1 km²) up to 7 (about 5 km²).
pub const RESOLUTIONS: [u8; 3] = [9, 8, 7];

/// A month in the district's time zone (`YYYY-MM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let month = Month { year: y.parse().ok()?, month: m.parse().ok()? };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// The `month` query parameter: 422 naming it when it is not `YYYY-MM`.
    pub fn from_param(text: Option<&str>, today: NaiveDate) -> Result<Month, ApiError> {
        match text {
            None => Ok(Month::of(today)),
            Some(t) => Month::parse(t.trim())
                .ok_or_else(|| ApiError::field("month", "format", "a month is written YYYY-MM, e.g. 2026-12")),
        }
    }

    pub fn of(date: NaiveDate) -> Month {
        Month { year: date.year(), month: date.month() }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 { Month { year: self.year - 1, month: 12 } } else { Month { month: self.month - 1, ..self } }
    }

    /// The twelve months ending with this one, oldest first.
    pub fn last_twelve(self) -> Vec<Month> {
        let mut months = vec![self];
        for _ in 0..11 {
            let earliest = months[months.len() - 1].prev();
            months.push(earliest);
        }
        months.reverse();
        months
    }

    /// The month's first instant and the next month's, in `tz`.
    pub fn bounds<Tz: TimeZone>(self, tz: &Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc))
        };
        (at(self.first_day()), at(self.next().first_day()))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A month's counters for one cell or community. Two add up exactly: counts sum and
/// alarm times concatenate (alarms are rare, so the lists stay short).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    // Seniors (active, as of the watermark).
    pub seniors_total: i64,
    pub tier_a: i64,
    pub tier_b: i64,
    pub tier_c: i64,
    pub tier_d: i64,
    pub living_alone: i64,
    pub oldest_old: i64,
    pub disabled: i64,
    pub destitute_or_subsistence: i64,
    // Service.
    pub with_plan: i64,
    pub served_30d: i64,
    pub tier_a_unserved_30d: i64,
    /// Seniors with an active plan and no completed service in 30 days.
    pub plan_unserved_30d: i64,
    pub covered_15min: i64,
    // Emergency bells received in the month.
    pub alarms: i64,
    pub accepted_60s: i64,
    pub accepted_180s: i64,
    pub on_site_15m: i64,
    pub on_site_30m: i64,
    pub family_or_120: i64,
    /// Seconds from intake to first acceptance, one per accepted alarm.
    pub accept_secs: Vec<i64>,
    /// Seconds from intake to arrival, one per alarm with an arrival.
    pub arrive_secs: Vec<i64>,
    // Meals of the month.
    pub meals: i64,
    pub meals_on_time: i64,
    pub meals_failed: i64,
    pub welfare_checks: i64,
    // Satisfaction and complaints.
    pub survey_responses: i64,
    pub survey_overall_sum: i64,
    pub complaints: i64,
    pub cases_resolved: i64,
    pub cases_resolved_in_time: i64,
    // Work done (for the volunteer share).
    pub tasks_completed: i64,
    pub tasks_by_volunteers: i64,
    // Community only: workforce, time bank and subsidy.
    pub caregivers: i64,
    pub volunteers: i64,
    pub certified_nurses: i64,
    pub volunteer_minutes_earned: i64,
    pub volunteer_minutes_redeemed: i64,
    /// Fee waived or reduced (price − fee) by economic status, in fen.
    pub subsidy_fen: BTreeMap<String, i64>,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        macro_rules! sum {
            ($($f:ident),*) => { $(self.$f += o.$f;)* };
        }
        sum!(
            seniors_total,
            tier_a,
            tier_b,
            tier_c,
            tier_d,
            living_alone,
            oldest_old,
            disabled,
            destitute_or_subsistence,
            with_plan,
            served_30d,
            tier_a_unserved_30d,
            plan_unserved_30d,
            covered_15min,
            alarms,
            accepted_60s,
            accepted_180s,
            on_site_15m,
            on_site_30m,
            family_or_120,
            meals,
            meals_on_time,
            meals_failed,
            welfare_checks,
            survey_responses,
            survey_overall_sum,
            complaints,
            cases_resolved,
            cases_resolved_in_time,
            tasks_completed,
            tasks_by_volunteers,
            caregivers,
            volunteers,
            certified_nurses,
            volunteer_minutes_earned,
            volunteer_minutes_redeemed
        );
        self.accept_secs.extend_from_slice(&o.accept_secs);
        self.arrive_secs.extend_from_slice(&o.arrive_secs);
        for (k, v) in &o.subsidy_fen {
            *self.subsidy_fen.entry(k.clone()).or_default() += v;
        }
    }

    pub fn subsidy_total_fen(&self) -> i64 {
        self.subsidy_fen.values().sum()
    }

    pub fn satisfaction_mean(&self) -> Option<f64> {
        (self.survey_responses >= MIN_RESPONSES)
            .then(|| round(self.survey_overall_sum as f64 / self.survey_responses as f64, 2))
    }
}

/// Fewer answers than this make a mean "insufficient" (as in the survey analysis).
pub const MIN_RESPONSES: i64 = 5;

/// The nearest-rank percentile (`p` in 0..=100) of a list: the smallest value with at
/// least p% of the list at or below it.
pub fn percentile(values: &[i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(part as f64 / whole as f64, 4))
}

fn per_100(part: i64, seniors: i64) -> Option<f64> {
    (seniors > 0).then(|| round(part as f64 * 100.0 / seniors as f64, 2))
}

/// How small numbers are shown: exact (workers and admins, who know their seniors),
/// or with counts of 1 to `threshold − 1` as `"<threshold"` and rates over fewer than
/// `threshold` seniors left out (the bureau).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privacy {
    Exact,
    Suppressed { threshold: i64 },
}

impl Privacy {
    fn count(self, n: i64) -> Value {
        match self {
            Privacy::Suppressed { threshold } if n > 0 && n < threshold => json!(format!("<{threshold}")),
            _ => json!(n),
        }
    }

    /// Whether rates over a group of `seniors` may be shown.
    fn rates_shown(self, seniors: i64) -> bool {
        match self {
            Privacy::Exact => true,
            Privacy::Suppressed { threshold } => seniors >= threshold,
        }
    }

    /// A count as text for the gaps' reasons.
    pub fn count_text(self, n: i64) -> String {
        match self.count(n) {
            Value::String(s) => s,
            v => v.to_string(),
        }
    }
}

/// The figures of one group, by name: the API's `properties` and the export columns.
/// Rates are fractions (0.25 is 25%); times are seconds; money is fen.
pub fn figures(c: &Counts, privacy: Privacy, community_level: bool) -> Map<String, Value> {
    let mut m = Map::new();
    let n = |v: i64| privacy.count(v);
    let rates = privacy.rates_shown(c.seniors_total);
    let rate = |v: Option<f64>| if rates { json!(v) } else { Value::Null };
    let int = |v: Option<i64>| if rates { json!(v) } else { Value::Null };
    m.insert("seniors_total".into(), n(c.seniors_total));
    m.insert("seniors_tier_a".into(), n(c.tier_a));
    m.insert("seniors_tier_b".into(), n(c.tier_b));
    m.insert("seniors_tier_c".into(), n(c.tier_c));
    m.insert("seniors_tier_d".into(), n(c.tier_d));
    m.insert("seniors_alone".into(), n(c.living_alone));
    m.insert("seniors_oldest_old".into(), n(c.oldest_old));
    m.insert("seniors_disabled".into(), n(c.disabled));
    m.insert("seniors_destitute_or_subsistence".into(), n(c.destitute_or_subsistence));
    m.insert("with_plan".into(), n(c.with_plan));
    m.insert("served_30d".into(), n(c.served_30d));
    m.insert("tier_a_unserved_30d".into(), n(c.tier_a_unserved_30d));
    m.insert("plan_unserved_30d".into(), n(c.plan_unserved_30d));
    m.insert("covered_15min".into(), n(c.covered_15min));
    m.insert("covered_15min_share".into(), rate(share(c.covered_15min, c.seniors_total)));
    m.insert("alarms".into(), n(c.alarms));
    m.insert("accept_p50_s".into(), int(percentile(&c.accept_secs, 50)));
    m.insert("accept_p90_s".into(), int(percentile(&c.accept_secs, 90)));
    m.insert("accepted_60s_share".into(), rate(share(c.accepted_60s, c.alarms)));
    m.insert("accepted_180s_share".into(), rate(share(c.accepted_180s, c.alarms)));
    m.insert("arrive_p50_s".into(), int(percentile(&c.arrive_secs, 50)));
    m.insert("arrive_p90_s".into(), int(percentile(&c.arrive_secs, 90)));
    m.insert("on_site_15m_share".into(), rate(share(c.on_site_15m, c.alarms)));
    m.insert("on_site_30m_share".into(), rate(share(c.on_site_30m, c.alarms)));
    m.insert("alarms_family_or_120".into(), n(c.family_or_120));
    m.insert("meals".into(), json!(c.meals));
    m.insert("meals_on_time_rate".into(), rate(share(c.meals_on_time, c.meals)));
    m.insert("meals_failed".into(), n(c.meals_failed));
    m.insert("welfare_checks".into(), n(c.welfare_checks));
    m.insert("survey_responses".into(), json!(c.survey_responses));
    m.insert("satisfaction_mean".into(), rate(c.satisfaction_mean()));
    m.insert("complaints".into(), n(c.complaints));
    m.insert("complaints_per_100".into(), rate(per_100(c.complaints, c.seniors_total)));
    m.insert("cases_resolved".into(), json!(c.cases_resolved));
    m.insert("cases_in_deadline_rate".into(), rate(share(c.cases_resolved_in_time, c.cases_resolved)));
    m.insert("volunteer_task_share".into(), rate(share(c.tasks_by_volunteers, c.tasks_completed)));
    if community_level {
        m.insert("caregivers".into(), json!(c.caregivers));
        m.insert("volunteers".into(), json!(c.volunteers));
        m.insert("certified_nurses".into(), json!(c.certified_nurses));
        m.insert("responders_per_100".into(), rate(per_100(c.caregivers + c.volunteers, c.seniors_total)));
        m.insert("volunteer_hours_earned".into(), json!(round(c.volunteer_minutes_earned as f64 / 60.0, 2)));
        m.insert("volunteer_hours_redeemed".into(), json!(round(c.volunteer_minutes_redeemed as f64 / 60.0, 2)));
        m.insert("subsidy_total_fen".into(), json!(c.subsidy_total_fen()));
        m.insert("subsidy_fen".into(), json!(c.subsidy_fen));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[40], 90), Some(40));
        assert_eq!(percentile(&[30, 10, 20, 40], 50), Some(20));
        assert_eq!(percentile(&[30, 10, 20, 40], 90), Some(40));
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 90), Some(90));
    }

    #[test]
    fn months_parse_and_step() {
        assert_eq!(Month::parse("2026-12"), Some(Month { year: 2026, month: 12 }));
        assert_eq!(Month::parse("2026-13"), None);
        assert_eq!(Month::parse("2026-1"), None);
        assert_eq!(Month::parse("2026-12").map(Month::next).map(|m| m.to_string()).as_deref(), Some("2027-01"));
        let twelve = Month { year: 2026, month: 3 }.last_twelve();
        assert_eq!(twelve.first().map(|m| m.to_string()).as_deref(), Some("2025-04"));
        assert_eq!(twelve.len(), 12);
    }

    #[test]
    fn counts_add_exactly_and_the_bureau_sees_small_counts_suppressed() {
        let mut a = Counts { seniors_total: 6, alarms: 1, accept_secs: vec![30], ..Counts::default() };
        a.subsidy_fen.insert("destitute".into(), 500);
        let mut b = Counts { seniors_total: 7, accept_secs: vec![90], ..Counts::default() };
        b.subsidy_fen.insert("destitute".into(), 250);
        let bureau = Privacy::Suppressed { threshold: 10 };
        assert_eq!(figures(&a, bureau, false)["seniors_total"], json!("<10"));
        assert_eq!(figures(&a, bureau, false)["accept_p50_s"], Value::Null, "rates over fewer than 10 seniors");
        a.add(&b);
        assert_eq!(a.accept_secs, vec![30, 90]);
        assert_eq!(a.subsidy_total_fen(), 750);
        let f = figures(&a, bureau, true);
        assert_eq!(f["seniors_total"], json!(13));
        assert_eq!(f["accept_p50_s"], json!(30));
        assert_eq!(f["seniors_tier_a"], json!(0), "zero is not suppressed");
        assert_eq!(figures(&b, Privacy::Exact, false)["seniors_total"], json!(7));
    }
}
