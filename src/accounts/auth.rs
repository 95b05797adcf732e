//! Passwords, session tokens and the extractors that authenticate a request.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use rand::Rng;
use sea_orm::FromQueryResult;
use sha2::{Digest, Sha256};

use crate::db::{exec, fetch_optional, now_ms};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::vals;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ipmat_session";
/// Sessions die after this long without use.
pub const IDLE_EXPIRY_MS: i64 = 30 * 24 * 3600 * 1000;
/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// The capacity of a hash's working memory, in 1 KiB blocks: 33 MiB, above 32 MiB (glibc's
/// largest dynamic mmap threshold on 64-bit systems), so that every buffer is a mapping of its
/// own, handed back to the system when the hash is done. Only the blocks the parameters use
/// (19 MiB by default) are ever written, so only those become resident.
///
/// Measured with `bench/auth-flood.sh`: a 19 MiB `Vec` per hash left RSS growing by about
/// 19 MiB a hash (glibc raised its mmap threshold after the first free and then kept the
/// freed buffers in its arenas), and one buffer kept per worker thread held 19 MiB per thread
/// for good.
const MAPPED_BLOCKS: usize = 33 * 1024;

/// Runs Argon2 with working memory of its own, unmapped afterwards.
fn with_memory<T>(params: &Params, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let blocks = params.block_count();
    let mut memory: Vec<Block> = Vec::with_capacity(blocks.max(MAPPED_BLOCKS));
    memory.resize(blocks, Block::default());
    f(&mut memory)
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("password hashing failed: {e}")
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes), on the calling
/// thread. Servers call it through [`hash_password_bounded`].
pub fn hash_password_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(err)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(&params, |m| {
        hasher.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, m)
    })
    .map_err(err)?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(err)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(err)?),
    };
    Ok(hash.to_string())
}

/// Checks a password against a stored hash on the calling thread. With no stored hash (an
/// unknown user) a dummy hash is checked, so both cases take the same time.
pub fn verify_password_now(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let known = stored.is_some();
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash(),
    };
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("bad stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("bad stored hash: no salt or hash");
    };
    let params = Params::try_from(&parsed).map_err(err)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(err)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(err)?,
        None => Version::default(),
    };
    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(err)?;
    let mut out = vec![0u8; expected.len()];
    with_memory(&params, |m| {
        hasher.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, m)
    })
    .map_err(err)?;
    // Output's equality is constant-time.
    let ok = Output::new(&out).map_err(err)? == expected;
    Ok(ok && known)
}

/// The hash checked for unknown users, computed once.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_now("not a real password").unwrap_or_default())
}

/// Hashes a password on the blocking pool, outside any bound: for commands (`ipmat user
/// create`) and tests, not for request handlers.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password_now(&password)).await?
}

/// Checks a password on the blocking pool, outside any bound (see [`hash_password`]).
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_password_now(&password, stored.as_deref())).await?
}

/// Hashes a password under the server's password-hashing bound (503 when it is saturated).
pub async fn hash_password_bounded(state: &AppState, password: String) -> AppResult<String> {
    Ok(state
        .passwords
        .run(move || hash_password_now(&password))
        .await??)
}

/// Checks a password under the server's password-hashing bound (503 when it is saturated),
/// and counts the check in `ipmat_password_verifications_total`.
pub async fn verify_password_bounded(
    state: &AppState,
    password: String,
    stored: Option<String>,
) -> AppResult<bool> {
    let ok = state
        .passwords
        .run(move || verify_password_now(&password, stored.as_deref()))
        .await??;
    state.metrics.count(crate::metrics::Event::PasswordVerified);
    Ok(ok)
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
    fn hashes_interoperate_with_the_standard_argon2_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password_now("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password_now("battery staple", Some(&theirs)).unwrap());
        assert!(!verify_password_now("battery stapler", Some(&theirs)).unwrap());
        // Reused working memory leaves no trace between hashes.
        assert!(verify_password_now("correct horse", Some(&ours)).unwrap());
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let c = session_cookie(Some("abc"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!session_cookie(Some("abc"), false).contains("Secure"));
        assert!(session_cookie(None, false).contains("Max-Age=0"));
    }
}
