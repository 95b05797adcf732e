//! The food world cup: server-side brackets, picks, undo and rankings.
//!
//! A world cup lives in one row (entrants and picks as id lists). Every pick is a conditional
//! `UPDATE … WHERE pick_count = ?`, so of two clients picking at once exactly one wins and the
//! other gets 409. The final pick adds the cup's matches to the book's statistics in the same
//! transaction, so rankings are exact and never scan historical picks.
//!
//! Picks and undo need the cup's play key (shown once, in the answer that starts it) or the
//! signed-in member or guest who started it; see [`access`].

pub mod access;
pub mod bracket;
pub mod export;
pub mod mine;
mod model;
mod play;
pub mod preview;
mod ranking;
pub mod starts;
pub mod stats;
mod tally;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rand::Rng;
use rand::seq::SliceRandom;
use sea_orm::{ConnectionTrait, FromQueryResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::bracket::{Bracket, decode_ids, encode_ids};
pub use self::model::{
    Match, PathStep, PickRequest, StartWorldcupRequest, StartedWorldcup, WorldcupState,
};
pub use self::ranking::{Ranking, RankingItem, RankingQuery};
use self::tally::{Counter, add_to_counter};
use crate::accounts::auth::MaybeUser;
use crate::catalog::model::Food;
use crate::catalog::queries::foods_by_ids;
use crate::db::{self, Db, exec, fetch_i64, fetch_optional, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::metrics::Event;
use crate::state::AppState;
use crate::vals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_worldcup))
        .routes(routes!(get_worldcup))
        .routes(routes!(play::pick_winner))
        .routes(routes!(play::undo_pick))
        .routes(routes!(ranking::book_ranking))
        .routes(routes!(mine::my_worldcups))
        .routes(routes!(mine::my_taste))
}

#[derive(Debug, FromQueryResult)]
struct WorldcupRow {
    id: String,
    book_id: i64,
    entrants: String,
    picks: String,
    pick_count: i64,
    user_id: Option<i64>,
    play_key_hash: Option<String>,
}

/// A fresh unguessable world-cup id: 128 random bits in hex.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn load(db: &impl ConnectionTrait, id: &str) -> AppResult<(WorldcupRow, Bracket)> {
    if !valid_id(id) {
        return Err(AppError::NotFound("world cup"));
    }
    let row = fetch_optional::<WorldcupRow>(
        db,
        "SELECT id, book_id, entrants, picks, pick_count, user_id, play_key_hash FROM worldcups WHERE id = ?",
        vals![id],
    )
    .await?
    .ok_or(AppError::NotFound("world cup"))?;
    let bracket = decode_ids(&row.entrants)
        .zip(decode_ids(&row.picks))
        .and_then(|(entrants, picks)| Bracket::restore(entrants, &picks))
        .ok_or_else(|| anyhow::anyhow!("world cup {id} has a corrupt bracket"))?;
    Ok((row, bracket))
}

/// Builds the state clients see, loading only the foods it shows.
async fn state_of(
    app: &AppState,
    id: &str,
    book_id: i64,
    bracket: &Bracket,
    controls: bool,
) -> AppResult<WorldcupState> {
    let progress = bracket.progress();
    let mut ids: Vec<i64> = Vec::new();
    if let Some((l, r)) = progress.current {
        ids.extend([l, r]);
    }
    ids.extend(progress.champion);
    let path = progress.champion_path();
    let runner_up = progress.runner_up();
    ids.extend(path.iter().map(|p| p.left_id + p.right_id - p.winner_id));
    // Usually every food shown is still in the book; the rest (left the book since the draw)
    // are read from the catalog.
    let members = book_foods(app, book_id).await?.unwrap_or_default();
    let others: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !members.contains_key(id))
        .collect();
    let others: HashMap<i64, Food> = foods_by_ids(&app.db, &app.storage, &others)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let food = |id: i64| {
        members
            .get(&id)
            .or_else(|| others.get(&id))
            .cloned()
            .unwrap_or_else(|| deleted_food(id))
    };
    Ok(WorldcupState {
        id: id.to_owned(),
        book_id,
        size: bracket.size(),
        round: progress.round,
        match_no: progress.match_no,
        matches_in_round: progress.matches_in_round,
        label: progress.label(),
        current: progress.current.map(|(l, r)| Match {
            left: food(l),
            right: food(r),
        }),
        finished: progress.finished(),
        champion: progress.champion.map(food),
        champion_path: path
            .iter()
            .map(|p| PathStep {
                round: p.round,
                match_no: p.match_no,
                opponent: food(p.left_id + p.right_id - p.winner_id),
            })
            .collect(),
        runner_up: runner_up.map(food),
        can_pick: controls && !progress.finished(),
        picks: progress.picks,
    })
}

/// Stands in for a food deleted after it was drawn, so old world cups still display.
fn deleted_food(id: i64) -> Food {
    let name = match crate::lang::current().lang {
        crate::lang::Lang::Ko => "(삭제된 음식)",
        crate::lang::Lang::En => "(deleted food)",
    };
    Food {
        id,
        name: name.to_owned(),
        description: String::new(),
        details: String::new(),
        texts: Default::default(),
        image_url: None,
        credit: String::new(),
        alt_image_url: None,
        alt_credit: None,
        categories: Vec::new(),
        image_webp_url: None,
        alt_image_webp_url: None,
    }
}

/// Starts a world cup over foods drawn uniformly at random from a book. The answer carries
/// the cup's play key; a signed-in member or guest also owns the cup.
#[utoipa::path(post, path = "/books/{id}/worldcups", tag = "worldcup", request_body = StartWorldcupRequest,
    responses((status = 201, body = StartedWorldcup), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn start_worldcup(
    State(state): State<AppState>,
    Path(book_id): Path<i64>,
    MaybeUser(user): MaybeUser,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<StartedWorldcup>)> {
    // The body is optional: an empty one means every default.
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        StartWorldcupRequest::default()
    } else {
        crate::extract::parse_json_object::<StartWorldcupRequest>(&body)?
    };
    if request.exclude_food_ids.len() > 64 {
        return Err(AppError::field("exclude_food_ids", "at most 64 foods"));
    }
    crate::community::check_playable(&state, book_id, user.as_ref()).await?;
    let foods = book_foods(&state, book_id)
        .await?
        .ok_or(AppError::NotFound("book"))?;
    // Sorted, so that the shuffle alone decides the draw.
    let mut candidates: Vec<i64> = foods.keys().copied().collect();
    candidates.sort_unstable();
    candidates.retain(|id| !request.exclude_food_ids.contains(id));
    let size = match request.size {
        Some(size) if !bracket::is_valid_size(size) => {
            return Err(AppError::field("size", "must be 2, 4, 8, 16, 32 or 64"));
        }
        Some(size) if size as usize > candidates.len() => {
            return Err(AppError::field(
                "size",
                format!("only {} foods are left to draw from", candidates.len()),
            ));
        }
        Some(size) => size,
        None => bracket::default_size(candidates.len()).ok_or_else(|| {
            AppError::field(
                "exclude_food_ids",
                "at least 2 foods must be left to draw from",
            )
        })?,
    };
    // A partial Fisher–Yates shuffle: every subset and order equally likely.
    let (drawn, _) = candidates.partial_shuffle(&mut rand::rng(), size as usize);
    let bracket = Bracket::new(drawn.to_vec());
    let id = new_id();
    let now = now_ms();
    let entrants = encode_ids(bracket.entrants());
    let (play_key, play_key_hash) = access::new_play_key();
    // Stored by the group-commit writer together with the other starts of the moment.
    state
        .starts
        .store(starts::NewStart {
            id: id.clone(),
            book_id,
            size,
            entrants,
            now,
            user_id: user.as_ref().map(|u| u.id),
            play_key_hash,
        })
        .await
        .map_err(|e| {
            if db::is_foreign_key_violation(&e) {
                // The book was deleted since its foods were cached.
                AppError::NotFound("book")
            } else {
                crate::catalog::conflict(e, "world cup id collision")
            }
        })?;
    state.metrics.count(Event::WorldcupStarted);
    forget_book(&state, book_id);
    let worldcup = state_of(&state, &id, book_id, &bracket, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(StartedWorldcup {
            state: worldcup,
            play_key,
        }),
    ))
}

/// Drops this instance's cached answers that show a book's counts, so that it answers its
/// own starts and finishes at once.
fn forget_book(state: &AppState, book_id: i64) {
    state.cache.forget(&format!("book:{book_id}"));
    state.cache.forget("books");
}

/// 403 unless the request holds the cup's play key or comes from the cup's owner.
fn authorize(row: &WorldcupRow, headers: &HeaderMap, user: Option<i64>) -> AppResult<()> {
    if access::may_control(
        row.play_key_hash.as_deref(),
        row.user_id,
        access::request_key(headers),
        user,
    ) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the player of this world cup may pick or undo: send its X-Play-Key",
        ))
    }
}

/// The foods of a book by id (cached briefly, like the book itself), or `None` if the book
/// does not exist. World cups draw from it and show their matches from it, so starting or
/// playing one reads no food rows.
async fn book_foods(state: &AppState, book_id: i64) -> AppResult<Option<Arc<HashMap<i64, Food>>>> {
    let key = format!("book-foods:{book_id}");
    if let Some(foods) = state.cache.get::<HashMap<i64, Food>>(&key) {
        return Ok(Some(foods));
    }
    let generation = state.cache.generation();
    if fetch_i64(
        &state.db,
        "SELECT id FROM books WHERE id = ?",
        vals![book_id],
    )
    .await?
    .is_none()
    {
        return Ok(None);
    }
    let foods: HashMap<i64, Food> =
        crate::catalog::queries::book_foods(&state.db, &state.storage, book_id)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
    let foods = Arc::new(foods);
    state.cache.put(&key, generation, foods.clone());
    Ok(Some(foods))
}

/// The state of a world cup, finished or not.
#[utoipa::path(get, path = "/worldcups/{id}", tag = "worldcup",
    responses((status = 200, body = WorldcupState), (status = 404, body = crate::error::Problem)))]
async fn get_worldcup(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> AppResult<Json<WorldcupState>> {
    let (row, bracket) = load(&state.db, &id).await?;
    let controls = authorize(&row, &headers, user.map(|u| u.id)).is_ok();
    Ok(Json(
        state_of(&state, &row.id, row.book_id, &bracket, controls).await?,
    ))
}

/// The book, the starter and the champion of a finished world cup; `None` when there is no
/// such world cup or it is not finished.
pub async fn finished_cup(db: &Db, id: &str) -> AppResult<Option<(i64, Option<i64>, i64)>> {
    let (row, bracket) = match load(db, id).await {
        Ok(found) => found,
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !bracket.progress().finished() {
        return Ok(None);
    }
    let starter = fetch_i64(db, "SELECT user_id FROM worldcups WHERE id = ?", vals![id]).await?;
    Ok(bracket.picks().last().map(|&c| (row.book_id, starter, c)))
}

/// Deletes unfinished world cups untouched for longer than `max_age`; answers how many.
pub async fn purge_abandoned(db: &Db, max_age: Duration) -> Result<u64, sea_orm::DbErr> {
    let cutoff = now_ms() - max_age.as_millis() as i64;
    let done = exec(
        db,
        "DELETE FROM worldcups WHERE finished = ? AND updated_at < ?",
        vals![false, cutoff],
    )
    .await?;
    Ok(done.rows_affected())
}
