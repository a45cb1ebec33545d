//! Layered settings: defaults -> optional `linli.toml` -> `LINLI_*` environment
//! variables and `DATABASE_URL`. One typed struct, passed down; no globals.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never be printed: `Debug` and `Serialize` redact it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// A database URL: passwords inside it are redacted when printed.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
    /// The URL with any password replaced, safe for logs and `config print`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        match rest.split_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
                None => self.0.clone(),
            },
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Settings {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// `sqlite://path?mode=rwc` (default) or `postgres://...`.
    pub database_url: DatabaseUrl,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// Seconds to wait for a pooled connection before answering 503.
    pub database_acquire_timeout_secs: u64,
    /// H3 resolution of the stored cells (0..=15; 9 is about 0.1 km²).
    pub h3_resolution: u8,
    /// IANA time zone of the district; schedules and local dates use it.
    pub time_zone: String,
    /// Directory holding the built frontend (`frontend/dist`).
    pub frontend_dir: PathBuf,
    /// Directory for runtime files: the key file and the default SQLite database.
    pub data_dir: PathBuf,
    /// Base64 of 32 random bytes that protect resident ID numbers at rest. When unset,
    /// a key file `<data_dir>/linli.key` (mode 0600) is created on first start.
    pub secret_key: Option<Secret<String>>,
    pub log_format: LogFormat,
    /// Session lifetime in minutes.
    pub session_ttl_minutes: i64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub cookie_secure: bool,
    /// Failed logins for one username allowed within `login_window_minutes`.
    pub login_max_failures: u32,
    pub login_window_minutes: i64,
    /// Largest accepted JSON body, in bytes.
    pub max_body_bytes: usize,
    /// Run scheduled jobs in this instance.
    pub jobs_enabled: bool,
    /// How often a running job writes its heartbeat, in seconds; a run silent for ten
    /// times as long is taken to be abandoned and its window runs again.
    pub job_heartbeat_secs: u64,
    /// Seed the demo district when `serve` finds an empty database.
    pub demo_on_empty: bool,
    /// Minimum age of a registered senior.
    pub min_senior_age: u32,
    /// The service area as `[min_longitude, min_latitude, max_longitude, max_latitude]`;
    /// registered coordinates must fall inside it.
    pub service_area: [f64; 4],
    /// Months after an assessment when the next one falls due.
    pub reassessment_months: u32,
    /// Segmentation rules (TOML); the shipped defaults when unset.
    pub rules_file: Option<PathBuf>,
    /// Time-bank rules (TOML: caps, multipliers, redemption age); the shipped
    /// defaults (`server/rules/timebank.toml`) when unset.
    pub timebank_rules_file: Option<PathBuf>,
    /// Accept `http://127.0.0.1` push endpoints (tests only; browsers use https).
    pub push_allow_loopback_http: bool,
    /// The VAPID `sub` claim: a `mailto:` or `https:` contact for push services.
    pub push_subject: String,
    /// Dispatch: travel speeds, emergency escalation, visit checks (`[dispatch]`).
    pub dispatch: DispatchSettings,
    /// Satisfaction surveys and complaint cases: schedules, sampling, deadlines (`[surveys]`).
    #[serde(default)]
    pub surveys: SurveySettings,
    /// Coverage reports: refresh schedule, small-number suppression, targets (`[coverage]`).
    #[serde(default)]
    pub coverage: CoverageSettings,
}

/// Coverage reports for the bureau and the console.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct CoverageSettings {
    /// When the roll-ups are refreshed (six fields, seconds first, in `time_zone`).
    pub refresh_cron: String,
    /// The bureau sees counts of seniors below this as `"<N>"`, and no rates over
    /// fewer seniors than this.
    pub suppress_below: i64,
    /// Optional raster tile URL (`https://…/{z}/{x}/{y}.png`) drawn under the
    /// dashboard's hexagons when online; the map works without it.
    pub basemap_tile_url: Option<String>,
    /// Scorecard targets by indicator code (see docs/coverage.md).
    pub targets: std::collections::BTreeMap<String, f64>,
    /// Heavy reports (grid counts, coverage reports not yet kept) rendered at once
    /// per instance; 0: a quarter of the connection pool. The rest of the pool stays
    /// free for alarms, phones and the board however many reports are asked for.
    pub max_concurrent_reports: u32,
    /// Seconds a heavy report waits for its turn before answering 503 `busy`.
    pub report_wait_secs: u64,
}

impl Default for CoverageSettings {
    fn default() -> Self {
        let targets = [
            ("subsidy_per_senior_yuan", 60.0),
            ("volunteer_task_share", 0.3),
            ("satisfaction_mean", 4.5),
            ("complaints_per_100", 1.0),
            ("cases_in_deadline_rate", 0.95),
            ("accepted_60s_share", 0.9),
            ("on_site_30m_share", 0.95),
            ("meals_on_time_rate", 0.95),
            ("tier_a_served_share", 0.95),
            ("covered_15min_share", 0.9),
            ("responders_per_100", 3.0),
            ("certified_nurses_per_100", 0.5),
            ("volunteer_hours_per_100", 50.0),
        ];
        Self {
            refresh_cron: "0 */15 * * * *".to_owned(),
            suppress_below: 10,
            basemap_tile_url: None,
            targets: targets.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            max_concurrent_reports: 0,
            report_wait_secs: 10,
        }
    }
}

impl CoverageSettings {
    /// The target of an indicator (0 when the settings leave it out).
    pub fn target(&self, code: &str) -> f64 {
        self.targets.get(code).copied().unwrap_or_default()
    }
}

/// Surveys and cases. Cron expressions have six fields, seconds first, in `time_zone`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct SurveySettings {
    /// When the post-service job looks for tasks completed in the last 24 hours.
    pub post_service_cron: String,
    /// Percentage (0-100) of routine visits that get a post-service survey; every
    /// emergency response gets one.
    pub post_service_sample_percent: u32,
    /// When the monthly job creates the day's share of the month's periodic surveys.
    pub monthly_cron: String,
    /// When reminders go out for surveys not answered after `reminder_after_days`.
    pub reminder_cron: String,
    pub reminder_after_days: i64,
    /// When unanswered surveys expire, `expire_after_days` after they were created.
    pub expiry_cron: String,
    pub expire_after_days: i64,
    /// When overdue cases are escalated to the community head.
    pub case_escalation_cron: String,
    /// Case deadlines, in hours from opening, by severity.
    pub serious_case_hours: i64,
    pub normal_case_hours: i64,
    /// An overall rating at or below this opens a case.
    pub low_score_threshold: i64,
    /// How long a family link stays usable, in hours.
    pub family_link_hours: i64,
    /// Public holidays (no periodic calls), as dates.
    pub holidays: Vec<chrono::NaiveDate>,
    /// Weekend days that are working days (调休), as dates.
    pub extra_working_days: Vec<chrono::NaiveDate>,
}

impl Default for SurveySettings {
    fn default() -> Self {
        Self {
            post_service_cron: "0 5 * * * *".to_owned(),
            post_service_sample_percent: 30,
            monthly_cron: "0 30 7 * * *".to_owned(),
            reminder_cron: "0 0 9 * * *".to_owned(),
            reminder_after_days: 3,
            expiry_cron: "0 15 0 * * *".to_owned(),
            expire_after_days: 7,
            case_escalation_cron: "0 */10 * * * *".to_owned(),
            serious_case_hours: 24,
            normal_case_hours: 72,
            low_score_threshold: 2,
            family_link_hours: 72,
            holidays: Vec::new(),
            extra_working_days: Vec::new(),
        }
    }
}

/// Parses a six-field cron expression the way the scheduler does.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// How tasks reach responders. Durations are in seconds unless named otherwise.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct DispatchSettings {
    /// Travel speeds in metres per minute.
    pub walk_m_per_min: f64,
    pub bicycle_m_per_min: f64,
    pub ebike_m_per_min: f64,
    /// A position older than this is not trusted for emergencies.
    pub position_stale_secs: i64,
    /// Location posts closer together than this are acknowledged but not stored.
    pub location_min_interval_secs: i64,
    /// Emergency offers go to this many nearest responders...
    pub emergency_offer_count: usize,
    /// ...within this distance of the senior.
    pub emergency_radius_m: f64,
    /// Without an acceptance after `emergency_widen_secs`, offers widen to this radius
    /// and every on-duty responder of the community, and the console is alerted.
    pub emergency_widened_radius_m: f64,
    pub emergency_widen_secs: i64,
    /// Without an acceptance after this, family contacts are notified and the alarm
    /// is flagged for the worker to call 120.
    pub emergency_family_secs: i64,
    /// A check-in or check-out farther than this from the senior's home is flagged.
    pub visit_max_distance_m: f64,
    /// Minutes after a routine window opens without a check-in: alert the worker.
    pub missed_alert_minutes: i64,
    /// ...and propose a replacement responder.
    pub missed_replace_minutes: i64,
    /// Seconds between the steps of a welfare check (senior, each contact, worker).
    pub welfare_step_secs: i64,
    /// How often each instance sweeps deadlines, in milliseconds.
    pub sweep_interval_ms: u64,
    /// When the daily job creates the next day's tasks (cron, seconds first, local time).
    pub daily_tasks_cron: String,
    /// Where family notifications go: `log` (default) or an HTTP webhook URL.
    pub sms_webhook_url: Option<String>,
    /// Meals a courier carries per trip.
    pub meal_trip_capacity: u32,
    /// The longest a meal may ride from the kitchen to the door, in minutes.
    pub meal_max_ride_minutes: f64,
    /// Minutes at each door.
    pub meal_service_minutes: f64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            walk_m_per_min: 70.0,
            bicycle_m_per_min: 200.0,
            ebike_m_per_min: 300.0,
            position_stale_secs: 600,
            location_min_interval_secs: 15,
            emergency_offer_count: 3,
            emergency_radius_m: 1000.0,
            emergency_widened_radius_m: 3000.0,
            emergency_widen_secs: 60,
            emergency_family_secs: 180,
            visit_max_distance_m: 100.0,
            missed_alert_minutes: 8,
            missed_replace_minutes: 13,
            welfare_step_secs: 120,
            sweep_interval_ms: 2000,
            daily_tasks_cron: "0 0 20 * * *".to_owned(),
            sms_webhook_url: None,
            meal_trip_capacity: 12,
            meal_max_ride_minutes: 45.0,
            meal_service_minutes: 2.0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::new("sqlite://data/linli.db?mode=rwc"),
            database_max_connections: 16,
            database_acquire_timeout_secs: 3,
            h3_resolution: 9,
            time_zone: "Asia/Shanghai".to_owned(),
            frontend_dir: PathBuf::from("frontend/dist"),
            data_dir: PathBuf::from("data"),
            secret_key: None,
            log_format: LogFormat::Pretty,
            session_ttl_minutes: 12 * 60,
            cookie_secure: false,
            login_max_failures: 5,
            login_window_minutes: 15,
            max_body_bytes: 1024 * 1024,
            jobs_enabled: true,
            job_heartbeat_secs: 60,
            demo_on_empty: true,
            min_senior_age: 60,
            // Tianjin municipality.
            service_area: [116.70, 38.55, 118.07, 40.25],
            reassessment_months: 6,
            rules_file: None,
            timebank_rules_file: None,
            push_allow_loopback_http: false,
            push_subject: "mailto:linli@localhost".to_owned(),
            dispatch: DispatchSettings::default(),
            surveys: SurveySettings::default(),
            coverage: CoverageSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("settings: {field}: {message}")]
    Invalid { field: &'static str, message: String },
}

impl Settings {
    /// Loads defaults, then `linli.toml` (or the given file), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let file = file.map_or_else(|| PathBuf::from("linli.toml"), Path::to_path_buf);
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("LINLI_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.h3_resolution > 15 {
            return Err(SettingsError::Invalid { field: "h3_resolution", message: "must be between 0 and 15".into() });
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(SettingsError::Invalid {
                field: "time_zone",
                message: format!("`{}` is not an IANA time zone", self.time_zone),
            });
        }
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(SettingsError::Invalid {
                field: "database_url",
                message: "must start with sqlite: or postgres://".into(),
            });
        }
        let [min_lng, min_lat, max_lng, max_lat] = self.service_area;
        let longitudes = -180.0..=180.0;
        let latitudes = -90.0..=90.0;
        let in_range = longitudes.contains(&min_lng)
            && longitudes.contains(&max_lng)
            && latitudes.contains(&min_lat)
            && latitudes.contains(&max_lat);
        if !(in_range && min_lng < max_lng && min_lat < max_lat) {
            return Err(SettingsError::Invalid {
                field: "service_area",
                message: "must be [min_longitude, min_latitude, max_longitude, max_latitude]".into(),
            });
        }
        let d = &self.dispatch;
        if [d.walk_m_per_min, d.bicycle_m_per_min, d.ebike_m_per_min].iter().any(|v| *v <= 0.0) {
            return Err(SettingsError::Invalid { field: "dispatch", message: "travel speeds must be positive".into() });
        }
        if d.emergency_widen_secs <= 0 || d.emergency_family_secs <= d.emergency_widen_secs {
            return Err(SettingsError::Invalid {
                field: "dispatch",
                message: "emergency_family_secs must come after emergency_widen_secs, both positive".into(),
            });
        }
        if d.missed_replace_minutes <= d.missed_alert_minutes || d.sweep_interval_ms == 0 {
            return Err(SettingsError::Invalid {
                field: "dispatch",
                message: "missed_replace_minutes must come after missed_alert_minutes; sweep_interval_ms positive"
                    .into(),
            });
        }
        let sv = &self.surveys;
        for (name, expr) in [
            ("surveys.post_service_cron", &sv.post_service_cron),
            ("surveys.monthly_cron", &sv.monthly_cron),
            ("surveys.reminder_cron", &sv.reminder_cron),
            ("surveys.expiry_cron", &sv.expiry_cron),
            ("surveys.case_escalation_cron", &sv.case_escalation_cron),
            ("dispatch.daily_tasks_cron", &d.daily_tasks_cron),
            ("coverage.refresh_cron", &self.coverage.refresh_cron),
        ] {
            if let Err(e) = parse_cron(expr) {
                return Err(SettingsError::Invalid { field: "surveys", message: format!("{name} `{expr}`: {e}") });
            }
        }
        if self.coverage.suppress_below < 1 {
            return Err(SettingsError::Invalid { field: "coverage", message: "suppress_below is at least 1".into() });
        }
        if sv.post_service_sample_percent > 100 {
            return Err(SettingsError::Invalid {
                field: "surveys",
                message: "post_service_sample_percent is 0 to 100".into(),
            });
        }
        if [
            sv.reminder_after_days,
            sv.expire_after_days,
            sv.serious_case_hours,
            sv.normal_case_hours,
            sv.family_link_hours,
        ]
        .iter()
        .any(|v| *v <= 0)
        {
            return Err(SettingsError::Invalid {
                field: "surveys",
                message: "reminder and expiry days, case hours and family link hours must be positive".into(),
            });
        }
        if self.session_ttl_minutes <= 0 || self.login_window_minutes <= 0 {
            return Err(SettingsError::Invalid {
                field: "session_ttl_minutes",
                message: "durations must be positive".into(),
            });
        }
        if !(1..=3600).contains(&self.job_heartbeat_secs) {
            return Err(SettingsError::Invalid {
                field: "job_heartbeat_secs",
                message: "must be between 1 and 3600 seconds".into(),
            });
        }
        Ok(())
    }

    pub fn resolution(&self) -> h3o::Resolution {
        h3o::Resolution::try_from(self.h3_resolution).unwrap_or(h3o::Resolution::Nine)
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    /// The effective settings as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        let mut out = String::new();
        let mut sections = String::new();
        let render = |out: &mut String, key: &str, value: &serde_json::Value| {
            let rendered = match value {
                serde_json::Value::Null => "# (unset)".to_owned(),
                other => other.to_string(),
            };
            out.push_str(&format!("{key} = {rendered}\n"));
        };
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                match value {
                    serde_json::Value::Object(section) => {
                        sections.push_str(&format!("\n[{key}]\n"));
                        for (k, v) in section {
                            render(&mut sections, &k, &v);
                        }
                    }
                    other => render(&mut out, &key, &other),
                }
            }
        }
        out + &sections
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        let url = DatabaseUrl::new("postgres://linli:s3cret@db:5432/linli");
        assert_eq!(url.redacted(), "postgres://linli:[redacted]@db:5432/linli");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("abc".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(serde_json::to_string(&s).ok().as_deref(), Some("\"[redacted]\""));
    }

    #[test]
    fn defaults_validate() {
        assert!(Settings::default().validate().is_ok());
        let bad = Settings { h3_resolution: 16, ..Settings::default() };
        assert!(bad.validate().is_err());
    }
}
