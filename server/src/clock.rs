//! Time is injected so schedules and escalation timers can be tested without waiting.

use std::sync::Arc;
use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self { now: Mutex::new(start) })
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The first instant of `date` in `tz` (the earlier one where a clock change repeats
/// midnight), or `None` where midnight does not exist that day.
pub fn start_of_day(date: NaiveDate, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    date.and_time(NaiveTime::MIN).and_local_timezone(tz).earliest().map(|t| t.with_timezone(&Utc))
}
