//! What a link preview shows of the catalog: a book's figures and the pictures of foods. Read
//! by `crate::previews`; the quiz and world-cup previews name their foods through
//! [`food_pictures`].

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::queries;
use crate::db::{fetch_all, placeholders};
use crate::media::Storage;
use crate::vals;

/// A food as a preview image shows it: its name and the storage key of its photo.
#[derive(Clone, Debug, PartialEq, Eq, Hash, FromQueryResult)]
pub struct FoodPicture {
    pub id: i64,
    pub name: String,
    pub image_key: Option<String>,
}

/// A book as its link preview shows it.
#[derive(Clone, Debug)]
pub struct BookPreview {
    pub id: i64,
    pub name: String,
    pub food_count: i64,
    pub play_count: i64,
    /// Reachable only by its link: the page says `noindex`.
    pub unlisted: bool,
    /// Up to four of its foods that have photos, for the collage.
    pub pictures: Vec<FoodPicture>,
}

/// How many photos a collage holds.
pub const COLLAGE: usize = 4;

/// The pictures of `ids`, in that order; ids that name no food are left out (a food deleted
/// since it was drawn).
pub async fn food_pictures(
    c: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<Vec<FoodPicture>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, name, image_key FROM foods WHERE id IN ({})",
        placeholders(ids.len())
    );
    let mut found: HashMap<i64, FoodPicture> =
        fetch_all::<FoodPicture>(c, &sql, ids.iter().map(|&i| i.into()).collect())
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// A book's preview, or `None` when there is no such book or only its owner may see it.
pub async fn book_preview(
    c: &impl ConnectionTrait,
    storage: &Storage,
    id: i64,
) -> Result<Option<BookPreview>, DbErr> {
    let Some(book) = queries::book(c, storage, id).await? else {
        return Ok(None);
    };
    // A preview is public: private and hidden books have none.
    if book.visibility == "private" || book.hidden {
        return Ok(None);
    }
    let pictures = fetch_all::<FoodPicture>(
        c,
        "SELECT f.id, f.name, f.image_key FROM foods f JOIN book_foods bf ON bf.food_id = f.id \
         WHERE bf.book_id = ? AND f.retired_at IS NULL AND f.image_key IS NOT NULL \
         ORDER BY f.id LIMIT 4",
        vals![id],
    )
    .await?;
    Ok(Some(BookPreview {
        id: book.id,
        name: book.name,
        food_count: book.food_count,
        play_count: book.play_count,
        unlisted: book.visibility == "unlisted",
        pictures,
    }))
}

/// Pictures for the home page's preview: the first foods with photos of the first book.
pub async fn home_pictures(c: &impl ConnectionTrait) -> Result<Vec<FoodPicture>, DbErr> {
    fetch_all::<FoodPicture>(
        c,
        "SELECT f.id, f.name, f.image_key FROM foods f \
         WHERE f.retired_at IS NULL AND f.book_id IS NULL AND f.image_key IS NOT NULL \
         ORDER BY f.id LIMIT 4",
        vec![],
    )
    .await
}
