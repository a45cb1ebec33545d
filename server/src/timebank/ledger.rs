//! The double-entry ledger. A posting is one `timebank_transactions` row, its
//! entries (summing to zero) and one conditional UPDATE per account row, all in one
//! database transaction:
//!
//! - a debit only applies `WHERE balance_minutes - reserved_minutes >= :m`, so no
//!   interleaving of requests, instances or databases can overdraw an account;
//! - a credit only applies while the account stays under its caps, checked in the
//!   same statement that adds the minutes, so two concurrent earnings cannot both
//!   slip under a cap;
//! - `(kind, business_key)` is unique, so a replay finds the original posting
//!   instead of posting twice.
//!
//! A refused update rolls the whole posting back (nothing is stored) and names the
//! rule that refused it.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{timebank_accounts as accounts, timebank_entries as entries, timebank_transactions as transactions};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use super::rules::Rules;
use super::{AccountKind, TxKind};
use crate::error::ApiError;

/// How a credit is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditLimit {
    /// No cap (the fund; a reversal restoring what was taken).
    None,
    /// The storage cap only (transfers, grants, released reservations).
    Storage,
    /// Storage plus the daily and yearly earning caps, counted on `day`.
    Earning { day: NaiveDate },
}

/// How a debit is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebitFrom {
    /// The spendable balance (balance less reservations).
    Available,
    /// Minutes reserved earlier by a booking, settled now.
    Reserved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Debit { account_id: i64, minutes: i64, from: DebitFrom },
    Credit { account_id: i64, minutes: i64, limit: CreditLimit },
}

impl Leg {
    fn account_id(&self) -> i64 {
        match self {
            Leg::Debit { account_id, .. } | Leg::Credit { account_id, .. } => *account_id,
        }
    }
    fn signed(&self) -> i64 {
        match self {
            Leg::Debit { minutes, .. } => -minutes,
            Leg::Credit { minutes, .. } => *minutes,
        }
    }
}

/// One posting to make.
#[derive(Debug, Clone)]
pub struct Posting {
    pub kind: TxKind,
    pub business_key: String,
    pub legs: Vec<Leg>,
    pub reverses_id: Option<i64>,
    pub task_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub created_by: Option<i64>,
    pub approved_by: Option<i64>,
    pub reason: Option<String>,
    pub details: Value,
}

impl Posting {
    pub fn new(kind: TxKind, business_key: impl Into<String>, legs: Vec<Leg>) -> Self {
        Self {
            kind,
            business_key: business_key.into(),
            legs,
            reverses_id: None,
            task_id: None,
            booking_id: None,
            created_by: None,
            approved_by: None,
            reason: None,
            details: serde_json::json!({}),
        }
    }
}

/// What a posting did.
#[derive(Debug, Clone)]
pub enum Posted {
    New(transactions::Model),
    /// The business key was posted before: this is the original, unchanged.
    Replayed(transactions::Model),
}

impl Posted {
    pub fn transaction(&self) -> &transactions::Model {
        match self {
            Posted::New(t) | Posted::Replayed(t) => t,
        }
    }
    pub fn into_transaction(self) -> transactions::Model {
        match self {
            Posted::New(t) | Posted::Replayed(t) => t,
        }
    }
    pub fn replayed(&self) -> bool {
        matches!(self, Posted::Replayed(_))
    }
}

/// Posts inside `txn` (the caller commits). A refusal leaves the caller to drop
/// the transaction, which rolls back everything written in it.
pub async fn post(
    txn: &DatabaseTransaction,
    rules: &Rules,
    posting: Posting,
    now: DateTime<Utc>,
) -> Result<Posted, ApiError> {
    let total: i64 = posting.legs.iter().map(Leg::signed).sum();
    let moved: i64 = posting.legs.iter().map(Leg::signed).filter(|m| *m > 0).sum();
    if total != 0 || moved <= 0 || posting.legs.iter().any(|l| l.signed() == 0) {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "an unbalanced or empty posting of kind {} (sum {total})",
            posting.kind
        )));
    }
    let inserted = transactions::Entity::insert(transactions::ActiveModel {
        kind: Set(posting.kind.as_str().to_owned()),
        business_key: Set(posting.business_key.clone()),
        minutes: Set(moved),
        reverses_id: Set(posting.reverses_id),
        task_id: Set(posting.task_id),
        booking_id: Set(posting.booking_id),
        created_by: Set(posting.created_by),
        approved_by: Set(posting.approved_by),
        reason: Set(posting.reason.clone()),
        details: Set(posting.details.clone()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([transactions::Column::Kind, transactions::Column::BusinessKey]).do_nothing().to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let tx = by_key(txn, posting.kind, &posting.business_key).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("posting {} {} vanished", posting.kind, posting.business_key))
    })?;
    if inserted == 0 {
        return Ok(Posted::Replayed(tx));
    }
    // Account rows in id order: concurrent postings lock them in the same order.
    let mut legs = posting.legs.clone();
    legs.sort_by_key(Leg::account_id);
    for leg in &legs {
        apply(txn, rules, leg, now).await?;
    }
    entries::Entity::insert_many(posting.legs.iter().map(|leg| entries::ActiveModel {
        transaction_id: Set(tx.id),
        account_id: Set(leg.account_id()),
        minutes: Set(leg.signed()),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    metrics::counter!("linli_timebank_postings_total", "kind" => posting.kind.as_str()).increment(1);
    Ok(Posted::New(tx))
}

pub async fn by_key(
    db: &impl ConnectionTrait,
    kind: TxKind,
    key: &str,
) -> Result<Option<transactions::Model>, ApiError> {
    Ok(transactions::Entity::find()
        .filter(transactions::Column::Kind.eq(kind.as_str()))
        .filter(transactions::Column::BusinessKey.eq(key))
        .one(db)
        .await?)
}

fn is_fund(kind: &str) -> bool {
    kind == AccountKind::Fund.as_str()
}

async fn apply(txn: &DatabaseTransaction, rules: &Rules, leg: &Leg, now: DateTime<Utc>) -> Result<(), ApiError> {
    use accounts::Column as C;
    use sea_orm::sea_query::ExprTrait as _;
    let id = leg.account_id();
    let mut update = accounts::Entity::update_many()
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(id));
    match *leg {
        Leg::Debit { minutes, from: DebitFrom::Available, .. } => {
            update = update.col_expr(C::BalanceMinutes, Expr::col(C::BalanceMinutes).sub(minutes)).filter(
                Expr::col(C::Kind)
                    .eq(AccountKind::Fund.as_str())
                    .or(Expr::col(C::BalanceMinutes).sub(Expr::col(C::ReservedMinutes)).gte(minutes)),
            );
        }
        Leg::Debit { minutes, from: DebitFrom::Reserved, .. } => {
            update = update
                .col_expr(C::BalanceMinutes, Expr::col(C::BalanceMinutes).sub(minutes))
                .col_expr(C::ReservedMinutes, Expr::col(C::ReservedMinutes).sub(minutes))
                .filter(C::ReservedMinutes.gte(minutes))
                .filter(C::BalanceMinutes.gte(minutes));
        }
        Leg::Credit { minutes, limit, .. } => {
            update = update.col_expr(C::BalanceMinutes, Expr::col(C::BalanceMinutes).add(minutes));
            if limit != CreditLimit::None {
                update = update.filter(
                    Expr::col(C::Kind)
                        .eq(AccountKind::Fund.as_str())
                        .or(Expr::col(C::BalanceMinutes).add(minutes).lte(rules.storage_cap_minutes())),
                );
            }
            if let CreditLimit::Earning { day } = limit {
                let year = day.year();
                let same_day = || Expr::col(C::EarnedDay).eq(day);
                let same_year = || Expr::col(C::EarnedYear).eq(year);
                let day_so_far =
                    || -> Expr { Expr::case(same_day(), Expr::col(C::EarnedDayMinutes)).finally(0i64).into() };
                let year_so_far =
                    || -> Expr { Expr::case(same_year(), Expr::col(C::EarnedYearMinutes)).finally(0i64).into() };
                update = update
                    .col_expr(C::EarnedDayMinutes, day_so_far().add(minutes))
                    .col_expr(C::EarnedDay, Expr::value(day))
                    .col_expr(C::EarnedYearMinutes, year_so_far().add(minutes))
                    .col_expr(C::EarnedYear, Expr::value(year))
                    .filter(day_so_far().add(minutes).lte(rules.daily_cap_minutes()))
                    .filter(year_so_far().add(minutes).lte(rules.yearly_cap_minutes()));
            }
        }
    }
    let done = update.exec(txn).await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    let account = accounts::Entity::find_by_id(id).one(txn).await?.ok_or(ApiError::NotFound)?;
    Err(why_refused(rules, &account, leg))
}

/// Names the rule a leg broke, from the account as it is now.
fn why_refused(rules: &Rules, a: &accounts::Model, leg: &Leg) -> ApiError {
    match *leg {
        Leg::Debit { minutes, from: DebitFrom::Available, .. } => ApiError::Refused {
            rule: "insufficient_balance",
            field: "minutes",
            detail: format!(
                "account {} has {} spendable minutes; {minutes} are needed",
                a.id,
                a.balance_minutes - a.reserved_minutes
            ),
        },
        Leg::Debit { minutes, from: DebitFrom::Reserved, .. } => ApiError::Refused {
            rule: "insufficient_reservation",
            field: "minutes",
            detail: format!("account {} has {} reserved minutes; {minutes} are to settle", a.id, a.reserved_minutes),
        },
        Leg::Credit { minutes, limit, .. } => {
            if !is_fund(&a.kind) && a.balance_minutes + minutes > rules.storage_cap_minutes() {
                return ApiError::Refused {
                    rule: "storage_cap",
                    field: "minutes",
                    detail: format!(
                        "account {} holds {} minutes; {minutes} more would pass the storage cap of {} hours",
                        a.id, a.balance_minutes, rules.caps.storage_hours
                    ),
                };
            }
            if let CreditLimit::Earning { day } = limit {
                let today = if a.earned_day == Some(day) { a.earned_day_minutes } else { 0 };
                if today + minutes > rules.daily_cap_minutes() {
                    return ApiError::Refused {
                        rule: "daily_cap",
                        field: "minutes",
                        detail: format!(
                            "account {} earned {today} minutes on {day}; {minutes} more would pass the daily cap of {} hours",
                            a.id, rules.caps.daily_earning_hours
                        ),
                    };
                }
                let year = if a.earned_year == Some(day.year()) { a.earned_year_minutes } else { 0 };
                if year + minutes > rules.yearly_cap_minutes() {
                    return ApiError::Refused {
                        rule: "yearly_cap",
                        field: "minutes",
                        detail: format!(
                            "account {} earned {year} minutes in {}; {minutes} more would pass the yearly cap of {} hours",
                            a.id,
                            day.year(),
                            rules.caps.yearly_earning_hours
                        ),
                    };
                }
            }
            // The row changed between the update and this read: let the caller retry.
            ApiError::Contention
        }
    }
}

/// Reserves minutes for a booking: only while they are spendable.
pub async fn reserve(
    txn: &DatabaseTransaction,
    account_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use accounts::Column as C;
    use sea_orm::sea_query::ExprTrait as _;
    let done = accounts::Entity::update_many()
        .col_expr(C::ReservedMinutes, Expr::col(C::ReservedMinutes).add(minutes))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(account_id))
        .filter(Expr::col(C::BalanceMinutes).sub(Expr::col(C::ReservedMinutes)).gte(minutes))
        .exec(txn)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    let a = accounts::Entity::find_by_id(account_id).one(txn).await?.ok_or(ApiError::NotFound)?;
    Err(ApiError::Refused {
        rule: "insufficient_balance",
        field: "minutes",
        detail: format!(
            "account {} has {} spendable minutes; {minutes} are needed",
            a.id,
            a.balance_minutes - a.reserved_minutes
        ),
    })
}

/// Gives back a reservation (a cancelled booking).
pub async fn release(
    txn: &DatabaseTransaction,
    account_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use accounts::Column as C;
    use sea_orm::sea_query::ExprTrait as _;
    let done = accounts::Entity::update_many()
        .col_expr(C::ReservedMinutes, Expr::col(C::ReservedMinutes).sub(minutes))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(account_id))
        .filter(C::ReservedMinutes.gte(minutes))
        .exec(txn)
        .await?;
    if done.rows_affected == 1 {
        Ok(())
    } else {
        Err(ApiError::Internal(anyhow::anyhow!("account {account_id} has less reserved than a booking holds")))
    }
}

/// Moves the cached pending minutes of an account (a held credit, or its resolution).
pub async fn add_pending(
    txn: &DatabaseTransaction,
    account_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use accounts::Column as C;
    use sea_orm::sea_query::ExprTrait as _;
    let done = accounts::Entity::update_many()
        .col_expr(C::PendingMinutes, Expr::col(C::PendingMinutes).add(minutes))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(account_id))
        .filter(Expr::col(C::PendingMinutes).add(minutes).gte(0))
        .exec(txn)
        .await?;
    if done.rows_affected == 1 {
        Ok(())
    } else {
        Err(ApiError::Internal(anyhow::anyhow!("pending minutes of account {account_id} would go negative")))
    }
}

/// Runs a write unit again when the database reports contention (SQLite busy,
/// PostgreSQL serialization failure or deadlock), with a growing, jittered pause.
/// After the last attempt the caller gets 503 `contention`, never a 500.
pub async fn retrying<T>(mut unit: impl AsyncFnMut() -> Result<T, ApiError>) -> Result<T, ApiError> {
    const ATTEMPTS: u32 = 8;
    let mut attempt = 0;
    loop {
        match unit().await {
            Err(ApiError::Contention) if attempt + 1 < ATTEMPTS => {
                attempt += 1;
                metrics::counter!("linli_timebank_retries_total").increment(1);
                let jitter = u64::from(rand::random::<u8>() % 20);
                tokio::time::sleep(Duration::from_millis(5 * 2u64.pow(attempt.min(6)) + jitter)).await;
            }
            other => return other,
        }
    }
}
