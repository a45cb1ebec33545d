//! Accounts and places: `users`, `communities`, `user_communities`, `sessions`, `login_attempts`,
//! `community_cells`, `stations`.

use sea_orm_migration::{prelude::*, schema::*};

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
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(text_uniq(Users::Username))
                    .col(text(Users::DisplayName))
                    .col(text(Users::PasswordHash))
                    .col(text(Users::Role))
                    .col(text_null(Users::Phone))
                    .col(boolean(Users::IsActive))
                    .col(timestamp_with_time_zone(Users::PasswordChangedAt))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Communities::Table)
                    .col(big_pk_auto(Communities::Id))
                    .col(text(Communities::Name))
                    .col(text(Communities::Street))
                    .col(text(Communities::District))
                    .col(text(Communities::BoundaryGeojson))
                    .col(small_integer(Communities::CellResolution))
                    .col(big_integer_null(Communities::HeadUserId))
                    .col(timestamp_with_time_zone(Communities::CreatedAt))
                    .col(timestamp_with_time_zone(Communities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_communities_head_user_id")
                            .from(Communities::Table, Communities::HeadUserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_communities_street_name")
                    .table(Communities::Table)
                    .col(Communities::Street)
                    .col(Communities::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserCommunities::Table)
                    .col(big_integer(UserCommunities::UserId))
                    .col(big_integer(UserCommunities::CommunityId))
                    .primary_key(Index::create().col(UserCommunities::UserId).col(UserCommunities::CommunityId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_communities_user_id")
                            .from(UserCommunities::Table, UserCommunities::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_communities_community_id")
                            .from(UserCommunities::Table, UserCommunities::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(text_uniq(Sessions::TokenHash))
                    .col(big_integer(Sessions::UserId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(text_null(Sessions::UserAgent))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user_id")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(big_pk_auto(LoginAttempts::Id))
                    .col(text(LoginAttempts::Username))
                    .col(boolean(LoginAttempts::Succeeded))
                    .col(timestamp_with_time_zone(LoginAttempts::AttemptedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_login_attempts_username_attempted_at")
                    .table(LoginAttempts::Table)
                    .col(LoginAttempts::Username)
                    .col(LoginAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommunityCells::Table)
                    .col(big_integer(CommunityCells::CommunityId))
                    .col(big_integer(CommunityCells::Cell))
                    .primary_key(Index::create().col(CommunityCells::CommunityId).col(CommunityCells::Cell))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_community_cells_community_id")
                            .from(CommunityCells::Table, CommunityCells::CommunityId)
                            .to(Communities::Table, Communities::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_community_cells_cell")
                    .table(CommunityCells::Table)
                    .col(CommunityCells::Cell)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Stations::Table)
                    .col(big_pk_auto(Stations::Id))
                    .col(big_integer_null(Stations::CommunityId))
                    .col(text(Stations::Kind))
                    .col(text(Stations::Name))
                    .col(text(Stations::Address))
                    .col(double(Stations::Latitude))
                    .col(double(Stations::Longitude))
                    .col(big_integer(Stations::Cell))
                    .col(integer_null(Stations::MealCapacity))
                    .col(timestamp_with_time_zone(Stations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Stations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CommunityCells::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(LoginAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(UserCommunities::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Communities::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Role,
    Phone,
    IsActive,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Id,
    Name,
    Street,
    District,
    BoundaryGeojson,
    CellResolution,
    HeadUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserCommunities {
    Table,
    UserId,
    CommunityId,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
    UserAgent,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Username,
    Succeeded,
    AttemptedAt,
}

#[derive(DeriveIden)]
enum CommunityCells {
    Table,
    CommunityId,
    Cell,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
    CommunityId,
    Kind,
    Name,
    Address,
    Latitude,
    Longitude,
    Cell,
    MealCapacity,
    CreatedAt,
}
