//! Throttling of log-ins (per account, per known device, per client address) and of account
//! creation (per client address), kept in the database so that every replica sees the same
//! counts.
//!
//! An attempt is counted *before* the password is verified: one conditional `UPDATE` (or, for
//! a new key, one `INSERT`) reserves a slot in the current window and succeeds only while the
//! window still has room, so no burst, on one replica or many, gets more than the limit
//! verified. Only a request holding its slots runs Argon2. A successful log-in gives the
//! address slot back and clears the account's (or device's) count; work refused by the hashing
//! bound gives its slots back too.
//!
//! Keys are HMAC-SHA256 of the kind and value under the server key, so the table holds neither
//! usernames nor addresses, and they cannot be recovered by hashing guesses.

use std::net::IpAddr;

use sea_orm::FromQueryResult;

use super::device::KnownDevice;
use crate::db::{Db, exec, fetch_optional, insert_ignore_sql, now_ms};
use crate::error::{AppError, AppResult};
use crate::secrets::ServerKey;
use crate::state::AppState;
use crate::vals;

/// A limit: at most `limit` attempts per `window_ms` (a fixed window from the first attempt).
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    kind: &'static str,
    pub limit: i64,
    pub window_ms: i64,
}

/// Log-ins to one account from devices it does not know.
pub const LOGIN_ACCOUNT: Rule = Rule {
    kind: "login-account",
    limit: 5,
    window_ms: 15 * 60 * 1000,
};
/// Log-ins from one known device (holding a valid device cookie for the account).
pub const LOGIN_DEVICE: Rule = Rule {
    kind: "login-device",
    limit: 5,
    window_ms: 15 * 60 * 1000,
};
/// Failed log-ins from one client address, whatever the account.
pub const LOGIN_ADDRESS: Rule = Rule {
    kind: "login-address",
    limit: 20,
    window_ms: 15 * 60 * 1000,
};
/// Accounts created from one client address (sign-ups, guests).
pub const ACCOUNT_CREATION: Rule = Rule {
    kind: "account-creation",
    limit: 20,
    window_ms: 60 * 60 * 1000,
};

/// The longest window; rows older than that are purged.
const LONGEST_WINDOW_MS: i64 = 60 * 60 * 1000;

/// The stored key of `value` under `rule`: hex HMAC, 64 characters.
pub fn key(server_key: &ServerKey, rule: &Rule, value: &str) -> String {
    server_key.sign_hex("throttle", format!("{}\0{value}", rule.kind).as_bytes())
}

/// Seconds to wait before `failures` within a window started at `window_start` allow a new
/// attempt, if the limit is reached.
pub fn retry_after(rule: &Rule, failures: i64, window_start: i64, now: i64) -> Option<u64> {
    let window_end = window_start + rule.window_ms;
    (failures >= rule.limit && now < window_end).then(|| ((window_end - now + 999) / 1000) as u64)
}

/// Reserves one attempt under `rule` for `key`: `Ok` when the window had room (the attempt is
/// counted), else 429 with the seconds until the window ends.
pub async fn reserve(db: &Db, rule: &Rule, key: &str) -> AppResult<()> {
    let now = now_ms();
    let expired_before = now - rule.window_ms;
    // The condition is evaluated on the row as locked by this statement, so concurrent
    // reservations on every engine queue on the row and never overshoot the limit.
    let update = "UPDATE login_throttle SET \
         failures = CASE WHEN window_start <= ? THEN 1 ELSE failures + 1 END, \
         window_start = CASE WHEN window_start <= ? THEN ? ELSE window_start END \
         WHERE throttle_key = ? AND (window_start <= ? OR failures < ?)";
    let params = || {
        vals![
            expired_before,
            expired_before,
            now,
            key.to_owned(),
            expired_before,
            rule.limit
        ]
    };
    if exec(db, update, params()).await?.rows_affected() == 1 {
        return Ok(());
    }
    let insert = insert_ignore_sql(
        db.get_database_backend(),
        "INTO login_throttle (throttle_key, failures, window_start) VALUES (?, 1, ?)",
    );
    if exec(db, &insert, vals![key.to_owned(), now])
        .await?
        .rows_affected()
        == 1
    {
        return Ok(());
    }
    // The row exists: either it is full, or another request created it just now.
    if exec(db, update, params()).await?.rows_affected() == 1 {
        return Ok(());
    }
    Err(refusal(db, rule, key, now).await?)
}

#[derive(FromQueryResult)]
struct Row {
    failures: i64,
    window_start: i64,
}

async fn refusal(db: &Db, rule: &Rule, key: &str, now: i64) -> AppResult<AppError> {
    let row = fetch_optional::<Row>(
        db,
        "SELECT failures, window_start FROM login_throttle WHERE throttle_key = ?",
        vals![key.to_owned()],
    )
    .await?;
    let retry_after_secs = row
        .and_then(|r| retry_after(rule, r.failures, r.window_start, now))
        .unwrap_or(1);
    Ok(AppError::RateLimited { retry_after_secs })
}

/// Gives back one reserved attempt.
pub async fn refund(db: &Db, key: &str) -> AppResult<()> {
    exec(
        db,
        "UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = ? AND failures > 0",
        vals![key.to_owned()],
    )
    .await?;
    Ok(())
}

/// Forgets every attempt of `key`.
pub async fn clear(db: &Db, key: &str) -> AppResult<()> {
    exec(
        db,
        "DELETE FROM login_throttle WHERE throttle_key = ?",
        vals![key.to_owned()],
    )
    .await?;
    Ok(())
}

/// The slots one log-in attempt holds while its password is checked.
#[derive(Debug)]
pub struct LoginAttempt {
    address: String,
    /// The account's key, or the known device's.
    account: String,
}

impl LoginAttempt {
    /// Reserves the attempt: one slot of the client address, and one of the account, or of
    /// the device when the request carries a valid device cookie for this account (a known
    /// device is not locked out by strangers' failures). 429 when either is full.
    pub async fn reserve(
        state: &AppState,
        username_key: &str,
        client: IpAddr,
        device: Option<&KnownDevice>,
    ) -> AppResult<LoginAttempt> {
        let address = key(&state.server_key, &LOGIN_ADDRESS, &client.to_string());
        let account = match device {
            Some(d) => key(&state.server_key, &LOGIN_DEVICE, &d.nonce),
            None => key(&state.server_key, &LOGIN_ACCOUNT, username_key),
        };
        let account_rule = if device.is_some() {
            LOGIN_DEVICE
        } else {
            LOGIN_ACCOUNT
        };
        reserve(&state.db, &LOGIN_ADDRESS, &address).await?;
        if let Err(e) = reserve(&state.db, &account_rule, &account).await {
            // The attempt never ran: it does not count against the address.
            refund(&state.db, &address).await?;
            return Err(e);
        }
        Ok(LoginAttempt { address, account })
    }

    /// The password was right: the address gets its slot back, the account (or device) starts
    /// afresh.
    pub async fn succeeded(self, state: &AppState) -> AppResult<()> {
        refund(&state.db, &self.address).await?;
        clear(&state.db, &self.account).await
    }

    /// The password was never checked (the hashing bound was full): both slots go back.
    pub async fn cancel(self, state: &AppState) -> AppResult<()> {
        refund(&state.db, &self.address).await?;
        refund(&state.db, &self.account).await
    }
}

/// Counts one account creation for a client address, refusing with 429 once the address has
/// created [`ACCOUNT_CREATION`]`.limit` accounts within the window. Call it before the work of
/// creating an account (hashing a password, inserting the user).
pub async fn check_account_creation(state: &AppState, client: IpAddr) -> AppResult<()> {
    let key = key(&state.server_key, &ACCOUNT_CREATION, &client.to_string());
    reserve(&state.db, &ACCOUNT_CREATION, &key).await
}

/// Gives back an account creation counted by [`check_account_creation`] that did not happen
/// (the name was taken, or the server was too busy to hash the password).
pub async fn refund_account_creation(state: &AppState, client: IpAddr) -> AppResult<()> {
    let key = key(&state.server_key, &ACCOUNT_CREATION, &client.to_string());
    refund(&state.db, &key).await
}

/// Drops rows whose window has long passed.
pub async fn purge(db: &Db) -> AppResult<u64> {
    let done = exec(
        db,
        "DELETE FROM login_throttle WHERE window_start < ?",
        vals![now_ms() - LONGEST_WINDOW_MS],
    )
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_until_the_window_ends() {
        let w = LOGIN_ACCOUNT.window_ms;
        assert_eq!(retry_after(&LOGIN_ACCOUNT, 4, 0, 1000), None);
        assert_eq!(retry_after(&LOGIN_ACCOUNT, 5, 0, 1000), Some(899));
        assert_eq!(retry_after(&LOGIN_ACCOUNT, 5, 0, w), None);
        assert_eq!(retry_after(&ACCOUNT_CREATION, 20, 0, 1000), Some(3599));
    }

    #[test]
    fn keys_are_keyed_hashes_that_hide_names_and_addresses() {
        let server = ServerKey::from_bytes(b"secret");
        let k = key(&server, &LOGIN_ACCOUNT, "alice");
        assert_eq!(k.len(), 64);
        assert!(!k.contains("alice"));
        assert_ne!(k, key(&server, &LOGIN_ADDRESS, "alice"), "kinds differ");
        assert_ne!(
            k,
            key(&ServerKey::from_bytes(b"other"), &LOGIN_ACCOUNT, "alice"),
            "the key matters"
        );
        use sha2::Digest;
        assert_ne!(
            k,
            hex::encode(sha2::Sha256::digest(b"account:alice")),
            "not a bare hash"
        );
    }

    #[test]
    fn every_window_is_purged_only_after_it_ends() {
        for rule in [LOGIN_ACCOUNT, LOGIN_DEVICE, LOGIN_ADDRESS, ACCOUNT_CREATION] {
            assert!(rule.window_ms <= LONGEST_WINDOW_MS, "{}", rule.kind);
        }
    }
}
