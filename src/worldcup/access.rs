//! Who controls a world cup: whoever holds its play key, or the signed-in member or guest who
//! started it. Anyone with the id may still read it (a shared link is a view, not a controller).

use axum::http::HeaderMap;

use crate::accounts::auth::{new_token, token_hash};

/// The request header that carries a play key.
pub const PLAY_KEY_HEADER: &str = "x-play-key";

/// A fresh play key (256 random bits, hex) and the hash that is stored in its place.
pub fn new_play_key() -> (String, String) {
    let key = new_token();
    let hash = token_hash(&key);
    (key, hash)
}

/// The play key a request carries, if any.
pub fn request_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(PLAY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Whether a request may pick or undo in a world cup stored with `stored_hash` and `owner`.
///
/// A cup stored with neither (started before play keys existed) stays open to anyone holding
/// its id, as it was when it was started.
pub fn may_control(
    stored_hash: Option<&str>,
    owner: Option<i64>,
    key: Option<&str>,
    user: Option<i64>,
) -> bool {
    if stored_hash.is_none() && owner.is_none() {
        return true;
    }
    if owner.is_some() && owner == user {
        return true;
    }
    match (stored_hash, key) {
        (Some(hash), Some(key)) => hash.trim() == token_hash(key),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_or_the_owner_controls_a_cup() {
        let (key, hash) = new_play_key();
        assert_eq!(key.len(), 64);
        assert_ne!(key, hash, "only the hash is stored");
        let h = Some(hash.as_str());
        assert!(may_control(h, None, Some(&key), None));
        assert!(!may_control(h, None, None, None));
        assert!(!may_control(h, None, Some("wrong"), Some(7)));
        assert!(
            may_control(h, Some(7), None, Some(7)),
            "the owner needs no key"
        );
        assert!(
            may_control(h, Some(7), Some(&key), Some(8)),
            "the key works for anyone"
        );
        assert!(!may_control(h, Some(7), None, Some(8)));
        assert!(!may_control(None, Some(7), None, None));
        assert!(
            may_control(None, None, None, None),
            "cups from before play keys"
        );
    }
}
