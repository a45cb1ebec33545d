//! The audit log: append-only (the database refuses updates and deletes).

use entity::audit_log;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::auth::Caller;
use crate::clock::SharedClock;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
}

impl Entry {
    pub fn new(action: &'static str, object_type: &'static str, object_id: Option<String>) -> Self {
        Self { action, object_type, object_id, reason: None, details: serde_json::json!({}) }
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Writes one audit row; call it inside the transaction of the action it records.
pub async fn record(
    db: &impl ConnectionTrait,
    clock: &SharedClock,
    caller: &Caller,
    entry: Entry,
) -> Result<(), ApiError> {
    audit_log::ActiveModel {
        at: Set(clock.now()),
        actor_user_id: Set(caller.user_id.map(|u| u.0)),
        actor_role: Set(Some(caller.role.as_str().to_owned())),
        action: Set(entry.action.to_owned()),
        object_type: Set(entry.object_type.to_owned()),
        object_id: Set(entry.object_id),
        reason: Set(entry.reason),
        request_id: Set(caller.request_id.clone()),
        details: Set(entry.details),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
