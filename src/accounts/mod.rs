//! Members: sign-up, log-in, sessions, favourites and the daily visitor count.

pub mod auth;
pub mod device;
pub mod guest;
pub mod profile;
pub mod reset;
pub mod throttle;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use self::auth::{Admin, AuthUser, MaybeUser};
use crate::catalog::model::Book;
use crate::db::{self, exec, fetch_all, fetch_i64, fetch_optional, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{ClientIp, Json, Path, Query};
use crate::https::Https;
use crate::state::AppState;
use crate::vals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(get_me, delete_me, profile::update_me))
        .routes(routes!(guest::create_guest))
        .routes(routes!(list_favorites))
        .routes(routes!(add_favorite, remove_favorite))
        .routes(routes!(visitor_stats))
}

/// A member as the API shows them.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct User {
    pub username: String,
    /// 1 to 20 characters, any letters; not unique.
    pub display_name: String,
    /// A guest has a generated username and no password until `PATCH /me` gives them.
    pub is_guest: bool,
    pub birth_date: Option<String>,
    pub is_admin: bool,
    pub created_at: String,
}

impl From<&AuthUser> for User {
    fn from(u: &AuthUser) -> Self {
        User {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            is_guest: u.is_guest,
            birth_date: u.birth_date.clone(),
            is_admin: u.is_admin,
            created_at: db::rfc3339(u.created_at),
        }
    }
}

/// Body of `POST /auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub username: String,
    pub password: String,
    /// 1 to 20 characters after trimming; the username when omitted.
    pub display_name: Option<String>,
    /// `YYYY-MM-DD`
    pub birth_date: Option<String>,
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Answer of sign-up and log-in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    pub user: User,
    /// Bearer token; the same session is also set as the `ipmat_session` cookie.
    pub token: String,
}

/// Checks a username: 3..=15 of `[A-Za-z0-9_.-]`.
pub fn validate_username(username: &str) -> Result<(), FieldError> {
    let n = username.chars().count();
    if !crate::limits::USERNAME_CHARS.contains(&n) {
        return Err(FieldError::new("username", "must be 3 to 15 characters"));
    }
    if !username.chars().all(crate::limits::is_username_char) {
        return Err(FieldError::new(
            "username",
            "may only use letters, digits, _ . and -",
        ));
    }
    Ok(())
}

/// Checks a password: 8..=128 characters.
pub fn validate_password(password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !crate::limits::PASSWORD_CHARS.contains(&n) {
        return Err(FieldError::new("password", "must be 8 to 128 characters"));
    }
    Ok(())
}

/// Checks a birth date: a real `YYYY-MM-DD` date between 1900-01-01 and today.
pub fn validate_birth_date(value: &str, today: time::Date) -> Result<(), FieldError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(value, &format)
        .map_err(|_| FieldError::new("birth_date", "must be a date like 2000-01-31"))?;
    if date.year() < 1900 || date > today {
        return Err(FieldError::new(
            "birth_date",
            "must be between 1900-01-01 and today",
        ));
    }
    Ok(())
}

/// Checks the fields of a new account; answers the display name it will have.
fn validate_new_user(
    username: &str,
    password: &str,
    display_name: Option<&str>,
    birth_date: Option<&str>,
) -> AppResult<String> {
    let mut errors = Vec::new();
    errors.extend(validate_username(username).err());
    let display_name = match display_name {
        Some(name) => match profile::validate_display_name(name) {
            Ok(name) => name,
            Err(e) => {
                errors.push(e);
                String::new()
            }
        },
        None => username.to_owned(),
    };
    errors.extend(validate_password(password).err());
    if let Some(d) = birth_date {
        errors.extend(validate_birth_date(d, time::OffsetDateTime::now_utc().date()).err());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(display_name)
}

/// Creates a member (or an administrator) with an Argon2id password hash, outside the
/// server's hashing bound: for commands and tests. Sign-up goes through the bound.
pub async fn create_user(
    db: &crate::db::Db,
    username: &str,
    password: &str,
    birth_date: Option<&str>,
    is_admin: bool,
) -> AppResult<i64> {
    create_named_user(db, username, password, None, birth_date, is_admin).await
}

/// Creates a member with a display name (the username when `None`), outside the hashing bound.
pub async fn create_named_user(
    db: &crate::db::Db,
    username: &str,
    password: &str,
    display_name: Option<&str>,
    birth_date: Option<&str>,
    is_admin: bool,
) -> AppResult<i64> {
    let display_name = validate_new_user(username, password, display_name, birth_date)?;
    let hash = auth::hash_password(password.to_owned()).await?;
    insert_user(db, username, &display_name, &hash, birth_date, is_admin).await
}

async fn insert_user(
    db: &crate::db::Db,
    username: &str,
    display_name: &str,
    hash: &str,
    birth_date: Option<&str>,
    is_admin: bool,
) -> AppResult<i64> {
    insert_returning_id(
        db,
        "INSERT INTO users (username, username_key, display_name, password_hash, birth_date, is_admin, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        vals![username, username.to_lowercase(), display_name, hash, birth_date.map(str::to_owned), is_admin, now_ms()],
    )
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            AppError::Conflict("this username is taken".to_owned())
        } else {
            e.into()
        }
    })
}

/// The answer of a sign-up or log-in: the session, as a body and a cookie, and a fresh device
/// cookie that makes this browser a known device of the account.
pub(crate) fn session_response(
    state: &AppState,
    user: &AuthUser,
    token: String,
    status: StatusCode,
    https: bool,
) -> Response {
    let cookie = auth::session_cookie(Some(&token), https);
    let device = device::cookie(
        &device::issue(&state.server_key, user.id, user.created_at, now_ms()),
        https,
    );
    let mut response = (
        status,
        Json(SessionResponse {
            user: User::from(user),
            token,
        }),
    )
        .into_response();
    for cookie in [cookie, device] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

pub(crate) async fn load_user(state: &AppState, id: i64) -> AppResult<AuthUser> {
    fetch_optional::<AuthUser>(
        &state.db,
        "SELECT id, username, display_name, is_guest, birth_date, is_admin, created_at, created_at AS last_seen_at FROM users WHERE id = ?",
        vals![id],
    )
    .await?
    .ok_or(AppError::NotFound("user"))
}

/// Creates an account and signs it in. Throttled per client address (429), and 503 when the
/// server is too busy hashing passwords.
#[utoipa::path(post, path = "/auth/signup", tag = "members", request_body = SignupRequest,
    responses((status = 201, body = SessionResponse), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem), (status = 503, body = crate::error::Problem)))]
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Https(https): Https,
    Json(body): Json<SignupRequest>,
) -> AppResult<Response> {
    let username = body.username.trim();
    let birth_date = body.birth_date.as_deref();
    let display_name = validate_new_user(
        username,
        &body.password,
        body.display_name.as_deref(),
        birth_date,
    )?;
    // A taken name costs no hashing and no creation slot.
    if fetch_i64(
        &state.db,
        "SELECT id FROM users WHERE username_key = ?",
        vals![username.to_lowercase()],
    )
    .await?
    .is_some()
    {
        return Err(AppError::Conflict("this username is taken".to_owned()));
    }
    throttle::check_account_creation(&state, ip).await?;
    let created = match auth::hash_password_bounded(&state, body.password.clone()).await {
        Ok(hash) => insert_user(&state.db, username, &display_name, &hash, birth_date, false).await,
        Err(e) => Err(e),
    };
    let id = match created {
        Ok(id) => id,
        Err(e) => {
            throttle::refund_account_creation(&state, ip).await?;
            return Err(e);
        }
    };
    state.metrics.count(crate::metrics::Event::Signup);
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

#[derive(FromQueryResult)]
struct Credentials {
    id: i64,
    created_at: i64,
    password_hash: String,
}

/// Signs in with a username and password. Each attempt takes a slot of the client address
/// and of the account (or, with a valid `ipmat_device` cookie for the account, of that
/// device) before the password is checked; a full slot answers 429 until its window ends.
#[utoipa::path(post, path = "/auth/login", tag = "members", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Https(https): Https,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> AppResult<Response> {
    let username_key = body.username.trim().to_lowercase();
    let found = if username_key.len() <= 15 && body.password.len() <= 1024 {
        fetch_optional::<Credentials>(
            &state.db,
            "SELECT id, created_at, password_hash FROM users WHERE username_key = ?",
            vals![username_key.clone()],
        )
        .await?
    } else {
        None
    };
    let known_device = found.as_ref().and_then(|c| {
        device::from_headers(&headers)
            .and_then(|v| device::verify(&state.server_key, v, c.id, c.created_at, now_ms()))
    });
    let attempt =
        throttle::LoginAttempt::reserve(&state, &username_key, ip, known_device.as_ref()).await?;
    let password = body.password.chars().take(128).collect::<String>();
    let stored = found.as_ref().map(|c| c.password_hash.clone());
    let ok = match auth::verify_password_bounded(&state, password, stored).await {
        Ok(ok) => ok,
        Err(e) => {
            attempt.cancel(&state).await?;
            return Err(e);
        }
    };
    match found.filter(|_| ok) {
        Some(credentials) => {
            attempt.succeeded(&state).await?;
            let user = load_user(&state, credentials.id).await?;
            let token = auth::create_session(&state, credentials.id).await?;
            Ok(session_response(
                &state,
                &user,
                token,
                StatusCode::OK,
                https,
            ))
        }
        None => {
            state.metrics.count(crate::metrics::Event::LoginFailed);
            Err(AppError::BadCredentials)
        }
    }
}

/// Ends the current session.
#[utoipa::path(post, path = "/auth/logout", tag = "members", responses((status = 204), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn logout(
    State(state): State<AppState>,
    Https(https): Https,
    user: AuthUser,
) -> AppResult<Response> {
    exec(
        &state.db,
        "DELETE FROM sessions WHERE token_hash = ?",
        vals![user.token_hash],
    )
    .await?;
    let cookie = auth::session_cookie(None, https);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The signed-in member.
#[utoipa::path(get, path = "/me", tag = "members", responses((status = 200, body = User), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn get_me(user: AuthUser) -> Json<User> {
    Json(User::from(&user))
}

/// Deletes the signed-in member's account and everything it owns.
#[utoipa::path(delete, path = "/me", tag = "members", responses((status = 204), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn delete_me(
    State(state): State<AppState>,
    Https(https): Https,
    user: AuthUser,
) -> AppResult<Response> {
    let txn = crate::db::begin(&state.db).await?;
    for owned in crate::accounts::OWNED_BY_USER {
        exec(&txn, owned, vals![user.id]).await?;
    }
    exec(&txn, "DELETE FROM users WHERE id = ?", vals![user.id]).await?;
    txn.commit().await?;
    let cookie = auth::session_cookie(None, https);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Statements that delete what a user owns, run before the user row itself goes. Foreign keys
/// cascade as well; deleting explicitly keeps the order deterministic on every engine.
pub const OWNED_BY_USER: &[&str] = &[
    "DELETE FROM sessions WHERE user_id = ?",
    "DELETE FROM favorites WHERE user_id = ?",
    // Keeps the participant counters of the exams this user took exact.
    "UPDATE exams SET participant_count = participant_count - 1 \
     WHERE id IN (SELECT exam_id FROM exam_attempts WHERE user_id = ?)",
    "DELETE FROM exam_attempts WHERE user_id = ?",
    "DELETE FROM exams WHERE author_id = ?",
    "DELETE FROM comments WHERE user_id = ?",
    "DELETE FROM foods WHERE book_id IN (SELECT id FROM books WHERE owner_id = ?)",
    "DELETE FROM books WHERE owner_id = ?",
];

/// The member's favourite books.
#[utoipa::path(get, path = "/me/favorites", tag = "members", responses((status = 200, body = Vec<Book>), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn list_favorites(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<Book>>> {
    // Books that turned private or were hidden since drop out, by the rule every other read of
    // a book follows.
    let ids: Vec<i64> = fetch_all::<crate::community::BookAccess>(
        &state.db,
        &format!(
            "{} JOIN favorites f ON f.book_id = b.id WHERE f.user_id = ?",
            crate::community::BOOK_ACCESS_FROM
        ),
        vals![user.id],
    )
    .await?
    .into_iter()
    .filter(|b| b.visible_to(Some(&user)))
    .map(|b| b.id)
    .collect();
    Ok(Json(
        crate::catalog::queries::books_by_ids(&state.db, &state.storage, &ids).await?,
    ))
}

/// Marks a book as a favourite (idempotent).
#[utoipa::path(put, path = "/me/favorites/{book_id}", tag = "members", responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn add_favorite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(book_id): Path<i64>,
) -> AppResult<StatusCode> {
    crate::community::check_visible(&state, book_id, Some(&user)).await?;
    let sql = db::insert_ignore_sql(
        state.db.get_database_backend(),
        "INTO favorites (user_id, book_id, created_at) VALUES (?, ?, ?)",
    );
    exec(&state.db, &sql, vals![user.id, book_id, now_ms()])
        .await
        .map_err(|e| crate::catalog::conflict(e, "favourite already exists"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a favourite (idempotent).
#[utoipa::path(delete, path = "/me/favorites/{book_id}", tag = "members", responses((status = 204)),
    security(("bearer" = []), ("cookie" = [])))]
async fn remove_favorite(
    State(state): State<AppState>,
    user: AuthUser,
    Path(book_id): Path<i64>,
) -> AppResult<StatusCode> {
    exec(
        &state.db,
        "DELETE FROM favorites WHERE user_id = ? AND book_id = ?",
        vals![user.id, book_id],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /stats/visitors`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct VisitorStatsQuery {
    /// First day, `YYYY-MM-DD` (default: 30 days before `to`).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today, UTC).
    to: Option<String>,
}

/// Distinct visitors of one day.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DayVisitors {
    pub date: String,
    pub visitors: i64,
}

/// Distinct visitors per day (UTC), for administrators.
#[utoipa::path(get, path = "/stats/visitors", tag = "members", params(VisitorStatsQuery),
    responses((status = 200, body = Vec<DayVisitors>), (status = 403, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn visitor_stats(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<VisitorStatsQuery>,
) -> AppResult<Json<Vec<DayVisitors>>> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let parse = |field: &str, v: &str| {
        time::Date::parse(v, &format)
            .map_err(|_| AppError::field(field, "must be a date like 2026-01-31"))
    };
    let to = match &query.to {
        Some(v) => parse("to", v)?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let from = match &query.from {
        Some(v) => parse("from", v)?,
        None => to - time::Duration::days(30),
    };
    if from > to || (to - from).whole_days() > 366 {
        return Err(AppError::field(
            "from",
            "must be on or before `to`, at most 366 days earlier",
        ));
    }
    let days = crate::visitors::count_days(&state.db, from, to).await?;
    Ok(Json(days))
}
