//! Reports of books and comments, hiding after enough distinct reporters, and the admins'
//! queue with its three resolutions.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::access::{book_access, refresh_listing};
use super::comments::comment_owner;
use super::limits::{self, REPORTS_PER_ADDRESS};
use crate::accounts::{Admin, MaybeUser};
use crate::catalog::model::{BookOwner, Checks};
use crate::db::{exec, fetch_all, fetch_i64, fetch_optional, insert_returning_id, now_ms, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::{ClientIp, Json, Path, Query};
use crate::state::AppState;
use crate::vals;

const REASONS: [&str; 5] = ["spam", "sexual", "hateful", "copyright", "other"];
/// Longest detail of a report.
pub const DETAIL_MAX: usize = 300;

/// Body of `POST /books/{id}/reports` and `POST /comments/{id}/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// `spam`, `sexual`, `hateful`, `copyright` or `other`.
    pub reason: String,
    pub detail: Option<String>,
}

/// The answer to a report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportAccepted {
    pub id: i64,
    /// Whether the target is now hidden pending review.
    pub target_hidden: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Book,
    Comment,
}

impl Target {
    fn as_str(self) -> &'static str {
        match self {
            Target::Book => "book",
            Target::Comment => "comment",
        }
    }
}

/// Reports a book (anyone, once per reporter).
#[utoipa::path(post, path = "/books/{id}/reports", tag = "community", request_body = ReportRequest,
    responses((status = 202, body = ReportAccepted), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "already reported by this reporter"),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn report_book(
    State(state): State<AppState>,
    user: MaybeUser,
    ip: ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<ReportRequest>,
) -> AppResult<(StatusCode, Json<ReportAccepted>)> {
    match book_access(&state.db, id).await? {
        Some(a) if a.visible_to(user.0.as_ref()) => {}
        _ => return Err(AppError::NotFound("book")),
    }
    report(&state, user, ip, Target::Book, id, body).await
}

/// Reports a comment (anyone, once per reporter).
#[utoipa::path(post, path = "/comments/{id}/reports", tag = "community", request_body = ReportRequest,
    responses((status = 202, body = ReportAccepted), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "already reported by this reporter"),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn report_comment(
    State(state): State<AppState>,
    user: MaybeUser,
    ip: ClientIp,
    Path(id): Path<i64>,
    Json(body): Json<ReportRequest>,
) -> AppResult<(StatusCode, Json<ReportAccepted>)> {
    let viewer = user.0.as_ref();
    let comment = comment_owner(&state, id)
        .await?
        .ok_or(AppError::NotFound("comment"))?;
    let book_visible = book_access(&state.db, comment.book_id)
        .await?
        .is_some_and(|a| a.visible_to(viewer));
    let comment_visible = comment.hidden_at.is_none()
        || viewer.is_some_and(|u| u.is_admin || u.id == comment.user_id);
    if !book_visible || !comment_visible {
        return Err(AppError::NotFound("comment"));
    }
    report(&state, user, ip, Target::Comment, id, body).await
}

async fn report(
    state: &AppState,
    user: MaybeUser,
    ClientIp(ip): ClientIp,
    target: Target,
    target_id: i64,
    body: ReportRequest,
) -> AppResult<(StatusCode, Json<ReportAccepted>)> {
    let mut checks = Checks::default();
    if !REASONS.contains(&body.reason.as_str()) {
        checks.fail(
            "reason",
            "must be spam, sexual, hateful, copyright or other",
        );
    }
    let detail = checks.text(
        "detail",
        body.detail.as_deref().unwrap_or_default(),
        DETAIL_MAX,
    );
    checks.finish()?;
    // One report per reporter: a signed-in member or guest by account, anyone else by address.
    let reporter = match &user.0 {
        Some(u) => format!("user:{}", u.id),
        None => format!("address:{ip}"),
    };
    let reporter_key = hex::encode(Sha256::digest(reporter.as_bytes()));
    limits::take(&state.db, REPORTS_PER_ADDRESS, &ip.to_string()).await?;
    let now = now_ms();
    let id = insert_returning_id(
        &state.db,
        "INSERT INTO reports (target_kind, target_id, reporter_key, reporter_id, reason, detail, is_open, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vals![
            target.as_str(),
            target_id,
            reporter_key,
            user.0.as_ref().map(|u| u.id),
            body.reason.clone(),
            detail.clone(),
            true,
            now
        ],
    )
    .await
    .map_err(|e| crate::catalog::conflict(e, "you already reported this"))?;
    let open = fetch_i64(
        &state.db,
        "SELECT COUNT(*) FROM reports WHERE target_kind = ? AND target_id = ? AND is_open = ?",
        vals![target.as_str(), target_id, true],
    )
    .await?
    .unwrap_or(0);
    let hide = open >= i64::from(state.config.report_hide_at);
    if hide {
        set_hidden(state, target, target_id, true).await?;
    }
    if let Some(url) = state.config.notify_url.clone() {
        let text = format!(
            "ipmat: new report #{id} of {} {target_id} ({}){}{}",
            target.as_str(),
            body.reason,
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            },
            if hide {
                " — now hidden pending review"
            } else {
                ""
            },
        );
        tokio::spawn(async move { crate::notify::send(&url, &text).await });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(ReportAccepted {
            id,
            target_hidden: hide,
        }),
    ))
}

async fn set_hidden(state: &AppState, target: Target, id: i64, hidden: bool) -> AppResult<()> {
    let table = match target {
        Target::Book => "books",
        Target::Comment => "comments",
    };
    let sql = if hidden {
        format!("UPDATE {table} SET hidden_at = ? WHERE id = ? AND hidden_at IS NULL")
    } else {
        format!("UPDATE {table} SET hidden_at = NULL WHERE id = ?")
    };
    let values = if hidden {
        vals![now_ms(), id]
    } else {
        vals![id]
    };
    exec(&state.db, &sql, values).await?;
    if target == Target::Book {
        refresh_listing(&state.db, id).await?;
    }
    state.cache.invalidate();
    Ok(())
}

/// What a report is about, as the queue shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportTarget {
    /// `book` or `comment`.
    pub kind: String,
    pub id: i64,
    /// The book (itself, or the one the comment is under); null once deleted.
    pub book_id: Option<i64>,
    /// The book's name or the comment's text; null once deleted.
    pub text: Option<String>,
    pub author: Option<BookOwner>,
    pub hidden: bool,
    pub exists: bool,
}

/// One report in the admins' queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub target: ReportTarget,
    pub reason: String,
    pub detail: String,
    /// The reporting member or guest; null for an anonymous visitor.
    pub reporter: Option<BookOwner>,
    /// `open`, or the action that settled it: `dismiss`, `hide`, `delete`.
    pub status: String,
    /// Open reports of the same target.
    pub open_reports: i64,
    pub created_at: String,
}

/// A page of reports, open ones first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    pub items: Vec<Report>,
    pub next_cursor: Option<String>,
}

/// Query of `GET /reports`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// Page size, 1..=200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(FromQueryResult)]
struct ReportRow {
    id: i64,
    target_kind: String,
    target_id: i64,
    reporter_id: Option<i64>,
    reason: String,
    detail: String,
    is_open: bool,
    action: Option<String>,
    created_at: i64,
}

#[derive(FromQueryResult)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
}

#[derive(FromQueryResult)]
struct TargetRow {
    id: i64,
    book_id: i64,
    text: String,
    user_id: Option<i64>,
    hidden_at: Option<i64>,
}

#[derive(FromQueryResult)]
struct CountRow {
    target_kind: String,
    target_id: i64,
    n: i64,
}

fn in_list(n: usize) -> String {
    crate::db::placeholders(n.max(1))
}

fn ids_or_zero(ids: &[i64]) -> Vec<sea_orm::Value> {
    if ids.is_empty() {
        vals![0]
    } else {
        ids.iter().map(|&i| i.into()).collect()
    }
}

/// The report queue: open reports first, then settled ones, newest first (admins).
#[utoipa::path(get, path = "/reports", tag = "community", params(ReportsQuery),
    responses((status = 200, body = ReportPage), (status = 403, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_reports(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<ReportsQuery>,
) -> AppResult<Json<ReportPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let bad = || AppError::field("cursor", "is not a cursor from this list");
    let (after_open, after_id) = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => (true, i64::MAX),
        Some(c) => {
            let (open, id) = c.split_once('.').ok_or_else(bad)?;
            (open == "1", id.parse::<i64>().map_err(|_| bad())?)
        }
    };
    let mut rows = fetch_all::<ReportRow>(
        &state.db,
        "SELECT id, target_kind, target_id, reporter_id, reason, detail, is_open, action, created_at \
         FROM reports WHERE (is_open = ? AND id < ?) OR (is_open = ? AND ? = ?) \
         ORDER BY is_open DESC, id DESC LIMIT ?",
        vals![after_open, after_id, false, after_open, true, limit + 1],
    )
    .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| format!("{}.{}", if r.is_open { 1 } else { 0 }, r.id))
    } else {
        None
    };
    let items = describe(&state, rows).await?;
    Ok(Json(ReportPage { items, next_cursor }))
}

/// Loads the targets, authors, reporters and open counts of a page (a fixed number of queries).
async fn describe(state: &AppState, rows: Vec<ReportRow>) -> AppResult<Vec<Report>> {
    let ids_of = |kind: &str| -> Vec<i64> {
        rows.iter()
            .filter(|r| r.target_kind == kind)
            .map(|r| r.target_id)
            .collect()
    };
    let (book_ids, comment_ids) = (ids_of("book"), ids_of("comment"));
    let books = fetch_all::<TargetRow>(
        &state.db,
        &format!(
            "SELECT id, id AS book_id, name AS text, owner_id AS user_id, hidden_at FROM books WHERE id IN ({})",
            in_list(book_ids.len())
        ),
        ids_or_zero(&book_ids),
    )
    .await?;
    let comments = fetch_all::<TargetRow>(
        &state.db,
        &format!(
            "SELECT id, book_id, text, user_id, hidden_at FROM comments WHERE id IN ({})",
            in_list(comment_ids.len())
        ),
        ids_or_zero(&comment_ids),
    )
    .await?;
    let mut user_ids: Vec<i64> = rows.iter().filter_map(|r| r.reporter_id).collect();
    user_ids.extend(books.iter().chain(&comments).filter_map(|t| t.user_id));
    user_ids.sort_unstable();
    user_ids.dedup();
    let users: std::collections::HashMap<i64, BookOwner> = fetch_all::<UserRow>(
        &state.db,
        &format!(
            "SELECT id, username, display_name FROM users WHERE id IN ({})",
            in_list(user_ids.len())
        ),
        ids_or_zero(&user_ids),
    )
    .await?
    .into_iter()
    .map(|u| {
        let owner = BookOwner {
            username: u.username,
            display_name: u.display_name,
        };
        (u.id, owner)
    })
    .collect();
    let mut target_ids: Vec<i64> = rows.iter().map(|r| r.target_id).collect();
    target_ids.sort_unstable();
    target_ids.dedup();
    let counts: std::collections::HashMap<(String, i64), i64> = fetch_all::<CountRow>(
        &state.db,
        &format!(
            "SELECT target_kind, target_id, COUNT(*) AS n FROM reports \
             WHERE is_open = ? AND target_id IN ({}) GROUP BY target_kind, target_id",
            in_list(target_ids.len())
        ),
        {
            let mut v = vals![true];
            v.extend(ids_or_zero(&target_ids));
            v
        },
    )
    .await?
    .into_iter()
    .map(|c| ((c.target_kind, c.target_id), c.n))
    .collect();
    let find = |kind: &str, id: i64| -> Option<&TargetRow> {
        let list = if kind == "book" { &books } else { &comments };
        list.iter().find(|t| t.id == id)
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let target = find(&r.target_kind, r.target_id);
            Report {
                id: r.id,
                target: ReportTarget {
                    kind: r.target_kind.clone(),
                    id: r.target_id,
                    book_id: target.map(|t| t.book_id),
                    text: target.map(|t| t.text.clone()),
                    author: target
                        .and_then(|t| t.user_id)
                        .and_then(|u| users.get(&u).cloned()),
                    hidden: target.is_some_and(|t| t.hidden_at.is_some()),
                    exists: target.is_some(),
                },
                reason: r.reason,
                detail: r.detail,
                reporter: r.reporter_id.and_then(|u| users.get(&u).cloned()),
                status: if r.is_open {
                    "open".to_owned()
                } else {
                    r.action.unwrap_or_else(|| "dismiss".to_owned())
                },
                open_reports: counts
                    .get(&(r.target_kind, r.target_id))
                    .copied()
                    .unwrap_or(0),
                created_at: rfc3339(r.created_at),
            }
        })
        .collect())
}

/// Body of `POST /reports/{id}/resolve`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveReportRequest {
    /// `dismiss` (restore the target), `hide` (keep it hidden) or `delete` (remove it).
    pub action: String,
}

/// What a resolution did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResolveReportResponse {
    pub action: String,
    /// Open reports of the target that it settled.
    pub settled: u64,
}

/// Settles every open report of the report's target at once with one action (admins). It
/// also works on a settled report: `dismiss` then restores a hidden target.
#[utoipa::path(post, path = "/reports/{id}/resolve", tag = "community", request_body = ResolveReportRequest,
    responses((status = 200, body = ResolveReportResponse), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn resolve_report(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(body): Json<ResolveReportRequest>,
) -> AppResult<Json<ResolveReportResponse>> {
    if !["dismiss", "hide", "delete"].contains(&body.action.as_str()) {
        return Err(AppError::field("action", "must be dismiss, hide or delete"));
    }
    #[derive(FromQueryResult)]
    struct Row {
        target_kind: String,
        target_id: i64,
    }
    let report = fetch_optional::<Row>(
        &state.db,
        "SELECT target_kind, target_id FROM reports WHERE id = ?",
        vals![id],
    )
    .await?
    .ok_or(AppError::NotFound("report"))?;
    let target = if report.target_kind == "book" {
        Target::Book
    } else {
        Target::Comment
    };
    let target_id = report.target_id;
    match body.action.as_str() {
        "dismiss" => set_hidden(&state, target, target_id, false).await?,
        "hide" => set_hidden(&state, target, target_id, true).await?,
        _ => match target {
            Target::Book => {
                if book_access(&state.db, target_id).await?.is_some() {
                    super::books::delete_book(&state, target_id).await?;
                }
            }
            Target::Comment => {
                exec(
                    &state.db,
                    "DELETE FROM comments WHERE id = ?",
                    vals![target_id],
                )
                .await?;
            }
        },
    }
    let settled = exec(
        &state.db,
        "UPDATE reports SET is_open = ?, action = ?, resolved_at = ? \
         WHERE target_kind = ? AND target_id = ? AND is_open = ?",
        vals![
            false,
            body.action.clone(),
            now_ms(),
            report.target_kind,
            target_id,
            true
        ],
    )
    .await?
    .rows_affected();
    Ok(Json(ResolveReportResponse {
        action: body.action,
        settled,
    }))
}
