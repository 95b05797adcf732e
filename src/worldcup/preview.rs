//! What a link preview shows of a world cup, read for `crate::previews`: finished, its
//! champion; unfinished, its book, round and the two foods of the current match.

use sea_orm::ConnectionTrait;

use crate::catalog::preview::{FoodPicture, food_pictures};
use crate::db::fetch_optional;
use crate::error::{AppError, AppResult};
use crate::vals;

/// A world cup as its link preview shows it.
#[derive(Clone, Debug)]
pub struct WorldcupPreview {
    pub id: String,
    pub book_id: i64,
    pub book_name: String,
    /// Foods drawn (16 for a world cup of 16).
    pub size: u32,
    /// `"16강 3/8"`, `"결승"`, or `"우승"` once finished.
    pub label: String,
    /// The champion, once finished (a food deleted since shows as missing: `None`).
    pub champion: Option<FoodPicture>,
    pub finished: bool,
    /// The foods of the current match, while unfinished.
    pub current: Vec<FoodPicture>,
}

#[derive(sea_orm::FromQueryResult)]
struct BookName {
    name: String,
}

/// A world cup's preview, or `None` when there is no such world cup.
pub async fn worldcup_preview(
    c: &impl ConnectionTrait,
    id: &str,
) -> AppResult<Option<WorldcupPreview>> {
    let (row, bracket) = match super::load(c, id).await {
        Ok(found) => found,
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let progress = bracket.progress();
    let book_name =
        fetch_optional::<BookName>(c, "SELECT name FROM books WHERE id = ?", vals![row.book_id])
            .await?
            .map(|b| b.name)
            .unwrap_or_default();
    let mut ids: Vec<i64> = progress.champion.into_iter().collect();
    if let Some((l, r)) = progress.current {
        ids.extend([l, r]);
    }
    let mut pictures = food_pictures(c, &ids).await?;
    let champion = match progress.champion {
        Some(id) => pictures
            .iter()
            .position(|p| p.id == id)
            .map(|i| pictures.remove(i)),
        None => None,
    };
    Ok(Some(WorldcupPreview {
        id: row.id,
        book_id: row.book_id,
        book_name,
        size: bracket.size(),
        label: progress.label(),
        finished: progress.finished(),
        champion,
        current: pictures,
    }))
}
