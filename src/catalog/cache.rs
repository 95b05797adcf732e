//! A small cache of serialized answers that rarely change (the book list, book details).
//!
//! Entries live for a short time-to-live so that several replicas converge quickly, and every
//! catalog write on this replica drops them at once by bumping the generation.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Serialized JSON bodies keyed by a string.
pub struct ResponseCache {
    ttl: Duration,
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    generation: u64,
    body: Bytes,
}

impl ResponseCache {
    pub fn new(ttl: Duration) -> Self {
        ResponseCache {
            ttl,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached body for `key`, if fresh.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.at.elapsed() < self.ttl)
            .map(|e| e.body.clone())
    }

    /// Stores a body computed at `generation` (read before computing it, so that a write
    /// racing with the computation is never hidden).
    pub fn put(&self, key: &str, generation: u64, body: Bytes) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(
            key.to_owned(),
            Entry {
                at: Instant::now(),
                generation,
                body,
            },
        );
    }

    /// The current generation, to pass to [`ResponseCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Forgets every entry (after a write to the catalog).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_invalidated() {
        let cache = ResponseCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put("k", g, Bytes::from_static(b"v"));
        assert_eq!(cache.get("k").as_deref(), Some(&b"v"[..]));
        cache.invalidate();
        assert_eq!(cache.get("k"), None);
        // A body computed before the invalidation is not served after it.
        cache.put("k", g, Bytes::from_static(b"stale"));
        assert_eq!(cache.get("k"), None);

        let short = ResponseCache::new(Duration::ZERO);
        short.put("k", short.generation(), Bytes::from_static(b"v"));
        assert_eq!(short.get("k"), None);
    }
}
