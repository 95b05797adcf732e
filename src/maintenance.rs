//! Periodic clean-up: abandoned world cups, expired sessions, old throttle rows.
//!
//! Every replica runs it; the statements are idempotent deletes, so running them on several
//! replicas at once is harmless.

use std::time::Duration;

use crate::db::{exec, now_ms};
use crate::state::AppState;
use crate::vals;

/// How often the sweep runs (it also runs once at start).
pub const EVERY: Duration = Duration::from_secs(15 * 60);

/// Runs one sweep and logs what it removed.
pub async fn sweep(state: &AppState) {
    match crate::worldcup::purge_abandoned(&state.db, state.config.worldcup_max_age).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "purged abandoned world cups"),
        Err(e) => tracing::warn!(error = %e, "could not purge abandoned world cups"),
    }
    let idle_cutoff = now_ms() - crate::accounts::auth::IDLE_EXPIRY_MS;
    if let Err(e) = exec(
        &state.db,
        "DELETE FROM sessions WHERE last_seen_at < ?",
        vals![idle_cutoff],
    )
    .await
    {
        tracing::warn!(error = %e, "could not purge expired sessions");
    }
    if let Err(e) =
        crate::media::sweep_orphans(&state.db, &state.storage, crate::media::ORPHAN_GRACE).await
    {
        tracing::warn!(error = ?e, "could not sweep unused images");
    }
    if let Err(e) = crate::accounts::throttle::purge(&state.db).await {
        tracing::warn!(error = ?e, "could not purge old throttle rows");
    }
    if let Err(e) = crate::community::limits::purge(&state.db).await {
        tracing::warn!(error = ?e, "could not purge old community counters");
    }
    if let Err(e) = crate::community::sweep_popularity(&state.db).await {
        tracing::warn!(error = ?e, "could not age the weekly popularity figures");
    }
}

/// Sweeps now and then every [`EVERY`], until the task is aborted.
pub async fn run(state: AppState) {
    let mut interval = tokio::time::interval(EVERY);
    loop {
        interval.tick().await;
        sweep(&state).await;
    }
}
