//! A bound on expensive blocking work (image decoding): at most `permits` jobs run at once,
//! at most `queue` more wait, each for at most `max_wait`; beyond that the caller gets 503
//! `unavailable` with `Retry-After` instead of piling up memory and threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::AppError;

/// One bound; cheap to clone (clones share it).
#[derive(Clone)]
pub struct Bound(Arc<Inner>);

struct Inner {
    name: &'static str,
    permits: usize,
    semaphore: Arc<Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
    max_wait: Duration,
}

impl Bound {
    /// A bound of `permits` concurrent jobs and `queue` waiting ones.
    pub fn new(name: &'static str, permits: usize, queue: usize, max_wait: Duration) -> Bound {
        let permits = permits.max(1);
        Bound(Arc::new(Inner {
            name,
            permits,
            semaphore: Arc::new(Semaphore::new(permits)),
            queue,
            waiting: AtomicUsize::new(0),
            max_wait,
        }))
    }

    /// The number of CPUs this process may use (cgroup quotas included), at least 1.
    pub fn cpus() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// How many jobs may run at once.
    pub fn permits(&self) -> usize {
        self.0.permits
    }

    /// Runs `work` on a blocking thread once a permit is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = match self.0.semaphore.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = self.0.waiting.fetch_add(1, Ordering::AcqRel);
                let _leave = Leave(&self.0.waiting);
                if waiting >= self.0.queue {
                    return Err(self.full());
                }
                match tokio::time::timeout(
                    self.0.max_wait,
                    self.0.semaphore.clone().acquire_owned(),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(self.full()),
                }
            }
        };
        // The permit goes with the work: a caller that gives up (a client that disconnects)
        // does not free it while the work still runs.
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await;
        result.map_err(|e| AppError::Internal(anyhow::anyhow!("{} stopped: {e}", self.0.name)))
    }

    fn full(&self) -> AppError {
        AppError::Unavailable(anyhow::anyhow!(
            "{} is busy ({} running, {} waiting)",
            self.0.name,
            self.0.permits,
            self.0.queue
        ))
    }
}

/// Leaves the queue when dropped.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_beyond_the_permits_and_the_queue_is_refused() {
        let bound = Bound::new("test work", 1, 1, Duration::from_secs(5));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = {
            let bound = bound.clone();
            tokio::spawn(async move { bound.run(move || hold.recv().ok()).await })
        };
        // Let the first job take the permit, then queue a second one.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let bound = bound.clone();
            tokio::spawn(async move { bound.run(|| 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = bound.run(|| 3).await;
        assert!(matches!(refused, Err(AppError::Unavailable(_))));
        release.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 2);
        assert_eq!(bound.run(|| 4).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn waiting_longer_than_the_limit_is_refused() {
        let bound = Bound::new("test work", 1, 4, Duration::from_millis(50));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = {
            let bound = bound.clone();
            tokio::spawn(async move { bound.run(move || hold.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(matches!(
            bound.run(|| 1).await,
            Err(AppError::Unavailable(_))
        ));
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
    }
}
