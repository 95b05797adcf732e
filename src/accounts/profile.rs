//! `PATCH /me`: display names for everyone, a guest becoming a full member, a member changing
//! their password.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{AuthUser, User, auth, load_user, throttle, validate_password, validate_username};
use crate::db::{self, exec, fetch_optional};
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{ClientIp, Json};
use crate::state::AppState;
use crate::vals;

/// Longest display name, in characters after trimming.
pub const DISPLAY_NAME_MAX: usize = 20;

/// Checks a display name and answers it trimmed: 1 to 20 characters, any letters (Hangul
/// included), no control characters and no bidirectional overrides (which would let a name
/// reorder the text around it on a scoreboard).
pub fn validate_display_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let n = name.chars().count();
    if !(1..=DISPLAY_NAME_MAX).contains(&n) {
        return Err(FieldError::new(
            "display_name",
            format!("must be 1 to {DISPLAY_NAME_MAX} characters"),
        ));
    }
    let forbidden =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if name.chars().any(forbidden) {
        return Err(FieldError::new(
            "display_name",
            "may not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Body of `PATCH /me`; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub display_name: Option<String>,
    /// Guests only, together with `password`: the username they will sign in with.
    pub username: Option<String>,
    /// A guest's first password, or a member's new one (with `current_password`).
    pub password: Option<String>,
    pub current_password: Option<String>,
}

/// What a valid `PATCH /me` changes.
#[derive(Debug, Default, PartialEq)]
struct Changes {
    display_name: Option<String>,
    /// A guest's new username (and its lower-case key).
    username: Option<String>,
    password: Option<String>,
}

/// Checks a `PATCH /me` body against who is asking; no I/O (the current password is checked
/// afterwards).
fn plan_changes(body: &UpdateMeRequest, is_guest: bool) -> Result<Changes, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut changes = Changes::default();
    if let Some(name) = &body.display_name {
        match validate_display_name(name) {
            Ok(name) => changes.display_name = Some(name),
            Err(e) => errors.push(e),
        }
    }
    if is_guest {
        match (&body.username, &body.password) {
            (Some(username), Some(password)) => {
                let username = username.trim();
                errors.extend(validate_username(username).err());
                errors.extend(validate_password(password).err());
                changes.username = Some(username.to_owned());
                changes.password = Some(password.clone());
            }
            (Some(_), None) => errors.push(FieldError::new(
                "password",
                "is needed with username to become a member",
            )),
            (None, Some(_)) => errors.push(FieldError::new(
                "username",
                "is needed with password to become a member",
            )),
            (None, None) => {}
        }
        if body.current_password.is_some() {
            errors.push(FieldError::new(
                "current_password",
                "a guest has no password yet",
            ));
        }
    } else {
        if body.username.is_some() {
            errors.push(FieldError::new(
                "username",
                "a member's username cannot be changed",
            ));
        }
        if let Some(password) = &body.password {
            errors.extend(validate_password(password).err());
            if body.current_password.is_none() {
                errors.push(FieldError::new(
                    "current_password",
                    "is needed to change the password",
                ));
            }
            changes.password = Some(password.clone());
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// Checks a member's current password, counted by the log-in throttle like a log-in.
async fn check_current_password(
    state: &AppState,
    user: &AuthUser,
    ip: std::net::IpAddr,
    password: &str,
) -> AppResult<()> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        password_hash: String,
    }
    let attempt =
        throttle::LoginAttempt::reserve(state, &user.username.to_lowercase(), ip, None).await?;
    let stored = fetch_optional::<Row>(
        &state.db,
        "SELECT password_hash FROM users WHERE id = ?",
        vals![user.id],
    )
    .await?
    .map(|r| r.password_hash);
    let password = password.chars().take(128).collect::<String>();
    let ok = match auth::verify_password_bounded(state, password, stored).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.cancel(state).await?;
            return Err(e);
        }
    };
    if ok {
        attempt.succeeded(state).await?;
        Ok(())
    } else {
        Err(AppError::field(
            "current_password",
            "is not your current password",
        ))
    }
}

/// Changes the signed-in user's display name; makes a guest a member (`username` and
/// `password`); changes a member's password (with `current_password`).
#[utoipa::path(patch, path = "/me", tag = "members", request_body = UpdateMeRequest,
    responses((status = 200, body = User), (status = 401, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<UpdateMeRequest>,
) -> AppResult<Json<User>> {
    let changes = plan_changes(&body, user.is_guest).map_err(AppError::Validation)?;
    if let (false, Some(_), Some(current)) = (
        user.is_guest,
        &changes.password,
        body.current_password.as_deref(),
    ) {
        check_current_password(&state, &user, ip, current).await?;
    }
    let hash = match &changes.password {
        Some(p) => Some(auth::hash_password_bounded(&state, p.clone()).await?),
        None => None,
    };
    let txn = db::begin(&state.db).await?;
    if let Some(name) = &changes.display_name {
        exec(
            &txn,
            "UPDATE users SET display_name = ? WHERE id = ?",
            vals![name.clone(), user.id],
        )
        .await?;
    }
    match (&changes.username, &hash) {
        (Some(username), Some(hash)) => {
            exec(
                &txn,
                "UPDATE users SET username = ?, username_key = ?, password_hash = ?, is_guest = ? WHERE id = ?",
                vals![username.clone(), username.to_lowercase(), hash.clone(), false, user.id],
            )
            .await
            .map_err(|e| {
                if db::is_unique_violation(&e) {
                    AppError::Conflict("this username is taken".to_owned())
                } else {
                    e.into()
                }
            })?;
        }
        (None, Some(hash)) => {
            exec(
                &txn,
                "UPDATE users SET password_hash = ? WHERE id = ?",
                vals![hash.clone(), user.id],
            )
            .await?;
        }
        _ => {}
    }
    txn.commit().await?;
    Ok(Json(User::from(&load_user(&state, user.id).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn display_names_are_trimmed_and_any_letters() {
        assert_eq!(validate_display_name("  민지 ").as_deref(), Ok("민지"));
        assert_eq!(
            validate_display_name("김민지의친구들이다모였네요하하하하하하하")
                .map(|n| n.chars().count()),
            Ok(20)
        );
        for bad in [
            "",
            "   ",
            "김민지의친구들이다모였네요하하하하하하하하",
            "a\u{0007}b",
            "tab\there",
            "evil\u{202E}txt",
        ] {
            assert!(validate_display_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_guest_gives_username_and_password_together() {
        let body = |u: Option<&str>, p: Option<&str>| UpdateMeRequest {
            username: u.map(str::to_owned),
            password: p.map(str::to_owned),
            ..Default::default()
        };
        let ok = plan_changes(&body(Some(" minji "), Some("long enough")), true).unwrap();
        assert_eq!(ok.username.as_deref(), Some("minji"));
        assert_eq!(
            fields(&plan_changes(&body(Some("minji"), None), true).unwrap_err()),
            ["password"]
        );
        assert_eq!(
            fields(&plan_changes(&body(None, Some("long enough")), true).unwrap_err()),
            ["username"]
        );
        assert_eq!(
            fields(&plan_changes(&body(Some("한글아이디"), Some("short")), true).unwrap_err()),
            ["username", "password"]
        );
    }

    #[test]
    fn a_member_changes_the_password_with_the_current_one() {
        let body = UpdateMeRequest {
            password: Some("a new password".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(&plan_changes(&body, false).unwrap_err()),
            ["current_password"]
        );
        let body = UpdateMeRequest {
            username: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(
            fields(&plan_changes(&body, false).unwrap_err()),
            ["username"]
        );
        let body = UpdateMeRequest {
            password: Some("a new password".into()),
            current_password: Some("the old one".into()),
            display_name: Some("민지".into()),
            ..Default::default()
        };
        let changes = plan_changes(&body, false).unwrap();
        assert_eq!(changes.display_name.as_deref(), Some("민지"));
    }
}
