//! Comments under a book's ranking, each optionally showing the poster's champion.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::access::{book_access, check_visible};
use super::limits::{self, COMMENTS_PER_ADDRESS, COMMENTS_PER_DAY, COMMENTS_PER_MINUTE};
use crate::accounts::{AuthUser, MaybeUser};
use crate::catalog::model::{BookOwner, Checks, Food};
use crate::catalog::queries;
use crate::db::{exec, fetch_all, fetch_i64, fetch_optional, insert_returning_id, now_ms, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::{ClientIp, Json, Path, Query};
use crate::state::AppState;
use crate::vals;

/// Longest comment, in characters.
pub const TEXT_MAX: usize = 300;
/// The same text from the same account within this time is refused.
const REPEAT_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// A comment as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub book_id: i64,
    pub author: BookOwner,
    pub text: String,
    /// The champion of the finished world cup the poster attached.
    pub champion: Option<Food>,
    /// Hidden pending review (shown only to its author and admins).
    pub hidden: bool,
    pub created_at: String,
}

/// A page of comments, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<Comment>,
    pub next_cursor: Option<String>,
}

/// Query of `GET /books/{id}/comments`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CommentsQuery {
    /// Page size, 1..=200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Body of `POST /books/{id}/comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCommentRequest {
    pub text: String,
    /// A finished world cup of this book that the poster started: shows its champion.
    pub worldcup_id: Option<String>,
}

#[derive(FromQueryResult)]
struct CommentRow {
    id: i64,
    book_id: i64,
    username: String,
    display_name: String,
    text: String,
    champion_id: Option<i64>,
    hidden_at: Option<i64>,
    created_at: i64,
}

const COMMENT_SELECT: &str = "SELECT c.id, c.book_id, u.username, u.display_name, c.text, \
     c.champion_id, c.hidden_at, c.created_at FROM comments c JOIN users u ON u.id = c.user_id";

async fn to_comments(state: &AppState, rows: Vec<CommentRow>) -> AppResult<Vec<Comment>> {
    let mut champion_ids: Vec<i64> = rows.iter().filter_map(|r| r.champion_id).collect();
    champion_ids.sort_unstable();
    champion_ids.dedup();
    let foods: std::collections::HashMap<i64, Food> =
        queries::foods_by_ids(&state.db, &state.storage, &champion_ids)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
    Ok(rows
        .into_iter()
        .map(|r| Comment {
            id: r.id,
            book_id: r.book_id,
            author: BookOwner {
                username: r.username,
                display_name: r.display_name,
            },
            text: r.text,
            champion: r.champion_id.and_then(|id| foods.get(&id).cloned()),
            hidden: r.hidden_at.is_some(),
            created_at: rfc3339(r.created_at),
        })
        .collect())
}

/// The comments of a book, newest first.
#[utoipa::path(get, path = "/books/{id}/comments", tag = "community", params(CommentsQuery),
    responses((status = 200, body = CommentPage), (status = 404, body = crate::error::Problem)))]
pub async fn list_comments(
    State(state): State<AppState>,
    user: MaybeUser,
    Path(id): Path<i64>,
    Query(query): Query<CommentsQuery>,
) -> AppResult<Json<CommentPage>> {
    let viewer = user.0.as_ref();
    check_visible(&state, id, viewer).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => i64::MAX,
        Some(c) => c
            .parse()
            .map_err(|_| AppError::field("cursor", "is not a cursor from this list"))?,
    };
    let is_admin = viewer.is_some_and(|u| u.is_admin);
    let viewer_id = viewer.map_or(0, |u| u.id);
    let mut rows = fetch_all::<CommentRow>(
        &state.db,
        &format!(
            "{COMMENT_SELECT} WHERE c.book_id = ? AND c.id < ? \
             AND (c.hidden_at IS NULL OR c.user_id = ? OR ? = ?) ORDER BY c.id DESC LIMIT ?"
        ),
        vals![id, before, viewer_id, is_admin, true, limit + 1],
    )
    .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(Json(CommentPage {
        items: to_comments(&state, rows).await?,
        next_cursor,
    }))
}

/// Posts a comment (members and guests), rate-limited per account and per address.
#[utoipa::path(post, path = "/books/{id}/comments", tag = "community", request_body = PostCommentRequest,
    responses((status = 201, body = Comment), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "the same text again"),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn post_comment(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<PostCommentRequest>,
) -> AppResult<(StatusCode, Json<Comment>)> {
    check_visible(&state, id, Some(&user)).await?;
    let mut checks = Checks::default();
    let text = checks.text("text", &body.text, TEXT_MAX);
    if text.is_empty() {
        checks.fail("text", "must not be empty");
    }
    checks.finish()?;
    let champion_id = match body.worldcup_id.as_deref() {
        None => None,
        Some(cup) => match crate::worldcup::finished_cup(&state.db, cup).await? {
            Some((book_id, Some(starter), champion)) if book_id == id && starter == user.id => {
                Some(champion)
            }
            _ => {
                return Err(AppError::field(
                    "worldcup_id",
                    "must be a finished world cup of this book that you played",
                ));
            }
        },
    };
    let text_hash = hex::encode(Sha256::digest(normalized(&text).as_bytes()));
    let now = now_ms();
    let repeated = fetch_i64(
        &state.db,
        "SELECT COUNT(*) FROM comments WHERE user_id = ? AND text_hash = ? AND created_at > ?",
        vals![user.id, text_hash.clone(), now - REPEAT_WINDOW_MS],
    )
    .await?
    .unwrap_or(0);
    if repeated > 0 {
        return Err(AppError::Conflict(
            "you posted this same text a moment ago".to_owned(),
        ));
    }
    if !user.is_admin {
        let account = user.id.to_string();
        limits::take(&state.db, COMMENTS_PER_MINUTE, &account).await?;
        limits::take(&state.db, COMMENTS_PER_ADDRESS, &ip.to_string()).await?;
        limits::take(&state.db, COMMENTS_PER_DAY, &account).await?;
    }
    let comment_id = insert_returning_id(
        &state.db,
        "INSERT INTO comments (book_id, user_id, text, text_hash, worldcup_id, champion_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        vals![id, user.id, text, text_hash, body.worldcup_id, champion_id, now],
    )
    .await
    .map_err(|e| crate::catalog::conflict(e, "conflict"))?;
    let row = fetch_optional::<CommentRow>(
        &state.db,
        &format!("{COMMENT_SELECT} WHERE c.id = ?"),
        vals![comment_id],
    )
    .await?
    .ok_or(AppError::NotFound("comment"))?;
    let comment = to_comments(&state, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound("comment"))?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// Case, spacing and punctuation do not make a text new.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The book and author of a comment.
#[derive(Debug, FromQueryResult)]
pub struct CommentOwner {
    pub book_id: i64,
    pub user_id: i64,
    pub hidden_at: Option<i64>,
}

/// The book and author of a comment, if it exists.
pub async fn comment_owner(state: &AppState, id: i64) -> AppResult<Option<CommentOwner>> {
    Ok(fetch_optional::<CommentOwner>(
        &state.db,
        "SELECT book_id, user_id, hidden_at FROM comments WHERE id = ?",
        vals![id],
    )
    .await?)
}

/// Deletes a comment: its author, the book's owner or an admin.
#[utoipa::path(delete, path = "/comments/{id}", tag = "community",
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let comment = comment_owner(&state, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    let book = book_access(&state.db, comment.book_id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    if !book.visible_to(Some(&user)) {
        return Err(AppError::NotFound("comment"));
    }
    let allowed = user.is_admin || comment.user_id == user.id || book.owner_id == Some(user.id);
    if !allowed {
        return Err(AppError::Forbidden(
            "only its author, the book's owner or an admin may delete a comment",
        ));
    }
    exec(&state.db, "DELETE FROM comments WHERE id = ?", vals![id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeats_ignore_case_spacing_and_punctuation() {
        assert_eq!(
            super::normalized("맛있다!! Good"),
            super::normalized("맛있다 good")
        );
        assert_ne!(super::normalized("맛있다"), super::normalized("맛없다"));
    }
}
