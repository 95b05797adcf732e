//! Periodic clean-up: abandoned world cups, expired sessions, old throttle rows, unused
//! images, old visitor salts.
//!
//! Every replica schedules it, but one sweep runs at a time across replicas: each takes a
//! database lock without waiting (`pg_try_advisory_xact_lock` on PostgreSQL, scoped to the
//! database; on MariaDB `GET_LOCK(…, 0)` on a name that includes the database's, since
//! MariaDB's named locks are server-wide and two sites may share one server; SQLite serves one
//! replica) and skips the round when another holds it.

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
    match crate::accounts::guest::purge_idle_guests(&state.db, idle_cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "purged idle guests"),
        Err(e) => tracing::warn!(error = %e, "could not purge idle guests"),
    }
    if let Err(e) =
        crate::media::sweep_orphans(&state.db, &state.storage, crate::media::ORPHAN_GRACE).await
    {
        tracing::warn!(error = ?e, "could not sweep unused images");
    }
    if let Err(e) = crate::accounts::throttle::purge(&state.db).await {
        tracing::warn!(error = ?e, "could not purge old throttle rows");
    }
    if let Err(e) = crate::visitors::purge_old_salts(&state.db).await {
        tracing::warn!(error = %e, "could not purge old visitor salts");
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
        match sweep_if_alone(&state).await {
            Ok(true) => {}
            Ok(false) => tracing::debug!("another replica is sweeping; skipped"),
            Err(e) => tracing::warn!(error = %e, "could not take the sweep lock"),
        }
        // Outside the sweep's lock (which a transaction holds): every replica makes the WebP
        // variants still missing, one at a time under its image bound.
        let (db, storage, bound) = (&state.db, &state.storage, &state.image_work);
        if let Err(e) = crate::media::backfill_webp(db, storage, bound).await {
            tracing::warn!(error = ?e, "could not make the missing WebP variants");
        }
    }
}

/// Lock key of the sweep (PostgreSQL advisory locks take a number; the migration uses 4627001).
const SWEEP_LOCK: i64 = 4_627_002;

/// Sweeps unless another replica is sweeping; answers whether it swept.
pub async fn sweep_if_alone(state: &AppState) -> Result<bool, sea_orm::DbErr> {
    use sea_orm::{DbBackend, TransactionTrait};
    match state.db.get_database_backend() {
        DbBackend::Postgres => {
            // The lock lives as long as this transaction, which only holds it.
            let txn = state.db.begin().await?;
            let got = crate::db::fetch_optional::<Flag>(
                &txn,
                "SELECT pg_try_advisory_xact_lock(?) AS taken",
                vals![SWEEP_LOCK],
            )
            .await?
            .is_some_and(|f| f.taken);
            if got {
                sweep(state).await;
            }
            txn.commit().await?;
            Ok(got)
        }
        DbBackend::MySql => {
            // A session lock on the transaction's connection, released before it returns.
            let txn = state.db.begin().await?;
            let got = crate::db::fetch_i64(
                &txn,
                "SELECT GET_LOCK(CONCAT('ipmat_sweep:', DATABASE()), 0)",
                vec![],
            )
            .await?
                == Some(1);
            if got {
                sweep(state).await;
                crate::db::exec(
                    &txn,
                    "DO RELEASE_LOCK(CONCAT('ipmat_sweep:', DATABASE()))",
                    vec![],
                )
                .await?;
            }
            txn.commit().await?;
            Ok(got)
        }
        _ => {
            sweep(state).await;
            Ok(true)
        }
    }
}

#[derive(sea_orm::FromQueryResult)]
struct Flag {
    taken: bool,
}
