//! The senior importer on arbitrary bytes, read as CSV and as XLSX: a dry run as an
//! admin against the real application over a throwaway SQLite database (one per
//! process) that holds one community. Bad input must come back as row errors in the
//! report, or as a bad request naming the problem; never a panic or an internal error.

#![no_main]

use std::io::Write;
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use linli::Application;
use linli::auth::Caller;
use linli::clock::SystemClock;
use linli::config::{DatabaseUrl, Secret, Settings};
use linli::error::ApiError;
use linli::registry::import::{Format, ImportOptions, MAX_LISTED_ERRORS, import_seniors};
use linli::state::AppState;
use sea_orm::{ActiveModelTrait, Set};

/// The community the seed files import into (`社区ID` 1).
const BOUNDARY: &str = r#"{"type":"Polygon","coordinates":[[[117.19,39.11],[117.20,39.11],[117.20,39.12],[117.19,39.12],[117.19,39.11]]]}"#;

struct Harness {
    runtime: tokio::runtime::Runtime,
    state: AppState,
    caller: Caller,
    _dir: tempfile::TempDir,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temporary directory");
    let settings = Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: DatabaseUrl::new(format!("sqlite://{}?mode=rwc", dir.path().join("linli.db").display())),
        data_dir: dir.path().to_path_buf(),
        frontend_dir: dir.path().join("no-frontend"),
        secret_key: Some(Secret::new("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned())),
        jobs_enabled: false,
        demo_on_empty: false,
        ..Settings::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let state = runtime.block_on(async {
        let app = Application::build_with_clock(settings, Arc::new(SystemClock)).await.expect("application");
        let now = app.state().clock.now();
        entity::communities::ActiveModel {
            name: Set("五大道社区".to_owned()),
            street: Set("小白楼街道".to_owned()),
            district: Set("和平区".to_owned()),
            boundary_geojson: Set(BOUNDARY.to_owned()),
            cell_resolution: Set(9),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(app.db())
        .await
        .expect("community");
        // Only the state is needed: the server is never started.
        app.state().clone()
    });
    let caller = Caller::operator();
    Harness { runtime, state, caller, _dir: dir }
});

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    for format in [Format::Csv, Format::Xlsx] {
        let mut file = tempfile::tempfile().expect("temporary file");
        file.write_all(data).expect("writing the temporary file");
        let options = ImportOptions { dry_run: true, ..ImportOptions::default() };
        let outcome = harness.runtime.block_on(import_seniors(&harness.state, &harness.caller, file, format, options));
        match outcome {
            Ok(report) => {
                assert_eq!(report.stored, 0, "a dry run stores nothing");
                assert!(report.bad_rows <= report.rows, "{report:?}");
                assert!(report.errors.len() <= MAX_LISTED_ERRORS, "{report:?}");
                assert!(report.errors.len() as u64 <= report.error_count, "{report:?}");
                assert!(report.error_count == 0 || !report.errors.is_empty(), "{report:?}");
            }
            Err(ApiError::BadRequest(message)) => assert!(!message.is_empty()),
            Err(e) => panic!("{format:?}: the import failed instead of reporting bad input: {e:?}"),
        }
    }
});
