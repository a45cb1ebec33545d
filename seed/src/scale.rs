//! A city for load and report benchmarks: the demo district copied over a grid of
//! tiles (each a district of eight communities with its own streets, staff, seniors
//! and history, drawn from the demo's distributions with its own random stream),
//! written tile by tile so memory stays that of one district whatever the size.

use std::time::Instant;

use chrono::NaiveDate;
use h3o::Resolution;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::{DemoOptions, SeedServices, Tile, db, generate};

/// Seniors per tile: the demo's size, so a tile looks like the demo district.
pub const SENIORS_PER_TILE: usize = 3000;

#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub seed: u64,
    pub today: NaiveDate,
    pub seniors: usize,
    pub responders: usize,
    pub history_days: u32,
    pub h3_resolution: Resolution,
    /// PostgreSQL over a Unix socket: statements may be large.
    pub large_statements: bool,
    pub progress: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScaleSummary {
    pub tiles: u32,
    pub communities: usize,
    pub seniors: usize,
    pub responders: usize,
    pub tasks: usize,
    pub task_events: usize,
    pub alarms: usize,
    pub rows: u64,
    pub seconds: f64,
    /// The process's peak resident memory (VmHWM), when the system reports it.
    pub peak_memory_mb: Option<f64>,
}

impl ScaleSummary {
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.rows as f64 / self.seconds } else { 0.0 }
    }
}

/// Splits `total` into `parts` nearly equal shares, the first ones larger.
fn share(total: usize, parts: u32, index: u32) -> usize {
    let parts = parts as usize;
    let index = index as usize;
    total / parts + usize::from(index < total % parts)
}

/// The process's peak resident set in MB (Linux), for the report.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Generates and writes the city, one tile per transaction group.
pub async fn seed_scale(
    conn: &DatabaseConnection,
    opts: &ScaleOptions,
    services: &dyn SeedServices,
) -> anyhow::Result<ScaleSummary> {
    anyhow::ensure!(opts.seniors > 0, "--seniors must be at least 1");
    let tiles = opts.seniors.div_ceil(SENIORS_PER_TILE) as u32;
    // Each tile has its own 4-digit area code for the ID numbers.
    anyhow::ensure!(tiles < 9_000, "at most {} seniors", 9_000 * SENIORS_PER_TILE);
    // Near square, a little wider than tall (the tiles are wider than tall too).
    let columns = (f64::from(tiles).sqrt().ceil() as u32).max(1);
    let started = Instant::now();
    let bar = ProgressBar::with_draw_target(
        Some(opts.seniors as u64),
        if opts.progress { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos:>8}/{len:8} seniors ({elapsed}, ~{eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut summary = ScaleSummary { tiles, ..ScaleSummary::default() };
    for index in 0..tiles {
        bar.set_message(format!("tile {}/{tiles}", index + 1));
        let demo_opts = DemoOptions {
            seed: opts.seed.wrapping_add(u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            today: opts.today,
            seniors: share(opts.seniors, tiles, index),
            history_days: opts.history_days,
            h3_resolution: opts.h3_resolution,
            responders: Some(share(opts.responders, tiles, index).max(2)),
            tile: Some(Tile { index, columns }),
        };
        let base = db::id_base(conn).await?;
        let demo = generate(&demo_opts, &base)?;
        let how = db::Writing { progress: false, large_statements: opts.large_statements };
        summary.rows += db::write(conn, &demo, &demo_opts, services, how).await?;
        summary.communities += demo.communities.len();
        summary.seniors += demo.seniors.len();
        summary.responders += demo.responders.len();
        summary.tasks += demo.tasks.len();
        summary.task_events += demo.events.len();
        summary.alarms += demo.alarms.len();
        bar.inc(demo.seniors.len() as u64);
        drop(demo);
        tracing::debug!(tile = index, rows = summary.rows, "tile written");
    }
    bar.finish_with_message("city seeded");
    summary.seconds = started.elapsed().as_secs_f64();
    summary.peak_memory_mb = peak_memory_mb();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdBase;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        let parts: Vec<usize> = (0..7).map(|i| share(20_000, 7, i)).collect();
        assert_eq!(parts.iter().sum::<usize>(), 20_000);
        assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
    }

    #[test]
    fn further_tiles_lie_apart_with_their_own_names_and_logins() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let tile = |index| DemoOptions {
            seniors: 200,
            history_days: 3,
            responders: Some(20),
            tile: Some(Tile { index, columns: 3 }),
            ..DemoOptions::new(1, today)
        };
        let first = generate(&tile(0), &IdBase::default()).unwrap();
        let fifth = generate(&tile(4), &IdBase::default()).unwrap();
        assert_eq!(first.communities[0].name, "兴安路社区");
        assert_eq!(fifth.communities[0].name, "兴安路社区·4");
        assert_eq!(fifth.communities[0].district, "和平区·4");
        assert!(fifth.users.iter().all(|u| u.username.ends_with(".4")), "usernames are numbered");
        assert!(fifth.seniors.iter().all(|s| s.id_number.starts_with("120105")), "their own area code");
        assert!(fifth.seniors.iter().all(|s| crate::is_valid_resident_id(&s.id_number)));
        assert_eq!(first.responders.len(), 22, "20 asked for plus the demo caregiver and volunteer");
        // Tile 4 of 3 columns is one tile east and one north.
        let (lat0, lon0) = first.communities[0].centre;
        let (lat4, lon4) = fifth.communities[0].centre;
        assert!(((lon4 - lon0) - crate::district::TILE_SPAN.0).abs() < 1e-5, "{lon0} {lon4}");
        assert!(((lat4 - lat0) - crate::district::TILE_SPAN.1).abs() < 1e-5, "{lat0} {lat4}");
        assert!(fifth.seniors.iter().all(|s| fifth.communities.iter().any(|c| c.id == s.community_id)));
        let inside = fifth
            .seniors
            .iter()
            .filter(|s| fifth.communities.iter().any(|c| c.contains(s.latitude, s.longitude)))
            .count();
        assert!(inside as f64 > 0.9 * fifth.seniors.len() as f64, "the seniors live in the moved tile");
    }
}
