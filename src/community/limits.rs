//! Quotas and rate limits: fixed-window counters in `community_limits`.
//!
//! A counter is taken with one conditional `UPDATE … SET used = used + 1 WHERE used < limit`,
//! so concurrent requests on several replicas never overshoot and nothing is read first.
//! Every figure is here, and `docs/community.md` lists them.

use sha2::{Digest, Sha256};

use crate::db::{Db, exec, insert_ignore_sql, now_ms};
use crate::error::{AppError, AppResult};
use crate::vals;

const MINUTE: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MINUTE;

/// One limit: how many in a window of how long.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window_ms: i64,
}

/// Community books a member makes per UTC day.
pub const BOOKS_PER_DAY: Limit = Limit {
    name: "books",
    max: 10,
    window_ms: DAY,
};
/// Own foods a member adds to their books per UTC day.
pub const FOODS_PER_DAY: Limit = Limit {
    name: "foods",
    max: 300,
    window_ms: DAY,
};
/// Images a member (not an admin) uploads per UTC day.
pub const UPLOADS_PER_DAY: Limit = Limit {
    name: "uploads",
    max: 60,
    window_ms: DAY,
};
/// Comments a member or guest posts per UTC day.
pub const COMMENTS_PER_DAY: Limit = Limit {
    name: "comments",
    max: 100,
    window_ms: DAY,
};
/// Comments one account posts per minute.
pub const COMMENTS_PER_MINUTE: Limit = Limit {
    name: "comments-minute",
    max: 5,
    window_ms: MINUTE,
};
/// Comments posted from one client address per ten minutes, whatever the account.
pub const COMMENTS_PER_ADDRESS: Limit = Limit {
    name: "comments-address",
    max: 20,
    window_ms: 10 * MINUTE,
};
/// Reports sent from one client address per hour.
pub const REPORTS_PER_ADDRESS: Limit = Limit {
    name: "reports-address",
    max: 30,
    window_ms: 60 * MINUTE,
};

/// Takes one unit of `limit` for `subject` (a user id or an address), or answers 429.
pub async fn take(db: &Db, limit: Limit, subject: &str) -> AppResult<()> {
    let now = now_ms();
    let window_start = now - now.rem_euclid(limit.window_ms);
    let window_end = window_start + limit.window_ms;
    let key = hex::encode(Sha256::digest(format!(
        "{}:{subject}:{window_start}",
        limit.name
    )));
    let insert = insert_ignore_sql(
        db.get_database_backend(),
        "INTO community_limits (limit_key, used, window_end) VALUES (?, 0, ?)",
    );
    exec(db, &insert, vals![key.clone(), window_end]).await?;
    let taken = exec(
        db,
        "UPDATE community_limits SET used = used + 1 WHERE limit_key = ? AND used < ?",
        vals![key, limit.max],
    )
    .await?;
    if taken.rows_affected() == 0 {
        return Err(AppError::RateLimited {
            retry_after_secs: ((window_end - now) / 1000).max(1) as u64,
        });
    }
    Ok(())
}

/// Deletes the counters of windows that have ended (run by the periodic sweep).
pub async fn purge(db: &Db) -> Result<u64, sea_orm::DbErr> {
    Ok(exec(
        db,
        "DELETE FROM community_limits WHERE window_end < ?",
        vals![now_ms()],
    )
    .await?
    .rows_affected())
}
