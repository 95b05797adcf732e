//! The server key: one secret that every replica shares, behind keyed hashes (HMAC-SHA256) of
//! log-in throttle keys and the signatures of device cookies.
//!
//! It comes from `IPMAT_SECRET_KEY` when configured; otherwise the first replica to start
//! creates a random one in the `server_secrets` table and every replica reads that row. Each use
//! names its purpose, so one key never signs two kinds of message alike.

use rand::Rng;
use ring::hmac;
use sea_orm::FromQueryResult;

use crate::config::Secret;
use crate::db::{Db, exec, fetch_optional, insert_ignore_sql, now_ms};
use crate::vals;

/// Name of the row that holds the key in `server_secrets`.
const ROW: &str = "hmac";

/// A shared HMAC-SHA256 key. `Debug` never shows it.
#[derive(Clone)]
pub struct ServerKey(hmac::Key);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(***)")
    }
}

#[derive(FromQueryResult)]
struct Row {
    secret: String,
}

impl ServerKey {
    /// A key from raw bytes (a configured secret, or tests).
    pub fn from_bytes(bytes: &[u8]) -> ServerKey {
        ServerKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The configured key, else the database's (created on first use).
    pub async fn load(db: &Db, configured: Option<&Secret>) -> anyhow::Result<ServerKey> {
        if let Some(secret) = configured {
            return Ok(ServerKey::from_bytes(secret.expose().as_bytes()));
        }
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        // Replicas starting together race here; the first insert wins and all read it back.
        let insert = insert_ignore_sql(
            db.get_database_backend(),
            "INTO server_secrets (name, secret, created_at) VALUES (?, ?, ?)",
        );
        exec(db, &insert, vals![ROW, hex::encode(fresh), now_ms()]).await?;
        let row = fetch_optional::<Row>(
            db,
            "SELECT secret FROM server_secrets WHERE name = ?",
            vals![ROW],
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("the server key row is missing after creating it"))?;
        let bytes = hex::decode(row.secret.trim())
            .map_err(|_| anyhow::anyhow!("the stored server key is not hex"))?;
        Ok(ServerKey::from_bytes(&bytes))
    }

    /// HMAC of `message` for `purpose`.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(message);
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// HMAC of `message` for `purpose`, hex-encoded (64 characters).
    pub fn sign_hex(&self, purpose: &str, message: &[u8]) -> String {
        hex::encode(self.sign(purpose, message))
    }

    /// Whether `tag` is the HMAC of `message` for `purpose`, compared in constant time.
    pub fn verify(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        let mut data = Vec::with_capacity(purpose.len() + 1 + message.len());
        data.extend_from_slice(purpose.as_bytes());
        data.push(0);
        data.extend_from_slice(message);
        hmac::verify(&self.0, &data, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_depend_on_key_purpose_and_message() {
        let a = ServerKey::from_bytes(b"key one");
        let b = ServerKey::from_bytes(b"key two");
        let tag = a.sign("throttle", b"alice");
        assert_eq!(tag, a.sign("throttle", b"alice"));
        assert_ne!(tag, b.sign("throttle", b"alice"));
        assert_ne!(tag, a.sign("device", b"alice"));
        assert_ne!(tag, a.sign("throttle", b"alicf"));
        assert!(a.verify("throttle", b"alice", &tag));
        assert!(!b.verify("throttle", b"alice", &tag));
        assert!(!a.verify("throttle", b"alice", &tag[..31]));
        assert_eq!(a.sign_hex("throttle", b"alice").len(), 64);
    }
}
