//! A player's own world cups and what they say about their taste: `GET /me/worldcups` and
//! `GET /me/taste`, for any signed-in member or guest.

use std::collections::HashMap;

use axum::extract::State;
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bracket::{Bracket, decode_ids};
use super::stats::{Taste, share};
use crate::accounts::auth::AuthUser;
use crate::catalog::model::Food;
use crate::catalog::queries::foods_by_ids;
use crate::db::{fetch_all, fetch_i64, placeholders, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::vals;

/// Finished cups of one player that the taste profile reads (the most recent ones).
const TASTE_CUPS: u64 = 5000;
/// Entries in each top list of the taste profile.
const TOP: usize = 5;

/// One of my world cups.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyWorldcup {
    pub id: String,
    pub book_id: i64,
    pub book_name: String,
    pub size: u32,
    pub finished: bool,
    pub champion: Option<Food>,
    pub created_at: String,
}

/// A page of my world cups, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyWorldcupPage {
    pub items: Vec<MyWorldcup>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Query of `GET /me/worldcups`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MyWorldcupsQuery {
    /// Page size, 1..=200 (default 50).
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct MyRow {
    id: String,
    book_id: i64,
    book_name: String,
    book_name_en: String,
    size: i64,
    finished: bool,
    champion_id: Option<i64>,
    picks: String,
    created_at: i64,
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    format!("{created_at}_{id}")
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let (at, id) = cursor.split_once('_')?;
    let valid_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    Some((at.parse().ok()?, id.to_owned())).filter(|_| valid_id)
}

/// My world cups, finished or not, newest first.
#[utoipa::path(get, path = "/me/worldcups", tag = "worldcup", params(MyWorldcupsQuery),
    responses((status = 200, body = MyWorldcupPage), (status = 401, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn my_worldcups(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<MyWorldcupsQuery>,
) -> AppResult<Json<MyWorldcupPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            decode_cursor(c)
                .ok_or_else(|| AppError::field("cursor", "is not a cursor from this list"))?,
        ),
    };
    let mut sql = "SELECT w.id, w.book_id, b.name AS book_name, b.name_en AS book_name_en, w.size, w.finished, w.champion_id, \
         w.picks, w.created_at FROM worldcups w JOIN books b ON b.id = w.book_id WHERE w.user_id = ?"
        .to_owned();
    let mut values = vals![user.id];
    if let Some((at, id)) = after {
        sql.push_str(" AND (w.created_at < ? OR (w.created_at = ? AND w.id < ?))");
        values.extend(vals![at, at, id]);
    }
    sql.push_str(" ORDER BY w.created_at DESC, w.id DESC LIMIT ?");
    values.push(((limit + 1) as i64).into());
    let mut rows = fetch_all::<MyRow>(&state.db, &sql, values).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.created_at, &r.id))
    } else {
        None
    };
    // The champion is stored at the finish; cups finished before that have it as last pick.
    let champion_of = |r: &MyRow| {
        r.finished
            .then(|| {
                r.champion_id
                    .or_else(|| decode_ids(&r.picks).and_then(|p| p.last().copied()))
            })
            .flatten()
    };
    let mut ids: Vec<i64> = rows.iter().filter_map(champion_of).collect();
    ids.sort_unstable();
    ids.dedup();
    let foods: HashMap<i64, Food> = foods_by_ids(&state.db, &state.storage, &ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let items = rows
        .iter()
        .map(|r| MyWorldcup {
            id: r.id.clone(),
            book_id: r.book_id,
            book_name: crate::lang::current()
                .lang
                .pick(&r.book_name, &r.book_name_en)
                .to_owned(),
            size: r.size as u32,
            finished: r.finished,
            champion: champion_of(r).map(|id| {
                foods
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| super::deleted_food(id))
            }),
            created_at: rfc3339(r.created_at),
        })
        .collect();
    Ok(Json(MyWorldcupPage { items, next_cursor }))
}

/// A food I crowned, and how common that is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CrownedFood {
    pub food: Food,
    /// How many of my finished cups it won.
    pub times: u32,
    /// Share (0..1) of all signed-in players with a finished cup who ever crowned it.
    pub share_of_players: f64,
}

/// A category my picks favour.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CategoryWins {
    pub name: String,
    /// Matches won by foods of this category in my finished cups.
    pub wins: u32,
}

/// My taste, from my finished world cups.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TasteProfile {
    pub worldcups_finished: u32,
    /// Most crowned first, then by name (at most 5).
    pub top_champions: Vec<CrownedFood>,
    /// Most wins first, then by name (at most 5).
    pub top_categories: Vec<CategoryWins>,
}

/// What my finished world cups say about my taste, beside everyone's.
#[utoipa::path(get, path = "/me/taste", tag = "worldcup",
    responses((status = 200, body = TasteProfile), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn my_taste(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<TasteProfile>> {
    #[derive(FromQueryResult)]
    struct Row {
        entrants: String,
        picks: String,
    }
    let rows = fetch_all::<Row>(
        &state.db,
        "SELECT entrants, picks FROM worldcups WHERE user_id = ? AND finished = ? \
         ORDER BY created_at DESC LIMIT ?",
        vals![user.id, true, TASTE_CUPS as i64],
    )
    .await?;
    let mut taste = Taste::default();
    for row in &rows {
        let bracket = decode_ids(&row.entrants)
            .zip(decode_ids(&row.picks))
            .and_then(|(entrants, picks)| Bracket::restore(entrants, &picks));
        if let Some(bracket) = bracket {
            taste.add(&bracket);
        }
    }
    let mut ids: Vec<i64> = taste
        .wins
        .keys()
        .chain(taste.crowned.keys())
        .copied()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let foods: HashMap<i64, Food> = foods_by_ids(&state.db, &state.storage, &ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let food = |id: i64| {
        foods
            .get(&id)
            .cloned()
            .unwrap_or_else(|| super::deleted_food(id))
    };

    let mut crowned: Vec<(i64, u32)> = taste.crowned.iter().map(|(&f, &n)| (f, n)).collect();
    crowned.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| food(a.0).name.cmp(&food(b.0).name))
            .then(a.0.cmp(&b.0))
    });
    crowned.truncate(TOP);
    let players = fetch_i64(
        &state.db,
        "SELECT COUNT(DISTINCT user_id) FROM worldcups WHERE finished = ? AND user_id IS NOT NULL",
        vals![true],
    )
    .await?
    .unwrap_or(0);
    let mut crowned_by: HashMap<i64, i64> = HashMap::new();
    if !crowned.is_empty() {
        #[derive(FromQueryResult)]
        struct Crowns {
            champion_id: i64,
            players: i64,
        }
        let sql = format!(
            "SELECT champion_id, COUNT(DISTINCT user_id) AS players FROM worldcups \
             WHERE champion_id IN ({}) AND user_id IS NOT NULL GROUP BY champion_id",
            placeholders(crowned.len())
        );
        let values = crowned.iter().map(|c| c.0.into()).collect();
        for row in fetch_all::<Crowns>(&state.db, &sql, values).await? {
            crowned_by.insert(row.champion_id, row.players);
        }
    }
    let top_champions = crowned
        .iter()
        .map(|&(id, times)| CrownedFood {
            food: food(id),
            times,
            share_of_players: share(crowned_by.get(&id).copied().unwrap_or(0), players),
        })
        .collect();
    let none: Vec<String> = Vec::new();
    let top_categories = taste
        .categories(
            |id| foods.get(&id).map_or(none.as_slice(), |f| &f.categories),
            TOP,
        )
        .into_iter()
        .map(|(name, wins)| CategoryWins { name, wins })
        .collect();
    Ok(Json(TasteProfile {
        worldcups_finished: taste.cups,
        top_champions,
        top_categories,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            decode_cursor(&encode_cursor(1700, id)),
            Some((1700, id.to_owned()))
        );
        for bad in [
            "",
            "abc",
            "1_2",
            "x_0123456789abcdef0123456789abcdef",
            "1_../etc",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
