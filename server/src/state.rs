use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::DataKey;
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
}
