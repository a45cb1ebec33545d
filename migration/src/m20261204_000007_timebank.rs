//! The volunteer time bank: accounts, a double-entry ledger whose entries and
//! transactions the database refuses to change or delete, relative links,
//! redemption bookings, pending credits of disputed visits, abuse flags for review,
//! and the confirmation of a visit on `tasks`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(big_pk_auto(Accounts::Id))
                    .col(text(Accounts::Kind))
                    .col(big_integer_null(Accounts::OwnerUserId))
                    .col(big_integer_null(Accounts::SeniorId))
                    .col(big_integer_null(Accounts::CommunityId))
                    .col(big_integer(Accounts::BalanceMinutes).default(0))
                    .col(big_integer(Accounts::PendingMinutes).default(0))
                    .col(big_integer(Accounts::ReservedMinutes).default(0))
                    .col(date_null(Accounts::EarnedDay))
                    .col(big_integer(Accounts::EarnedDayMinutes).default(0))
                    .col(integer_null(Accounts::EarnedYear))
                    .col(big_integer(Accounts::EarnedYearMinutes).default(0))
                    .col(date_null(Accounts::BirthDate))
                    .col(big_integer_null(Accounts::ApprovedBy))
                    .col(timestamp_with_time_zone_null(Accounts::ApprovedAt))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .col(integer(Accounts::Version).default(1))
                    // Only the fund (the issuer of credits) may be overdrawn.
                    .check(Expr::cust(
                        "kind = 'fund' OR (balance_minutes >= 0 AND reserved_minutes >= 0 \
                         AND reserved_minutes <= balance_minutes AND pending_minutes >= 0)",
                    ))
                    .check(Expr::cust("kind IN ('volunteer', 'senior', 'fund')"))
                    .foreign_key(&mut fk(
                        "fk_timebank_accounts_owner",
                        Accounts::Table,
                        Accounts::OwnerUserId,
                        Users::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_accounts_senior",
                        Accounts::Table,
                        Accounts::SeniorId,
                        Seniors::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_accounts_approved_by",
                        Accounts::Table,
                        Accounts::ApprovedBy,
                        Users::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(manager, "uq_timebank_accounts_kind_owner", Accounts::Table, &[Accounts::Kind, Accounts::OwnerUserId])
            .await?;
        unique(manager, "uq_timebank_accounts_senior", Accounts::Table, &[Accounts::SeniorId]).await?;
        index(manager, "ix_timebank_accounts_community", Accounts::Table, &[Accounts::CommunityId]).await?;
        // One district fund: a partial unique index, the same on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX uq_timebank_accounts_one_fund ON timebank_accounts (kind) WHERE kind = 'fund'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Transactions::Table)
                    .col(big_pk_auto(Transactions::Id))
                    .col(text(Transactions::Kind))
                    .col(text(Transactions::BusinessKey))
                    .col(big_integer(Transactions::Minutes))
                    .col(big_integer_null(Transactions::ReversesId))
                    .col(big_integer_null(Transactions::TaskId))
                    .col(big_integer_null(Transactions::BookingId))
                    .col(big_integer_null(Transactions::CreatedBy))
                    .col(big_integer_null(Transactions::ApprovedBy))
                    .col(text_null(Transactions::Reason))
                    .col(json_binary(Transactions::Details))
                    .col(timestamp_with_time_zone(Transactions::CreatedAt))
                    .check(Expr::cust("minutes > 0"))
                    .foreign_key(&mut fk(
                        "fk_timebank_transactions_reverses",
                        Transactions::Table,
                        Transactions::ReversesId,
                        Transactions::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_transactions_created_by",
                        Transactions::Table,
                        Transactions::CreatedBy,
                        Users::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_timebank_transactions_kind_key",
            Transactions::Table,
            &[Transactions::Kind, Transactions::BusinessKey],
        )
        .await?;
        unique(manager, "uq_timebank_transactions_reverses", Transactions::Table, &[Transactions::ReversesId]).await?;
        index(manager, "ix_timebank_transactions_task", Transactions::Table, &[Transactions::TaskId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Entries::Table)
                    .col(big_pk_auto(Entries::Id))
                    .col(big_integer(Entries::TransactionId))
                    .col(big_integer(Entries::AccountId))
                    .col(big_integer(Entries::Minutes))
                    .col(timestamp_with_time_zone(Entries::CreatedAt))
                    .check(Expr::cust("minutes <> 0"))
                    .foreign_key(&mut fk(
                        "fk_timebank_entries_transaction",
                        Entries::Table,
                        Entries::TransactionId,
                        Transactions::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_entries_account",
                        Entries::Table,
                        Entries::AccountId,
                        Accounts::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        index(manager, "ix_timebank_entries_account_id", Entries::Table, &[Entries::AccountId, Entries::Id]).await?;
        index(manager, "ix_timebank_entries_transaction", Entries::Table, &[Entries::TransactionId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Relatives::Table)
                    .col(big_pk_auto(Relatives::Id))
                    .col(big_integer(Relatives::VolunteerUserId))
                    .col(big_integer(Relatives::SeniorId))
                    .col(text(Relatives::Relation))
                    .col(text(Relatives::Status))
                    .col(big_integer_null(Relatives::RequestedBy))
                    .col(timestamp_with_time_zone(Relatives::CreatedAt))
                    .col(big_integer_null(Relatives::ApprovedBy))
                    .col(timestamp_with_time_zone_null(Relatives::ApprovedAt))
                    .foreign_key(&mut fk(
                        "fk_timebank_relatives_volunteer",
                        Relatives::Table,
                        Relatives::VolunteerUserId,
                        Users::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_relatives_senior",
                        Relatives::Table,
                        Relatives::SeniorId,
                        Seniors::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_relatives_approved_by",
                        Relatives::Table,
                        Relatives::ApprovedBy,
                        Users::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            "uq_timebank_relatives_pair",
            Relatives::Table,
            &[Relatives::VolunteerUserId, Relatives::SeniorId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Bookings::Table)
                    .col(big_pk_auto(Bookings::Id))
                    .col(big_integer(Bookings::AccountId))
                    .col(big_integer(Bookings::SeniorId))
                    .col(big_integer_null(Bookings::TaskId))
                    .col(text(Bookings::Kind))
                    .col(big_integer(Bookings::Minutes))
                    .col(text(Bookings::Status))
                    .col(text(Bookings::IdempotencyKey))
                    .col(big_integer_null(Bookings::TransactionId))
                    .col(big_integer_null(Bookings::CreatedBy))
                    .col(timestamp_with_time_zone(Bookings::CreatedAt))
                    .col(timestamp_with_time_zone_null(Bookings::ClosedAt))
                    .check(Expr::cust("minutes > 0"))
                    .foreign_key(&mut fk(
                        "fk_timebank_bookings_account",
                        Bookings::Table,
                        Bookings::AccountId,
                        Accounts::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_bookings_senior",
                        Bookings::Table,
                        Bookings::SeniorId,
                        Seniors::Table,
                    ))
                    .foreign_key(&mut fk("fk_timebank_bookings_task", Bookings::Table, Bookings::TaskId, Tasks::Table))
                    .to_owned(),
            )
            .await?;
        unique(manager, "uq_timebank_bookings_key", Bookings::Table, &[Bookings::AccountId, Bookings::IdempotencyKey])
            .await?;
        unique(manager, "uq_timebank_bookings_task", Bookings::Table, &[Bookings::TaskId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(PendingCredits::Table)
                    .col(big_pk_auto(PendingCredits::Id))
                    .col(big_integer(PendingCredits::TaskId))
                    .col(big_integer(PendingCredits::AccountId))
                    .col(big_integer(PendingCredits::Minutes))
                    .col(text(PendingCredits::Status))
                    .col(text(PendingCredits::Reason))
                    .col(timestamp_with_time_zone(PendingCredits::CreatedAt))
                    .col(big_integer_null(PendingCredits::ResolvedBy))
                    .col(timestamp_with_time_zone_null(PendingCredits::ResolvedAt))
                    .col(text_null(PendingCredits::Resolution))
                    .col(big_integer_null(PendingCredits::TransactionId))
                    .check(Expr::cust("minutes > 0"))
                    .foreign_key(&mut fk(
                        "fk_timebank_pending_credits_task",
                        PendingCredits::Table,
                        PendingCredits::TaskId,
                        Tasks::Table,
                    ))
                    .foreign_key(&mut fk(
                        "fk_timebank_pending_credits_account",
                        PendingCredits::Table,
                        PendingCredits::AccountId,
                        Accounts::Table,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(manager, "uq_timebank_pending_credits_task", PendingCredits::Table, &[PendingCredits::TaskId]).await?;
        index(manager, "ix_timebank_pending_credits_status", PendingCredits::Table, &[PendingCredits::Status]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Flags::Table)
                    .col(big_pk_auto(Flags::Id))
                    .col(text(Flags::Kind))
                    .col(text(Flags::SubjectKey))
                    .col(big_integer_null(Flags::AccountId))
                    .col(big_integer_null(Flags::TaskId))
                    .col(big_integer_null(Flags::CommunityId))
                    .col(json_binary(Flags::Details))
                    .col(text(Flags::Status))
                    .col(timestamp_with_time_zone(Flags::CreatedAt))
                    .col(big_integer_null(Flags::ReviewedBy))
                    .col(timestamp_with_time_zone_null(Flags::ReviewedAt))
                    .to_owned(),
            )
            .await?;
        unique(manager, "uq_timebank_flags_subject", Flags::Table, &[Flags::Kind, Flags::SubjectKey]).await?;

        // SQLite alters one column per statement.
        for col in [
            big_integer_null(Tasks::ConfirmedBy),
            timestamp_with_time_zone_null(Tasks::ConfirmedAt),
            text_null(Tasks::ConfirmationSource),
        ] {
            manager.alter_table(Table::alter().table(Tasks::Table).add_column(col).to_owned()).await?;
        }
        immutable_ledger(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_ledger_guard(manager).await?;
        for col in [Tasks::ConfirmationSource, Tasks::ConfirmedAt, Tasks::ConfirmedBy] {
            manager.alter_table(Table::alter().table(Tasks::Table).drop_column(col).to_owned()).await?;
        }
        for table in [
            Flags::Table.into_iden(),
            PendingCredits::Table.into_iden(),
            Bookings::Table.into_iden(),
            Relatives::Table.into_iden(),
            Entries::Table.into_iden(),
            Transactions::Table.into_iden(),
            Accounts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

fn fk<T: IntoIden + Copy, C: IntoIden, U: IntoIden>(
    name: &str,
    from_table: T,
    from_col: C,
    to_table: U,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from_table, from_col).to(to_table, Alias::new("id")).to_owned()
}

async fn unique<T: IntoIden + Copy, C: IntoIden + Copy>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table).unique();
    for c in cols {
        idx.col(*c);
    }
    manager.create_index(idx.to_owned()).await
}

async fn index<T: IntoIden + Copy, C: IntoIden + Copy>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    manager.create_index(idx.to_owned()).await
}

const IMMUTABLE: &str = "the time-bank ledger is append-only: post a reversing transaction instead";
const GUARDED: [&str; 2] = ["timebank_entries", "timebank_transactions"];

/// The ledger cannot be edited by anyone, the application included: UPDATE and
/// DELETE of an entry or a transaction raise an error (and TRUNCATE on PostgreSQL).
async fn immutable_ledger(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            for table in GUARDED {
                for event in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_no_{} BEFORE {event} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END",
                        event.to_lowercase()
                    ))
                    .await?;
                }
            }
        }
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION timebank_ledger_immutable() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{IMMUTABLE}'; END $$"
            ))
            .await?;
            for table in GUARDED {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION timebank_ledger_immutable()"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION timebank_ledger_immutable()"
                ))
                .await?;
            }
        }
        other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
    }
    Ok(())
}

async fn drop_ledger_guard(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            for table in GUARDED {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_no_update")).await?;
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_no_delete")).await?;
            }
        }
        DbBackend::Postgres => {
            for table in GUARDED {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")).await?;
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")).await?;
            }
            db.execute_unprepared("DROP FUNCTION IF EXISTS timebank_ledger_immutable()").await?;
        }
        _ => {}
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    #[sea_orm(iden = "timebank_accounts")]
    Table,
    Id,
    Kind,
    OwnerUserId,
    SeniorId,
    CommunityId,
    BalanceMinutes,
    PendingMinutes,
    ReservedMinutes,
    EarnedDay,
    EarnedDayMinutes,
    EarnedYear,
    EarnedYearMinutes,
    BirthDate,
    ApprovedBy,
    ApprovedAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum Transactions {
    #[sea_orm(iden = "timebank_transactions")]
    Table,
    Id,
    Kind,
    BusinessKey,
    Minutes,
    ReversesId,
    TaskId,
    BookingId,
    CreatedBy,
    ApprovedBy,
    Reason,
    Details,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Entries {
    #[sea_orm(iden = "timebank_entries")]
    Table,
    Id,
    TransactionId,
    AccountId,
    Minutes,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Relatives {
    #[sea_orm(iden = "timebank_relatives")]
    Table,
    Id,
    VolunteerUserId,
    SeniorId,
    Relation,
    Status,
    RequestedBy,
    CreatedAt,
    ApprovedBy,
    ApprovedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Bookings {
    #[sea_orm(iden = "timebank_bookings")]
    Table,
    Id,
    AccountId,
    SeniorId,
    TaskId,
    Kind,
    Minutes,
    Status,
    IdempotencyKey,
    TransactionId,
    CreatedBy,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PendingCredits {
    #[sea_orm(iden = "timebank_pending_credits")]
    Table,
    Id,
    TaskId,
    AccountId,
    Minutes,
    Status,
    Reason,
    CreatedAt,
    ResolvedBy,
    ResolvedAt,
    Resolution,
    TransactionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Flags {
    #[sea_orm(iden = "timebank_flags")]
    Table,
    Id,
    Kind,
    SubjectKey,
    AccountId,
    TaskId,
    CommunityId,
    Details,
    Status,
    CreatedAt,
    ReviewedBy,
    ReviewedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tasks {
    Table,
    ConfirmedBy,
    ConfirmedAt,
    ConfirmationSource,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum Seniors {
    Table,
}
