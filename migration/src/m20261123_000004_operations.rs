//! Operations: `audit_log`, `job_runs`, `outbox`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite has transactional DDL too: a migration that fails leaves nothing behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(big_integer_null(AuditLog::ActorUserId))
                    .col(text_null(AuditLog::ActorRole))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::ObjectType))
                    .col(text_null(AuditLog::ObjectId))
                    .col(text_null(AuditLog::Reason))
                    .col(text_null(AuditLog::RequestId))
                    .col(json_binary(AuditLog::Details))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(JobRuns::Table)
                    .col(big_pk_auto(JobRuns::Id))
                    .col(text(JobRuns::JobName))
                    .col(text(JobRuns::WindowKey))
                    .col(text(JobRuns::Status))
                    .col(text(JobRuns::Instance))
                    .col(timestamp_with_time_zone(JobRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(JobRuns::FinishedAt))
                    .col(integer(JobRuns::CreatedCount))
                    .col(text_null(JobRuns::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_job_runs_job_name_window_key")
                    .table(JobRuns::Table)
                    .col(JobRuns::JobName)
                    .col(JobRuns::WindowKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(text(Outbox::Channel))
                    .col(text(Outbox::Kind))
                    .col(text_null(Outbox::Topic))
                    .col(big_integer_null(Outbox::RecipientUserId))
                    .col(big_integer_null(Outbox::CommunityId))
                    .col(json_binary(Outbox::Payload))
                    .col(text(Outbox::Urgency))
                    .col(integer(Outbox::TtlSeconds))
                    .col(text(Outbox::Status))
                    .col(integer(Outbox::Attempts))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Outbox::LeaseUntil))
                    .col(text_null(Outbox::LeasedBy))
                    .col(text_null(Outbox::LastError))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_recipient_user_id")
                            .from(Outbox::Table, Outbox::RecipientUserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_status_next_attempt_at")
                    .table(Outbox::Table)
                    .col(Outbox::Status)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        append_only_audit_log(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_audit_log_guard(manager).await?;
        manager.drop_table(Table::drop().table(Outbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(JobRuns::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await?;
        Ok(())
    }
}

const APPEND_ONLY: &str = "audit_log is append-only";

/// Makes `audit_log` append-only: the database itself refuses UPDATE and DELETE
/// (and TRUNCATE on PostgreSQL), whatever the application does.
async fn append_only_audit_log(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            for (name, event) in [("audit_log_no_update", "UPDATE"), ("audit_log_no_delete", "DELETE")] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {name} BEFORE {event} ON audit_log \
                     BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
                ))
                .await?;
            }
        }
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
            ))
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
            )
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log \
                 FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
            )
            .await?;
        }
        other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
    }
    Ok(())
}

async fn drop_audit_log_guard(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_delete").await?;
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update").await?;
        }
        DbBackend::Postgres => {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log").await?;
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log").await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()").await?;
        }
        _ => {}
    }
    Ok(())
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorUserId,
    ActorRole,
    Action,
    ObjectType,
    ObjectId,
    Reason,
    RequestId,
    Details,
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    Id,
    JobName,
    WindowKey,
    Status,
    Instance,
    StartedAt,
    FinishedAt,
    CreatedCount,
    Error,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Channel,
    Kind,
    Topic,
    RecipientUserId,
    CommunityId,
    Payload,
    Urgency,
    TtlSeconds,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LeasedBy,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
