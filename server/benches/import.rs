//! Importing a large generated CSV: rows per second and peak memory.
//!
//! `cargo bench -p linli --bench import` imports 100,000 rows (`IMPORT_BENCH_ROWS`) into a
//! temporary SQLite database, or into the PostgreSQL database `IMPORT_BENCH_DATABASE_URL`
//! names (it must be empty or disposable). One run, not many samples: the point is the
//! throughput of a realistic import and that memory stays flat (the file is streamed), so
//! the peak resident set (VmHWM) is printed before and after. Without `--bench` (as
//! `cargo test --benches` runs it) it imports 1,000 rows as a smoke test.

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use linli::Application;
use linli::auth::Caller;
use linli::config::{DatabaseUrl, Settings};
use linli::registry::id_number::check_character;
use linli::registry::import::{self, Format, ImportOptions};
use linli::state::AppState;
use sea_orm::{ActiveModelTrait, Set};

fn main() -> anyhow::Result<()> {
    let full = std::env::args().any(|a| a == "--bench");
    let rows: u32 = match std::env::var("IMPORT_BENCH_ROWS") {
        Ok(n) => n.parse().context("IMPORT_BENCH_ROWS")?,
        Err(_) if full => 100_000,
        Err(_) => 1_000,
    };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(rows))
}

async fn run(rows: u32) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = std::env::var("IMPORT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()));
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: DatabaseUrl::new(url),
        data_dir: dir.path().to_path_buf(),
        jobs_enabled: false,
        demo_on_empty: false,
        ..Settings::default()
    };
    // Built, never run: the same state the server and `linli import` use.
    let app = Application::build(settings).await?;
    let state = app.state();
    let backend = format!("{:?}", state.db.get_database_backend());
    let community = community(state).await?;
    let path = dir.path().join("seniors.csv");
    write_csv(&path, rows, community)?;
    let size = std::fs::metadata(&path)?.len();
    let caller = Caller::operator();
    println!("import: {rows} rows, {:.1} MB CSV, {backend}", size as f64 / 1e6);
    println!("  peak RSS before: {}", peak_rss());
    for dry_run in [true, false] {
        let file = std::fs::File::open(&path)?;
        let started = Instant::now();
        let options = ImportOptions { dry_run, ..ImportOptions::default() };
        let report = import::import_seniors(state, &caller, file, Format::Csv, options)
            .await
            .map_err(|e| anyhow::anyhow!("import failed: {e}"))?;
        let secs = started.elapsed().as_secs_f64();
        anyhow::ensure!(report.is_clean(), "bad rows: {:?}", &report.errors[..report.errors.len().min(5)]);
        anyhow::ensure!(report.rows == u64::from(rows), "read {} of {rows} rows", report.rows);
        println!(
            "  {:8} {:>8.0} rows/s ({secs:.2} s, {} stored); peak RSS now {}",
            if dry_run { "dry run" } else { "import" },
            f64::from(rows) / secs,
            report.stored,
            peak_rss()
        );
    }
    Ok(())
}

async fn community(state: &AppState) -> anyhow::Result<i64> {
    let now = Utc::now();
    let boundary = r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}"#;
    let row = entity::communities::ActiveModel {
        name: Set(format!("基准社区 {}", now.timestamp_micros())),
        street: Set("劝业场街道".to_owned()),
        district: Set("和平区".to_owned()),
        boundary_geojson: Set(boundary.to_owned()),
        cell_resolution: Set(9),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(row.id)
}

/// Valid, distinct rows: birth dates over 10,000 days from 1930, then the sequence number.
fn write_csv(path: &std::path::Path, rows: u32, community: i64) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "姓名,性别,出生日期,身份证号,电话,地址,纬度,经度,社区ID,居住情况,经济状况,联系人,联系人关系,联系人电话"
    )?;
    let start = NaiveDate::from_ymd_opt(1930, 1, 1).context("date")?;
    for n in 0..rows {
        let birth = start + chrono::Days::new(u64::from(n % 10_000));
        let first17 = format!("120101{}{:03}", birth.format("%Y%m%d"), n / 10_000);
        let id = format!("{first17}{}", check_character(&first17));
        let gender = if (n / 10_000) % 2 == 1 { "男" } else { "女" };
        let lat = 39.1105 + f64::from(n % 90) * 0.0001;
        let lng = 117.1905 + f64::from(n % 97) * 0.0001;
        let contact = if n % 2 == 0 { "李强,儿子,13920005678" } else { ",," };
        writeln!(
            out,
            "老人{n},{gender},{birth},{id},138{n:08},和平区南京路{n}号,{lat:.4},{lng:.4},{community},独居,低保,{contact}"
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The process's peak resident set size so far (Linux), e.g. `48.2 MB`.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or_else(|| "unknown".to_owned(), |kb| format!("{:.1} MB", kb / 1024.0))
}
