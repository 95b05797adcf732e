//! What other features may read of a world cup, without reaching into this module's rows.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::bracket::{Bracket, decode_ids};
use crate::db::fetch_optional;
use crate::vals;

/// A world cup's owner and its decided matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CupMatches {
    /// The member or guest who started it, if one was signed in.
    pub owner_id: Option<i64>,
    pub book_id: i64,
    pub finished: bool,
    /// Every decided match in play order: (left food, right food, winner).
    pub matches: Vec<(i64, i64, i64)>,
}

/// The matches of a world cup by id, or `None` when there is no such cup.
pub async fn finished_matches(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<CupMatches>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        user_id: Option<i64>,
        book_id: i64,
        entrants: String,
        picks: String,
    }
    if !super::valid_id(id) {
        return Ok(None);
    }
    let Some(row) = fetch_optional::<Row>(
        db,
        "SELECT user_id, book_id, entrants, picks FROM worldcups WHERE id = ?",
        vals![id],
    )
    .await?
    else {
        return Ok(None);
    };
    let bracket = decode_ids(&row.entrants)
        .zip(decode_ids(&row.picks))
        .and_then(|(entrants, picks)| Bracket::restore(entrants, &picks))
        .ok_or_else(|| DbErr::Custom(format!("world cup {id} has a corrupt bracket")))?;
    let progress = bracket.progress();
    Ok(Some(CupMatches {
        owner_id: row.user_id,
        book_id: row.book_id,
        finished: progress.finished(),
        matches: progress
            .picks
            .iter()
            .map(|p| (p.left_id, p.right_id, p.winner_id))
            .collect(),
    }))
}
