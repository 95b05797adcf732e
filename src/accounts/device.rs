//! Device cookies (OWASP's defence against lock-out as a weapon): a successful log-in gives the
//! browser a signed cookie naming this device and account. A later log-in to that account
//! with a valid device cookie is throttled per device instead of per account, so strangers
//! guessing the owner's password lock the account for themselves, not for the owner's own
//! devices. See `docs/security.md`.
//!
//! Value: `NONCE.ISSUED.SIGNATURE` where NONCE is 128 random bits (hex), ISSUED the issue time
//! in epoch ms, and SIGNATURE the server key's HMAC of NONCE, ISSUED and the account's id and
//! creation time. The account is not written in the cookie: the signature only matches for
//! the account it was issued for.

use axum::http::{HeaderMap, header};
use rand::Rng;

use crate::secrets::ServerKey;

/// Name of the device cookie.
pub const DEVICE_COOKIE: &str = "ipmat_device";
/// A device stays known this long after its last successful log-in.
pub const DEVICE_MAX_AGE_MS: i64 = 365 * 24 * 3600 * 1000;
/// The cookie is sent only to the log-in endpoints.
const COOKIE_PATH: &str = "/api/v1/auth";
const PURPOSE: &str = "device-cookie";

/// A valid device cookie for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    /// The cookie's random part, which names the device in the throttle.
    pub nonce: String,
}

fn message(nonce: &str, issued: i64, user_id: i64, user_created_at: i64) -> String {
    format!("{nonce}.{issued}.{user_id}.{user_created_at}")
}

/// A new cookie value for an account (`user_created_at` tells apart an account that reuses
/// a deleted one's id).
pub fn issue(key: &ServerKey, user_id: i64, user_created_at: i64, now: i64) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = hex::encode(bytes);
    let tag = key.sign_hex(
        PURPOSE,
        message(&nonce, now, user_id, user_created_at).as_bytes(),
    );
    format!("{nonce}.{now}.{tag}")
}

/// The device a cookie value names, if it was issued for this account and is not too old.
pub fn verify(
    key: &ServerKey,
    value: &str,
    user_id: i64,
    user_created_at: i64,
    now: i64,
) -> Option<KnownDevice> {
    let mut parts = value.split('.');
    let (nonce, issued, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    if !(now - DEVICE_MAX_AGE_MS..=now + 60_000).contains(&issued) {
        return None;
    }
    let tag = hex::decode(tag).ok()?;
    key.verify(
        PURPOSE,
        message(nonce, issued, user_id, user_created_at).as_bytes(),
        &tag,
    )
    .then(|| KnownDevice {
        nonce: nonce.to_owned(),
    })
}

/// The device cookie a request carries, unchecked.
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that stores a device cookie.
pub fn cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{DEVICE_COOKIE}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        DEVICE_MAX_AGE_MS / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_valid_only_for_its_account_and_lifetime() {
        let key = ServerKey::from_bytes(b"k");
        let now = 1_000_000_000_000;
        let value = issue(&key, 7, 500, now);
        let device = verify(&key, &value, 7, 500, now).expect("valid");
        assert_eq!(device.nonce.len(), 32);
        assert!(value.starts_with(&device.nonce));
        assert_eq!(verify(&key, &value, 8, 500, now), None, "another account");
        assert_eq!(verify(&key, &value, 7, 501, now), None, "a reused id");
        assert_eq!(
            verify(&ServerKey::from_bytes(b"other"), &value, 7, 500, now),
            None
        );
        assert_eq!(
            verify(&key, &value, 7, 500, now + DEVICE_MAX_AGE_MS + 1),
            None,
            "expired"
        );
        let tampered = value.replacen(&device.nonce[..1], "x", 1);
        assert_eq!(verify(&key, &tampered, 7, 500, now), None);
        for junk in ["", "a.b", "a.b.c.d", &format!("{}.x.00", device.nonce)] {
            assert_eq!(verify(&key, junk, 7, 500, now), None, "{junk}");
        }
    }

    #[test]
    fn the_cookie_goes_only_to_the_auth_endpoints() {
        let c = cookie("v", false);
        assert!(c.contains("Path=/api/v1/auth") && c.contains("HttpOnly"));
        assert!(!c.contains("Secure"));
        assert!(cookie("v", true).ends_with("; Secure"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "ipmat_session=abc; ipmat_device=dev".parse().unwrap(),
        );
        assert_eq!(from_headers(&headers), Some("dev"));
    }
}
