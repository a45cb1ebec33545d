//! Notifications leave through the outbox: a row written in the same transaction
//! as the state change that causes it, delivered afterwards. Push rows wait for the
//! push sender; SMS rows (family contacts) are delivered here through an
//! [`SmsSender`]; console rows feed the worker console's alerts.
//!
//! Payloads carry ids and short text, never personal data: an SMS row names the
//! contact or senior by id and the phone number is looked up when it is sent.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::{contacts, outbox, seniors};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Normal,
    High,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

fn row(
    channel: &str,
    kind: &str,
    payload: Value,
    urgency: Urgency,
    ttl: i32,
    now: DateTime<Utc>,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        channel: Set(channel.to_owned()),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        urgency: Set(urgency.as_str().to_owned()),
        ttl_seconds: Set(ttl),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
}

/// A push notification to one user's devices. `topic` lets a later message (a
/// withdrawal) replace an earlier one (the offer) on the device.
pub async fn push(
    db: &impl ConnectionTrait,
    user_id: i64,
    kind: &str,
    topic: &str,
    payload: Value,
    urgency: Urgency,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut r = row("push", kind, payload, urgency, if urgency == Urgency::High { 120 } else { 3600 }, now);
    r.recipient_user_id = Set(Some(user_id));
    r.topic = Set(Some(topic.to_owned()));
    r.insert(db).await?;
    Ok(())
}

/// An alert on the worker console of a community.
pub async fn console(
    db: &impl ConnectionTrait,
    community_id: i64,
    kind: &str,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut r = row("console", kind, payload, Urgency::High, 3600, now);
    r.community_id = Set(Some(community_id));
    r.insert(db).await?;
    Ok(())
}

/// Who an SMS goes to: resolved to a phone number only when it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsTo {
    Senior(i64),
    Contact(i64),
}

/// A text message to a senior or a family contact.
pub async fn sms(
    db: &impl ConnectionTrait,
    to: SmsTo,
    kind: &str,
    text: &str,
    community_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let target = match to {
        SmsTo::Senior(id) => json!({"senior_id": id}),
        SmsTo::Contact(id) => json!({"contact_id": id}),
    };
    let mut r = row("sms", kind, json!({"to": target, "text": text}), Urgency::High, 3600, now);
    r.community_id = Set(Some(community_id));
    r.insert(db).await?;
    Ok(())
}

/// Sends text messages. The log sender writes a masked line; the webhook sender
/// posts `{"to", "text"}` to an SMS gateway.
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

#[derive(Debug, Default)]
pub struct LogSms;

/// `13812345678` -> `138****5678`: enough to tell messages apart, not to call.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

impl SmsSender for LogSms {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::info!(to = %mask_phone(to), chars = text.chars().count(), "sms (log channel)");
            Ok(())
        })
    }
}

#[derive(Debug)]
pub struct WebhookSms {
    url: String,
    client: reqwest::Client,
}

impl WebhookSms {
    pub fn new(url: String) -> Self {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap_or_default();
        Self { url, client }
    }
}

impl SmsSender for WebhookSms {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let res = self
                .client
                .post(&self.url)
                .json(&json!({"to": to, "text": text}))
                .send()
                .await
                .map_err(|e| format!("gateway unreachable: {}", e.without_url()))?;
            if res.status().is_success() { Ok(()) } else { Err(format!("gateway answered {}", res.status())) }
        })
    }
}

pub fn sms_sender(url: Option<&str>) -> Arc<dyn SmsSender> {
    match url {
        Some(url) if !url.trim().is_empty() => Arc::new(WebhookSms::new(url.trim().to_owned())),
        _ => Arc::new(LogSms),
    }
}

async fn phone_of(db: &impl ConnectionTrait, payload: &Value) -> Result<Option<String>, ApiError> {
    let to = &payload["to"];
    if let Some(id) = to["contact_id"].as_i64() {
        return Ok(contacts::Entity::find_by_id(id).one(db).await?.map(|c| c.phone));
    }
    if let Some(id) = to["senior_id"].as_i64() {
        return Ok(seniors::Entity::find_by_id(id).one(db).await?.map(|s| s.phone));
    }
    Ok(None)
}

/// Delivers pending SMS rows. Each row is leased with a conditional update first,
/// so two instances never send the same message; a failure retries with backoff.
pub async fn deliver_sms(state: &AppState, limit: u64) -> Result<usize, ApiError> {
    let now = state.clock.now();
    // Pending rows that are due, and rows whose sender died holding the lease.
    let due: Vec<outbox::Model> = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("sms"))
        .filter(
            Condition::any()
                .add(outbox::Column::Status.eq("pending").and(outbox::Column::NextAttemptAt.lte(now)))
                .add(outbox::Column::Status.eq("sending").and(outbox::Column::LeaseUntil.lt(now))),
        )
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(&state.db)
        .await?;
    let me = state.instance.to_string();
    let mut sent = 0;
    for row in due {
        let leased = outbox::Entity::update_many()
            .col_expr(outbox::Column::Status, Expr::value("sending"))
            .col_expr(outbox::Column::LeaseUntil, Expr::value(Some(now + Duration::seconds(30))))
            .col_expr(outbox::Column::LeasedBy, Expr::value(Some(me.clone())))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::Status.eq(row.status.as_str()))
            .filter(outbox::Column::Attempts.eq(row.attempts))
            .exec(&state.db)
            .await?;
        if leased.rows_affected != 1 {
            continue;
        }
        let text = row.payload["text"].as_str().unwrap_or_default().to_owned();
        let result = match phone_of(&state.db, &row.payload).await? {
            Some(phone) => state.sms.send(&phone, &text).await,
            None => Err("recipient no longer exists".to_owned()),
        };
        let attempts = row.attempts + 1;
        let update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(outbox::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(outbox::Column::Id.eq(row.id));
        match result {
            Ok(()) => {
                sent += 1;
                update
                    .col_expr(outbox::Column::Status, Expr::value("sent"))
                    .col_expr(outbox::Column::SentAt, Expr::value(Some(state.clock.now())))
                    .exec(&state.db)
                    .await?;
                metrics::counter!("linli_sms_total", "result" => "sent").increment(1);
            }
            Err(error) => {
                let (status, backoff) =
                    if attempts >= 8 { ("dead", 0) } else { ("pending", 2i64.pow(attempts as u32)) };
                update
                    .col_expr(outbox::Column::Status, Expr::value(status))
                    .col_expr(outbox::Column::LastError, Expr::value(Some(error.clone())))
                    .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + Duration::seconds(backoff)))
                    .exec(&state.db)
                    .await?;
                metrics::counter!("linli_sms_total", "result" => "failed").increment(1);
                tracing::warn!(outbox.id = row.id, attempts, error = %error, "sms not delivered");
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "****");
    }
}
