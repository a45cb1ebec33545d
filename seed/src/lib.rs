//! The deterministic demo-district generator.
//!
//! `seed_demo` writes a complete, realistic district of 天津市和平区 — communities
//! with their boundaries and H3 cells, seniors with assessments and tiers,
//! caregivers and volunteers, bells, service plans and weeks of service history —
//! into an empty (or any) Linli database. The same [`DemoOptions`] always produce
//! the same rows: everything is drawn from ChaCha8 streams seeded by
//! `DemoOptions::seed`, and times derive from `DemoOptions::today`, never from the
//! clock. Only what [`SeedServices`] returns (password hashes, encrypted ID
//! numbers) may vary between runs, as the server's own crypto decides.
//!
//! The generation is pure ([`generate`]); [`seed_demo`] then writes the rows in
//! batches, one transaction per phase, with explicit ids that continue after the
//! highest id already present in each table.

mod assessment;
mod db;
mod district;
mod history;
mod identity;
mod model;
mod people;
mod plans;
mod scale;
mod tier;
mod util;
mod workforce;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use h3o::Resolution;
use sea_orm::DatabaseConnection;

pub use assessment::{BARTHEL_ITEMS, Barthel, Cognition, Dependency};
pub use identity::{check_digit as resident_id_check_digit, is_valid_resident_id};
pub use model::{Demo, IdBase};
pub use scale::{ScaleOptions, ScaleSummary, seed_scale};
pub use tier::{Economic, Living, RULES_VERSION, Tier, TierDecision, TierInput, decide as decide_tier};
pub use workforce::DEMO_PASSWORD;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Random seed; the same seed (and the same other options) gives the same district.
    pub seed: u64,
    /// The history ends yesterday; ages and dates are relative to this day.
    pub today: NaiveDate,
    /// Number of seniors (default 3000). Responders and plans scale with it.
    pub seniors: usize,
    /// Days of service history before `today` (default 60).
    pub history_days: u32,
    /// H3 resolution of all cells (default 9).
    pub h3_resolution: Resolution,
    /// Caregivers and volunteers together; by default they scale with the seniors
    /// (280 per 3000, besides the demo's own two).
    pub responders: Option<usize>,
    /// Where this district lies in a generated city; `None` for the demo itself.
    pub tile: Option<Tile>,
}

/// One copy of the district in a city laid out `columns` copies wide: copy `index`
/// lies east and north of the first, with numbered names and usernames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub index: u32,
    pub columns: u32,
}

impl DemoOptions {
    /// The defaults: 3000 seniors, 60 days of history, resolution 9.
    pub fn new(seed: u64, today: NaiveDate) -> Self {
        Self {
            seed,
            today,
            seniors: 3000,
            history_days: 60,
            h3_resolution: Resolution::Nine,
            responders: None,
            tile: None,
        }
    }
}

/// The server's crypto, so that seeded secrets look exactly like real ones.
pub trait SeedServices: Send + Sync {
    /// An argon2id PHC string.
    fn hash_password(&self, password: &str) -> anyhow::Result<String>;
    /// Encryption at rest of a resident ID number.
    fn protect_id_number(&self, id_number: &str) -> anyhow::Result<ProtectedId>;
    /// The stored form of a device API key (`devices.api_key_hash`).
    fn hash_api_key(&self, api_key: &str) -> String;
}

/// A protected resident ID number: `id_number_enc`, `id_number_hash`, `id_number_masked`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedId {
    pub encrypted: String,
    pub lookup_hash: String,
    pub masked: String,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DemoSummary {
    pub communities: usize,
    pub seniors: usize,
    pub caregivers: usize,
    pub volunteers: usize,
    pub stations: usize,
    pub devices: usize,
    pub tasks: usize,
    pub alarms: usize,
    /// Demo logins: (username, role, password).
    pub logins: Vec<(String, String, String)>,
}

impl DemoSummary {
    pub fn of(demo: &Demo) -> Self {
        let kind = |k: &str| demo.responders.iter().filter(|r| r.kind == k).count();
        Self {
            communities: demo.communities.len(),
            seniors: demo.seniors.len(),
            caregivers: kind("caregiver"),
            volunteers: kind("volunteer"),
            stations: demo.stations.len(),
            devices: demo.devices.len(),
            tasks: demo.tasks.len(),
            alarms: demo.alarms.len(),
            logins: demo.logins.clone(),
        }
    }
}

/// The fixed points in time of a demo.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeline {
    pub today: NaiveDate,
    /// The first day of the history.
    pub start: NaiveDate,
    /// When the accounts and places were set up (about 13 months before `start`).
    pub setup: NaiveDate,
    /// The demo's "now" for current state (duty positions, device heartbeats):
    /// 08:00 local on `today`.
    pub now: DateTime<Utc>,
}

impl Timeline {
    fn new(opts: &DemoOptions) -> Self {
        let start = opts.today - Duration::days(i64::from(opts.history_days));
        Self { today: opts.today, start, setup: start - Duration::days(400), now: util::local_hm(opts.today, 8, 0) }
    }

    pub fn days(&self) -> i64 {
        (self.today - self.start).num_days()
    }
}

/// Caregivers and volunteers for a district of `seniors` (80 and 200 for 3000),
/// besides the demo `caregiver` and `volunteer`; or `responders` split the same way.
fn workforce_size(seniors: usize, responders: Option<usize>) -> (usize, usize) {
    if let Some(n) = responders {
        let caregivers = ((n as f64) * 80.0 / 280.0).round() as usize;
        return (caregivers.max(1), n.saturating_sub(caregivers).max(1));
    }
    let scale = |per_3000: usize, min: usize| (((per_3000 * seniors) as f64 / 3000.0).round() as usize).max(min);
    (scale(80, 6), scale(200, 10))
}

/// Generates the whole district without touching a database. Ids start after
/// `base`.
pub fn generate(opts: &DemoOptions, base: &IdBase) -> anyhow::Result<Demo> {
    use util::{Stream, rng};
    let t = Timeline::new(opts);
    let res = opts.h3_resolution;
    let communities = district::communities(base.communities + 1, res, opts.tile)?;
    let (caregivers, volunteers) = workforce_size(opts.seniors, opts.responders);
    let suffix = match opts.tile {
        Some(tile) if tile.index > 0 => format!(".{}", tile.index),
        _ => String::new(),
    };

    let mut r = rng(opts.seed, Stream::Workforce);
    let accounts = workforce::accounts(&mut r, base, &communities, caregivers, volunteers, &t, &suffix);
    let workforce = workforce::responders(&mut r, base, &accounts, &communities, caregivers, volunteers, res, &t)?;
    let stations = workforce::stations(&mut rng(opts.seed, Stream::District), base, &communities, res, &t)?;

    let mut people = people::seniors(
        &mut rng(opts.seed, Stream::Seniors),
        base,
        &communities,
        &accounts.community_workers,
        opts.seniors,
        res,
        &t,
    )?;
    let worker_of = |community: i64| {
        communities.iter().position(|c| c.id == community).and_then(|i| accounts.community_workers.get(i).copied())
    };
    let devices = people::devices(&mut rng(opts.seed, Stream::Devices), base, &mut people.seniors, &worker_of, &t);
    let plans =
        plans::plans(&mut rng(opts.seed, Stream::Plans), base, &people.seniors, &stations, &workforce.responders, &t);
    let history = history::generate(
        &mut rng(opts.seed, Stream::History),
        &mut rng(opts.seed, Stream::Alarms),
        history::Inputs {
            base,
            seniors: &people.seniors,
            workforce: &workforce,
            stations: &stations,
            plans: &plans,
            devices: &devices,
            worker_of: &worker_of,
        },
        &t,
    );

    Ok(Demo {
        community_heads: accounts.community_workers.clone(),
        communities,
        users: accounts.users,
        user_communities: accounts.user_communities,
        stations,
        seniors: people.seniors,
        contacts: people.contacts,
        consents: people.consents,
        responders: workforce.responders,
        shifts: workforce.shifts,
        absences: workforce.absences,
        devices,
        plans,
        tasks: history.tasks,
        offers: history.offers,
        events: history.events,
        alarms: history.alarms,
        logins: accounts.logins,
    })
}

/// Whether the database holds neither users nor communities (then `serve` seeds
/// the demo).
pub async fn is_empty(db: &DatabaseConnection) -> anyhow::Result<bool> {
    db::is_empty(db).await
}

/// Generates the demo district and writes it. `progress` shows progress bars on
/// stderr.
pub async fn seed_demo(
    db: &DatabaseConnection,
    opts: &DemoOptions,
    services: &dyn SeedServices,
    progress: bool,
) -> anyhow::Result<DemoSummary> {
    let base = db::id_base(db).await?;
    let demo = generate(opts, &base)?;
    db::write(db, &demo, opts, services, db::Writing { progress, large_statements: false }).await?;
    Ok(DemoSummary::of(&demo))
}

#[cfg(test)]
mod tests;
