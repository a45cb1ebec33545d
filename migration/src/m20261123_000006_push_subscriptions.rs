//! `push_subscriptions`: the browsers (one per device) that receive a user's web
//! push; `outbox.delivered_to` remembers which subscriptions a row already reached,
//! so a retry after a partial failure never delivers twice.

use sea_orm_migration::{prelude::*, schema::*};

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
                    .table(PushSubscriptions::Table)
                    .col(big_pk_auto(PushSubscriptions::Id))
                    .col(big_integer(PushSubscriptions::UserId))
                    .col(big_integer_null(PushSubscriptions::SessionId))
                    .col(text_uniq(PushSubscriptions::Endpoint))
                    .col(text(PushSubscriptions::P256dh))
                    .col(text(PushSubscriptions::Auth))
                    .col(timestamp_with_time_zone(PushSubscriptions::CreatedAt))
                    .col(timestamp_with_time_zone_null(PushSubscriptions::LastSuccessAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_push_subscriptions_user_id")
                            .from(PushSubscriptions::Table, PushSubscriptions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_push_subscriptions_user_id")
                    .table(PushSubscriptions::Table)
                    .col(PushSubscriptions::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter().table(Outbox::Table).add_column(json_binary_null(Outbox::DeliveredTo)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Outbox::Table).drop_column(Outbox::DeliveredTo).to_owned()).await?;
        manager.drop_table(Table::drop().table(PushSubscriptions::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum PushSubscriptions {
    Table,
    Id,
    UserId,
    SessionId,
    Endpoint,
    P256dh,
    Auth,
    CreatedAt,
    LastSuccessAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    DeliveredTo,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
