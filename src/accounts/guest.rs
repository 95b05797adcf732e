//! Guests: a member made from a display name alone, so that a friend opening a quiz link can
//! take it at once. A guest has a generated username and no usable password; `PATCH /me`
//! turns them into a full member (see `profile.rs`).
//!
//! Idle guests expire like sessions: their sessions die after the idle time, and the sweep
//! then deletes the guest rows that own nothing. A guest who took or wrote an exam keeps their
//! row (without sessions, so nobody can sign in as them again), which keeps their attempts on
//! scoreboards under their display name.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rand::{Rng, RngExt};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{SessionResponse, auth, load_user, profile, session_response};
use crate::db::{Db, exec, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::vals;

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

/// Creates a guest member from a display name and signs them in (token and cookie).
#[utoipa::path(post, path = "/auth/guest", tag = "members", request_body = CreateGuestRequest,
    responses((status = 201, body = SessionResponse), (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub(super) async fn create_guest(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    crate::https::Https(https): crate::https::Https,
    Json(body): Json<CreateGuestRequest>,
) -> AppResult<Response> {
    let display_name = profile::validate_display_name(&body.display_name)
        .map_err(|e| AppError::Validation(vec![e]))?;
    // Guests are accounts: the same per-address budget as sign-ups.
    super::throttle::check_account_creation(&state, ip).await?;
    let id = match insert_guest(&state.db, &display_name).await {
        Ok(id) => id,
        Err(e) => {
            super::throttle::refund_account_creation(&state, ip).await?;
            return Err(e);
        }
    };
    let user = load_user(&state, id).await?;
    let token = auth::create_session(&state, id).await?;
    Ok(session_response(
        &state,
        &user,
        token,
        StatusCode::CREATED,
        https,
    ))
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
