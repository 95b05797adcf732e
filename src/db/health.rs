//! A circuit breaker for the database: once the database is known to be down, API requests
//! fail at once with 503 instead of each waiting for a connection that will not come.
//!
//! Whether the database is down is judged by a probe, `SELECT 1` on a connection of its own
//! (a one-connection pool beside the main one), so that a flood that exhausts the main pool
//! is never mistaken for an outage. The probe runs every [`PROBE_EVERY`], at once when a
//! request was answered 503, and every [`PROBE_EVERY_WHILE_DOWN`] while the database is
//! down. [`FAILURES_TO_OPEN`] failed probes in a row open the breaker; one success closes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::Db;

/// How long a probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(2500);
/// Probe interval while the database answers.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Probe interval while the database is down.
pub const PROBE_EVERY_WHILE_DOWN: Duration = Duration::from_millis(500);
/// Failed probes in a row that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 3;

/// The breaker; cheap to share.
#[derive(Clone)]
pub struct DbHealth(Arc<Inner>);

struct Inner {
    down: AtomicBool,
    failures: AtomicU32,
    /// Times the breaker opened, for `/metrics`.
    opened: AtomicU64,
    wake: Notify,
}

impl Default for DbHealth {
    fn default() -> Self {
        DbHealth(Arc::new(Inner {
            down: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            opened: AtomicU64::new(0),
            wake: Notify::new(),
        }))
    }
}

impl DbHealth {
    /// Whether the database is known to be down right now.
    pub fn is_down(&self) -> bool {
        self.0.down.load(Ordering::Acquire)
    }

    /// How many times the breaker has opened.
    pub fn times_opened(&self) -> u64 {
        self.0.opened.load(Ordering::Relaxed)
    }

    /// Asks for a probe now (a request just failed as if the database were unavailable).
    pub fn suspect(&self) {
        self.0.wake.notify_one();
    }

    /// The database just answered a query (the readiness check): close the breaker now.
    pub fn saw_answer(&self) {
        self.record(true);
    }

    /// Records one probe's outcome.
    fn record(&self, ok: bool) {
        if ok {
            self.0.failures.store(0, Ordering::Relaxed);
            if self.0.down.swap(false, Ordering::AcqRel) {
                tracing::info!("the database answers again");
            }
            return;
        }
        let failures = self.0.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURES_TO_OPEN && !self.0.down.swap(true, Ordering::AcqRel) {
            self.0.opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("the database does not answer; failing requests fast until it does");
        }
    }

    /// Probes `probe` (a pool of its own) until the task is aborted.
    pub async fn run(self, probe: Db) {
        loop {
            let ok = matches!(
                tokio::time::timeout(PROBE_TIMEOUT, super::ping(&probe)).await,
                Ok(Ok(()))
            );
            self.record(ok);
            let pause = if self.is_down() || !ok {
                PROBE_EVERY_WHILE_DOWN
            } else {
                PROBE_EVERY
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.0.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_closes_on_success() {
        let health = DbHealth::default();
        health.record(false);
        assert!(!health.is_down(), "one failure is not an outage");
        health.record(true);
        health.record(false);
        assert!(!health.is_down(), "the count restarts after a success");
        for _ in 1..FAILURES_TO_OPEN - 1 {
            health.record(false);
        }
        assert!(!health.is_down());
        health.record(false);
        assert!(health.is_down());
        assert_eq!(health.times_opened(), 1);
        health.record(false);
        assert_eq!(health.times_opened(), 1);
        health.record(true);
        assert!(!health.is_down());
    }
}
