//! `GET /books/{id}/ranking`: every food of a book with its record over finished world cups.

use std::collections::HashMap;

use axum::extract::State;
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::stats::{Record, competition_ranks};
use crate::catalog::model::Food;
use crate::catalog::queries::foods_by_ids;
use crate::db::{fetch_all, fetch_i64};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::vals;

/// One food's record in a book.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RankingItem {
    /// Competition rank (1, 2, 2, 4) on championships, then win rate.
    pub rank: u32,
    pub food: Food,
    pub wins: i64,
    pub matches: i64,
    /// wins / matches, 0 when the food has not played.
    pub win_rate: f64,
    pub championships: i64,
    /// championships / finished world cups of the book.
    pub champion_rate: f64,
}

/// A book's ranking, a page at a time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ranking {
    pub book_id: i64,
    /// Finished world cups counted.
    pub worldcups_finished: i64,
    /// By championships, then win rate, then name.
    pub items: Vec<RankingItem>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Query of `GET /books/{id}/ranking`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// Page size, 1..=200 (default 50).
    pub(super) limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub(super) cursor: Option<String>,
}

/// Every food of a book with its record over finished world cups.
#[utoipa::path(get, path = "/books/{id}/ranking", tag = "worldcup", params(RankingQuery),
    responses((status = 200, body = Ranking), (status = 404, body = crate::error::Problem)))]
pub(super) async fn book_ranking(
    State(state): State<AppState>,
    user: crate::accounts::MaybeUser,
    Path(book_id): Path<i64>,
    Query(query): Query<RankingQuery>,
) -> AppResult<Json<Ranking>> {
    crate::community::check_visible(&state, book_id, user.0.as_ref()).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let offset: usize = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .parse()
            .map_err(|_| AppError::field("cursor", "is not a cursor from this list"))?,
    };
    if fetch_i64(
        &state.db,
        "SELECT id FROM books WHERE id = ?",
        vals![book_id],
    )
    .await?
    .is_none()
    {
        return Err(AppError::NotFound("book"));
    }
    let finished = crate::catalog::queries::play_counts(&state.db, &[book_id])
        .await?
        .get(&book_id)
        .map_or(0, |c| c.1);
    #[derive(FromQueryResult)]
    struct Row {
        food_id: i64,
        wins: i64,
        matches: i64,
        championships: i64,
    }
    // Every member food with its record (zero when it has never played).
    let rows = fetch_all::<Row>(
        &state.db,
        "SELECT bf.food_id, COALESCE(s.wins, 0) AS wins, COALESCE(s.matches, 0) AS matches, \
         COALESCE(s.championships, 0) AS championships \
         FROM book_foods bf LEFT JOIN book_food_stats s ON s.book_id = bf.book_id AND s.food_id = bf.food_id \
         JOIN foods f ON f.id = bf.food_id AND f.retired_at IS NULL \
         WHERE bf.book_id = ?",
        vals![book_id],
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.food_id).collect();
    let mut foods: HashMap<i64, Food> = foods_by_ids(&state.db, &state.storage, &ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let mut items: Vec<RankingItem> = rows
        .into_iter()
        .filter_map(|r| {
            let food = foods.remove(&r.food_id)?;
            Some(RankingItem {
                rank: 0,
                win_rate: rate(r.wins, r.matches),
                champion_rate: rate(r.championships, finished),
                food,
                wins: r.wins,
                matches: r.matches,
                championships: r.championships,
            })
        })
        .collect();
    let record = |i: &RankingItem| Record {
        championships: i.championships,
        wins: i.wins,
        matches: i.matches,
    };
    items.sort_by(|a, b| {
        record(a)
            .cmp_rank(&record(b))
            .then_with(|| a.food.name.cmp(&b.food.name))
    });
    let records: Vec<Record> = items.iter().map(record).collect();
    for (item, rank) in items.iter_mut().zip(competition_ranks(&records)) {
        item.rank = rank;
    }
    let rest = items.len().saturating_sub(offset);
    let next_cursor = (rest > limit).then(|| (offset + limit).to_string());
    let items = items.into_iter().skip(offset).take(limit).collect();
    Ok(Json(Ranking {
        book_id,
        worldcups_finished: finished,
        items,
        next_cursor,
    }))
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
