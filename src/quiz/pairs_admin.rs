//! The admin's view of the question bank: every pair, paged and searchable, and deleting one.
//!
//! A pair that no exam asks is deleted for good. A pair that an exam asks is **retired**
//! instead: it leaves the bank (never drawn again, gone from this list) but its row stays, so
//! every exam, attempt and scoreboard that uses it reads exactly as before.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::bank::{self, LIVE_PAIR};
use crate::accounts::Admin;
use crate::catalog::model::{Food, like_pattern};
use crate::db::{exec, fetch_all, fetch_i64};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::vals;

/// Largest page of `GET /admin/quiz/pairs`.
const MAX_LIMIT: u64 = 100;
/// Page size when none is asked for.
const DEFAULT_LIMIT: u64 = 30;
/// Longest search text.
const MAX_QUERY_CHARS: usize = 50;

/// Query of `GET /admin/quiz/pairs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListBankQuery {
    /// Substring of either food's name, case-insensitive.
    q: Option<String>,
    /// Page size, 1..=100 (default 30).
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One pair of the bank as the admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankPair {
    pub id: i64,
    pub left: Food,
    pub right: Food,
    /// How many exams ask this pair (deleting it then retires it instead).
    pub exam_count: i64,
}

/// A page of the bank, newest pairs first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankPage {
    pub items: Vec<BankPair>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
    /// Pairs matching `q` in the whole bank (all pages).
    pub total: i64,
}

#[derive(sea_orm::FromQueryResult)]
struct IdRow {
    id: i64,
}

#[derive(sea_orm::FromQueryResult)]
struct UseRow {
    id: i64,
    n: i64,
}

/// The pairs of the question bank, newest first, optionally those whose foods' names contain
/// `q`. Admins only. Four statements whatever the page size (plus two to load the foods).
#[utoipa::path(get, path = "/admin/quiz/pairs", tag = "quiz", params(ListBankQuery),
    responses((status = 200, body = BankPage), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_bank(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<ListBankQuery>,
) -> AppResult<Json<BankPage>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| AppError::field("cursor", "is not a cursor from this list"))?,
        ),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(AppError::field(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut filter = format!("in_bank = ? AND {LIVE_PAIR}");
    let mut values = vals![true];
    if let Some(q) = q {
        filter.push_str(
            " AND EXISTS (SELECT 1 FROM foods nf WHERE nf.id IN (quiz_pairs.left_id, \
             quiz_pairs.right_id) AND LOWER(nf.name) LIKE ? ESCAPE '!')",
        );
        values.push(like_pattern(q).into());
    }
    let total = fetch_i64(
        &state.db,
        &format!("SELECT COUNT(*) FROM quiz_pairs WHERE {filter}"),
        values.clone(),
    )
    .await?
    .unwrap_or(0);
    let mut page_sql = format!("SELECT id FROM quiz_pairs WHERE {filter}");
    if let Some(before) = before {
        page_sql.push_str(" AND id < ?");
        values.push(before.into());
    }
    page_sql.push_str(" ORDER BY id DESC LIMIT ?");
    values.push(((limit + 1) as i64).into());
    let mut ids: Vec<i64> = fetch_all::<IdRow>(&state.db, &page_sql, values)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let next_cursor = if ids.len() as u64 > limit {
        ids.truncate(limit as usize);
        ids.last().map(i64::to_string)
    } else {
        None
    };
    let uses = exam_counts(&state, &ids).await?;
    let items = bank::pairs_by_ids(&state.db, &state.storage, &ids)
        .await?
        .into_iter()
        .map(|p| BankPair {
            exam_count: uses.iter().find(|u| u.id == p.id).map_or(0, |u| u.n),
            id: p.id,
            left: p.left,
            right: p.right,
        })
        .collect();
    Ok(Json(BankPage {
        items,
        next_cursor,
        total,
    }))
}

/// How many exams ask each of these pairs (pairs no exam asks are absent). One statement.
async fn exam_counts(state: &AppState, ids: &[i64]) -> AppResult<Vec<UseRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT pair_id AS id, COUNT(*) AS n FROM exam_questions WHERE pair_id IN ({}) \
         GROUP BY pair_id",
        crate::db::placeholders(ids.len())
    );
    Ok(fetch_all::<UseRow>(&state.db, &sql, ids.iter().map(|&i| i.into()).collect()).await?)
}

/// Removes a pair from the question bank.
///
/// A pair that any exam asks is **retired**, not deleted: it is never drawn again and leaves
/// the admin's list, but exams, attempts and scoreboards that use it stay exactly as they were.
/// A pair nothing uses is deleted for good. Either way the answer is 204; retiring again is a
/// no-op. Adding the same two foods later puts the retired pair back in the bank.
#[utoipa::path(delete, path = "/quiz/pairs/{id}", tag = "quiz",
    params(("id" = i64, Path, description = "The pair's id")),
    responses((status = 204, description = "deleted, or retired when an exam asks it"), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn delete_pair(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    // Out of the bank first, so that no new exam draws it while it goes.
    let retired = exec(
        &state.db,
        "UPDATE quiz_pairs SET in_bank = ? WHERE id = ?",
        vals![false, id],
    )
    .await?;
    if retired.rows_affected() == 0
        && fetch_i64(
            &state.db,
            "SELECT id FROM quiz_pairs WHERE id = ?",
            vals![id],
        )
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("pair"));
    }
    // Exams' questions would cascade with the row: a pair an exam asks keeps it.
    exec(
        &state.db,
        "DELETE FROM quiz_pairs WHERE id = ? AND NOT EXISTS \
         (SELECT 1 FROM exam_questions eq WHERE eq.pair_id = ?)",
        vals![id, id],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
