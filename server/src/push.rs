//! Web push: the VAPID key, browser subscriptions, and the sender that drains the
//! outbox's push rows.
//!
//! Messages are encrypted with aes128gcm (RFC 8291) and signed with VAPID (RFC 8292)
//! by the web-push crate and sent with our reqwest client. A 404 or 410 removes the
//! subscription; 429 and 5xx are retried with exponential backoff and jitter,
//! honouring `Retry-After`; 413 is not retried. A row remembers the subscriptions it
//! already reached, so a retry after a partial failure delivers to each device once.
//! Rows are leased before sending: with `FOR UPDATE SKIP LOCKED` on PostgreSQL, with
//! a conditional update on SQLite, so instances never send a row twice.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entity::{outbox, push_subscriptions};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;
use web_push::{
    ContentEncoding, PartialVapidSignatureBuilder, SubscriptionInfo, Urgency, VapidSignatureBuilder,
    WebPushMessageBuilder,
};

use crate::auth::Caller;
use crate::config::Settings;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// Give up on a row this long after it was queued. Retries go on until then, so a
/// push service that is down for minutes or hours loses nothing.
const MAX_AGE_HOURS: i64 = 24;
/// How long a sender holds a leased row.
const LEASE_SECS: i64 = 60;

/// The VAPID signing key and its public half.
#[derive(Clone)]
pub struct PushKeys {
    signer: PartialVapidSignatureBuilder,
    public_key: String,
    subject: String,
}

impl std::fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushKeys").field("public_key", &self.public_key).finish_non_exhaustive()
    }
}

impl PushKeys {
    /// The key in `<data_dir>/vapid.pem`, created (mode 0600) on first start. Every
    /// instance of one deployment must share this file, like the data key.
    pub fn load_or_create(settings: &Settings) -> anyhow::Result<Self> {
        let path = settings.data_dir.join("vapid.pem");
        if !path.exists() {
            crate::crypto::generate_vapid(&path, false)?;
            tracing::info!(path = %path.display(), "created a VAPID key for web push");
        }
        Self::from_file(&path, &settings.push_subject)
    }

    pub fn from_file(path: &Path, subject: &str) -> anyhow::Result<Self> {
        let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let signer = VapidSignatureBuilder::from_pem_no_sub(pem.as_slice())
            .map_err(|e| anyhow::anyhow!("VAPID key {}: {e}", path.display()))?;
        let public_key = URL_SAFE_NO_PAD.encode(signer.get_public_key());
        Ok(Self { signer, public_key, subject: subject.to_owned() })
    }

    /// base64url of the uncompressed P-256 point, for `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct SubscriptionKeys {
    /// base64url of the browser's P-256 public key (65 bytes).
    pub p256dh: String,
    /// base64url of the 16-byte authentication secret.
    pub auth: String,
}

/// The body of `POST /api/v1/push/subscriptions`: `PushSubscription.toJSON()`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionInput {
    #[validate(length(min = 10, max = 2000))]
    #[schema(min_length = 10, max_length = 2000)]
    pub endpoint: String,
    /// Ignored; browsers send it.
    #[schema(value_type = Option<f64>)]
    pub expiration_time: Option<Value>,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: i64,
    pub endpoint: String,
    pub created_at: DateTime<Utc>,
    pub last_success_at: Option<DateTime<Utc>>,
}

impl From<push_subscriptions::Model> for SubscriptionView {
    fn from(s: push_subscriptions::Model) -> Self {
        Self { id: s.id, endpoint: s.endpoint, created_at: s.created_at, last_success_at: s.last_success_at }
    }
}

fn check_endpoint(settings: &Settings, endpoint: &str) -> Result<(), FieldError> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| FieldError::new("endpoint", "invalid", "not a URL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback && settings.push_allow_loopback_http => Ok(()),
        _ => Err(FieldError::new("endpoint", "insecure", "must be an https URL of a push service")),
    }
}

fn decoded_len(field: &str, value: &str) -> Result<usize, FieldError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map(|b| b.len())
        .map_err(|_| FieldError::new(field, "invalid", "must be base64url"))
}

/// Stores (or takes over) a browser subscription for the caller's user and session.
pub async fn subscribe(
    state: &AppState,
    caller: &Caller,
    input: SubscriptionInput,
) -> Result<SubscriptionView, ApiError> {
    let user = caller.user_id.ok_or(ApiError::Forbidden)?;
    let mut errors = Vec::new();
    if let Err(e) = check_endpoint(&state.settings, &input.endpoint) {
        errors.push(e);
    }
    match decoded_len("keys.p256dh", &input.keys.p256dh) {
        Ok(65) => {}
        Ok(_) => {
            errors.push(FieldError::new("keys.p256dh", "invalid", "must be an uncompressed P-256 point (65 bytes)"))
        }
        Err(e) => errors.push(e),
    }
    match decoded_len("keys.auth", &input.keys.auth) {
        Ok(16) => {}
        Ok(_) => errors.push(FieldError::new("keys.auth", "invalid", "must be 16 bytes")),
        Err(e) => errors.push(e),
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    // A browser that re-subscribes (or changes hands) keeps one row per endpoint.
    push_subscriptions::Entity::delete_many()
        .filter(push_subscriptions::Column::Endpoint.eq(input.endpoint.as_str()))
        .exec(&txn)
        .await?;
    let row = push_subscriptions::ActiveModel {
        user_id: Set(user.0),
        session_id: Set(caller.session_id),
        endpoint: Set(input.endpoint),
        p256dh: Set(input.keys.p256dh),
        auth: Set(input.keys.auth),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn list_mine(state: &AppState, caller: &Caller) -> Result<Vec<SubscriptionView>, ApiError> {
    let user = caller.user_id.ok_or(ApiError::Forbidden)?;
    Ok(push_subscriptions::Entity::find()
        .filter(push_subscriptions::Column::UserId.eq(user.0))
        .order_by_asc(push_subscriptions::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(SubscriptionView::from)
        .collect())
}

pub async fn unsubscribe(state: &AppState, caller: &Caller, id: i64) -> Result<(), ApiError> {
    let user = caller.user_id.ok_or(ApiError::Forbidden)?;
    let gone = push_subscriptions::Entity::delete_many()
        .filter(push_subscriptions::Column::Id.eq(id))
        .filter(push_subscriptions::Column::UserId.eq(user.0))
        .exec(&state.db)
        .await?;
    if gone.rows_affected == 0 { Err(ApiError::NotFound) } else { Ok(()) }
}

/// Removes the subscriptions a login session registered (on logout).
pub async fn forget_session(db: &impl ConnectionTrait, session_id: i64) -> Result<(), ApiError> {
    push_subscriptions::Entity::delete_many()
        .filter(push_subscriptions::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Short texts by kind: no names, no addresses.
fn text_for(kind: &str) -> &'static str {
    match kind {
        "offer" => "有新的服务任务，请查看",
        "offer_withdrawn" => "该任务已由他人接单",
        "assigned" => "工作人员给您分配了任务",
        "closed" => "工作人员已结束该急救呼叫，无需再前往",
        _ => "邻里有新消息",
    }
}

/// The JSON a service worker receives: `type`, the row's ids, and a short text.
pub fn payload_for(row: &outbox::Model) -> Value {
    let mut body = json!({"type": row.kind, "text": text_for(&row.kind)});
    if let (Some(map), Some(extra)) = (body.as_object_mut(), row.payload.as_object()) {
        for (k, v) in extra {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    body
}

/// What one send attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// 404/410: the browser dropped the subscription.
    Gone,
    /// 413 or another 4xx: retrying will not help.
    Rejected,
    /// 429/5xx/network: try again, not before this many seconds.
    Retry(Option<i64>),
}

async fn send_one(state: &AppState, keys: &PushKeys, row: &outbox::Model, sub: &push_subscriptions::Model) -> Outcome {
    let info = SubscriptionInfo::new(sub.endpoint.as_str(), sub.p256dh.as_str(), sub.auth.as_str());
    let body = payload_for(row).to_string();
    let mut signer = keys.signer.clone().add_sub_info(&info);
    signer.add_claim("sub", keys.subject.as_str());
    // The audience is the endpoint's origin, port included when it is not the default
    // (the crate's own guess drops the port).
    if let Ok(url) = reqwest::Url::parse(&sub.endpoint) {
        signer.add_claim("aud", url.origin().ascii_serialization());
    }
    let message = signer.build().and_then(|signature| {
        let mut builder = WebPushMessageBuilder::new(&info);
        builder.set_payload(ContentEncoding::Aes128Gcm, body.as_bytes());
        builder.set_ttl(row.ttl_seconds.max(0) as u32);
        builder.set_urgency(if row.urgency == "high" { Urgency::High } else { Urgency::Normal });
        if let Some(topic) = &row.topic {
            builder.set_topic(topic.clone());
        }
        builder.set_vapid_signature(signature);
        builder.build()
    });
    let message = match message {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(subscription.id = sub.id, error = %e, "push message could not be built");
            return Outcome::Rejected;
        }
    };
    let mut request = state.push_client.post(message.endpoint.to_string()).header("TTL", message.ttl.to_string());
    if let Some(urgency) = message.urgency {
        request = request.header("Urgency", urgency.to_string());
    }
    if let Some(topic) = message.topic {
        request = request.header("Topic", topic);
    }
    if let Some(payload) = message.payload {
        request = request
            .header("Content-Encoding", payload.content_encoding.to_str())
            .header("Content-Type", "application/octet-stream");
        for (name, value) in payload.crypto_headers {
            request = request.header(name, value);
        }
        request = request.body(payload.content);
    }
    match request.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok());
            match status {
                200..=299 => Outcome::Delivered,
                404 | 410 => Outcome::Gone,
                429 => Outcome::Retry(retry_after),
                500..=599 => Outcome::Retry(retry_after),
                _ => Outcome::Rejected,
            }
        }
        Err(e) => {
            tracing::warn!(subscription.id = sub.id, error = %e.without_url(), "push service unreachable");
            Outcome::Retry(None)
        }
    }
}

/// Exponential backoff with jitter, ±25%: 2^attempt seconds, at most a minute for
/// high urgency (an emergency offer must not wait long once the service is back)
/// and five minutes otherwise.
fn backoff(attempt: i32, urgency: &str) -> i64 {
    let cap = if urgency == "high" { 60 } else { 300 };
    let base = 2i64.saturating_pow(attempt.clamp(0, 12) as u32).min(cap);
    let jitter = rand::rng().random_range(-(base / 4)..=(base / 4));
    (base + jitter).max(1)
}

/// Leases up to `limit` due push rows for this instance.
async fn lease(state: &AppState, now: DateTime<Utc>, limit: u64) -> Result<Vec<outbox::Model>, ApiError> {
    use sea_orm::sea_query::ExprTrait as _;
    let me = state.instance.to_string();
    let until = now + Duration::seconds(LEASE_SECS);
    if state.db.get_database_backend() == DbBackend::Postgres {
        let sql = "UPDATE outbox SET status = 'sending', lease_until = $1, leased_by = $2 \
                   WHERE id IN (SELECT id FROM outbox WHERE channel = 'push' AND \
                   ((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3)) \
                   ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *";
        let stmt = Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [until.into(), me.into(), now.into(), (limit as i64).into()],
        );
        return Ok(outbox::Model::find_by_statement(stmt).all(&state.db).await?);
    }
    let due = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("push"))
        .filter(
            Condition::any()
                .add(outbox::Column::Status.eq("pending").and(outbox::Column::NextAttemptAt.lte(now)))
                .add(outbox::Column::Status.eq("sending").and(outbox::Column::LeaseUntil.lt(now))),
        )
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?;
    let mut leased = Vec::with_capacity(due.len());
    for row in due {
        let took = outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value("sending"))
            .col_expr(outbox::Column::LeaseUntil, Expr::value(Some(until)))
            .col_expr(outbox::Column::LeasedBy, Expr::value(Some(me.clone())))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::Status.eq(row.status.as_str()))
            .filter(outbox::Column::Attempts.eq(row.attempts))
            .exec(&state.db)
            .await?;
        if took.rows_affected == 1 {
            leased.push(row);
        }
    }
    Ok(leased)
}

/// Sends due push rows. Returns how many rows finished (sent, or given up on).
pub async fn deliver(state: &AppState, limit: u64) -> Result<usize, ApiError> {
    let Some(keys) = state.push.clone() else { return Ok(0) };
    let now = state.clock.now();
    let rows = lease(state, now, limit).await?;
    let mut finished = 0;
    for row in rows {
        if deliver_row(state, &keys, row).await? {
            finished += 1;
        }
    }
    record_depth(state).await;
    Ok(finished)
}

async fn deliver_row(state: &AppState, keys: &Arc<PushKeys>, row: outbox::Model) -> Result<bool, ApiError> {
    let mut reached: Vec<i64> =
        row.delivered_to.as_ref().and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    let subs = match row.recipient_user_id {
        Some(user) => {
            push_subscriptions::Entity::find()
                .filter(push_subscriptions::Column::UserId.eq(user))
                .order_by_asc(push_subscriptions::Column::Id)
                .all(&state.db)
                .await?
        }
        None => Vec::new(),
    };
    let mut wait: Option<i64> = None;
    let mut last_error = None;
    let pending: Vec<&push_subscriptions::Model> = subs.iter().filter(|s| !reached.contains(&s.id)).collect();
    for sub in pending {
        let outcome = send_one(state, keys, &row, sub).await;
        let result = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Gone => "gone",
            Outcome::Rejected => "rejected",
            Outcome::Retry(_) => "retry",
        };
        metrics::counter!("linli_push_sends_total", "result" => result).increment(1);
        match outcome {
            Outcome::Delivered => {
                reached.push(sub.id);
                push_subscriptions::Entity::update_many()
                    .col_expr(push_subscriptions::Column::LastSuccessAt, Expr::value(Some(state.clock.now())))
                    .filter(push_subscriptions::Column::Id.eq(sub.id))
                    .exec(&state.db)
                    .await?;
            }
            Outcome::Gone => {
                push_subscriptions::Entity::delete_by_id(sub.id).exec(&state.db).await?;
                tracing::info!(subscription.id = sub.id, "push subscription expired; removed");
            }
            Outcome::Rejected => {
                // Counted as done for this device: resending the same message cannot succeed.
                reached.push(sub.id);
                last_error = Some(format!("subscription {} rejected the message", sub.id));
            }
            Outcome::Retry(after) => {
                let delay = after.unwrap_or_else(|| backoff(row.attempts + 1, &row.urgency)).max(1);
                wait = Some(wait.map_or(delay, |w| w.max(delay)));
                last_error = Some(format!("subscription {} asked to retry", sub.id));
            }
        }
    }
    let attempts = row.attempts + 1;
    let now = state.clock.now();
    let (status, next) = match wait {
        Some(_) if now - row.created_at > Duration::hours(MAX_AGE_HOURS) => ("dead", now),
        Some(delay) => ("pending", now + Duration::seconds(delay)),
        // Nothing reached a device: no subscription, or every one was gone.
        None if reached.is_empty() => ("failed", now),
        None => ("sent", now),
    };
    if status == "failed" && last_error.is_none() {
        last_error = Some("no push subscription".to_owned());
    }
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status))
        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox::Column::LastError, Expr::value(last_error))
        .col_expr(outbox::Column::DeliveredTo, Expr::value(Some(json!(reached))))
        .col_expr(outbox::Column::SentAt, Expr::value(if status == "sent" { Some(now) } else { None }))
        .filter(outbox::Column::Id.eq(row.id))
        .exec(&state.db)
        .await?;
    Ok(status != "pending")
}

/// Outbox depth and the age of the oldest waiting row, per channel, as gauges.
async fn record_depth(state: &AppState) {
    #[derive(Debug, FromQueryResult)]
    struct Depth {
        channel: String,
        n: i64,
        oldest: Option<DateTime<Utc>>,
    }
    let rows = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Channel)
        .column_as(outbox::Column::Id.count(), "n")
        .column_as(outbox::Column::CreatedAt.min(), "oldest")
        .filter(outbox::Column::Status.is_in(["pending", "sending"]))
        .group_by(outbox::Column::Channel)
        .into_model::<Depth>()
        .all(&state.db)
        .await;
    let Ok(rows) = rows else { return };
    let now = state.clock.now();
    for channel in ["push", "sms"] {
        let row = rows.iter().find(|r| r.channel == channel);
        metrics::gauge!("linli_outbox_depth", "channel" => channel).set(row.map_or(0.0, |r| r.n as f64));
        let age = row.and_then(|r| r.oldest).map_or(0.0, |o| (now - o).num_milliseconds() as f64 / 1000.0);
        metrics::gauge!("linli_outbox_oldest_seconds", "channel" => channel).set(age.max(0.0));
    }
}

/// Sends push rows forever on this instance, apart from the deadline sweeper so a
/// slow push service never delays an escalation.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // A state change on this instance (an offer, an escalation) wakes the
            // sender at once; rows written by other instances wait at most a second.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), state.events.notified()).await;
            if let Err(e) = deliver(&state, 100).await {
                tracing::warn!(error = %e, "push delivery failed; retried next tick");
            }
        }
    })
}
