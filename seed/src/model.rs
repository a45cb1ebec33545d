//! Plain rows produced by the pure generators, converted to entities in `db`.
//!
//! Ids are assigned by the generators (`IdBase` + 1, + 2, ...), so the whole
//! district is known before anything is written.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use crate::assessment::{Barthel, Cognition, Dependency};
use crate::district::Community;
use crate::identity::Gender;
use crate::tier::{Economic, Living, TierDecision};

/// The highest id already present per table; generated ids start after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdBase {
    pub users: i64,
    pub communities: i64,
    pub stations: i64,
    pub seniors: i64,
    pub contacts: i64,
    pub consents: i64,
    pub assessments: i64,
    pub tier_changes: i64,
    pub responders: i64,
    pub shifts: i64,
    pub absences: i64,
    pub devices: i64,
    pub plans: i64,
    pub tasks: i64,
    pub offers: i64,
    pub events: i64,
    pub alarms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub id: i64,
    pub community_id: Option<i64>,
    pub kind: &'static str,
    pub name: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub cell: i64,
    pub meal_capacity: Option<i32>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub id: i64,
    pub assessor_id: Option<i64>,
    pub assessed_at: DateTime<Utc>,
    pub barthel: Barthel,
    pub dependency: Dependency,
    pub spmsq_errors: u8,
    pub cognition: Cognition,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Senior {
    pub id: i64,
    pub community_id: i64,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    /// Age on `DemoOptions::today`.
    pub age: u8,
    /// The plain resident ID number; protected by `SeedServices` before storage.
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub cell: i64,
    pub outside_boundary: bool,
    pub living: Living,
    pub economic: Economic,
    pub medical_notes: Value,
    pub status: &'static str,
    pub status_since: NaiveDate,
    pub has_bell: bool,
    pub reassessment_due_on: NaiveDate,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub assessment: Assessment,
    pub tier_change_id: i64,
    pub decision: TierDecision,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: i64,
    pub senior_id: i64,
    pub name: String,
    pub relation: &'static str,
    pub phone: String,
    pub call_order: i32,
    pub is_keyholder: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub id: i64,
    pub senior_id: i64,
    pub scope: &'static str,
    pub granted: bool,
    pub granted_by: &'static str,
    pub guardian_name: Option<String>,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: f64,
    pub cell: i64,
    pub seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Responder {
    pub id: i64,
    pub user_id: i64,
    pub kind: &'static str,
    pub skills: Vec<&'static str>,
    pub nursing_licence: Option<String>,
    pub licence_expires_on: Option<NaiveDate>,
    pub home_latitude: f64,
    pub home_longitude: f64,
    pub home_cell: i64,
    pub travel_mode: &'static str,
    pub max_concurrent: i32,
    pub on_duty: bool,
    pub last: Option<Position>,
    /// Served communities, ascending; the first is not necessarily home.
    pub communities: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

impl Responder {
    pub fn has(&self, skill: &str) -> bool {
        self.skills.contains(&skill)
    }

    /// Travel speed in metres per second, with a detour factor folded in.
    pub fn speed_mps(&self) -> f64 {
        let raw = match self.travel_mode {
            "walk" => 1.25,
            "bicycle" => 3.6,
            _ => 5.0,
        };
        raw / 1.35
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub id: i64,
    pub responder_id: i64,
    pub weekday: i16,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Absence {
    pub id: i64,
    pub responder_id: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub reason: &'static str,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: i64,
    pub senior_id: i64,
    pub label: String,
    /// The plain key; hashed by `SeedServices` before storage.
    pub api_key: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub id: i64,
    pub senior_id: i64,
    pub kind: &'static str,
    pub weekdays: Vec<u32>,
    /// 1 weekly, 2 every other week (counted from `starts_on`'s week).
    pub interval_weeks: u32,
    pub window_start: NaiveTime,
    pub window_end: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub fee_fen: i64,
    pub price_fen: i64,
    pub station_id: Option<i64>,
    pub preferred_responder_id: Option<i64>,
    pub details: Value,
    pub status: &'static str,
    pub suspended_from: Option<NaiveDate>,
    pub suspended_until: Option<NaiveDate>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub at: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    pub distance_m: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: i64,
    pub kind: &'static str,
    pub senior_id: i64,
    pub community_id: i64,
    pub plan_id: Option<i64>,
    pub station_id: Option<i64>,
    pub service_date: Option<NaiveDate>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    pub priority: i16,
    pub status: &'static str,
    pub assignee_id: Option<i64>,
    pub escalation_level: i16,
    pub check_in: Option<Visit>,
    pub check_out: Option<Visit>,
    pub visit_flagged: bool,
    pub outcome: Option<&'static str>,
    pub failure_reason: Option<&'static str>,
    pub notes: Option<String>,
    pub fee_fen: i64,
    pub price_fen: i64,
    pub details: Value,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub id: i64,
    pub task_id: i64,
    pub responder_id: i64,
    pub status: &'static str,
    pub round: i16,
    pub distance_m: Option<f64>,
    pub offered_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub task_id: i64,
    pub kind: &'static str,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub actor_user_id: Option<i64>,
    pub actor_kind: &'static str,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub details: Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub id: i64,
    pub device_id: i64,
    pub senior_id: i64,
    pub community_id: i64,
    pub event_id: String,
    pub request_hash: String,
    pub task_id: Option<i64>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub stage: &'static str,
    pub accepted_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub family_notified_at: Option<DateTime<Utc>>,
    pub call_120_flagged_at: Option<DateTime<Utc>>,
    pub outcome: Option<&'static str>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// The whole demo district, ready to be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Demo {
    pub communities: Vec<Community>,
    /// `head_user_id` per community, same order as `communities`.
    pub community_heads: Vec<i64>,
    pub users: Vec<User>,
    /// (user_id, community_id)
    pub user_communities: Vec<(i64, i64)>,
    pub stations: Vec<Station>,
    pub seniors: Vec<Senior>,
    pub contacts: Vec<Contact>,
    pub consents: Vec<Consent>,
    pub responders: Vec<Responder>,
    pub shifts: Vec<Shift>,
    pub absences: Vec<Absence>,
    pub devices: Vec<Device>,
    pub plans: Vec<Plan>,
    pub tasks: Vec<Task>,
    pub offers: Vec<Offer>,
    pub events: Vec<Event>,
    pub alarms: Vec<Alarm>,
    /// The demo logins: (username, role, password).
    pub logins: Vec<(String, String, String)>,
}
