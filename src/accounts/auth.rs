//! Passwords, session tokens and the extractors that authenticate a request.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use rand::RngCore;
use sea_orm::FromQueryResult;
use sha2::{Digest, Sha256};

use crate::db::{exec, fetch_optional, now_ms};
use crate::error::AppError;
use crate::state::AppState;
use crate::vals;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ipmat_session";
/// Sessions die after this long without use.
pub const IDLE_EXPIRY_MS: i64 = 30 * 24 * 3600 * 1000;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// Hashes a password with Argon2id on the blocking pool.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash on the blocking pool. With no stored hash (an
/// unknown user) a dummy hash is checked, so both cases take the same time.
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.with(|h| h.clone()));
        let parsed =
            PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("bad stored hash: {e}"))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await?
}

thread_local! {
    static DUMMY_HASH: String = {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    };
}

/// A new 256-bit session token, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores in place of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a session for a user and answers its token.
pub async fn create_session(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let token = new_token();
    let now = now_ms();
    exec(
        &state.db,
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        vals![token_hash(&token), user_id, now, now],
    )
    .await?;
    Ok(token)
}

/// The `Set-Cookie` value that stores a session in the browser (or clears it, with `None`).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            IDLE_EXPIRY_MS / 1000
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The token a request carries: `Authorization: Bearer …`, else the session cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    header_token(&parts.headers)
}

/// The token in request headers: `Authorization: Bearer …`, else the session cookie.
pub fn header_token(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|t| !t.is_empty())
}

/// The signed-in user of a request.
#[derive(Clone, Debug, FromQueryResult)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub is_guest: bool,
    pub birth_date: Option<String>,
    pub is_admin: bool,
    pub created_at: i64,
    #[sea_orm(skip)]
    pub token_hash: String,
    last_seen_at: i64,
}

impl AuthUser {
    async fn from_token(state: &AppState, token: &str) -> Result<Option<AuthUser>, AppError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let user = fetch_optional::<AuthUser>(
            &state.db,
            "SELECT u.id, u.username, u.display_name, u.is_guest, u.birth_date, u.is_admin, u.created_at, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            vals![hash.clone()],
        )
        .await?;
        let Some(mut user) = user else {
            return Ok(None);
        };
        let now = now_ms();
        if now - user.last_seen_at > IDLE_EXPIRY_MS {
            exec(
                &state.db,
                "DELETE FROM sessions WHERE token_hash = ?",
                vals![hash],
            )
            .await?;
            return Ok(None);
        }
        if now - user.last_seen_at > TOUCH_EVERY_MS {
            exec(
                &state.db,
                "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                vals![now, hash.clone()],
            )
            .await?;
        }
        user.token_hash = hash;
        state.visitors.record_user(state, user.id);
        Ok(Some(user))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let token = request_token(parts).ok_or(AppError::Unauthorized)?;
        let user = AuthUser::from_token(state, &token)
            .await?
            .ok_or(AppError::Unauthorized)?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

/// The signed-in user, if any.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match AuthUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(AppError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

/// A signed-in administrator.
#[derive(Clone, Debug)]
pub struct Admin(pub AuthUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(AppError::Forbidden("administrators only"));
        }
        Ok(Admin(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_stored_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("not a real password".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let c = session_cookie(Some("abc"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!session_cookie(Some("abc"), false).contains("Secure"));
        assert!(session_cookie(None, false).contains("Max-Age=0"));
    }
}
