//! Playing a world cup: a pick, taking the last pick back, and the conditional write both
//! make (`UPDATE … WHERE pick_count = ?`, so of two clients picking at once one wins).

use axum::extract::State;
use axum::http::HeaderMap;

use sea_orm::ConnectionTrait;

use super::bracket::{self, Bracket, BracketError, encode_ids};
use super::tally::finish;
use super::{PickRequest, WorldcupRow, WorldcupState, authorize, forget_book, load, state_of};
use crate::accounts::auth::MaybeUser;
use crate::db::{exec, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::metrics::Event;
use crate::state::AppState;
use crate::vals;

/// Picks the winner of the current match (needs the play key or the cup's owner).
#[utoipa::path(post, path = "/worldcups/{id}/picks", tag = "worldcup", request_body = PickRequest,
    params(("X-Play-Key" = Option<String>, Header, description = "the play key from the start")),
    responses((status = 200, body = WorldcupState), (status = 403, body = crate::error::Problem, description = "neither the play key nor the owner"),
        (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "finished, not the current match, or changed by another pick meanwhile"),
        (status = 422, body = crate::error::Problem, description = "the food is not in the current match")))]
pub(super) async fn pick_winner(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
    Json(body): Json<PickRequest>,
) -> AppResult<Json<WorldcupState>> {
    if body.round.is_some_and(|r| !bracket::is_valid_size(r)) {
        return Err(AppError::field("round", "must be 2, 4, 8, 16, 32 or 64"));
    }
    if body.match_no == Some(0) {
        return Err(AppError::field("match", "counts from 1"));
    }
    let (row, mut bracket) = load(&state.db, &id).await?;
    authorize(&row, &headers, user.map(|u| u.id))?;
    let progress = bracket.progress();
    if !progress.finished()
        && (body.round.is_some_and(|r| r != progress.round)
            || body.match_no.is_some_and(|m| m != progress.match_no))
    {
        let asked = bracket::label(
            body.round.unwrap_or(progress.round),
            body.match_no.unwrap_or(progress.match_no),
            body.round.unwrap_or(progress.round) / 2,
        );
        return Err(AppError::Conflict(format!(
            "this pick answers {asked}, but the current match is {}; reload the world cup",
            progress.label()
        )));
    }
    let last_match = progress.picks.last().copied();
    bracket.pick(body.winner).map_err(|e| match e {
        BracketError::Finished => {
            AppError::Conflict("this world cup is already finished".to_owned())
        }
        // A pick for the match just decided comes from a stale screen or a double tap.
        _ if last_match.is_some_and(|p| body.winner == p.left_id || body.winner == p.right_id) => {
            AppError::Conflict("this match was already decided; reload the world cup".to_owned())
        }
        _ => AppError::field("winner", "is not one of the two foods of the current match"),
    })?;
    let finished = bracket.progress().finished();
    if finished {
        finish(&state.db, &row, &bracket).await?;
        state.metrics.count(Event::WorldcupFinished);
        forget_book(&state, row.book_id);
    } else {
        save(&state.db, &row, &bracket, false).await?;
    }
    Ok(Json(
        state_of(&state, &row.id, row.book_id, &bracket, true).await?,
    ))
}

pub(super) fn stale() -> AppError {
    AppError::Conflict("this world cup was changed meanwhile (another tab?); reload it".to_owned())
}

/// Takes back the last pick (needs the play key or the cup's owner).
#[utoipa::path(delete, path = "/worldcups/{id}/picks/last", tag = "worldcup",
    params(("X-Play-Key" = Option<String>, Header, description = "the play key from the start")),
    responses((status = 200, body = WorldcupState), (status = 403, body = crate::error::Problem, description = "neither the play key nor the owner"),
        (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "nothing to undo, or finished")))]
pub(super) async fn undo_pick(
    State(state): State<AppState>,
    Path(id): Path<String>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> AppResult<Json<WorldcupState>> {
    let (row, mut bracket) = load(&state.db, &id).await?;
    authorize(&row, &headers, user.map(|u| u.id))?;
    bracket.undo().map_err(|e| match e {
        BracketError::Finished => {
            AppError::Conflict("a finished world cup cannot be undone".to_owned())
        }
        _ => AppError::Conflict("nothing has been picked yet".to_owned()),
    })?;
    save(&state.db, &row, &bracket, false).await?;
    Ok(Json(
        state_of(&state, &row.id, row.book_id, &bracket, true).await?,
    ))
}

/// Writes the new picks if nobody else changed the world cup since it was read.
async fn save(
    c: &impl ConnectionTrait,
    row: &WorldcupRow,
    bracket: &Bracket,
    finished: bool,
) -> AppResult<()> {
    if saved(c, row, bracket, finished).await? {
        Ok(())
    } else {
        Err(stale())
    }
}

/// Answers whether the conditional update of the picks went through.
pub(super) async fn saved(
    c: &impl ConnectionTrait,
    row: &WorldcupRow,
    bracket: &Bracket,
    finished: bool,
) -> Result<bool, sea_orm::DbErr> {
    let done = exec(
        c,
        "UPDATE worldcups SET picks = ?, pick_count = ?, finished = ?, champion_id = ?, updated_at = ? \
         WHERE id = ? AND pick_count = ? AND finished = ?",
        vals![
            encode_ids(bracket.picks()),
            bracket.picks().len() as i64,
            finished,
            if finished { bracket.progress().champion } else { None },
            now_ms(),
            row.id.clone(),
            row.pick_count,
            false
        ],
    )
    .await?;
    Ok(done.rows_affected() == 1)
}
