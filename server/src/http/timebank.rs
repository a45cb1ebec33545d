//! `/api/v1/timebank/...`, `/api/v1/me/timebank` and `/api/v1/tasks/{id}/confirm`:
//! the volunteer time bank.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use entity::timebank_accounts as accounts;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{Caller, CommunityId, Role};
use crate::error::{ApiError, Problem};
use crate::http::extract::{Json, Query};
use crate::http::pagination::{Page, PageParams};
use crate::registry::import::XLSX_CONTENT_TYPE;
use crate::state::AppState;
use crate::timebank::accounts::{self as accts, AccountView, EntryView, MemberInput, Reconciliation};
use crate::timebank::earning::{self, ConfirmInput, ConfirmView, PendingView, ResolvePendingInput};
use crate::timebank::flags::{self, FlagView, ReviewInput};
use crate::timebank::redemption::{
    self, BookingInput, BookingView, CancelBookingInput, DecideInput, RelativeInput, RelativeView,
};
use crate::timebank::transfers::{self, GrantInput, ReverseInput, TransactionView, TransferInput};
use crate::timebank::{AccountKind, statement};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_accounts)
        .service(get_account)
        .service(account_entries)
        .service(statement_csv)
        .service(statement_xlsx)
        .service(account_bookings)
        .service(transfer)
        .service(grant)
        .service(get_transaction)
        .service(reverse)
        .service(reconciliation)
        .service(approve_member)
        .service(list_relatives)
        .service(create_relative)
        .service(decide_relative)
        .service(book)
        .service(cancel_booking)
        .service(list_pending)
        .service(resolve_pending)
        .service(list_flags)
        .service(scan_flags)
        .service(review_flag)
        .service(my_timebank)
        .service(confirm_task);
}

const STAFF: &[Role] = &[Role::Admin, Role::Worker];

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// The volunteer's user id.
    pub owner_user_id: Option<i64>,
    pub senior_id: Option<i64>,
    #[param(inline)]
    pub kind: Option<AccountKind>,
    pub community_id: Option<i64>,
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

/// Accounts the caller may see (volunteers: their own; workers: their communities'
/// accounts and the fund; admins: all), with filters.
#[utoipa::path(
    tag = "timebank",
    params(AccountFilter),
    responses((status = 200, body = Page<AccountView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts")]
async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AccountFilter>,
) -> Result<web::Json<Page<AccountView>>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker, Role::Volunteer, Role::Caregiver])?;
    let q = query.0;
    let params = PageParams { page: q.page, per_page: q.per_page };
    let mut select = accounts::Entity::find();
    match caller.role {
        Role::Volunteer | Role::Caregiver => {
            select = select.filter(accounts::Column::OwnerUserId.eq(caller.user_id()?.0));
        }
        Role::Worker => {
            use sea_orm::sea_query::Condition;
            let ids: Vec<i64> = caller.communities.iter().map(|c| c.0).collect();
            select = select.filter(
                Condition::any()
                    .add(accounts::Column::CommunityId.is_in(ids))
                    .add(accounts::Column::Kind.eq(AccountKind::Fund.as_str())),
            );
        }
        _ => {}
    }
    if let Some(u) = q.owner_user_id {
        select = select.filter(accounts::Column::OwnerUserId.eq(u));
    }
    if let Some(s) = q.senior_id {
        select = select.filter(accounts::Column::SeniorId.eq(s));
    }
    if let Some(k) = q.kind {
        select = select.filter(accounts::Column::Kind.eq(k.as_str()));
    }
    if let Some(c) = q.community_id {
        caller.scope(CommunityId(c)).or_else(|e| if caller.role == Role::Worker { Err(e) } else { Ok(()) })?;
        select = select.filter(accounts::Column::CommunityId.eq(c));
    }
    let paginator = select.order_by_asc(accounts::Column::Id).paginate(&state.db, params.per_page());
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(params.page() - 1).await?;
    Ok(web::Json(Page::new(rows.into_iter().map(AccountView::from).collect(), &params, total)))
}

/// One account: `id`, `kind`, `balance_minutes`, `pending_minutes` and more.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts/{id}")]
async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<AccountView>, ApiError> {
    Ok(web::Json(accts::find_visible(&state.db, &caller, id.into_inner()).await?.into()))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntriesParams {
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[validate(range(min = 1, max = 200))]
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
    /// `desc` (newest first, default) or `asc`.
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
}

/// An account's ledger entries with the running balance after each, paginated.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Account id"), EntriesParams),
    responses((status = 200, body = Page<EntryView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts/{id}/entries")]
async fn account_entries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    query: Query<EntriesParams>,
) -> Result<web::Json<Page<EntryView>>, ApiError> {
    let account = accts::find_visible(&state.db, &caller, id.into_inner()).await?;
    let q = query.0;
    let ascending = match q.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(ApiError::field("order", "invalid", "asc or desc")),
    };
    let params = PageParams { page: q.page, per_page: q.per_page };
    let (items, total) =
        accts::entries_page(&state.db, account.id, params.page(), params.per_page(), ascending).await?;
    Ok(web::Json(Page::new(items, &params, total)))
}

async fn statement_lines(
    state: &AppState,
    caller: &Caller,
    id: i64,
    format: &'static str,
) -> Result<Vec<statement::Line>, ApiError> {
    let account = accts::find_visible(&state.db, caller, id).await?;
    if matches!(caller.role, Role::Worker | Role::Admin) {
        crate::audit::record(
            &state.db,
            &state.clock,
            caller,
            crate::audit::Entry {
                details: serde_json::json!({"format": format}),
                ..crate::audit::Entry::new("timebank.statement", "timebank_account", Some(account.id.to_string()))
            },
        )
        .await?;
    }
    statement::lines(&state.db, account.id).await
}

/// The account's statement as CSV (UTF-8 with a BOM): every entry, oldest first,
/// with the running balance.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, description = "The statement", content_type = "text/csv"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts/{id}/statement.csv")]
async fn statement_csv(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let lines = statement_lines(&state, &caller, id, "csv").await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"timebank-{id}.csv\"")))
        .body(statement::csv(&lines, state.settings.tz())?))
}

/// The account's statement as an XLSX workbook.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, description = "The statement", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts/{id}/statement.xlsx")]
async fn statement_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let lines = statement_lines(&state, &caller, id, "xlsx").await?;
    let tz = state.settings.tz();
    let bytes = tokio::task::spawn_blocking(move || statement::xlsx(&lines, tz))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("XLSX writer: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type(XLSX_CONTENT_TYPE)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"timebank-{id}.xlsx\"")))
        .body(bytes))
}

/// Bookings paid from an account, newest first.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = Vec<BookingView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/accounts/{id}/bookings")]
async fn account_bookings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<BookingView>>, ApiError> {
    let account = accts::find_visible(&state.db, &caller, id.into_inner()).await?;
    Ok(web::Json(redemption::list_for_account(&state.db, account.id).await?))
}

/// Transfer minutes to a registered (approved) relative's account or to the fund,
/// with a reason. Idempotent on `idempotency_key` (per source account): a repeat
/// returns the original with `replayed: true`. A rule that refuses it is 422 with
/// `rule` (`insufficient_balance`, `storage_cap`, `not_a_relative`, ...).
#[utoipa::path(
    tag = "timebank",
    request_body = TransferInput,
    responses(
        (status = 201, body = TransactionView),
        (status = 409, description = "The key was used for another transfer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused by a rule, named in `rule`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/transfers")]
async fn transfer(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let tx = transfers::transfer(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(tx))
}

/// The fund grants hours to a priority senior (特困, or 失能 living alone); the
/// approving worker is recorded (worker, admin).
#[utoipa::path(
    tag = "timebank",
    request_body = GrantInput,
    responses((status = 201, body = TransactionView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/grants")]
async fn grant(state: web::Data<AppState>, caller: Caller, body: Json<GrantInput>) -> Result<HttpResponse, ApiError> {
    let tx = transfers::grant(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(tx))
}

/// One transaction with its entries (if the caller may see one of its accounts).
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Transaction id")),
    responses((status = 200, body = TransactionView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/transactions/{id}")]
async fn get_transaction(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TransactionView>, ApiError> {
    let tx = entity::timebank_transactions::Entity::find_by_id(id.into_inner())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = transfers::view(&state.db, tx, false).await?;
    let mut visible = false;
    for leg in &view.entries {
        let account = accounts::Entity::find_by_id(leg.account_id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
        if account.kind != AccountKind::Fund.as_str() && accts::may_see(&state.db, &caller, &account).await? {
            visible = true;
        }
    }
    if caller.role == Role::Admin || visible { Ok(web::Json(view)) } else { Err(ApiError::NotFound) }
}

/// Reverse a transaction with a reason (worker of every account's community,
/// admin): a new transaction mirrors its entries and points at it; the original
/// stays. Reversing again returns the first reversal (200, `replayed: true`); a
/// reversal itself is not reversed (422 `not_reversible`).
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Transaction id")),
    request_body = ReverseInput,
    responses(
        (status = 201, body = TransactionView),
        (status = 200, description = "Already reversed: the reversal", body = TransactionView),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/transactions/{id}/reverse")]
async fn reverse(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ReverseInput>,
) -> Result<HttpResponse, ApiError> {
    let tx = transfers::reverse(&state, &caller, id.into_inner(), body.0).await?;
    Ok(if tx.replayed { HttpResponse::Ok().json(tx) } else { HttpResponse::Created().json(tx) })
}

/// Checks the whole ledger (admin): `sum_minutes` must be 0, and no account negative
/// (the fund excepted) or with a cached balance that differs from its entries.
#[utoipa::path(
    tag = "timebank",
    responses((status = 200, body = Reconciliation), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/reconciliation")]
async fn reconciliation(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Reconciliation>, ApiError> {
    caller.allow(&[Role::Admin])?;
    Ok(web::Json(accts::reconcile(&state.db).await?))
}

/// Approve a volunteer's membership (worker, admin): opens the account and records
/// who approved it and when.
#[utoipa::path(
    tag = "timebank",
    request_body = MemberInput,
    responses((status = 200, body = AccountView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/members")]
async fn approve_member(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<MemberInput>,
) -> Result<web::Json<AccountView>, ApiError> {
    Ok(web::Json(accts::approve_member(&state, &caller, body.0).await?))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusFilter {
    /// Only this status.
    pub status: Option<String>,
}

/// Relative links: a volunteer's own; a worker's communities' (filter `status=pending`
/// for the approval queue).
#[utoipa::path(
    tag = "timebank",
    params(StatusFilter),
    responses((status = 200, body = Vec<RelativeView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/relatives")]
async fn list_relatives(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatusFilter>,
) -> Result<web::Json<Vec<RelativeView>>, ApiError> {
    Ok(web::Json(redemption::list_links(&state.db, &caller, query.0.status.as_deref()).await?))
}

/// Register a relative (`self_care`, `parent`, `spouse`, `parent_in_law`) a volunteer
/// may spend credits for; usable once a worker approves it.
#[utoipa::path(
    tag = "timebank",
    request_body = RelativeInput,
    responses((status = 201, body = RelativeView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/relatives")]
async fn create_relative(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<RelativeInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(redemption::request_link(&state, &caller, body.0).await?))
}

/// Approve or reject a pending relative link (worker of the senior's community, admin).
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Link id")),
    request_body = DecideInput,
    responses((status = 200, body = RelativeView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/relatives/{id}/decide")]
async fn decide_relative(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<DecideInput>,
) -> Result<web::Json<RelativeView>, ApiError> {
    Ok(web::Json(redemption::decide_link(&state, &caller, id.into_inner(), body.0).await?))
}

/// Book a service paid in credits: the minutes are reserved and a task is created
/// and dispatched like any other. Its completion settles the minutes; cancelling
/// the booking (or the task) releases them. Idempotent on `idempotency_key`.
#[utoipa::path(
    tag = "timebank",
    request_body = BookingInput,
    responses(
        (status = 201, body = BookingView),
        (status = 422, description = "Refused by a rule, named in `rule`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/bookings")]
async fn book(state: web::Data<AppState>, caller: Caller, body: Json<BookingInput>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(redemption::book(&state, &caller, body.0).await?))
}

/// Cancel a booking not yet delivered: its minutes are released, its task cancelled.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Booking id")),
    request_body = CancelBookingInput,
    responses((status = 200, body = BookingView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/bookings/{id}/cancel")]
async fn cancel_booking(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CancelBookingInput>,
) -> Result<web::Json<BookingView>, ApiError> {
    Ok(web::Json(redemption::cancel(&state, &caller, id.into_inner(), body.0).await?))
}

/// Held credits of flagged visits in the caller's communities (worker, admin).
#[utoipa::path(
    tag = "timebank",
    params(StatusFilter),
    responses((status = 200, body = Vec<PendingView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/pending")]
async fn list_pending(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatusFilter>,
) -> Result<web::Json<Vec<PendingView>>, ApiError> {
    Ok(web::Json(earning::list_pending(&state.db, &caller, query.0.status.as_deref()).await?))
}

/// Release (post, under the caps) or reject a held credit, with a reason.
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Pending credit id")),
    request_body = ResolvePendingInput,
    responses((status = 200, body = PendingView), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/pending/{id}/resolve")]
async fn resolve_pending(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ResolvePendingInput>,
) -> Result<web::Json<PendingView>, ApiError> {
    Ok(web::Json(earning::resolve_pending(&state, &caller, id.into_inner(), body.0).await?))
}

/// Patterns for review in the caller's communities (worker, admin): visits confirmed
/// by the volunteer who earned them, reciprocal service between volunteers' relatives.
#[utoipa::path(
    tag = "timebank",
    params(StatusFilter),
    responses((status = 200, body = Vec<FlagView>)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/timebank/flags")]
async fn list_flags(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatusFilter>,
) -> Result<web::Json<Vec<FlagView>>, ApiError> {
    Ok(web::Json(flags::list(&state.db, &caller, query.0.status.as_deref()).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// New flags raised by this scan.
    pub raised: usize,
}

/// Scan earned visits for reciprocal patterns now (worker, admin).
#[utoipa::path(
    tag = "timebank",
    responses((status = 200, body = ScanResult)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/flags/scan")]
async fn scan_flags(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<ScanResult>, ApiError> {
    caller.allow(STAFF)?;
    Ok(web::Json(ScanResult { raised: flags::scan_reciprocal(&state).await? }))
}

/// Uphold or dismiss a flag, with a reason (worker, admin).
#[utoipa::path(
    tag = "timebank",
    params(("id" = i64, Path, description = "Flag id")),
    request_body = ReviewInput,
    responses((status = 200, body = FlagView), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/timebank/flags/{id}/review")]
async fn review_flag(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ReviewInput>,
) -> Result<web::Json<FlagView>, ApiError> {
    Ok(web::Json(flags::review(&state, &caller, id.into_inner(), body.0).await?))
}

/// The logged-in volunteer's time bank: their account and latest entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyTimebank {
    pub account: AccountView,
    /// The latest entries, newest first, each with the running balance after it.
    pub recent_entries: Vec<EntryView>,
    /// Bookings paid from this account, newest first.
    pub bookings: Vec<BookingView>,
    /// Relatives the volunteer may spend credits for, and pending requests.
    pub relatives: Vec<RelativeView>,
}

/// The caller's own time-bank account (volunteer): balance, pending and reserved
/// minutes, the latest 20 entries with running balance, bookings and relatives.
#[utoipa::path(
    tag = "timebank",
    responses((status = 200, body = MyTimebank), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/timebank")]
async fn my_timebank(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<MyTimebank>, ApiError> {
    caller.allow(&[Role::Volunteer])?;
    let user = caller.user_id()?.0;
    let account = match accounts::Entity::find()
        .filter(accounts::Column::Kind.eq(AccountKind::Volunteer.as_str()))
        .filter(accounts::Column::OwnerUserId.eq(user))
        .one(&state.db)
        .await?
    {
        Some(a) => a,
        None => {
            let txn = crate::db::begin_write(&state.db).await?;
            let a = accts::of_volunteer(&txn, user, state.clock.now()).await?;
            txn.commit().await?;
            a
        }
    };
    let (recent_entries, _) = accts::entries_page(&state.db, account.id, 1, 20, false).await?;
    let bookings = redemption::list_for_account(&state.db, account.id).await?;
    let relatives = redemption::list_links(&state.db, &caller, None).await?;
    Ok(web::Json(MyTimebank { account: account.into(), recent_entries, bookings, relatives }))
}

/// Confirm that a visit took place (worker of the task's community, admin; or the
/// responder holding it, relaying the senior's or family's word — flagged for
/// review). A completed, verified visit by a volunteer earns its credit now (or
/// holds it as pending when the visit was flagged); a cap that refuses it is 422
/// naming the rule, and nothing is stored.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = i64, Path, description = "Task id")),
    request_body = ConfirmInput,
    responses(
        (status = 200, body = ConfirmView),
        (status = 409, description = "The visit is not over", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A cap refused the credit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/confirm")]
async fn confirm_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ConfirmInput>,
) -> Result<web::Json<ConfirmView>, ApiError> {
    Ok(web::Json(earning::confirm(&state, &caller, id.into_inner(), body.0).await?))
}
