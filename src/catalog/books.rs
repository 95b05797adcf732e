//! Food books: the list, one book, and the admin's writes (the book and its foods).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::model::*;
use super::{cached, check_food_ids, check_images_exist, conflict, dedup_ids, queries};
use crate::db::{exec, fetch_i64, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::media::{self, Owner};
use crate::state::AppState;
use crate::vals;

/// All food books by priority, then id.
#[utoipa::path(get, path = "/books", tag = "catalog", responses((status = 200, body = Vec<Book>)))]
pub(super) async fn list_books(state: axum::extract::State<AppState>) -> AppResult<Response> {
    cached(&state, "books", async {
        Ok(Some(queries::books(&state.db, &state.storage).await?))
    })
    .await
}

/// One food book with its foods by name.
#[utoipa::path(get, path = "/books/{id}", tag = "catalog",
    responses((status = 200, body = BookDetail), (status = 404, body = crate::error::Problem)))]
pub(super) async fn get_book(
    state: axum::extract::State<AppState>,
    user: crate::accounts::MaybeUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    crate::community::check_visible(&state, id, user.0.as_ref()).await?;
    cached(&state, &format!("book:{id}"), book_detail(&state, id)).await
}

pub(super) async fn book_detail(state: &AppState, id: i64) -> AppResult<Option<BookDetail>> {
    let Some(book) = queries::book(&state.db, &state.storage, id).await? else {
        return Ok(None);
    };
    let foods = queries::book_foods(&state.db, &state.storage, id).await?;
    Ok(Some(BookDetail { book, foods }))
}

/// Creates a food book.
#[utoipa::path(post, path = "/books", tag = "catalog", request_body = CreateBookRequest,
    responses((status = 201, body = BookDetail), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn create_book(
    state: axum::extract::State<AppState>,
    user: crate::accounts::AuthUser,
    Json(body): Json<CreateBookRequest>,
) -> AppResult<(StatusCode, Response)> {
    if !user.is_admin {
        return crate::community::create_book(&state, &user, body).await;
    }
    let mut checks = Checks::default();
    let name = checks.name("name", &body.name, limits::BOOK_NAME);
    let name_en = checks.line("name_en", &body.name_en, limits::BOOK_NAME_EN);
    let description = checks.text(
        "description",
        body.description.as_deref().unwrap_or(""),
        crate::community::books::DESCRIPTION_MAX,
    );
    let description_en = checks.text(
        "description_en",
        &body.description_en,
        limits::BOOK_DESCRIPTION_EN,
    );
    let cover_key = body
        .cover_key
        .as_deref()
        .map(|k| checks.image_key("cover_key", k));
    let food_ids = dedup_ids(&mut checks, &body.food_ids);
    checks.finish()?;
    check_images_exist(&state, &[("cover_key", &cover_key)]).await?;

    let txn = crate::db::begin(&state.db).await?;
    check_food_ids(&txn, &food_ids).await?;
    let now = now_ms();
    let id = insert_returning_id(
        &txn,
        "INSERT INTO books (name, name_en, description, description_en, cover_key, priority, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        vals![name, name_en, description, description_en, cover_key, body.priority, now, now],
    )
    .await
    .map_err(|e| conflict(e, "a book with this name already exists"))?;
    queries::set_book_foods(&txn, id, &food_ids).await?;
    txn.commit().await?;
    state.cache.invalidate();
    let book = crate::lang::with_translations(fresh_book(&state, id)).await?;
    Ok((StatusCode::CREATED, book))
}

/// The book with its foods as `GET /books/{id}` answers it.
pub async fn fresh_book(state: &AppState, id: i64) -> AppResult<Response> {
    let detail = book_detail(state, id)
        .await?
        .ok_or(AppError::NotFound("book"))?;
    Ok(Json(detail).into_response())
}

/// Changes a food book's name, priority or cover.
#[utoipa::path(patch, path = "/books/{id}", tag = "catalog", request_body = UpdateBookRequest,
    responses((status = 200, body = BookDetail), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn update_book(
    state: axum::extract::State<AppState>,
    user: crate::accounts::AuthUser,
    Path(id): Path<i64>,
    Json(body): Json<UpdateBookRequest>,
) -> AppResult<Response> {
    if crate::community::managed_book(&state, id, &user).await? {
        return crate::community::update_book(&state, &user, id, body).await;
    }
    let mut checks = Checks::default();
    let mut sets: Vec<&str> = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(v) = &body.name {
        values.push(checks.name("name", v, limits::BOOK_NAME).into());
        sets.push("name = ?");
    }
    if let Some(v) = &body.name_en {
        values.push(checks.line("name_en", v, limits::BOOK_NAME_EN).into());
        sets.push("name_en = ?");
    }
    if let Some(v) = &body.description {
        let max = crate::community::books::DESCRIPTION_MAX;
        values.push(checks.text("description", v, max).into());
        sets.push("description = ?");
    }
    if let Some(v) = &body.description_en {
        let max = limits::BOOK_DESCRIPTION_EN;
        values.push(checks.text("description_en", v, max).into());
        sets.push("description_en = ?");
    }
    if let Some(v) = body.priority {
        values.push(v.into());
        sets.push("priority = ?");
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
        check_images_exist(&state, &[("cover_key", cover)]).await?;
    }
    sets.push("updated_at = ?");
    values.push(now_ms().into());
    values.push(id.into());
    let txn = crate::db::begin(&state.db).await?;
    if fetch_i64(&txn, "SELECT id FROM books WHERE id = ?", vals![id])
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("book"));
    }
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
    .map_err(|e| conflict(e, "a book with this name already exists"))?;
    txn.commit().await?;
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, old_keys).await;
    crate::lang::with_translations(fresh_book(&state, id)).await
}

/// Deletes a food book (its foods stay).
#[utoipa::path(delete, path = "/books/{id}", tag = "catalog", responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn delete_book(
    state: axum::extract::State<AppState>,
    user: crate::accounts::AuthUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    if crate::community::managed_book(&state, id, &user).await? {
        crate::community::delete_book(&state, id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let old_keys = media::image_keys_of(&state.db, Owner::Book, id).await?;
    let deleted = exec(&state.db, "DELETE FROM books WHERE id = ?", vals![id]).await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound("book"));
    }
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, old_keys).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the member foods of a book.
#[utoipa::path(put, path = "/books/{id}/foods", tag = "catalog", request_body = SetBookFoodsRequest,
    responses((status = 200, body = BookDetail), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn set_book_foods(
    state: axum::extract::State<AppState>,
    user: crate::accounts::AuthUser,
    Path(id): Path<i64>,
    Json(body): Json<SetBookFoodsRequest>,
) -> AppResult<Response> {
    if crate::community::managed_book(&state, id, &user).await? {
        return crate::community::set_catalog_foods(&state, id, &body.food_ids).await;
    }
    let mut checks = Checks::default();
    let food_ids = dedup_ids(&mut checks, &body.food_ids);
    checks.finish()?;
    let txn = crate::db::begin(&state.db).await?;
    if fetch_i64(&txn, "SELECT id FROM books WHERE id = ?", vals![id])
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("book"));
    }
    check_food_ids(&txn, &food_ids).await?;
    queries::set_book_foods(&txn, id, &food_ids).await?;
    exec(
        &txn,
        "UPDATE books SET updated_at = ? WHERE id = ?",
        vals![now_ms(), id],
    )
    .await?;
    txn.commit().await?;
    state.cache.invalidate();
    crate::lang::with_translations(fresh_book(&state, id)).await
}
