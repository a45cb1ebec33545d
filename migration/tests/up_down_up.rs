//! Runs the migrations up, down and up again on SQLite (always) and on PostgreSQL
//! (when `TEST_DATABASE_URL` points at a server; a fresh database is created there
//! and dropped afterwards). After each `up`, every entity is checked against the
//! table it maps: the same column names, and a `SELECT` through the entity works.
//! The audit log must refuse UPDATE and DELETE.

// A test may unwrap: a panic is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use entity::prelude::*;
use migration::sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, IdenStatic, Iterable,
    QuerySelect, Set, Statement,
};
use migration::{Migrator, MigratorTrait};

/// Names of the application's tables (everything but sea-orm's bookkeeping).
async fn tables(db: &DatabaseConnection) -> BTreeSet<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> 'seaql_migrations'"
        }
        _ => {
            "SELECT name FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'"
        }
    };
    strings(db, sql).await
}

async fn columns(db: &DatabaseConnection, table: &str) -> BTreeSet<String> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}')"),
    };
    strings(db, &sql).await
}

async fn strings(db: &DatabaseConnection, sql: &str) -> BTreeSet<String> {
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap();
    rows.iter().map(|row| row.try_get::<String>("", "name").unwrap()).collect()
}

/// The entity maps its table exactly, and selecting through it works.
async fn check<E: EntityTrait>(db: &DatabaseConnection, entity: E, seen: &mut BTreeSet<String>) {
    let table = entity.table_name();
    let in_entity: BTreeSet<String> = E::Column::iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(columns(db, table).await, in_entity, "columns of `{table}`: database (left) vs entity (right)");
    E::find().limit(1).all(db).await.unwrap_or_else(|e| panic!("select from `{table}` through its entity: {e}"));
    seen.insert(table.to_owned());
}

async fn check_entities(db: &DatabaseConnection) {
    let mut seen = BTreeSet::new();
    check(db, Users, &mut seen).await;
    check(db, UserCommunities, &mut seen).await;
    check(db, Sessions, &mut seen).await;
    check(db, LoginAttempts, &mut seen).await;
    check(db, Communities, &mut seen).await;
    check(db, CommunityCells, &mut seen).await;
    check(db, Stations, &mut seen).await;
    check(db, Seniors, &mut seen).await;
    check(db, Contacts, &mut seen).await;
    check(db, Consents, &mut seen).await;
    check(db, SeniorChanges, &mut seen).await;
    check(db, PushSubscriptions, &mut seen).await;
    check(db, Assessments, &mut seen).await;
    check(db, TierChanges, &mut seen).await;
    check(db, Responders, &mut seen).await;
    check(db, ResponderCommunities, &mut seen).await;
    check(db, ResponderShifts, &mut seen).await;
    check(db, ResponderAbsences, &mut seen).await;
    check(db, Devices, &mut seen).await;
    check(db, ServicePlans, &mut seen).await;
    check(db, Tasks, &mut seen).await;
    check(db, TaskOffers, &mut seen).await;
    check(db, TaskEvents, &mut seen).await;
    check(db, Alarms, &mut seen).await;
    check(db, AuditLog, &mut seen).await;
    check(db, JobRuns, &mut seen).await;
    check(db, Outbox, &mut seen).await;
    check(db, SurveyTemplates, &mut seen).await;
    check(db, Surveys, &mut seen).await;
    check(db, SurveyAnswers, &mut seen).await;
    check(db, SurveyLinks, &mut seen).await;
    check(db, Cases, &mut seen).await;
    check(db, CaseActions, &mut seen).await;
    check(db, TimebankAccounts, &mut seen).await;
    check(db, TimebankTransactions, &mut seen).await;
    check(db, TimebankEntries, &mut seen).await;
    check(db, TimebankRelatives, &mut seen).await;
    check(db, TimebankBookings, &mut seen).await;
    check(db, TimebankPendingCredits, &mut seen).await;
    check(db, TimebankFlags, &mut seen).await;
    check(db, CoverageCells, &mut seen).await;
    check(db, CoverageCommunities, &mut seen).await;
    check(db, CoverageMonths, &mut seen).await;
    assert_eq!(tables(db).await, seen, "every table has an entity and every entity a table");
}

/// Inserting into `audit_log` works; changing or removing rows does not.
async fn check_audit_log_is_append_only(db: &DatabaseConnection) {
    let row = entity::audit_log::ActiveModel {
        at: Set(chrono::Utc::now()),
        action: Set("test".to_owned()),
        object_type: Set("migration".to_owned()),
        details: Set(serde_json::json!({"up": true})),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let mut refused = vec![format!("UPDATE audit_log SET action = 'changed' WHERE id = {}", row.id)];
    refused.push("DELETE FROM audit_log".to_owned());
    if db.get_database_backend() == DbBackend::Postgres {
        refused.push("TRUNCATE audit_log".to_owned());
    }
    for sql in refused {
        let err = db.execute_unprepared(&sql).await.expect_err(&sql);
        assert!(err.to_string().contains("audit_log is append-only"), "{sql}: {err}");
    }
    assert_eq!(AuditLog::find().all(db).await.unwrap(), vec![row]);
}

async fn up_down_up(url: &str) {
    let db = Database::connect(url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    assert!(Migrator::get_pending_migrations(&db).await.unwrap().is_empty());
    check_entities(&db).await;
    check_audit_log_is_append_only(&db).await;

    Migrator::down(&db, None).await.unwrap();
    assert_eq!(tables(&db).await, BTreeSet::new(), "down() drops every table");
    if db.get_database_backend() == DbBackend::Postgres {
        let functions =
            strings(&db, "SELECT proname::text AS name FROM pg_proc WHERE proname = 'audit_log_append_only'");
        assert!(functions.await.is_empty(), "down() drops the audit trigger function");
    }

    Migrator::up(&db, None).await.unwrap();
    check_entities(&db).await;
    check_audit_log_is_append_only(&db).await;
    db.close().await.unwrap();
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again_on_sqlite() {
    let file = TempFile(std::env::temp_dir().join(format!("linli_migration_{}.db", unique_suffix())));
    up_down_up(&format!("sqlite://{}?mode=rwc", file.0.display())).await;
}

/// A SQLite database file (and its journal files), removed on drop, pass or fail.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again_on_postgres() {
    let server = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ if std::env::var("LINLI_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("LINLI_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL does not point at PostgreSQL")
        }
        _ => {
            eprintln!("skipped: set TEST_DATABASE_URL=postgres://... to run on PostgreSQL");
            return;
        }
    };
    let name = format!("linli_migration_{}", unique_suffix());
    let admin = Database::connect(server.as_str()).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();

    // Run in its own task so the database is dropped even when a check fails.
    let url = with_database(&server, &name);
    let outcome = tokio::spawn(async move { up_down_up(&url).await }).await;

    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
    admin.close().await.unwrap();
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, String::new()), |(b, q)| (b, format!("?{q}")));
    let authority = base.find("://").map_or(0, |i| i + 3);
    match base[authority..].find('/') {
        Some(slash) => format!("{}/{name}{query}", &base[..authority + slash]),
        None => format!("{base}/{name}{query}"),
    }
}
