//! The preview cache: what each page shows (looked up at most every [`LOOKUP_TTL`]) and the
//! images drawn, by content version. Concurrent requests for an image not drawn yet wait for
//! one drawing, so a crawler burst costs one render; the most recently used images are kept
//! up to [`MAX_IMAGE_BYTES`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::OnceCell;

use super::Preview;

/// How long a looked-up preview is reused before the database is asked again.
pub const LOOKUP_TTL: Duration = Duration::from_secs(2);
/// Looked-up previews kept at most (the map is emptied when it grows past this).
const MAX_LOOKUPS: usize = 20_000;
/// Bytes of drawn images kept in memory at most.
pub const MAX_IMAGE_BYTES: usize = 48 * 1024 * 1024;

struct Drawn {
    cell: Arc<OnceCell<Bytes>>,
    last_used: u64,
}

/// Shared by every request (in `AppState`).
#[derive(Default)]
pub struct PreviewCache {
    lookups: Mutex<HashMap<String, (Instant, Arc<Preview>)>>,
    images: Mutex<HashMap<String, Drawn>>,
    clock: AtomicU64,
    renders: AtomicU64,
}

impl PreviewCache {
    /// A preview looked up less than [`LOOKUP_TTL`] ago.
    pub fn lookup(&self, subject: &str) -> Option<Arc<Preview>> {
        let lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        lookups
            .get(subject)
            .filter(|(at, _)| at.elapsed() < LOOKUP_TTL)
            .map(|(_, p)| p.clone())
    }

    /// Remembers a looked-up preview.
    pub fn remember(&self, subject: &str, preview: Arc<Preview>) {
        let mut lookups = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        if lookups.len() >= MAX_LOOKUPS {
            lookups.clear();
        }
        lookups.insert(subject.to_owned(), (Instant::now(), preview));
    }

    /// The image of `version`, drawing it with `render` unless it is drawn or being drawn;
    /// answers whether this call drew it.
    pub async fn image<F, Fut>(&self, version: &str, render: F) -> anyhow::Result<(Bytes, bool)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Bytes>>,
    {
        let cell = self.cell(version);
        let mut drew = false;
        let bytes = cell
            .get_or_try_init(|| async {
                drew = true;
                self.renders.fetch_add(1, Ordering::Relaxed);
                render().await
            })
            .await?
            .clone();
        if drew {
            self.trim();
        }
        Ok((bytes, drew))
    }

    /// Images drawn since the start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    fn cell(&self, version: &str) -> Arc<OnceCell<Bytes>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut images = self.images.lock().unwrap_or_else(|e| e.into_inner());
        let entry = images.entry(version.to_owned()).or_insert_with(|| Drawn {
            cell: Arc::new(OnceCell::new()),
            last_used: now,
        });
        entry.last_used = now;
        entry.cell.clone()
    }

    /// Drops the least recently used images while they take more than the limit.
    fn trim(&self) {
        let mut images = self.images.lock().unwrap_or_else(|e| e.into_inner());
        let size = |d: &Drawn| d.cell.get().map_or(0, Bytes::len);
        let mut total: usize = images.values().map(size).sum();
        while total > MAX_IMAGE_BYTES && images.len() > 1 {
            let Some(oldest) = images
                .iter()
                .filter(|(_, d)| d.cell.initialized())
                .min_by_key(|(_, d)| d.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(d) = images.remove(&oldest) {
                total -= size(&d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_requests_for_one_version_draw_it_once() {
        let cache = Arc::new(PreviewCache::default());
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .image("v1", || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(Bytes::from_static(b"png"))
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut drew = 0;
        for t in tasks {
            let (bytes, d) = t.await.unwrap();
            assert_eq!(&bytes[..], b"png");
            drew += usize::from(d);
        }
        assert_eq!(drew, 1);
        assert_eq!(cache.renders(), 1);
    }

    #[tokio::test]
    async fn a_failed_drawing_is_tried_again_next_time() {
        let cache = PreviewCache::default();
        let failed = cache
            .image("v", || async { Err(anyhow::anyhow!("storage down")) })
            .await;
        assert!(failed.is_err());
        let (_, drew) = cache
            .image("v", || async { Ok(Bytes::from_static(b"ok")) })
            .await
            .unwrap();
        assert!(drew);
    }
}
