//! Guests: a member made from a display name alone, so that a friend opening a quiz link can
//! take it at once. A guest has a generated username and no usable password; `PATCH /me`
//! turns them into a full member (see `profile.rs`).
//!
//! Idle guests expire like sessions: their sessions die after the idle time, and the sweep
//! then deletes the guest rows that own nothing. A guest who took or wrote an exam keeps their
//! row (without sessions, so nobody can sign in as them again), which keeps their attempts on
//! scoreboards under their display name.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng;
use sea_orm::FromQueryResult;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::throttle::{WINDOW_MS, retry_after};
use super::{SessionResponse, auth, load_user, profile, session_response};
use crate::db::{Db, exec, fetch_optional, insert_ignore_sql, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::vals;

/// Guests one client address may create per throttle window (15 minutes).
pub const GUEST_LIMIT: i64 = 30;

/// Stands in for a guest's password: a well-formed Argon2id string whose hash bytes are random,
/// not the hash of anything, so that no password verifies against it (and logging in as a
/// guest costs the same as a wrong password).
pub const GUEST_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$vFYNcnxnVNXuEP0qz7L1Qw$K+yLstkpC0cUhkCMWIr6wsV03WoYYbxQaL2jqGayO64";

/// Body of `POST /auth/guest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGuestRequest {
    /// 1 to 20 characters after trimming, any letters, no control characters.
    pub display_name: String,
}

/// A fresh guest username: `g_` and 10 random characters of `[a-z0-9]` (valid by the
/// username rule; about 52 bits, so collisions are retried, not expected).
pub fn guest_username(rng: &mut impl Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    let tail: String = (0..10)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect();
    format!("g_{tail}")
}

/// Counts one account creation by a client address and refuses with 429 past [`GUEST_LIMIT`]
/// within a window. Kept in the log-in throttle table under its own key.
pub async fn check_account_creation(state: &AppState, ip: IpAddr) -> AppResult<()> {
    #[derive(FromQueryResult)]
    struct Row {
        failures: i64,
        window_start: i64,
    }
    let key = hex::encode(Sha256::digest(format!("guest:{ip}").as_bytes()));
    let now = now_ms();
    let db = &state.db;
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
    let row = fetch_optional::<Row>(
        db,
        "SELECT failures, window_start FROM login_throttle WHERE throttle_key = ?",
        vals![key],
    )
    .await?;
    match row.and_then(|r| retry_after(r.failures, r.window_start, GUEST_LIMIT + 1, now)) {
        Some(retry_after_secs) => Err(AppError::RateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// Creates a guest member from a display name and signs them in (token and cookie).
#[utoipa::path(post, path = "/auth/guest", tag = "members", request_body = CreateGuestRequest,
    responses((status = 201, body = SessionResponse), (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub(super) async fn create_guest(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<CreateGuestRequest>,
) -> AppResult<Response> {
    let display_name = profile::validate_display_name(&body.display_name)
        .map_err(|e| AppError::Validation(vec![e]))?;
    check_account_creation(&state, ip).await?;
    let id = insert_guest(&state.db, &display_name).await?;
    let user = load_user(&state, id).await?;
    let token = auth::create_session(&state, id).await?;
    Ok(session_response(&state, &user, token, StatusCode::CREATED))
}

async fn insert_guest(db: &Db, display_name: &str) -> AppResult<i64> {
    let mut tries = 0;
    loop {
        let username = guest_username(&mut rand::rng());
        let result = insert_returning_id(
            db,
            "INSERT INTO users (username, username_key, display_name, password_hash, birth_date, is_admin, is_guest, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vals![username.clone(), username, display_name, GUEST_PASSWORD_HASH, Option::<String>::None, false, true, now_ms()],
        )
        .await;
        match result {
            Ok(id) => return Ok(id),
            Err(e) if crate::db::is_unique_violation(&e) && tries < 5 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Deletes guests without a session that own nothing the quiz shows (no exam, attempt or
/// withdrawal) and were created before `created_before`; answers how many.
pub async fn purge_idle_guests(db: &Db, created_before: i64) -> Result<u64, sea_orm::DbErr> {
    let done = exec(
        db,
        "DELETE FROM users WHERE is_guest = ? AND created_at < ? \
         AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = users.id) \
         AND NOT EXISTS (SELECT 1 FROM exam_attempts a WHERE a.user_id = users.id) \
         AND NOT EXISTS (SELECT 1 FROM exam_withdrawals w WHERE w.user_id = users.id) \
         AND NOT EXISTS (SELECT 1 FROM exams e WHERE e.author_id = users.id)",
        vals![true, created_before],
    )
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_usernames_follow_the_username_rule() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let name = guest_username(&mut rng);
            assert!(name.starts_with("g_"));
            assert_eq!(super::super::validate_username(&name), Ok(()), "{name}");
            assert_eq!(name, name.to_lowercase());
        }
    }

    #[tokio::test]
    async fn no_password_verifies_against_the_guest_hash() {
        for password in ["", "guest", "password1", GUEST_PASSWORD_HASH] {
            let ok = auth::verify_password(password.into(), Some(GUEST_PASSWORD_HASH.into()))
                .await
                .unwrap();
            assert!(!ok, "{password}");
        }
    }
}
