//! Database connections for SQLite (embedded default) and PostgreSQL (production).

use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use migration::{Migrator, MigratorTrait};

use crate::config::Settings;

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url.expose();
    if settings.database_url.is_sqlite() {
        ensure_sqlite_dir(url)?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(settings.database_acquire_timeout_secs))
        .acquire_timeout(Duration::from_secs(settings.database_acquire_timeout_secs))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await.with_context(|| format!("connecting to {}", settings.database_url.redacted()))
}

/// Applies pending migrations. Several instances may start at once over one
/// PostgreSQL: when another instance wins the race, its work is accepted once no
/// migration is left pending.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match Migrator::up(db, None).await {
            Ok(()) => return Ok(()),
            Err(err) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                if Migrator::get_pending_migrations(db).await.map(|p| p.is_empty()).unwrap_or(false) {
                    return Ok(());
                }
                if attempt >= 5 {
                    return Err(anyhow::Error::new(err).context("running migrations"));
                }
            }
        }
    }
}

/// `sqlite://data/linli.db?mode=rwc` -> make sure `data/` exists.
fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//").split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// A write transaction that takes the write lock at once on SQLite (`BEGIN IMMEDIATE`),
/// so a read-then-write inside it cannot interleave with another writer. On PostgreSQL
/// it is an ordinary READ COMMITTED transaction: callers use conditional updates or
/// `SELECT ... FOR UPDATE` there.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// Serialises writers of `key` across instances until the transaction ends: a
/// PostgreSQL advisory lock. SQLite needs none: `begin_write` already holds the
/// database's one write lock.
pub async fn lock_for_transaction(txn: &DatabaseTransaction, key: &str) -> Result<(), DbErr> {
    if is_postgres(txn) {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Reachability check with a hard time limit, for `/readyz`.
pub async fn ping(db: &DatabaseConnection, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, db.ping()).await, Ok(Ok(())))
}
