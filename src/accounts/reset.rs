//! `ipmat user reset-password NAME`: an operator sets a member's password, for instance for
//! members brought over by `ipmat import-django`, who arrive without a usable one.

use anyhow::Context;
use rand::RngExt;

use crate::db::{Db, exec, fetch_i64};
use crate::vals;

/// Characters of generated passwords: no look-alikes, easy to read out or type from paper.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

/// A fresh random password of 12 characters (about 69 bits).
pub fn generate_password() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Sets the password of the member `username` (any case) and ends all their sessions.
pub async fn reset_password(db: &Db, username: &str, password: &str) -> anyhow::Result<()> {
    super::validate_password(password).map_err(|e| anyhow::anyhow!("password {}", e.message))?;
    let key = username.trim().to_lowercase();
    let id = fetch_i64(
        db,
        "SELECT id FROM users WHERE username_key = ?",
        vals![key.clone()],
    )
    .await?
    .with_context(|| format!("no member is called {username}"))?;
    let hash = super::auth::hash_password(password.to_owned()).await?;
    let txn = crate::db::begin(db).await?;
    exec(
        &txn,
        "UPDATE users SET password_hash = ? WHERE id = ?",
        vals![hash, id],
    )
    .await?;
    exec(&txn, "DELETE FROM sessions WHERE user_id = ?", vals![id]).await?;
    txn.commit().await?;
    Ok(())
}
