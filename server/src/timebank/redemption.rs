//! Redemption: relatives a volunteer may spend credits on (approved by a worker),
//! and bookings — a booking reserves the minutes and creates a task dispatched like
//! any other; the task's completion settles the minutes, its cancellation or
//! failure releases them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    seniors, tasks, timebank_accounts as accounts, timebank_bookings as bookings, timebank_relatives as relatives,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::ledger::{self, CreditLimit, DebitFrom, Leg, Posting};
use super::{AccountKind, Relation, TxKind, accounts as accts};
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::dispatch::tasks::{self as task_service, Actor, Note};
use crate::dispatch::{TaskKind, TaskStatus};
use crate::error::ApiError;
use crate::state::AppState;

// ---------------------------------------------------------------- relatives

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RelativeView {
    pub id: i64,
    pub volunteer_user_id: i64,
    pub senior_id: i64,
    pub relation: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub requested_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The senior's time-bank account, where transfers to this relative go (opened
    /// when the link is approved).
    pub senior_account_id: Option<i64>,
}

impl From<relatives::Model> for RelativeView {
    fn from(r: relatives::Model) -> Self {
        Self {
            id: r.id,
            volunteer_user_id: r.volunteer_user_id,
            senior_id: r.senior_id,
            relation: r.relation,
            status: r.status,
            requested_by: r.requested_by,
            created_at: r.created_at,
            approved_by: r.approved_by,
            approved_at: r.approved_at,
            senior_account_id: None,
        }
    }
}

/// The body of `POST /api/v1/timebank/relatives`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct RelativeInput {
    /// The volunteer (default: the caller, when a volunteer).
    pub volunteer_user_id: Option<i64>,
    pub senior_id: i64,
    /// `self_care`, `parent`, `spouse` or `parent_in_law`.
    pub relation: Relation,
}

/// A volunteer (or a worker for them) registers a relative; it is usable once a
/// worker approves it.
pub async fn request_link(state: &AppState, caller: &Caller, input: RelativeInput) -> Result<RelativeView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer])?;
    let volunteer = match (caller.role, input.volunteer_user_id) {
        (Role::Volunteer, None) => caller.user_id()?.0,
        (Role::Volunteer, Some(v)) if Some(v) == caller.user_id.map(|u| u.0) => v,
        (Role::Volunteer, Some(_)) => {
            return Err(ApiError::field("volunteer_user_id", "forbidden", "a volunteer registers their own relatives"));
        }
        (_, Some(v)) => v,
        (_, None) => return Err(ApiError::field("volunteer_user_id", "required", "name the volunteer")),
    };
    let user = entity::users::Entity::find_by_id(volunteer).one(&state.db).await?;
    if user.as_ref().is_none_or(|u| u.role != Role::Volunteer.as_str()) {
        return Err(ApiError::field("volunteer_user_id", "unknown", "no such volunteer"));
    }
    let senior = seniors::Entity::find_by_id(input.senior_id).one(&state.db).await?;
    let senior = match senior {
        Some(s) if caller.role == Role::Volunteer || caller.sees_community(CommunityId(s.community_id)) => s,
        _ => return Err(ApiError::field("senior_id", "unknown", "no such senior")),
    };
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let inserted = relatives::Entity::insert(relatives::ActiveModel {
        volunteer_user_id: Set(volunteer),
        senior_id: Set(senior.id),
        relation: Set(input.relation.as_str().to_owned()),
        status: Set("pending".to_owned()),
        requested_by: Set(caller.user_id.map(|u| u.0)),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([relatives::Column::VolunteerUserId, relatives::Column::SeniorId]).do_nothing().to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        return Err(ApiError::conflict("already-linked", "This volunteer already has a link to this senior"));
    }
    let row = relatives::Entity::find()
        .filter(relatives::Column::VolunteerUserId.eq(volunteer))
        .filter(relatives::Column::SeniorId.eq(senior.id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    if caller.role != Role::Volunteer {
        audit::record(
            &txn,
            &state.clock,
            caller,
            audit::Entry::new("timebank.relative.create", "timebank_relative", Some(row.id.to_string())),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(row.into())
}

/// The body of `POST /api/v1/timebank/relatives/{id}/decide`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct DecideInput {
    pub approve: bool,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A worker of the senior's community approves or rejects a pending link.
pub async fn decide_link(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: DecideInput,
) -> Result<RelativeView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let link = relatives::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    let senior = seniors::Entity::find_by_id(link.senior_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(senior.community_id))?;
    let status = if input.approve { "approved" } else { "rejected" };
    let done = relatives::Entity::update_many()
        .col_expr(relatives::Column::Status, Expr::value(status))
        .col_expr(relatives::Column::ApprovedBy, Expr::value(caller.user_id.map(|u| u.0)))
        .col_expr(relatives::Column::ApprovedAt, Expr::value(Some(now)))
        .filter(relatives::Column::Id.eq(id))
        .filter(relatives::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::conflict("already-decided", format!("This link is already {}", link.status)));
    }
    let mut entry = audit::Entry::new(
        if input.approve { "timebank.relative.approve" } else { "timebank.relative.reject" },
        "timebank_relative",
        Some(id.to_string()),
    );
    if let Some(r) = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        entry = entry.reason(r);
    }
    audit::record(&txn, &state.clock, caller, entry).await?;
    let mut view = RelativeView::from(relatives::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?);
    if input.approve {
        view.senior_account_id = Some(accts::of_senior(&txn, &senior, now).await?.id);
    }
    txn.commit().await?;
    Ok(view)
}

/// Links the caller may see: a volunteer's own; a worker's communities' seniors.
pub async fn list_links(
    db: &impl ConnectionTrait,
    caller: &Caller,
    status: Option<&str>,
) -> Result<Vec<RelativeView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer])?;
    let mut q = relatives::Entity::find().order_by_desc(relatives::Column::Id);
    if let Some(s) = status {
        q = q.filter(relatives::Column::Status.eq(s));
    }
    match caller.role {
        Role::Volunteer => q = q.filter(relatives::Column::VolunteerUserId.eq(caller.user_id()?.0)),
        Role::Worker => {
            let seniors_in_scope = seniors::Entity::find()
                .filter(seniors::Column::CommunityId.is_in(caller.communities.iter().map(|c| c.0)))
                .select_only_id();
            q = q.filter(relatives::Column::SeniorId.in_subquery(seniors_in_scope));
        }
        _ => {}
    }
    let links = q.all(db).await?;
    let accounts_of: std::collections::HashMap<i64, i64> = accounts::Entity::find()
        .filter(accounts::Column::SeniorId.is_in(links.iter().map(|l| l.senior_id)))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| a.senior_id.map(|s| (s, a.id)))
        .collect();
    Ok(links
        .into_iter()
        .map(|l| {
            let account = accounts_of.get(&l.senior_id).copied();
            RelativeView { senior_account_id: account, ..RelativeView::from(l) }
        })
        .collect())
}

trait SelectOnlyId {
    fn select_only_id(self) -> sea_orm::sea_query::SelectStatement;
}

impl SelectOnlyId for sea_orm::Select<seniors::Entity> {
    fn select_only_id(self) -> sea_orm::sea_query::SelectStatement {
        use sea_orm::{QuerySelect, QueryTrait};
        self.select_only().column(seniors::Column::Id).into_query()
    }
}

// ---------------------------------------------------------------- bookings

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    pub id: i64,
    pub account_id: i64,
    pub senior_id: i64,
    pub task_id: Option<i64>,
    pub kind: String,
    pub minutes: i64,
    /// `reserved`, `settled` or `released`.
    pub status: String,
    pub transaction_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// True when the request repeated an earlier one: this is the original.
    pub replayed: bool,
}

fn booking_view(b: bookings::Model, replayed: bool) -> BookingView {
    BookingView {
        id: b.id,
        account_id: b.account_id,
        senior_id: b.senior_id,
        task_id: b.task_id,
        kind: b.kind,
        minutes: b.minutes,
        status: b.status,
        transaction_id: b.transaction_id,
        created_by: b.created_by,
        created_at: b.created_at,
        closed_at: b.closed_at,
        replayed,
    }
}

/// The body of `POST /api/v1/timebank/bookings`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct BookingInput {
    /// The paying account: the volunteer's, or the senior's own.
    pub account_id: i64,
    /// Who receives the care.
    pub senior_id: i64,
    /// The service: a routine task kind (`housekeeping`, `companionship`, ...).
    pub kind: TaskKind,
    #[validate(range(min = 15, max = 480, message = "15 to 480 minutes"))]
    #[schema(minimum = 15, maximum = 480)]
    pub minutes: i64,
    /// When the service is wanted (both or neither).
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub idempotency_key: String,
}

fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Books a service paid in credits: reserves the minutes and creates the task.
pub async fn book(state: &AppState, caller: &Caller, input: BookingInput) -> Result<BookingView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer])?;
    if !input.kind.is_routine() {
        return Err(ApiError::field("kind", "invalid", "book a routine service, not an emergency or a welfare check"));
    }
    match (input.window_start, input.window_end) {
        (Some(a), Some(b)) if b <= a => {
            return Err(ApiError::field("window_end", "invalid", "must be after window_start"));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::field("window_end", "required", "give both ends of the window or neither"));
        }
        _ => {}
    }
    let key = input.idempotency_key.trim().to_owned();
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let account = accounts::Entity::find_by_id(input.account_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::field("account_id", "unknown", "no such account"))?;
        let own = account.owner_user_id.is_some() && account.owner_user_id == caller.user_id.map(|u| u.0);
        let staff = matches!(caller.role, Role::Admin | Role::Worker) && accts::may_see(&txn, caller, &account).await?;
        if !own && !staff {
            return Err(ApiError::field("account_id", "unknown", "no such account"));
        }
        let senior = seniors::Entity::find_by_id(input.senior_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::field("senior_id", "unknown", "no such senior"))?;
        check_beneficiary(state, &txn, &account, &senior, now).await?;
        let inserted = bookings::Entity::insert(bookings::ActiveModel {
            account_id: Set(account.id),
            senior_id: Set(senior.id),
            kind: Set(input.kind.as_str().to_owned()),
            minutes: Set(input.minutes),
            status: Set("reserved".to_owned()),
            idempotency_key: Set(key.clone()),
            created_by: Set(caller.user_id.map(|u| u.0)),
            created_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([bookings::Column::AccountId, bookings::Column::IdempotencyKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let booking = bookings::Entity::find()
            .filter(bookings::Column::AccountId.eq(account.id))
            .filter(bookings::Column::IdempotencyKey.eq(key.as_str()))
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound)?;
        if inserted == 0 {
            return Ok(booking_view(booking, true));
        }
        ledger::reserve(&txn, account.id, input.minutes, now).await?;
        let notes = input.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        let task = tasks::ActiveModel {
            window_start: Set(input.window_start),
            window_end: Set(input.window_end),
            service_date: Set(input.window_start.map(|w| w.with_timezone(&state.settings.tz()).date_naive())),
            notes: Set(notes),
            details: Set(json!({"timebank_booking_id": booking.id, "booked_minutes": input.minutes})),
            created_by: Set(caller.user_id.map(|u| u.0)),
            ..task_service::new_row(input.kind, senior.id, senior.community_id, now)
        }
        .insert(&txn)
        .await?;
        task_service::event(
            &txn,
            task.id,
            "created",
            None,
            Some(TaskStatus::Created),
            Actor::of(caller),
            Note::details(json!({"timebank_booking_id": booking.id})),
            now,
        )
        .await?;
        crate::dispatch::plans::offer_to_best(state, &txn, &task, now).await?;
        bookings::Entity::update_many()
            .col_expr(bookings::Column::TaskId, Expr::value(Some(task.id)))
            .filter(bookings::Column::Id.eq(booking.id))
            .exec(&txn)
            .await?;
        if staff {
            audit::record(
                &txn,
                &state.clock,
                caller,
                audit::Entry::new("timebank.booking.create", "timebank_booking", Some(booking.id.to_string())),
            )
            .await?;
        }
        let booking = bookings::Entity::find_by_id(booking.id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        txn.commit().await?;
        state.events.notify_waiters();
        Ok(booking_view(booking, false))
    })
    .await
}

/// Who may receive care paid from `account`: a senior's own account pays for that
/// senior; a volunteer's pays for an approved relative, or for the volunteer's own
/// care (`self` link) once they have reached the redemption age.
async fn check_beneficiary(
    state: &AppState,
    db: &impl ConnectionTrait,
    account: &accounts::Model,
    senior: &seniors::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let not_related = || ApiError::Refused {
        rule: "not_a_relative",
        field: "senior_id",
        detail: "credits pay for the account's own senior or for a relative a worker has approved".into(),
    };
    match AccountKind::parse(&account.kind) {
        Some(AccountKind::Senior) if account.senior_id == Some(senior.id) => Ok(()),
        Some(AccountKind::Volunteer) => {
            let owner = account.owner_user_id.ok_or_else(not_related)?;
            let link = relatives::Entity::find()
                .filter(relatives::Column::VolunteerUserId.eq(owner))
                .filter(relatives::Column::SeniorId.eq(senior.id))
                .filter(relatives::Column::Status.eq("approved"))
                .one(db)
                .await?
                .ok_or_else(not_related)?;
            if link.relation == Relation::SelfCare.as_str() {
                let today = now.with_timezone(&state.settings.tz()).date_naive();
                let min_age = state.timebank.redemption.age as i32;
                // The registry knows the senior's birth date: the volunteer's own record.
                let birth = account.birth_date.unwrap_or(senior.birth_date);
                if age_on(birth, today) < min_age {
                    return Err(ApiError::Refused {
                        rule: "redemption_age",
                        field: "senior_id",
                        detail: format!("a volunteer redeems for their own care from the age of {min_age}"),
                    });
                }
            }
            Ok(())
        }
        _ => Err(not_related()),
    }
}

/// The body of `POST /api/v1/timebank/bookings/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct CancelBookingInput {
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

/// Cancels a booking not yet delivered: the minutes are released and the task cancelled.
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: CancelBookingInput,
) -> Result<BookingView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer])?;
    let reason = input.reason.trim().to_owned();
    ledger::retrying(async || {
        let now = state.clock.now();
        let txn = crate::db::begin_write(&state.db).await?;
        let booking = bookings::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let account = accounts::Entity::find_by_id(booking.account_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        let own = account.owner_user_id.is_some() && account.owner_user_id == caller.user_id.map(|u| u.0);
        let staff = matches!(caller.role, Role::Admin | Role::Worker) && accts::may_see(&txn, caller, &account).await?;
        if !own && !staff {
            return Err(ApiError::NotFound);
        }
        if booking.status != "reserved" {
            return Err(ApiError::conflict("booking-closed", format!("This booking is already {}", booking.status)));
        }
        if let Some(task_id) = booking.task_id {
            let task = tasks::Entity::find_by_id(task_id).one(&txn).await?.ok_or(ApiError::NotFound)?;
            let status = task_service::status_of(&task);
            if status == TaskStatus::OnSite {
                return Err(task_service::illegal(&task, "be cancelled while the service is under way"));
            }
            if !status.is_terminal() {
                task_service::transition(
                    &txn,
                    &task,
                    TaskStatus::Cancelled,
                    "cancelled",
                    Actor::of(caller),
                    Note::details(json!({"reason": reason, "timebank_booking_id": id})),
                    now,
                    |_| {},
                )
                .await?;
                task_service::withdraw_offers(&txn, task_id, None, "cancelled", now).await?;
            }
        }
        release_booking(&txn, &booking, now).await?;
        if staff {
            audit::record(
                &txn,
                &state.clock,
                caller,
                audit::Entry::new("timebank.booking.cancel", "timebank_booking", Some(id.to_string()))
                    .reason(reason.clone()),
            )
            .await?;
        }
        let booking = bookings::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
        txn.commit().await?;
        state.events.notify_waiters();
        Ok(booking_view(booking, false))
    })
    .await
}

async fn release_booking(
    txn: &DatabaseTransaction,
    booking: &bookings::Model,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let done = bookings::Entity::update_many()
        .col_expr(bookings::Column::Status, Expr::value("released"))
        .col_expr(bookings::Column::ClosedAt, Expr::value(Some(now)))
        .filter(bookings::Column::Id.eq(booking.id))
        .filter(bookings::Column::Status.eq("reserved"))
        .exec(txn)
        .await?;
    if done.rows_affected == 1 {
        ledger::release(txn, booking.account_id, booking.minutes, now).await?;
    }
    Ok(done.rows_affected == 1)
}

/// A booked task was completed: the reserved minutes go to the fund. Called inside
/// the completion's transaction; settling twice is impossible (the booking's status
/// moves once, and the posting's key is the booking).
pub async fn settle_for_task(
    state: &AppState,
    txn: &DatabaseTransaction,
    task: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(booking) = bookings::Entity::find().filter(bookings::Column::TaskId.eq(task.id)).one(txn).await? else {
        return Ok(());
    };
    let moved = bookings::Entity::update_many()
        .col_expr(bookings::Column::Status, Expr::value("settled"))
        .col_expr(bookings::Column::ClosedAt, Expr::value(Some(now)))
        .filter(bookings::Column::Id.eq(booking.id))
        .filter(bookings::Column::Status.eq("reserved"))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(());
    }
    let fund = accts::fund(txn, now).await?;
    let mut posting = Posting::new(
        TxKind::Redeem,
        format!("booking:{}", booking.id),
        vec![
            Leg::Debit { account_id: booking.account_id, minutes: booking.minutes, from: DebitFrom::Reserved },
            Leg::Credit { account_id: fund.id, minutes: booking.minutes, limit: CreditLimit::None },
        ],
    );
    posting.task_id = Some(task.id);
    posting.booking_id = Some(booking.id);
    posting.created_by = booking.created_by;
    posting.reason = Some(format!("{} for senior {}", booking.kind, booking.senior_id));
    let tx = ledger::post(txn, &state.timebank, posting, now).await?.into_transaction();
    bookings::Entity::update_many()
        .col_expr(bookings::Column::TransactionId, Expr::value(Some(tx.id)))
        .filter(bookings::Column::Id.eq(booking.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// A booked task was cancelled or failed: the reservation is released.
pub async fn release_for_task(txn: &DatabaseTransaction, task_id: i64, now: DateTime<Utc>) -> Result<(), ApiError> {
    if let Some(booking) = bookings::Entity::find().filter(bookings::Column::TaskId.eq(task_id)).one(txn).await? {
        release_booking(txn, &booking, now).await?;
    }
    Ok(())
}

/// Bookings paid from one account, newest first.
pub async fn list_for_account(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<BookingView>, ApiError> {
    Ok(bookings::Entity::find()
        .filter(bookings::Column::AccountId.eq(account_id))
        .order_by_desc(bookings::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|b| booking_view(b, false))
        .collect())
}
