//! Community books: making and changing them, their own foods, the community list, and the
//! popularity figures the list sorts by.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sea_orm::{ConnectionTrait, FromQueryResult, Value};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{MAX_FOODS, book_access, is_guest, managed_book, refresh_listing};
use super::limits::{self, BOOKS_PER_DAY, FOODS_PER_DAY};
use crate::accounts::AuthUser;
use crate::catalog::model::{
    Book, Checks, CreateBookRequest, Food, UpdateBookRequest, like_pattern, limits as field,
};
use crate::catalog::{self, conflict, queries};
use crate::db::{self, exec, fetch_all, fetch_i64, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::media::{self, Owner};
use crate::state::AppState;
use crate::vals;

/// Longest description of a community book.
pub const DESCRIPTION_MAX: usize = 200;
const VISIBILITIES: [&str; 3] = ["public", "unlisted", "private"];
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Days that count as "recent" for the popular sort.
pub const POPULAR_DAYS: i64 = 7;

fn check_visibility(checks: &mut Checks, v: &str) -> String {
    if !VISIBILITIES.contains(&v) {
        checks.fail("visibility", "must be public, unlisted or private");
    }
    v.to_owned()
}

/// `POST /books` by a member: a community book they own.
pub async fn create_book(
    state: &AppState,
    user: &AuthUser,
    body: CreateBookRequest,
) -> AppResult<(StatusCode, Response)> {
    if is_guest(&state.db, user.id).await? {
        return Err(AppError::Forbidden(
            "guests cannot make books; choose a username and password first",
        ));
    }
    let mut checks = Checks::default();
    let name = checks.name("name", &body.name, field::BOOK_NAME);
    let description = checks.text(
        "description",
        body.description.as_deref().unwrap_or_default(),
        DESCRIPTION_MAX,
    );
    let visibility = check_visibility(&mut checks, body.visibility.as_deref().unwrap_or("public"));
    let cover_key = body
        .cover_key
        .as_deref()
        .map(|k| checks.image_key("cover_key", k));
    if body.priority != 0 {
        checks.fail("priority", "only official books have a priority");
    }
    if !body.name_en.trim().is_empty() || !body.description_en.trim().is_empty() {
        checks.fail("name_en", "community books are not translated");
    }
    let food_ids = catalog::dedup_ids(&mut checks, &body.food_ids);
    if food_ids.len() as i64 > MAX_FOODS {
        checks.fail("food_ids", format!("at most {MAX_FOODS} foods"));
    }
    checks.finish()?;
    catalog::check_images_exist(state, &[("cover_key", &cover_key)]).await?;
    limits::take(&state.db, BOOKS_PER_DAY, &user.id.to_string()).await?;

    let txn = db::begin(&state.db).await?;
    catalog::check_food_ids(&txn, &food_ids).await?;
    let now = now_ms();
    let id = insert_returning_id(
        &txn,
        "INSERT INTO books (name, cover_key, priority, created_at, updated_at, owner_id, name_scope, visibility, description) \
         VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)",
        vals![name, cover_key, now, now, user.id, user.id, visibility, description],
    )
    .await
    .map_err(|e| conflict(e, "you already have a book with this name"))?;
    queries::set_book_foods(&txn, id, &food_ids).await?;
    refresh_listing(&txn, id).await?;
    txn.commit().await?;
    state.cache.invalidate();
    Ok((StatusCode::CREATED, catalog::fresh_book(state, id).await?))
}

/// `PATCH /books/{id}` of a community book (its owner or an admin).
pub async fn update_book(
    state: &AppState,
    user: &AuthUser,
    id: i64,
    body: UpdateBookRequest,
) -> AppResult<Response> {
    let mut checks = Checks::default();
    let mut sets: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(v) = &body.name {
        values.push(checks.name("name", v, field::BOOK_NAME).into());
        sets.push("name = ?");
    }
    if let Some(v) = &body.description {
        values.push(checks.text("description", v, DESCRIPTION_MAX).into());
        sets.push("description = ?");
    }
    if let Some(v) = &body.visibility {
        values.push(check_visibility(&mut checks, v).into());
        sets.push("visibility = ?");
    }
    if body.priority.is_some() && !user.is_admin {
        checks.fail("priority", "only official books have a priority");
    }
    if body.name_en.is_some() || body.description_en.is_some() {
        checks.fail("name_en", "community books are not translated");
    }
    let mut cover = None;
    if let Some(v) = &body.cover_key {
        let key = v.as_deref().map(|k| checks.image_key("cover_key", k));
        cover = Some(key.clone());
        values.push(key.into());
        sets.push("cover_key = ?");
    }
    checks.finish()?;
    if let Some(cover) = &cover {
        catalog::check_images_exist(state, &[("cover_key", cover)]).await?;
    }
    sets.push("updated_at = ?");
    values.push(now_ms().into());
    values.push(id.into());
    let txn = db::begin(&state.db).await?;
    let old_keys = match cover {
        None => Vec::new(),
        Some(_) => media::image_keys_of(&txn, Owner::Book, id).await?,
    };
    exec(
        &txn,
        &format!("UPDATE books SET {} WHERE id = ?", sets.join(", ")),
        values,
    )
    .await
    .map_err(|e| conflict(e, "you already have a book with this name"))?;
    refresh_listing(&txn, id).await?;
    txn.commit().await?;
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, old_keys).await;
    catalog::fresh_book(state, id).await
}

/// The image keys of a book's cover and its own foods.
async fn own_image_keys(c: &impl ConnectionTrait, book_id: i64) -> AppResult<Vec<String>> {
    #[derive(FromQueryResult)]
    struct Row {
        k: Option<String>,
    }
    let rows = fetch_all::<Row>(
        c,
        "SELECT cover_key AS k FROM books WHERE id = ? \
         UNION ALL SELECT image_key AS k FROM foods WHERE book_id = ? \
         UNION ALL SELECT alt_image_key AS k FROM foods WHERE book_id = ?",
        vals![book_id, book_id, book_id],
    )
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.k).collect())
}

/// Deletes a community book with its own foods, comments and images.
pub async fn delete_book(state: &AppState, id: i64) -> AppResult<()> {
    let keys = own_image_keys(&state.db, id).await?;
    let txn = db::begin(&state.db).await?;
    // Own foods first: their rows refer to the book.
    exec(&txn, "DELETE FROM foods WHERE book_id = ?", vals![id]).await?;
    let deleted = exec(&txn, "DELETE FROM books WHERE id = ?", vals![id]).await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound("book"));
    }
    txn.commit().await?;
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, keys).await;
    Ok(())
}

/// `PUT /books/{id}/foods` of a community book: sets its catalog foods; own foods stay.
pub async fn set_catalog_foods(state: &AppState, id: i64, food_ids: &[i64]) -> AppResult<Response> {
    let mut checks = Checks::default();
    let mut food_ids = catalog::dedup_ids(&mut checks, food_ids);
    checks.finish()?;
    let txn = db::begin(&state.db).await?;
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
    }
    let own: Vec<i64> = fetch_all::<Row>(&txn, "SELECT id FROM foods WHERE book_id = ?", vals![id])
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    // The book's own foods may be listed too (a client sends back what GET answered); they
    // stay whatever the list says.
    food_ids.retain(|f| !own.contains(f));
    catalog::check_food_ids(&txn, &food_ids).await?;
    food_ids.extend(own);
    if food_ids.len() as i64 > MAX_FOODS {
        return Err(AppError::field(
            "food_ids",
            format!("a community book holds at most {MAX_FOODS} foods (its own ones included)"),
        ));
    }
    queries::set_book_foods(&txn, id, &food_ids).await?;
    exec(
        &txn,
        "UPDATE books SET updated_at = ? WHERE id = ?",
        vals![now_ms(), id],
    )
    .await?;
    refresh_listing(&txn, id).await?;
    txn.commit().await?;
    state.cache.invalidate();
    catalog::fresh_book(state, id).await
}

/// Body of `POST /books/{id}/foods`: a food of this book only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOwnFoodRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub details: String,
    pub image_key: String,
    #[serde(default)]
    pub credit: String,
    pub alt_image_key: Option<String>,
    pub alt_credit: Option<String>,
}

/// Adds a food of this book only (never in `/foods` or the question bank).
#[utoipa::path(post, path = "/books/{id}/foods", tag = "community", request_body = AddOwnFoodRequest,
    responses((status = 201, body = Food), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn add_own_food(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(body): Json<AddOwnFoodRequest>,
) -> AppResult<(StatusCode, Json<Food>)> {
    if !managed_book(&state, id, &user).await? {
        return Err(AppError::field(
            "book",
            "official books take catalog foods (PUT /books/{id}/foods)",
        ));
    }
    let mut checks = Checks::default();
    let name = checks.name("name", &body.name, field::FOOD_NAME);
    let description = checks.line("description", &body.description, field::DESCRIPTION);
    let details = checks.text("details", &body.details, field::DETAILS);
    let credit = checks.line("credit", &body.credit, field::CREDIT);
    let alt_credit = body
        .alt_credit
        .as_deref()
        .map(|c| checks.line("alt_credit", c, field::CREDIT));
    let image_key = Some(checks.image_key("image_key", &body.image_key));
    let alt_image_key = body
        .alt_image_key
        .as_deref()
        .map(|k| checks.image_key("alt_image_key", k));
    checks.finish()?;
    catalog::check_images_exist(
        &state,
        &[("image_key", &image_key), ("alt_image_key", &alt_image_key)],
    )
    .await?;
    let access = book_access(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("book"))?;
    if access.food_total >= MAX_FOODS {
        return Err(AppError::field(
            "book",
            format!("a community book holds at most {MAX_FOODS} foods"),
        ));
    }
    if !user.is_admin {
        limits::take(&state.db, FOODS_PER_DAY, &user.id.to_string()).await?;
    }
    let txn = db::begin(&state.db).await?;
    let now = now_ms();
    let food_id = insert_returning_id(
        &txn,
        "INSERT INTO foods (name, description, details, image_key, credit, alt_image_key, alt_credit, created_at, updated_at, book_id, name_scope) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vals![name, description, details, image_key, credit, alt_image_key, alt_credit, now, now, id, id],
    )
    .await
    .map_err(|e| conflict(e, "this book already has a food with this name"))?;
    exec(
        &txn,
        "INSERT INTO book_foods (book_id, food_id) VALUES (?, ?)",
        vals![id, food_id],
    )
    .await?;
    refresh_listing(&txn, id).await?;
    // Two requests at once could both pass the check above: the count decides.
    let total = fetch_i64(&txn, "SELECT food_total FROM books WHERE id = ?", vals![id])
        .await?
        .unwrap_or(0);
    if total > MAX_FOODS {
        return Err(AppError::field(
            "book",
            format!("a community book holds at most {MAX_FOODS} foods"),
        ));
    }
    txn.commit().await?;
    state.cache.invalidate();
    let food = queries::food(&state.db, &state.storage, food_id)
        .await?
        .ok_or(AppError::NotFound("food"))?;
    Ok((StatusCode::CREATED, Json(food)))
}

/// Takes a food out of a community book: an own food is deleted, a catalog food leaves it.
#[utoipa::path(delete, path = "/books/{id}/foods/{food_id}", tag = "community",
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem, description = "an official book (its foods are set with PUT)")),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn remove_book_food(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, food_id)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    if !managed_book(&state, id, &user).await? {
        return Err(AppError::field(
            "book",
            "official books take catalog foods (PUT /books/{id}/foods)",
        ));
    }
    let keys = media::image_keys_of(&state.db, Owner::Food, food_id).await?;
    let txn = db::begin(&state.db).await?;
    let own = exec(
        &txn,
        "DELETE FROM foods WHERE id = ? AND book_id = ?",
        vals![food_id, id],
    )
    .await?
    .rows_affected();
    let member = exec(
        &txn,
        "DELETE FROM book_foods WHERE book_id = ? AND food_id = ?",
        vals![id, food_id],
    )
    .await?
    .rows_affected();
    if own == 0 && member == 0 {
        return Err(AppError::NotFound("food"));
    }
    refresh_listing(&txn, id).await?;
    txn.commit().await?;
    state.cache.invalidate();
    if own > 0 {
        media::release_unreferenced(&state.db, &state.storage, keys).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A page of books.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookPage {
    pub items: Vec<Book>,
    pub next_cursor: Option<String>,
}

/// Query of `GET /community/books`.
/// The orders `GET /community/books?sort=` takes (the API document lists the same).
pub const COMMUNITY_SORTS: &[&str] = &["popular", "new"];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CommunityQuery {
    /// `popular` (finished world cups in the last 7 days, then all time; default) or `new`.
    sort: Option<String>,
    /// Substring of the name, case-insensitive.
    q: Option<String>,
    /// Page size, 1..=200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn page_limit(limit: Option<i64>) -> AppResult<i64> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    Ok(limit)
}

fn bad_cursor() -> AppError {
    AppError::field("cursor", "is not a cursor from this list")
}

/// Numbers of a cursor: `a.b.c`.
fn cursor_numbers(cursor: &str, prefix: char, n: usize) -> AppResult<Vec<i64>> {
    let rest = cursor.strip_prefix(prefix).ok_or_else(bad_cursor)?;
    let numbers: Vec<i64> = rest
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad_cursor())?;
    if numbers.len() != n {
        return Err(bad_cursor());
    }
    Ok(numbers)
}

#[derive(FromQueryResult)]
struct ListRow {
    id: i64,
    finished_week: i64,
    finished_total: i64,
    created_at: i64,
}

/// Public community books with 4 to 128 foods, paged; one index range per page.
#[utoipa::path(get, path = "/community/books", tag = "community", params(CommunityQuery),
    responses((status = 200, body = BookPage), (status = 422, body = crate::error::Problem)))]
pub async fn list_community_books(
    State(state): State<AppState>,
    Query(query): Query<CommunityQuery>,
) -> AppResult<Json<BookPage>> {
    let limit = page_limit(query.limit)?;
    let popular = match query.sort.as_deref().unwrap_or("popular") {
        "popular" => true,
        "new" => false,
        _ => return Err(AppError::field("sort", "must be popular or new")),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 30) {
        return Err(AppError::field("q", "must be at most 30 characters"));
    }
    let mut sql = String::from(
        "SELECT id, finished_week, finished_total, created_at FROM books WHERE listed = ?",
    );
    let mut values: Vec<Value> = vals![true];
    if let Some(q) = q {
        sql.push_str(" AND LOWER(name) LIKE ? ESCAPE '!'");
        values.push(like_pattern(q).into());
    }
    if let Some(cursor) = query.cursor.as_deref().filter(|c| !c.is_empty()) {
        if popular {
            let n = cursor_numbers(cursor, 'p', 3)?;
            sql.push_str(
                " AND (finished_week < ? OR (finished_week = ? AND (finished_total < ? \
                 OR (finished_total = ? AND id < ?))))",
            );
            values.extend(vals![n[0], n[0], n[1], n[1], n[2]]);
        } else {
            let n = cursor_numbers(cursor, 'n', 2)?;
            sql.push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
            values.extend(vals![n[0], n[0], n[1]]);
        }
    }
    if popular {
        sql.push_str(" ORDER BY listed DESC, finished_week DESC, finished_total DESC, id DESC");
    } else {
        sql.push_str(" ORDER BY listed DESC, created_at DESC, id DESC");
    }
    sql.push_str(" LIMIT ?");
    values.push((limit + 1).into());
    let mut rows = fetch_all::<ListRow>(&state.db, &sql, values).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            if popular {
                format!("p{}.{}.{}", r.finished_week, r.finished_total, r.id)
            } else {
                format!("n{}.{}", r.created_at, r.id)
            }
        })
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = books_in_order(&state, &ids).await?;
    Ok(Json(BookPage { items, next_cursor }))
}

async fn books_in_order(state: &AppState, ids: &[i64]) -> AppResult<Vec<Book>> {
    let mut by_id: std::collections::HashMap<i64, Book> =
        queries::books_by_ids(&state.db, &state.storage, ids)
            .await?
            .into_iter()
            .map(|b| (b.id, b))
            .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Query of `GET /me/books`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MyBooksQuery {
    /// Page size, 1..=200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// My community books, newest first, whatever their visibility.
#[utoipa::path(get, path = "/me/books", tag = "community", params(MyBooksQuery),
    responses((status = 200, body = BookPage), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub async fn list_my_books(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<MyBooksQuery>,
) -> AppResult<Json<BookPage>> {
    let limit = page_limit(query.limit)?;
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => i64::MAX,
        Some(c) => c.parse().map_err(|_| bad_cursor())?,
    };
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
    }
    let mut rows = fetch_all::<Row>(
        &state.db,
        "SELECT id FROM books WHERE owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        vals![user.id, before, limit + 1],
    )
    .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = books_in_order(&state, &ids).await?;
    Ok(Json(BookPage { items, next_cursor }))
}

fn today() -> i64 {
    now_ms().div_euclid(DAY_MS)
}

/// Counts a finished world cup in its book's popularity, inside the finishing transaction.
pub async fn record_finish(c: &impl ConnectionTrait, book_id: i64) -> Result<(), sea_orm::DbErr> {
    let insert = "INSERT INTO book_finish_days (book_id, day, finished) VALUES (?, ?, 1)";
    let sql = match c.get_database_backend() {
        sea_orm::DbBackend::MySql => {
            format!("{insert} ON DUPLICATE KEY UPDATE finished = finished + 1")
        }
        _ => format!(
            "{insert} ON CONFLICT (book_id, day) DO UPDATE SET finished = book_finish_days.finished + 1"
        ),
    };
    // The book row first (it is the lock that queues finishes of one book), then its day.
    exec(
        c,
        "UPDATE books SET finished_week = finished_week + 1, finished_total = finished_total + 1 WHERE id = ?",
        vals![book_id],
    )
    .await?;
    exec(c, &sql, vals![book_id, today()]).await?;
    Ok(())
}

/// Lets finishes older than [`POPULAR_DAYS`] leave the weekly figures (periodic sweep): the
/// books with expired days get their figure recomputed from the days that remain.
pub async fn sweep_popularity(db: &db::Db) -> Result<u64, sea_orm::DbErr> {
    let cutoff = today() - POPULAR_DAYS + 1;
    let changed = exec(
        db,
        "UPDATE books SET finished_week = (SELECT COALESCE(SUM(d.finished), 0) FROM book_finish_days d \
           WHERE d.book_id = books.id AND d.day >= ?) \
         WHERE id IN (SELECT book_id FROM book_finish_days WHERE day < ?)",
        vals![cutoff, cutoff],
    )
    .await?
    .rows_affected();
    exec(
        db,
        "DELETE FROM book_finish_days WHERE day < ?",
        vals![cutoff],
    )
    .await?;
    Ok(changed)
}
