//! Bounded heavy work: CPU- or memory-hungry jobs (password hashing, image decoding) run on a
//! small fixed set of worker threads, at most `permits` at once. Up to `queue` more callers wait
//! for a turn, each at most `max_wait`; anything beyond is refused at once with 503
//! `unavailable` and a `Retry-After`, so a flood costs a bounded amount of memory and CPU and
//! the rest of the server keeps answering.
//!
//! The workers are long-lived threads owned by the bound (not the runtime's blocking pool, which
//! grows to hundreds of threads): the memory a job allocates is reused by the next job on the
//! same thread instead of being spread over many allocator arenas that are never given back.
//!
//! ```ignore
//! let bound = Bound::new("password_hashing", 2, 32, Duration::from_secs(2));
//! let hash = bound.run(move || expensive(&input)).await?;
//! ```

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use crate::error::{AppError, AppResult};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A concurrency bound with its own worker threads; cheap to clone (clones share the bound).
/// The workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct Bound(Arc<Inner>);

struct Inner {
    name: &'static str,
    permits: usize,
    queue: usize,
    max_wait: Duration,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    jobs: Mutex<mpsc::Sender<Job>>,
    completed: AtomicU64,
    rejected: AtomicU64,
}

/// What a bound is doing, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundStats {
    pub permits: usize,
    pub running: usize,
    pub waiting: usize,
    pub completed: u64,
    pub rejected: u64,
}

impl Bound {
    /// A bound named `name` (used in thread names and metrics) running at most `permits` jobs
    /// at once, with at most `queue` callers waiting at most `max_wait` each.
    pub fn new(name: &'static str, permits: usize, queue: usize, max_wait: Duration) -> Bound {
        let permits = permits.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..permits {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, bound = name, "cannot start a worker thread");
            }
        }
        Bound(Arc::new(Inner {
            name,
            permits,
            queue,
            max_wait,
            semaphore: Arc::new(Semaphore::new(permits)),
            waiting: AtomicUsize::new(0),
            jobs: Mutex::new(tx),
            completed: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        }))
    }

    /// A bound sized from the CPU count: one job per core.
    pub fn per_cpu(name: &'static str, queue_per_permit: usize, max_wait: Duration) -> Bound {
        let cpus = cpu_count();
        Bound::new(name, cpus, cpus * queue_per_permit, max_wait)
    }

    /// The bound's name.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Runs `work` on one of the bound's threads when a permit is free, and answers its result.
    ///
    /// Refused with [`AppError::Overloaded`] (503 with `Retry-After`) when the queue is full or
    /// no permit came within `max_wait`. Once started, the job runs to its end even if the
    /// caller goes away, and only then frees its permit, so the bound limits real work.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let inner = &self.0;
        let permit = match Arc::clone(&inner.semaphore).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = Waiting::enter(inner).ok_or_else(|| self.refuse())?;
                let acquired = tokio::time::timeout(
                    inner.max_wait,
                    Arc::clone(&inner.semaphore).acquire_owned(),
                )
                .await;
                drop(waiting);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(self.refuse()),
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            // The permit goes back only when the work is done.
            drop(permit);
            let _ = tx.send(result);
        });
        let sent = inner
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job);
        if sent.is_err() {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the {} workers are gone",
                inner.name
            )));
        }
        let result = rx.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("a {} worker dropped its job", inner.name))
        })?;
        inner.completed.fetch_add(1, Ordering::Relaxed);
        result.map_err(|_| AppError::Internal(anyhow::anyhow!("a {} job panicked", inner.name)))
    }

    /// What the bound is doing now.
    pub fn stats(&self) -> BoundStats {
        let inner = &self.0;
        BoundStats {
            permits: inner.permits,
            running: inner.permits - inner.semaphore.available_permits().min(inner.permits),
            waiting: inner.waiting.load(Ordering::Relaxed),
            completed: inner.completed.load(Ordering::Relaxed),
            rejected: inner.rejected.load(Ordering::Relaxed),
        }
    }

    fn refuse(&self) -> AppError {
        self.0.rejected.fetch_add(1, Ordering::Relaxed);
        AppError::Overloaded {
            retry_after_secs: self.0.max_wait.as_secs().max(1),
        }
    }
}

/// One caller counted in the queue while it waits; leaves the count when dropped.
struct Waiting<'a>(&'a Inner);

impl<'a> Waiting<'a> {
    fn enter(inner: &'a Inner) -> Option<Waiting<'a>> {
        inner
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < inner.queue).then_some(n + 1)
            })
            .ok()
            .map(|_| Waiting(inner))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        match job {
            Ok(job) => job(),
            // Every sender is gone: the bound was dropped.
            Err(_) => return,
        }
    }
}

/// The number of CPUs this process may use (at least 1).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Prometheus lines for some bounds.
pub fn render_metrics(out: &mut String, bounds: &[&Bound]) {
    out.push_str("# HELP ipmat_bound_running Jobs running in a concurrency bound.\n");
    out.push_str("# TYPE ipmat_bound_running gauge\n");
    for b in bounds {
        let _ = writeln!(
            out,
            "ipmat_bound_running{{bound=\"{}\"}} {}",
            b.name(),
            b.stats().running
        );
    }
    out.push_str("# HELP ipmat_bound_waiting Callers waiting for a concurrency bound.\n");
    out.push_str("# TYPE ipmat_bound_waiting gauge\n");
    for b in bounds {
        let _ = writeln!(
            out,
            "ipmat_bound_waiting{{bound=\"{}\"}} {}",
            b.name(),
            b.stats().waiting
        );
    }
    out.push_str(
        "# HELP ipmat_bound_rejected_total Callers refused with 503 because a bound was full.\n",
    );
    out.push_str("# TYPE ipmat_bound_rejected_total counter\n");
    for b in bounds {
        let _ = writeln!(
            out,
            "ipmat_bound_rejected_total{{bound=\"{}\"}} {}",
            b.name(),
            b.stats().rejected
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_and_answers_its_result() {
        let bound = Bound::new("t", 2, 4, Duration::from_secs(1));
        assert_eq!(bound.run(|| 6 * 7).await.unwrap(), 42);
        assert_eq!(bound.stats().completed, 1);
        assert_eq!(bound.stats().running, 0);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_with_retry_after() {
        let bound = Bound::new("t", 1, 0, Duration::from_secs(3));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = bound.clone();
        let first = tokio::spawn(async move {
            busy.run(move || {
                let _ = release_rx.recv();
            })
            .await
        });
        while bound.stats().running == 0 {
            tokio::task::yield_now().await;
        }
        match bound.run(|| ()).await {
            Err(AppError::Overloaded { retry_after_secs }) => assert_eq!(retry_after_secs, 3),
            other => panic!("expected 503, got {:?}", other.map(|_| ())),
        }
        assert_eq!(bound.stats().rejected, 1);
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        bound.run(|| ()).await.unwrap();
    }

    #[tokio::test]
    async fn waiting_callers_time_out() {
        let bound = Bound::new("t", 1, 5, Duration::from_millis(50));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = bound.clone();
        let first = tokio::spawn(async move {
            busy.run(move || {
                let _ = release_rx.recv();
            })
            .await
        });
        while bound.stats().running == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            bound.run(|| ()).await,
            Err(AppError::Overloaded { .. })
        ));
        assert_eq!(bound.stats().waiting, 0);
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn no_more_than_the_permits_run_at_once() {
        let bound = Bound::new("t", 2, 100, Duration::from_secs(10));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (bound, running, peak) = (bound.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                bound
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(5));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(bound.stats().completed, 20);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_internal_error_and_the_worker_survives() {
        let bound = Bound::new("t", 1, 1, Duration::from_secs(1));
        assert!(matches!(
            bound.run(|| panic!("boom")).await,
            Err(AppError::Internal(_))
        ));
        assert_eq!(bound.run(|| 1).await.unwrap(), 1);
    }
}
