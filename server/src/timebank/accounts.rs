//! Accounts: opening them (idempotently, safe on two instances), who may see which,
//! their views, entries with a running balance, and the reconciliation report.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    responder_communities, responders, seniors, timebank_accounts as accounts, timebank_entries as entries,
    timebank_pending_credits as pending, timebank_transactions as transactions,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::AccountKind;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;

/// An account as the contract names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    /// `volunteer`, `senior` or `fund`.
    pub kind: AccountKind,
    /// The volunteer's user (volunteer accounts).
    pub owner_user_id: Option<i64>,
    /// The senior (senior accounts).
    pub senior_id: Option<i64>,
    pub community_id: Option<i64>,
    /// The balance: the sum of the account's ledger entries.
    pub balance_minutes: i64,
    /// Held credits of flagged or disputed visits, not yet in the balance.
    pub pending_minutes: i64,
    /// Minutes booked for services not yet delivered (part of the balance).
    pub reserved_minutes: i64,
    /// What can be spent now: balance less reservations.
    pub available_minutes: i64,
    pub birth_date: Option<NaiveDate>,
    /// The worker who approved the membership, and when.
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<accounts::Model> for AccountView {
    fn from(a: accounts::Model) -> Self {
        Self {
            id: a.id,
            kind: AccountKind::parse(&a.kind).unwrap_or(AccountKind::Volunteer),
            owner_user_id: a.owner_user_id,
            senior_id: a.senior_id,
            community_id: a.community_id,
            balance_minutes: a.balance_minutes,
            pending_minutes: a.pending_minutes,
            reserved_minutes: a.reserved_minutes,
            available_minutes: a.balance_minutes - a.reserved_minutes,
            birth_date: a.birth_date,
            approved_by: a.approved_by,
            approved_at: a.approved_at,
            created_at: a.created_at,
        }
    }
}

fn new_row(kind: AccountKind, now: DateTime<Utc>) -> accounts::ActiveModel {
    accounts::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        balance_minutes: Set(0),
        pending_minutes: Set(0),
        reserved_minutes: Set(0),
        earned_day_minutes: Set(0),
        earned_year_minutes: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        ..Default::default()
    }
}

/// Inserts unless a unique index already holds the row (two instances may race).
async fn insert_if_absent(db: &impl ConnectionTrait, row: accounts::ActiveModel) -> Result<(), ApiError> {
    accounts::Entity::insert(row)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The district fund, opened on first use.
pub async fn fund(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<accounts::Model, ApiError> {
    let find = || accounts::Entity::find().filter(accounts::Column::Kind.eq(AccountKind::Fund.as_str())).one(db);
    if let Some(a) = find().await? {
        return Ok(a);
    }
    insert_if_absent(db, new_row(AccountKind::Fund, now)).await?;
    find().await?.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the fund account could not be opened")))
}

/// The volunteer account of `user_id`, opened on first use (in the first community
/// the volunteer serves).
pub async fn of_volunteer(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<accounts::Model, ApiError> {
    let find = || {
        accounts::Entity::find()
            .filter(accounts::Column::Kind.eq(AccountKind::Volunteer.as_str()))
            .filter(accounts::Column::OwnerUserId.eq(user_id))
            .one(db)
    };
    if let Some(a) = find().await? {
        return Ok(a);
    }
    let community = match responders::Entity::find().filter(responders::Column::UserId.eq(user_id)).one(db).await? {
        Some(r) => responder_communities::Entity::find()
            .filter(responder_communities::Column::ResponderId.eq(r.id))
            .order_by_asc(responder_communities::Column::CommunityId)
            .one(db)
            .await?
            .map(|c| c.community_id),
        None => None,
    };
    let mut row = new_row(AccountKind::Volunteer, now);
    row.owner_user_id = Set(Some(user_id));
    row.community_id = Set(community);
    insert_if_absent(db, row).await?;
    find().await?.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("volunteer account of user {user_id} not opened")))
}

/// The account of a senior, opened on first use.
pub async fn of_senior(
    db: &impl ConnectionTrait,
    senior: &seniors::Model,
    now: DateTime<Utc>,
) -> Result<accounts::Model, ApiError> {
    let find = || accounts::Entity::find().filter(accounts::Column::SeniorId.eq(senior.id)).one(db);
    if let Some(a) = find().await? {
        return Ok(a);
    }
    let mut row = new_row(AccountKind::Senior, now);
    row.senior_id = Set(Some(senior.id));
    row.community_id = Set(Some(senior.community_id));
    insert_if_absent(db, row).await?;
    find().await?.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("account of senior {} not opened", senior.id)))
}

/// Whether the caller may read `account`: volunteers their own, workers the
/// accounts of their communities (a volunteer's: any community the volunteer
/// serves) and the fund, admins all.
pub async fn may_see(db: &impl ConnectionTrait, caller: &Caller, account: &accounts::Model) -> Result<bool, ApiError> {
    Ok(match caller.role {
        Role::Admin => true,
        Role::Worker => {
            if account.kind == AccountKind::Fund.as_str()
                || account.community_id.is_some_and(|c| caller.sees_community(CommunityId(c)))
            {
                true
            } else if let Some(owner) = account.owner_user_id {
                let serves: Vec<i64> = responder_communities::Entity::find()
                    .select_only()
                    .column(responder_communities::Column::CommunityId)
                    .inner_join(responders::Entity)
                    .filter(responders::Column::UserId.eq(owner))
                    .into_tuple()
                    .all(db)
                    .await?;
                serves.into_iter().any(|c| caller.sees_community(CommunityId(c)))
            } else {
                false
            }
        }
        Role::Volunteer | Role::Caregiver => {
            account.kind == AccountKind::Volunteer.as_str() && account.owner_user_id == caller.user_id.map(|u| u.0)
        }
        Role::Bureau | Role::Device => false,
    })
}

/// Loads an account the caller may see: 404 otherwise (its existence is not disclosed).
pub async fn find_visible(db: &impl ConnectionTrait, caller: &Caller, id: i64) -> Result<accounts::Model, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer, Role::Caregiver])?;
    let account = accounts::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    if may_see(db, caller, &account).await? { Ok(account) } else { Err(ApiError::NotFound) }
}

/// `CAST(COALESCE(SUM(minutes), 0) AS BIGINT)`: PostgreSQL sums BIGINT as NUMERIC.
fn sum_minutes() -> Expr {
    Expr::cust("CAST(COALESCE(SUM(minutes), 0) AS BIGINT)")
}

/// The sum of an account's entries with ids up to `upto` (all when `None`).
pub async fn entry_sum(db: &impl ConnectionTrait, account_id: i64, upto: Option<i64>) -> Result<i64, ApiError> {
    let mut q =
        entries::Entity::find().select_only().expr(sum_minutes()).filter(entries::Column::AccountId.eq(account_id));
    if let Some(upto) = upto {
        q = q.filter(entries::Column::Id.lte(upto));
    }
    Ok(q.into_tuple::<i64>().one(db).await?.unwrap_or(0))
}

/// One ledger entry of an account, with the balance after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub transaction_id: i64,
    /// The transaction's kind: `earn`, `redeem`, `transfer`, `grant` or `reversal`.
    pub kind: String,
    /// Signed: positive in, negative out.
    pub minutes: i64,
    /// The account's balance after this entry.
    pub running_balance_minutes: i64,
    pub reason: Option<String>,
    pub task_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub reverses_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A page of an account's entries, newest first (or oldest first with `ascending`),
/// each with the running balance after it.
pub async fn entries_page(
    db: &impl ConnectionTrait,
    account_id: i64,
    page: u64,
    per_page: u64,
    ascending: bool,
) -> Result<(Vec<EntryView>, u64), ApiError> {
    let mut q = entries::Entity::find().filter(entries::Column::AccountId.eq(account_id));
    q = if ascending { q.order_by_asc(entries::Column::Id) } else { q.order_by_desc(entries::Column::Id) };
    let paginator = q.paginate(db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let Some(first) = rows.first() else { return Ok((Vec::new(), total)) };
    let txs: HashMap<i64, transactions::Model> = transactions::Entity::find()
        .filter(transactions::Column::Id.is_in(rows.iter().map(|e| e.transaction_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    // Newest first: the balance after the top row, walking down. Oldest first: the
    // balance before the first row, walking up.
    let mut running = if ascending {
        entry_sum(db, account_id, Some(first.id)).await? - first.minutes
    } else {
        entry_sum(db, account_id, Some(first.id)).await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        let after = if ascending {
            running += e.minutes;
            running
        } else {
            let after = running;
            running -= e.minutes;
            after
        };
        let tx = txs.get(&e.transaction_id);
        out.push(EntryView {
            id: e.id,
            transaction_id: e.transaction_id,
            kind: tx.map(|t| t.kind.clone()).unwrap_or_default(),
            minutes: e.minutes,
            running_balance_minutes: after,
            reason: tx.and_then(|t| t.reason.clone()),
            task_id: tx.and_then(|t| t.task_id),
            booking_id: tx.and_then(|t| t.booking_id),
            reverses_id: tx.and_then(|t| t.reverses_id),
            created_at: e.created_at,
        });
    }
    Ok((out, total))
}

/// The reconciliation report: the ledger is whole when `sum_minutes` is 0 and every
/// list is empty.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reconciliation {
    /// The sum of every entry: 0 in a double-entry ledger.
    pub sum_minutes: i64,
    /// Accounts checked.
    pub accounts: u64,
    /// Accounts other than the fund whose entries or cached balance are below zero.
    pub negative_accounts: u64,
    /// Accounts whose cached balance differs from the sum of their entries.
    pub mismatched_cached_balances: u64,
    /// Accounts whose cached pending minutes differ from their held credits.
    pub mismatched_pending: u64,
    /// Accounts with more reserved than their balance.
    pub over_reserved_accounts: u64,
    /// Transactions whose entries do not sum to zero.
    pub unbalanced_transactions: u64,
    /// Entries in the ledger.
    pub entries: u64,
    /// The fund's balance: minus what has been issued and not yet returned.
    pub fund_balance_minutes: i64,
    /// Ids of the accounts behind the counts above (at most 100).
    pub problem_account_ids: Vec<i64>,
    /// Everything above is as it should be.
    pub balanced: bool,
}

pub async fn reconcile(db: &impl ConnectionTrait) -> Result<Reconciliation, ApiError> {
    let sum: i64 = entries::Entity::find().select_only().expr(sum_minutes()).into_tuple().one(db).await?.unwrap_or(0);
    let entry_count = entries::Entity::find().count(db).await?;
    let per_account: HashMap<i64, i64> = entries::Entity::find()
        .select_only()
        .column(entries::Column::AccountId)
        .expr(sum_minutes())
        .group_by(entries::Column::AccountId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let unbalanced: Vec<(i64, i64)> = entries::Entity::find()
        .select_only()
        .column(entries::Column::TransactionId)
        .expr(sum_minutes())
        .group_by(entries::Column::TransactionId)
        .having(Expr::cust("SUM(minutes) <> 0"))
        .into_tuple()
        .all(db)
        .await?;
    let held: HashMap<i64, i64> = pending::Entity::find()
        .select_only()
        .column(pending::Column::AccountId)
        .expr(sum_minutes())
        .filter(pending::Column::Status.eq("pending"))
        .group_by(pending::Column::AccountId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let all = accounts::Entity::find().order_by_asc(accounts::Column::Id).all(db).await?;
    let (mut negative, mut mismatched, mut pending_off, mut over_reserved, mut fund_balance) = (0, 0, 0, 0, 0);
    let mut problems = Vec::new();
    for a in &all {
        let entries_sum = per_account.get(&a.id).copied().unwrap_or(0);
        let is_fund = a.kind == AccountKind::Fund.as_str();
        if is_fund {
            fund_balance = entries_sum;
        }
        let mut bad = false;
        if !is_fund && (entries_sum < 0 || a.balance_minutes < 0) {
            negative += 1;
            bad = true;
        }
        if entries_sum != a.balance_minutes {
            mismatched += 1;
            bad = true;
        }
        if held.get(&a.id).copied().unwrap_or(0) != a.pending_minutes {
            pending_off += 1;
            bad = true;
        }
        if !is_fund && (a.reserved_minutes > a.balance_minutes || a.reserved_minutes < 0) {
            over_reserved += 1;
            bad = true;
        }
        if bad && problems.len() < 100 {
            problems.push(a.id);
        }
    }
    let balanced =
        sum == 0 && negative == 0 && mismatched == 0 && pending_off == 0 && over_reserved == 0 && unbalanced.is_empty();
    Ok(Reconciliation {
        sum_minutes: sum,
        accounts: all.len() as u64,
        negative_accounts: negative,
        mismatched_cached_balances: mismatched,
        mismatched_pending: pending_off,
        over_reserved_accounts: over_reserved,
        unbalanced_transactions: unbalanced.len() as u64,
        entries: entry_count,
        fund_balance_minutes: fund_balance,
        problem_account_ids: problems,
        balanced,
    })
}

/// The body of `POST /api/v1/timebank/members`.
#[derive(Debug, Clone, serde::Deserialize, validator::Validate, ToSchema)]
pub struct MemberInput {
    /// The volunteer's user account.
    pub user_id: i64,
    /// For the redemption age of the volunteer's own care.
    pub birth_date: Option<NaiveDate>,
}

/// A worker approves a volunteer's membership: the account is opened (or found) and
/// the approving worker and time are recorded once.
pub async fn approve_member(
    state: &crate::state::AppState,
    caller: &Caller,
    input: MemberInput,
) -> Result<AccountView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let user = entity::users::Entity::find_by_id(input.user_id).one(&state.db).await?;
    if user.as_ref().is_none_or(|u| u.role != Role::Volunteer.as_str()) {
        return Err(ApiError::field("user_id", "unknown", "no such volunteer"));
    }
    if let Some(b) = input.birth_date
        && (chrono::Datelike::year(&b) < 1900 || b > state.clock.now().date_naive())
    {
        return Err(ApiError::field("birth_date", "implausible", "a date of birth between 1900 and today"));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let account = of_volunteer(&txn, input.user_id, now).await?;
    if caller.role == Role::Worker && account.community_id.is_some() && !may_see(&txn, caller, &account).await? {
        return Err(ApiError::field("user_id", "unknown", "no such volunteer in your communities"));
    }
    let mut update = accounts::Entity::update_many()
        .col_expr(accounts::Column::ApprovedBy, Expr::value(caller.user_id.map(|u| u.0)))
        .col_expr(accounts::Column::ApprovedAt, Expr::value(Some(now)))
        .filter(accounts::Column::Id.eq(account.id))
        .filter(accounts::Column::ApprovedAt.is_null());
    if input.birth_date.is_some() {
        update = update.col_expr(accounts::Column::BirthDate, Expr::value(input.birth_date));
    }
    let done = update.exec(&txn).await?;
    if done.rows_affected == 0 && input.birth_date.is_some() {
        accounts::Entity::update_many()
            .col_expr(accounts::Column::BirthDate, Expr::value(input.birth_date))
            .filter(accounts::Column::Id.eq(account.id))
            .exec(&txn)
            .await?;
    }
    crate::audit::record(
        &txn,
        &state.clock,
        caller,
        crate::audit::Entry::new("timebank.member.approve", "timebank_account", Some(account.id.to_string())),
    )
    .await?;
    let account = accounts::Entity::find_by_id(account.id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    txn.commit().await?;
    Ok(account.into())
}
