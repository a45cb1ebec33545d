//! Rendered coverage reports, kept until the figures change.
//!
//! The reports read only the monthly roll-ups, but at city scale a city-wide map
//! still merges fifteen thousand rows into a five-megabyte document, and the
//! scorecard twelve months of every community. Those rows change only when the
//! `coverage_refresh` job replaces a month, so a rendered report stays right until
//! then. Each entry carries the watermark it was rendered under (every month's
//! `refreshed_at`, `as_of` and `is_final`); a request compares it with the
//! watermark now, one read of a dozen rows, so another instance's refresh is seen
//! as soon as it commits. This instance's own refresh empties the cache as well.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::web::Bytes;
use entity::coverage_months;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::error::ApiError;

/// Entries larger than this are not kept (a city-wide map at resolution 9).
const MAX_ENTRY_BYTES: usize = 16 * 1024 * 1024;
/// All entries together at most; when full, the cache starts over.
const MAX_TOTAL_BYTES: usize = 128 * 1024 * 1024;

#[derive(Default)]
pub struct ReportCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (String, Bytes)>,
    bytes: usize,
}

/// The watermark of every month, as one comparable string.
pub async fn stamp(db: &impl ConnectionTrait) -> Result<String, ApiError> {
    let mut months = coverage_months::Entity::find().all(db).await?;
    months.sort_by(|a, b| a.month.cmp(&b.month));
    Ok(months
        .iter()
        .map(|m| {
            format!("{}={}/{}/{}", m.month, m.refreshed_at.timestamp_micros(), m.as_of.timestamp_micros(), m.is_final)
        })
        .collect::<Vec<_>>()
        .join(";"))
}

impl std::fmt::Debug for ReportCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportCache").field("entries", &self.len()).finish()
    }
}

impl ReportCache {
    /// The body rendered for `key` under `stamp`, if it is still current.
    pub fn get(&self, key: &str, stamp: &str) -> Option<Bytes> {
        let inner = self.inner.lock().ok()?;
        inner.entries.get(key).filter(|(s, _)| s == stamp).map(|(_, body)| body.clone())
    }

    pub fn put(&self, key: String, stamp: String, body: Bytes) {
        if body.len() > MAX_ENTRY_BYTES {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.bytes + body.len() > MAX_TOTAL_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        inner.bytes += body.len();
        if let Some((_, old)) = inner.entries.insert(key, (stamp, body)) {
            inner.bytes -= old.len();
        }
    }

    /// Forgets everything (after this instance refreshed a month).
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.entries.clear();
            inner.bytes = 0;
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_under_the_stamp_it_was_rendered_under() {
        let cache = ReportCache::default();
        cache.put("cells|8".into(), "2026-12=1".into(), Bytes::from_static(b"{}"));
        assert_eq!(cache.get("cells|8", "2026-12=1").as_deref(), Some(&b"{}"[..]));
        assert!(cache.get("cells|8", "2026-12=2").is_none(), "a newer refresh");
        assert!(cache.get("cells|9", "2026-12=1").is_none());
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn oversized_bodies_are_not_kept_and_the_total_stays_bounded() {
        let cache = ReportCache::default();
        cache.put("big".into(), "s".into(), Bytes::from(vec![0u8; MAX_ENTRY_BYTES + 1]));
        assert!(cache.is_empty());
        for i in 0..20 {
            cache.put(format!("k{i}"), "s".into(), Bytes::from(vec![0u8; MAX_ENTRY_BYTES]));
        }
        let inner = cache.inner.lock().unwrap();
        assert!(inner.bytes <= MAX_TOTAL_BYTES);
        assert_eq!(inner.bytes, inner.entries.values().map(|(_, b)| b.len()).sum::<usize>());
    }
}
