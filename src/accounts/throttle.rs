//! Log-in throttling per account and per client address, kept in the database so that every
//! replica sees the same counts.

use std::net::IpAddr;

use sea_orm::FromQueryResult;
use sha2::{Digest, Sha256};

use crate::db::{Db, exec, fetch_all, insert_ignore_sql, now_ms, placeholders};
use crate::error::{AppError, AppResult};
use crate::vals;

/// Failures are counted over this window.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failed log-ins allowed per account within a window.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failed log-ins allowed per client address within a window.
pub const ADDRESS_LIMIT: i64 = 20;

/// The throttle rows of one log-in attempt: (hashed key, limit).
pub struct Keys {
    account: String,
    address: String,
}

/// Keys are hashed so that the table holds neither usernames nor addresses in the clear.
pub fn keys(username_key: &str, ip: IpAddr) -> Keys {
    let hash = |s: String| hex::encode(Sha256::digest(s.as_bytes()));
    Keys {
        account: hash(format!("account:{username_key}")),
        address: hash(format!("address:{ip}")),
    }
}

#[derive(FromQueryResult)]
struct Row {
    throttle_key: String,
    failures: i64,
    window_start: i64,
}

/// Seconds to wait before `failures` within a window started at `window_start` allow a new
/// attempt, if the limit is reached.
pub fn retry_after(failures: i64, window_start: i64, limit: i64, now: i64) -> Option<u64> {
    let window_end = window_start + WINDOW_MS;
    (failures >= limit && now < window_end).then(|| ((window_end - now + 999) / 1000) as u64)
}

/// Refuses with 429 while either key is over its limit.
pub async fn check(db: &Db, keys: &Keys) -> AppResult<()> {
    let rows = fetch_all::<Row>(
        db,
        &format!(
            "SELECT throttle_key, failures, window_start FROM login_throttle WHERE throttle_key IN ({})",
            placeholders(2)
        ),
        vals![keys.account.clone(), keys.address.clone()],
    )
    .await?;
    let now = now_ms();
    let wait = rows
        .iter()
        .filter_map(|r| {
            let limit = if r.throttle_key == keys.account {
                ACCOUNT_LIMIT
            } else {
                ADDRESS_LIMIT
            };
            retry_after(r.failures, r.window_start, limit, now)
        })
        .max();
    match wait {
        Some(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// Counts a failure against both keys, starting a new window when the old one has passed.
pub async fn failed(db: &Db, keys: &Keys) -> AppResult<()> {
    let now = now_ms();
    for key in [&keys.account, &keys.address] {
        let insert = insert_ignore_sql(
            db.get_database_backend(),
            "INTO login_throttle (throttle_key, failures, window_start) VALUES (?, 0, ?)",
        );
        exec(db, &insert, vals![key.clone(), now]).await?;
        exec(
            db,
            "UPDATE login_throttle SET \
             failures = CASE WHEN window_start < ? THEN 1 ELSE failures + 1 END, \
             window_start = CASE WHEN window_start < ? THEN ? ELSE window_start END \
             WHERE throttle_key = ?",
            vals![now - WINDOW_MS, now - WINDOW_MS, now, key.clone()],
        )
        .await?;
    }
    Ok(())
}

/// A successful log-in clears the account's failures (not the address's).
pub async fn succeeded(db: &Db, keys: &Keys) -> AppResult<()> {
    exec(
        db,
        "DELETE FROM login_throttle WHERE throttle_key = ?",
        vals![keys.account.clone()],
    )
    .await?;
    Ok(())
}

/// Drops rows whose window has long passed.
pub async fn purge(db: &Db) -> AppResult<u64> {
    let done = exec(
        db,
        "DELETE FROM login_throttle WHERE window_start < ?",
        vals![now_ms() - WINDOW_MS],
    )
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_until_the_window_ends() {
        assert_eq!(retry_after(4, 0, 5, 1000), None);
        assert_eq!(retry_after(5, 0, 5, 1000), Some(899));
        assert_eq!(retry_after(5, 0, 5, WINDOW_MS), None);
    }

    #[test]
    fn keys_hide_names_and_addresses() {
        let k = keys("alice", "192.0.2.1".parse().unwrap());
        assert!(!k.account.contains("alice"));
        assert_ne!(k.account, k.address);
    }
}
