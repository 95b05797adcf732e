//! A small cache of what rarely changes: serialized answers (the book list, book details) and
//! the foods of a book (for world cups).
//!
//! Entries live for a short time-to-live so that several replicas converge quickly, and every
//! catalog write on this replica drops them at once by bumping the generation. A write that
//! changes only a few answers (a world cup started or finished changes its book's counts)
//! forgets just those keys.
//!
//! Answers differ by language, so every key is kept apart per language choice of the request
//! (`crate::lang`): `get` and `put` use the current choice's variant of a key, `forget` drops
//! all variants.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Values of any type keyed by a string (each key always holds the same type).
pub struct ResponseCache {
    ttl: Duration,
    /// Bumped by every invalidation and every forgotten key: the ticket of a computation.
    clock: AtomicU64,
    /// Entries computed before this tick are stale (set by [`ResponseCache::invalidate`]).
    valid_from: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
}

struct Entry {
    at: Instant,
    generation: u64,
    /// `None` marks a forgotten key: values computed before `generation` may not be stored.
    value: Option<Arc<dyn Any + Send + Sync>>,
}

impl ResponseCache {
    pub fn new(ttl: Duration) -> Self {
        ResponseCache {
            ttl,
            clock: AtomicU64::new(0),
            valid_from: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached value for `key`, if fresh (and of type `T`).
    pub fn get<T: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<T>> {
        let key = scoped(key, crate::lang::current().tag());
        let valid_from = self.valid_from.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .filter(|e| e.generation >= valid_from && e.at.elapsed() < self.ttl)
            .and_then(|e| e.value.clone()?.downcast::<T>().ok())
    }

    /// Stores a value computed at `generation` (read before computing it, so that a write
    /// racing with the computation is never hidden).
    pub fn put<T: Send + Sync + 'static>(&self, key: &str, generation: u64, value: Arc<T>) {
        if generation < self.valid_from.load(Ordering::Acquire) {
            return;
        }
        let key = scoped(key, crate::lang::current().tag());
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.get(&key).is_some_and(|e| e.generation > generation) {
            // Forgotten, or computed afresh, while this value was being computed.
            return;
        }
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                at: Instant::now(),
                generation,
                value: Some(value),
            },
        );
    }

    /// The current generation, to pass to [`ResponseCache::put`].
    pub fn generation(&self) -> u64 {
        self.clock.load(Ordering::Acquire)
    }

    /// Forgets every entry (after a write to the catalog).
    pub fn invalidate(&self) {
        let now = self.clock.fetch_add(1, Ordering::AcqRel) + 1;
        self.valid_from.fetch_max(now, Ordering::AcqRel);
    }

    /// Forgets one entry, and refuses values for it computed before now (after a write that
    /// changes this answer only).
    pub fn forget(&self, key: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.fetch_add(1, Ordering::AcqRel) + 1;
        for tag in crate::lang::Choice::TAGS {
            entries.insert(
                scoped(key, tag),
                Entry {
                    at: Instant::now(),
                    generation: now,
                    value: None,
                },
            );
        }
    }
}

/// The key of one language variant of an entry.
fn scoped(key: &str, tag: &str) -> String {
    format!("{tag}|{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_invalidated() {
        let cache = ResponseCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put("k", g, Arc::new("v".to_owned()));
        assert_eq!(
            cache.get::<String>("k").as_deref().map(String::as_str),
            Some("v")
        );
        assert!(
            cache.get::<u32>("k").is_none(),
            "a key answers only its own type"
        );
        cache.invalidate();
        assert!(cache.get::<String>("k").is_none());
        // A value computed before the invalidation is not served after it.
        cache.put("k", g, Arc::new("stale".to_owned()));
        assert!(cache.get::<String>("k").is_none());

        // A forgotten key refuses values computed before it was forgotten, not after.
        let before = cache.generation();
        cache.put("k", before, Arc::new("old".to_owned()));
        cache.put("other", before, Arc::new("kept".to_owned()));
        cache.forget("k");
        assert!(cache.get::<String>("k").is_none());
        cache.put("k", before, Arc::new("stale".to_owned()));
        assert!(
            cache.get::<String>("k").is_none(),
            "computed before the forget"
        );
        assert!(cache.get::<String>("other").is_some(), "other keys stay");
        cache.put("k", cache.generation(), Arc::new("new".to_owned()));
        assert_eq!(
            cache.get::<String>("k").as_deref().map(String::as_str),
            Some("new")
        );

        let short = ResponseCache::new(Duration::ZERO);
        short.put("k", short.generation(), Arc::new(1u32));
        assert!(short.get::<u32>("k").is_none());
    }

    #[tokio::test]
    async fn each_language_has_its_own_entries() {
        use crate::lang::{Choice, Lang, within};
        let cache = ResponseCache::new(Duration::from_secs(60));
        let en = Choice {
            lang: Lang::En,
            translations: false,
        };
        cache.put("books", cache.generation(), Arc::new("한국어".to_owned()));
        within(en, async {
            assert!(
                cache.get::<String>("books").is_none(),
                "not the Korean answer"
            );
            cache.put("books", cache.generation(), Arc::new("English".to_owned()));
        })
        .await;
        assert_eq!(cache.get::<String>("books").unwrap().as_str(), "한국어");
        cache.forget("books");
        assert!(cache.get::<String>("books").is_none());
        within(en, async {
            assert!(cache.get::<String>("books").is_none(), "forgotten too")
        })
        .await;
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let short = ResponseCache::new(Duration::ZERO);
        short.put("k", short.generation(), Arc::new(1u32));
        assert!(short.get::<u32>("k").is_none());
    }
}
