//! Limits that the validation checks and the API document states: one definition each, so the
//! two cannot drift.

use std::ops::RangeInclusive;

/// Characters in a username.
pub const USERNAME_CHARS: RangeInclusive<usize> = 3..=15;
/// The characters a username may use (the regular expression the API document shows).
pub const USERNAME_PATTERN: &str = "^[A-Za-z0-9_.-]+$";
/// Characters in a password.
pub const PASSWORD_CHARS: RangeInclusive<usize> = 8..=128;

/// Whether a character may appear in a username.
pub fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}
