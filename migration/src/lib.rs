//! The Linli schema (docs/schema.md) as sea-query migrations, one tree for SQLite
//! and PostgreSQL. Every migration has a real `down()`.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts_and_places;
mod m20261123_000002_seniors;
mod m20261123_000003_workforce_and_tasks;
mod m20261123_000004_operations;
mod m20261123_000005_senior_changes;
mod m20261123_000006_push_subscriptions;
mod m20261204_000007_timebank;
mod m20261204_000008_surveys;
mod m20261205_000009_coverage;
mod m20261207_000010_senior_grid_index;
mod m20261207_000011_job_heartbeats;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts_and_places::Migration),
            Box::new(m20261123_000002_seniors::Migration),
            Box::new(m20261123_000003_workforce_and_tasks::Migration),
            Box::new(m20261123_000004_operations::Migration),
            Box::new(m20261123_000005_senior_changes::Migration),
            Box::new(m20261123_000006_push_subscriptions::Migration),
            Box::new(m20261204_000007_timebank::Migration),
            Box::new(m20261204_000008_surveys::Migration),
            Box::new(m20261205_000009_coverage::Migration),
            Box::new(m20261207_000010_senior_grid_index::Migration),
            Box::new(m20261207_000011_job_heartbeats::Migration),
        ]
    }
}
