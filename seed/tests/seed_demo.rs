//! Seeds migrated databases (a temporary SQLite file, and PostgreSQL when
//! `TEST_DATABASE_URL` points at one) and checks what was written.
//! `LINLI_REQUIRE_POSTGRES=1` turns a missing PostgreSQL into a failure, as in CI.

// Test helpers outside `#[test]` functions: failing loudly is the point.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use entity::prelude::*;
use entity::{seniors, task_events, tasks, users};
use linli_seed::{DemoOptions, DemoSummary, ProtectedId, SeedServices, is_empty, seed_demo};
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

/// Deterministic stand-ins for the server's crypto.
struct Dummy;

impl SeedServices for Dummy {
    fn hash_password(&self, password: &str) -> anyhow::Result<String> {
        Ok(format!("$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXk${}", password.len()))
    }

    fn protect_id_number(&self, id_number: &str) -> anyhow::Result<ProtectedId> {
        Ok(ProtectedId {
            encrypted: format!("enc:{}", id_number.chars().rev().collect::<String>()),
            lookup_hash: format!("hash:{id_number}"),
            masked: format!("{}********{}", &id_number[..6], &id_number[14..]),
        })
    }

    fn hash_api_key(&self, api_key: &str) -> String {
        format!("key:{api_key}")
    }
}

enum Backend {
    Sqlite,
    Postgres(String),
}

fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => out.push(Backend::Postgres(url)),
        _ if std::env::var("LINLI_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("LINLI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL does not point at PostgreSQL")
        }
        _ => eprintln!("PostgreSQL skipped: set TEST_DATABASE_URL=postgres://... to run there too"),
    }
    out
}

/// A fresh, migrated database; `cleanup` drops it (PostgreSQL).
struct TestDb {
    db: DatabaseConnection,
    admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!(
        "linli_seed_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, String::new()), |(b, q)| (b, format!("?{q}")));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    match base[scheme_end..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..scheme_end + slash]),
        None => format!("{base}/{name}{query}"),
    }
}

impl TestDb {
    async fn create(backend: &Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let (db, admin) = match backend {
            Backend::Sqlite => {
                // The same options as the server's `db::connect`.
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("linli.db").display());
                let mut options = ConnectOptions::new(url);
                options.max_connections(4).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
                    o.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                });
                (Database::connect(options).await.unwrap(), None)
            }
            Backend::Postgres(server) => {
                let name = unique_name();
                let admin = Database::connect(server.as_str()).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
                admin.close().await.ok();
                let mut options = ConnectOptions::new(with_database(server, &name));
                options.sqlx_logging(false);
                (Database::connect(options).await.unwrap(), Some((server.clone(), name)))
            }
        };
        Migrator::up(&db, None).await.unwrap();
        TestDb { db, admin, _dir: dir }
    }

    async fn cleanup(self) {
        self.db.close().await.ok();
        if let Some((server, name)) = self.admin {
            let admin = Database::connect(server.as_str()).await.unwrap();
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
            admin.close().await.ok();
        }
    }
}

fn small() -> DemoOptions {
    DemoOptions {
        seniors: 300,
        history_days: 7,
        ..DemoOptions::new(42, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
    }
}

async fn count<E: EntityTrait>(db: &DatabaseConnection) -> usize
where
    E::Model: Sync,
{
    E::find().count(db).await.unwrap() as usize
}

async fn check_small_district(db: &DatabaseConnection, summary: &DemoSummary) {
    assert_eq!(summary.communities, 8);
    assert_eq!(summary.seniors, 300);
    assert_eq!(count::<Communities>(db).await, 8);
    assert_eq!(count::<Seniors>(db).await, 300);
    assert_eq!(count::<Assessments>(db).await, 300);
    assert_eq!(count::<TierChanges>(db).await, 300);
    assert_eq!(count::<Stations>(db).await, summary.stations);
    assert_eq!(count::<Devices>(db).await, summary.devices);
    assert_eq!(count::<Tasks>(db).await, summary.tasks);
    assert_eq!(count::<Alarms>(db).await, summary.alarms);
    assert_eq!(count::<Responders>(db).await, summary.caregivers + summary.volunteers);
    assert!(summary.tasks > 100, "{} tasks", summary.tasks);
    assert!(count::<CommunityCells>(db).await >= 8 * 4);
    assert!(count::<TaskEvents>(db).await > summary.tasks * 3);
    assert!(count::<TaskOffers>(db).await >= summary.tasks);
    assert!(count::<Contacts>(db).await >= 300);
    assert_eq!(count::<Consents>(db).await, 600);
    assert!(count::<ResponderShifts>(db).await >= 5 * summary.caregivers);
    assert!(count::<UserCommunities>(db).await >= 10);
    assert!(count::<ServicePlans>(db).await > 20);
    assert!(!is_empty(db).await.unwrap());

    for (username, role, password) in &summary.logins {
        let user = Users::find().filter(users::Column::Username.eq(username.as_str())).one(db).await.unwrap().unwrap();
        assert_eq!(&user.role, role);
        assert_eq!(password, "linli-demo");
    }
    let senior = Seniors::find().order_by_asc(seniors::Column::Id).one(db).await.unwrap().unwrap();
    assert!(senior.id_number_masked.contains("********"));
    assert!(senior.flags.is_array());
    assert_eq!(senior.tier_rules_version.as_deref(), Some("demo-1"));
    let emergency = Tasks::find().filter(tasks::Column::Kind.eq("emergency")).count(db).await.unwrap() as usize;
    assert_eq!(emergency, summary.alarms);
}

/// Sequences (PostgreSQL) and AUTOINCREMENT (SQLite) must hand out ids past the
/// seeded ones.
async fn new_rows_get_fresh_ids(db: &DatabaseConnection) {
    let now = chrono::Utc::now();
    let user = users::ActiveModel {
        username: Set("after-seed".into()),
        display_name: Set("新用户".into()),
        password_hash: Set("x".into()),
        role: Set("worker".into()),
        is_active: Set(true),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let highest = Users::find().order_by_desc(users::Column::Id).one(db).await.unwrap().unwrap();
    assert_eq!(user.id, highest.id);
    assert_eq!(count::<Users>(db).await as i64, user.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_a_small_district_writes_every_table() {
    for backend in backends() {
        let t = TestDb::create(&backend).await;
        assert!(is_empty(&t.db).await.unwrap());
        let started = Instant::now();
        let summary = seed_demo(&t.db, &small(), &Dummy, false).await.unwrap();
        eprintln!("small demo seeded in {:.2} s: {summary:?}", started.elapsed().as_secs_f64());
        check_small_district(&t.db, &summary).await;
        new_rows_get_fresh_ids(&t.db).await;
        t.cleanup().await;
    }
}

async fn snapshot(db: &DatabaseConnection) -> (Vec<seniors::Model>, Vec<tasks::Model>, Vec<task_events::Model>) {
    (
        Seniors::find().order_by_asc(seniors::Column::Id).all(db).await.unwrap(),
        Tasks::find().order_by_asc(tasks::Column::Id).all(db).await.unwrap(),
        TaskEvents::find().order_by_asc(task_events::Column::Id).all(db).await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_options_seed_identical_rows() {
    for backend in backends() {
        let a = TestDb::create(&backend).await;
        let b = TestDb::create(&backend).await;
        seed_demo(&a.db, &small(), &Dummy, false).await.unwrap();
        seed_demo(&b.db, &small(), &Dummy, false).await.unwrap();
        let (sa, sb) = (snapshot(&a.db).await, snapshot(&b.db).await);
        assert_eq!(sa.0.len(), 300);
        assert!(sa == sb, "two fresh databases hold the same seniors, tasks and events");
        a.cleanup().await;
        b.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_twice_with_force_continues_the_ids() {
    // `linli seed demo --force` on a seeded database: ids continue, but the demo's
    // unique usernames make the second run fail cleanly in its first phase.
    let t = TestDb::create(&Backend::Sqlite).await;
    seed_demo(&t.db, &small(), &Dummy, false).await.unwrap();
    let err = seed_demo(&t.db, &small(), &Dummy, false).await.unwrap_err();
    assert!(format!("{err:#}").contains("inserting users"), "{err:#}");
    assert_eq!(count::<Seniors>(&t.db).await, 300, "the failed phase left nothing behind");
    t.cleanup().await;
}

/// The full default demo (3000 seniors, 60 days). Run with
/// `cargo test -p linli-seed --test seed_demo -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "takes tens of seconds; run explicitly to measure"]
async fn the_full_demo_seeds_in_reasonable_time() {
    for backend in backends() {
        let t = TestDb::create(&backend).await;
        let opts = DemoOptions::new(20261123, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        let started = Instant::now();
        let generated = linli_seed::generate(&opts, &linli_seed::IdBase::default()).unwrap();
        let generation = started.elapsed();
        drop(generated);
        let started = Instant::now();
        let summary = seed_demo(&t.db, &opts, &Dummy, std::env::var("SEED_PROGRESS").is_ok()).await.unwrap();
        let total = started.elapsed();
        eprintln!(
            "{}: generation {:.2} s, generation + writing {:.2} s",
            if t.admin.is_some() { "postgres" } else { "sqlite" },
            generation.as_secs_f64(),
            total.as_secs_f64()
        );
        eprintln!("{summary:?}");
        for (name, n) in [
            ("users", count::<Users>(&t.db).await),
            ("community_cells", count::<CommunityCells>(&t.db).await),
            ("contacts", count::<Contacts>(&t.db).await),
            ("consents", count::<Consents>(&t.db).await),
            ("responder_shifts", count::<ResponderShifts>(&t.db).await),
            ("responder_absences", count::<ResponderAbsences>(&t.db).await),
            ("service_plans", count::<ServicePlans>(&t.db).await),
            ("tasks", count::<Tasks>(&t.db).await),
            ("task_offers", count::<TaskOffers>(&t.db).await),
            ("task_events", count::<TaskEvents>(&t.db).await),
            ("alarms", count::<Alarms>(&t.db).await),
        ] {
            eprintln!("  {name:20} {n}");
        }
        t.cleanup().await;
    }
}
