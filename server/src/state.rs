use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::DataKey;
use crate::dispatch::ResponderIndex;
use crate::dispatch::notify::SmsSender;
use crate::segmentation::Rules;

/// What every handler can reach. Cheap to clone; holds no request state.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub data_key: DataKey,
    pub clock: SharedClock,
    /// The segmentation rules in force.
    pub rules: Arc<Rules>,
    /// The time-bank rules in force (caps, multipliers, redemption age).
    pub timebank: Arc<crate::timebank::Rules>,
    /// Responders by H3 cell: a cache of the database for candidate search.
    pub responders: Arc<ResponderIndex>,
    /// Woken after a task event is committed, so event streams send it at once.
    pub events: Arc<tokio::sync::Notify>,
    /// Where family text messages go.
    pub sms: Arc<dyn SmsSender>,
    /// The VAPID key for web push (`None` only when it could not be loaded).
    pub push: Option<Arc<crate::push::PushKeys>>,
    /// The HTTP client push messages leave through.
    pub push_client: reqwest::Client,
    /// Rendered coverage reports until the next refresh.
    pub report_cache: Arc<crate::coverage::cache::ReportCache>,
    /// This instance in `job_runs.instance` and outbox leases: unique per started
    /// app, so two instances in one process are still told apart.
    pub instance: Arc<str>,
    /// Turns for heavy reports (see `CoverageSettings::max_concurrent_reports`).
    pub report_turns: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Waits for a heavy report's turn; 503 `busy` after `report_wait_secs`.
    pub async fn report_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, crate::error::ApiError> {
        let wait = std::time::Duration::from_secs(self.settings.coverage.report_wait_secs);
        match tokio::time::timeout(wait, self.report_turns.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(crate::error::ApiError::Busy),
        }
    }
}
