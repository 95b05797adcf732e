//! Who may see, play and change a book: visibility, moderation and ownership.

use sea_orm::{ConnectionTrait, FromQueryResult};

use crate::accounts::AuthUser;
use crate::db::{exec, fetch_optional};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::vals;

/// Fewest foods a community book needs to be played or listed.
pub const MIN_FOODS: i64 = 4;
/// Most foods a community book may hold.
pub const MAX_FOODS: i64 = 128;

/// The columns of a book that decide access.
#[derive(Clone, Debug, FromQueryResult)]
pub struct BookAccess {
    pub id: i64,
    pub owner_id: Option<i64>,
    pub visibility: String,
    pub hidden_at: Option<i64>,
    pub food_total: i64,
}

impl BookAccess {
    /// The owner of a community book, or any admin.
    pub fn can_manage(&self, user: &AuthUser) -> bool {
        user.is_admin || (self.owner_id.is_some() && self.owner_id == Some(user.id))
    }

    /// Private and hidden books exist only for their owner and admins.
    pub fn visible_to(&self, user: Option<&AuthUser>) -> bool {
        if user.is_some_and(|u| self.can_manage(u)) {
            return true;
        }
        self.visibility != "private" && self.hidden_at.is_none()
    }
}

/// The select list and table of [`BookAccess`]; callers add joins and a `WHERE`.
pub const BOOK_ACCESS_FROM: &str =
    "SELECT b.id, b.owner_id, b.visibility, b.hidden_at, b.food_total FROM books b";

/// The access columns of a book, or `None` when it does not exist.
pub async fn book_access(c: &impl ConnectionTrait, id: i64) -> AppResult<Option<BookAccess>> {
    Ok(
        fetch_optional::<BookAccess>(c, &format!("{BOOK_ACCESS_FROM} WHERE b.id = ?"), vals![id])
            .await?,
    )
}

/// 404 unless the book exists for this caller.
pub async fn check_visible(
    state: &AppState,
    id: i64,
    user: Option<&AuthUser>,
) -> AppResult<BookAccess> {
    match book_access(&state.db, id).await? {
        Some(access) if access.visible_to(user) => Ok(access),
        _ => Err(AppError::NotFound("book")),
    }
}

/// 404 when `food` is the own food of a book this caller cannot see (catalog foods and unknown
/// ids pass: the caller answers those).
pub async fn check_food_visible(
    state: &AppState,
    food: i64,
    user: Option<&AuthUser>,
) -> AppResult<()> {
    let book = fetch_optional::<BookAccess>(
        &state.db,
        &format!("{BOOK_ACCESS_FROM} JOIN foods f ON f.book_id = b.id WHERE f.id = ?"),
        vals![food],
    )
    .await?;
    match book {
        Some(access) if !access.visible_to(user) => Err(AppError::NotFound("food")),
        _ => Ok(()),
    }
}

/// 404 unless the book exists for this caller; 422 for a community book outside 4..=128 foods.
pub async fn check_playable(state: &AppState, id: i64, user: Option<&AuthUser>) -> AppResult<()> {
    let access = check_visible(state, id, user).await?;
    if access.owner_id.is_some() && !(MIN_FOODS..=MAX_FOODS).contains(&access.food_total) {
        return Err(AppError::field(
            "book",
            format!("a community book needs {MIN_FOODS} to {MAX_FOODS} foods to be played"),
        ));
    }
    Ok(())
}

/// Whether a write to this book is a community write the caller may make (`true`), or an
/// official one for an admin (`false`, the catalog handles it). Others get 403, or 404 for a
/// book they cannot see.
pub async fn managed_book(state: &AppState, id: i64, user: &AuthUser) -> AppResult<bool> {
    match book_access(&state.db, id).await? {
        None if user.is_admin => Ok(false),
        None => Err(AppError::Forbidden("administrators only")),
        Some(a) if a.owner_id.is_none() => {
            if user.is_admin {
                Ok(false)
            } else {
                Err(AppError::Forbidden("administrators only"))
            }
        }
        Some(a) if a.can_manage(user) => Ok(true),
        Some(a) if a.visible_to(Some(user)) => Err(AppError::Forbidden(
            "only its owner or an admin may change this book",
        )),
        Some(_) => Err(AppError::NotFound("book")),
    }
}

/// Recomputes a book's food count and whether the community list shows it; call after any
/// change of its foods, visibility or moderation state.
pub async fn refresh_listing(c: &impl ConnectionTrait, id: i64) -> AppResult<()> {
    exec(
        c,
        "UPDATE books SET food_total = (SELECT COUNT(*) FROM book_foods bf WHERE bf.book_id = books.id), \
         listed = CASE WHEN owner_id IS NOT NULL AND visibility = 'public' AND hidden_at IS NULL \
           AND (SELECT COUNT(*) FROM book_foods bf WHERE bf.book_id = books.id) BETWEEN ? AND ? \
           THEN ? ELSE ? END \
         WHERE id = ?",
        vals![MIN_FOODS, MAX_FOODS, true, false, id],
    )
    .await?;
    Ok(())
}

/// Whether the user is a guest (guests comment and report but make no books).
pub async fn is_guest(c: &impl ConnectionTrait, user_id: i64) -> AppResult<bool> {
    #[derive(FromQueryResult)]
    struct Row {
        is_guest: bool,
    }
    Ok(
        fetch_optional::<Row>(c, "SELECT is_guest FROM users WHERE id = ?", vals![user_id])
            .await?
            .is_some_and(|r| r.is_guest),
    )
}
