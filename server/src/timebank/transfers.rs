//! Transfers (to a registered relative or to the fund), grants from the fund to
//! priority seniors, and reversals. Every one is idempotent on its key.

use chrono::{DateTime, Utc};
use entity::{
    seniors, timebank_accounts as accounts, timebank_entries as entries, timebank_relatives as relatives,
    timebank_transactions as transactions,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::ledger::{self, CreditLimit, DebitFrom, Leg, Posted, Posting};
use super::{AccountKind, TxKind, accounts as accts};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// One side of a transaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LegView {
    pub account_id: i64,
    pub minutes: i64,
}

/// A ledger transaction with its entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionView {
    pub id: i64,
    /// `earn`, `redeem`, `transfer`, `grant` or `reversal`.
    pub kind: String,
    pub minutes: i64,
    pub business_key: String,
    pub reverses_id: Option<i64>,
    pub task_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub created_by: Option<i64>,
    pub approved_by: Option<i64>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<LegView>,
    /// True when the request repeated an earlier one: this is the original.
    pub replayed: bool,
}

pub async fn view(
    db: &impl ConnectionTrait,
    tx: transactions::Model,
    replayed: bool,
) -> Result<TransactionView, ApiError> {
    let legs = entries::Entity::find()
        .filter(entries::Column::TransactionId.eq(tx.id))
        .order_by_asc(entries::Column::Id)
        .all(db)
        .await?;
    Ok(TransactionView {
        id: tx.id,
        kind: tx.kind,
        minutes: tx.minutes,
        business_key: tx.business_key,
        reverses_id: tx.reverses_id,
        task_id: tx.task_id,
        booking_id: tx.booking_id,
        created_by: tx.created_by,
        approved_by: tx.approved_by,
        reason: tx.reason,
        created_at: tx.created_at,
        entries: legs.into_iter().map(|e| LegView { account_id: e.account_id, minutes: e.minutes }).collect(),
        replayed,
    })
}

/// The body of `POST /api/v1/timebank/transfers`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct TransferInput {
    pub from_account_id: i64,
    pub to_account_id: i64,
    #[validate(range(min = 1, max = 90000, message = "1 to 90000 minutes"))]
    #[schema(minimum = 1, maximum = 90000)]
    pub minutes: i64,
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
    /// Chosen by the client; a repeat with the same key returns the original.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub idempotency_key: String,
}

/// Whether `user` has an approved link to `senior`.
pub async fn approved_relative(db: &impl ConnectionTrait, user: i64, senior: i64) -> Result<bool, ApiError> {
    Ok(relatives::Entity::find()
        .filter(relatives::Column::VolunteerUserId.eq(user))
        .filter(relatives::Column::SeniorId.eq(senior))
        .filter(relatives::Column::Status.eq("approved"))
        .one(db)
        .await?
        .is_some())
}

/// May the caller move minutes out of `account`? Its volunteer, or staff in scope.
async fn may_spend(db: &impl ConnectionTrait, caller: &Caller, account: &accounts::Model) -> Result<(), ApiError> {
    if account.kind == AccountKind::Fund.as_str() {
        return Err(ApiError::Refused {
            rule: "fund_grants_only",
            field: "from_account_id",
            detail: "the fund gives hours only by a grant to a priority senior".into(),
        });
    }
    match caller.role {
        Role::Admin | Role::Worker => {
            if accts::may_see(db, caller, account).await? {
                Ok(())
            } else {
                Err(ApiError::NotFound)
            }
        }
        Role::Volunteer | Role::Caregiver if account.owner_user_id == caller.user_id.map(|u| u.0) => Ok(()),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn transfer(state: &AppState, caller: &Caller, input: TransferInput) -> Result<TransactionView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer, Role::Caregiver])?;
    if input.from_account_id == input.to_account_id {
        return Err(ApiError::Refused {
            rule: "same_account",
            field: "to_account_id",
            detail: "an account cannot transfer to itself".into(),
        });
    }
    let reason = input.reason.trim().to_owned();
    let key = format!("{}:{}", input.from_account_id, input.idempotency_key.trim());
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let from = accounts::Entity::find_by_id(input.from_account_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::field("from_account_id", "unknown", "no such account"))?;
        may_spend(&txn, caller, &from).await?;
        let to = accounts::Entity::find_by_id(input.to_account_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::field("to_account_id", "unknown", "no such account"))?;
        let allowed = match (AccountKind::parse(&to.kind), from.owner_user_id, to.senior_id) {
            (Some(AccountKind::Fund), _, _) => true,
            (Some(AccountKind::Senior), Some(owner), Some(senior)) => approved_relative(&txn, owner, senior).await?,
            _ => false,
        };
        if !allowed {
            return Err(ApiError::Refused {
                rule: "not_a_relative",
                field: "to_account_id",
                detail: "minutes go only to the fund or to a relative a worker has approved".into(),
            });
        }
        let mut posting = Posting::new(
            TxKind::Transfer,
            key.clone(),
            vec![
                Leg::Debit { account_id: from.id, minutes: input.minutes, from: DebitFrom::Available },
                Leg::Credit { account_id: to.id, minutes: input.minutes, limit: CreditLimit::Storage },
            ],
        );
        posting.created_by = caller.user_id.map(|u| u.0);
        posting.reason = Some(reason.clone());
        posting.details = json!({"donation": to.kind == AccountKind::Fund.as_str()});
        let posted = ledger::post(&txn, &state.timebank, posting, now).await?;
        if let Posted::Replayed(tx) = &posted {
            let same = view(&txn, tx.clone(), true).await?;
            let matches = same.minutes == input.minutes
                && same.entries.iter().any(|e| e.account_id == to.id && e.minutes == input.minutes);
            if !matches {
                return Err(ApiError::conflict(
                    "idempotency-key-reused",
                    "This idempotency key was used for a different transfer",
                ));
            }
            return Ok(same);
        }
        if caller.role == Role::Worker || caller.role == Role::Admin {
            audit::record(
                &txn,
                &state.clock,
                caller,
                audit::Entry::new(
                    "timebank.transfer",
                    "timebank_transaction",
                    Some(posted.transaction().id.to_string()),
                )
                .reason(reason.clone()),
            )
            .await?;
        }
        let out = view(&txn, posted.into_transaction(), false).await?;
        txn.commit().await?;
        Ok(out)
    })
    .await
}

/// The body of `POST /api/v1/timebank/grants`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct GrantInput {
    pub senior_id: i64,
    #[validate(range(min = 1, max = 90000, message = "1 to 90000 minutes"))]
    #[schema(minimum = 1, maximum = 90000)]
    pub minutes: i64,
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub idempotency_key: String,
}

/// 特困 (destitute), or 失能 (disabled) and living alone.
pub fn is_priority(senior: &seniors::Model) -> bool {
    let flags: Vec<String> = serde_json::from_value(senior.flags.clone()).unwrap_or_default();
    let has = |f: &str| flags.iter().any(|x| x == f);
    senior.economic_status == "destitute"
        || has("destitute")
        || (has("disabled") && (has("alone") || senior.living_arrangement == "alone"))
}

/// The fund grants hours to a priority senior; the approving worker is recorded.
pub async fn grant(state: &AppState, caller: &Caller, input: GrantInput) -> Result<TransactionView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let reason = input.reason.trim().to_owned();
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let senior = seniors::Entity::find_by_id(input.senior_id)
            .one(&txn)
            .await?
            .filter(|s| caller.sees_community(CommunityId(s.community_id)))
            .ok_or_else(|| ApiError::field("senior_id", "unknown", "no such senior in your communities"))?;
        if !is_priority(&senior) {
            return Err(ApiError::Refused {
                rule: "not_priority_senior",
                field: "senior_id",
                detail: "the fund grants hours to 特困 seniors and to 失能 seniors living alone".into(),
            });
        }
        let fund = accts::fund(&txn, now).await?;
        let account = accts::of_senior(&txn, &senior, now).await?;
        let mut posting = Posting::new(
            TxKind::Grant,
            format!("{}:{}", senior.id, input.idempotency_key.trim()),
            vec![
                Leg::Debit { account_id: fund.id, minutes: input.minutes, from: DebitFrom::Available },
                Leg::Credit { account_id: account.id, minutes: input.minutes, limit: CreditLimit::Storage },
            ],
        );
        posting.created_by = caller.user_id.map(|u| u.0);
        posting.approved_by = caller.user_id.map(|u| u.0);
        posting.reason = Some(reason.clone());
        let posted = ledger::post(&txn, &state.timebank, posting, now).await?;
        let replayed = posted.replayed();
        if !replayed {
            audit::record(
                &txn,
                &state.clock,
                caller,
                audit::Entry::new("timebank.grant", "timebank_transaction", Some(posted.transaction().id.to_string()))
                    .reason(reason.clone()),
            )
            .await?;
        }
        let out = view(&txn, posted.into_transaction(), replayed).await?;
        txn.commit().await?;
        Ok(out)
    })
    .await
}

/// The body of `POST /api/v1/timebank/transactions/{id}/reverse`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ReverseInput {
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

/// Posts the mirror of a transaction (worker in scope of every account it touched,
/// admin). The original stays; reversing again returns the first reversal.
pub async fn reverse(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: ReverseInput,
) -> Result<TransactionView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let reason = input.reason.trim().to_owned();
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let original = transactions::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let legs = entries::Entity::find()
            .filter(entries::Column::TransactionId.eq(id))
            .order_by_asc(entries::Column::Id)
            .all(&txn)
            .await?;
        for leg in &legs {
            let account = accounts::Entity::find_by_id(leg.account_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
            if !accts::may_see(&txn, caller, &account).await? {
                return Err(ApiError::NotFound);
            }
        }
        if original.kind == TxKind::Reversal.as_str() {
            return Err(ApiError::Refused {
                rule: "not_reversible",
                field: "id",
                detail: "a reversal is not reversed; post a new transaction instead".into(),
            });
        }
        let mirrored = legs
            .iter()
            .map(|e| {
                if e.minutes > 0 {
                    Leg::Debit { account_id: e.account_id, minutes: e.minutes, from: DebitFrom::Available }
                } else {
                    Leg::Credit { account_id: e.account_id, minutes: -e.minutes, limit: CreditLimit::None }
                }
            })
            .collect();
        let mut posting = Posting::new(TxKind::Reversal, format!("tx:{id}"), mirrored);
        posting.reverses_id = Some(id);
        posting.task_id = original.task_id;
        posting.booking_id = original.booking_id;
        posting.created_by = caller.user_id.map(|u| u.0);
        posting.reason = Some(reason.clone());
        let posted = ledger::post(&txn, &state.timebank, posting, now).await?;
        let replayed = posted.replayed();
        if !replayed {
            audit::record(
                &txn,
                &state.clock,
                caller,
                audit::Entry::new("timebank.reverse", "timebank_transaction", Some(id.to_string()))
                    .reason(reason.clone()),
            )
            .await?;
        }
        let out = view(&txn, posted.into_transaction(), replayed).await?;
        txn.commit().await?;
        Ok(out)
    })
    .await
}
