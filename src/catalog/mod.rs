//! Foods, categories and food books: public reads and admin writes.

mod books;
pub mod cache;
mod foods;
pub mod model;
pub mod preview;
pub mod queries;
mod random;
pub mod today;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::model::*;
use crate::accounts::Admin;
use crate::db::{self, exec, insert_returning_id};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use crate::vals;

pub use books::fresh_book;
pub use foods::food_is_public;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
        .routes(routes!(foods::list_foods, foods::create_food))
        .routes(routes!(random::random_food))
        .routes(routes!(today::food_of_the_day))
        .routes(routes!(
            foods::get_food,
            foods::update_food,
            foods::delete_food
        ))
        .routes(routes!(books::list_books, books::create_book))
        .routes(routes!(
            books::get_book,
            books::update_book,
            books::delete_book
        ))
        .routes(routes!(books::set_book_foods))
}

/// A JSON answer from an already serialized body.
pub fn json_bytes(body: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Serves `key` from the response cache, computing it with `load` on a miss.
async fn cached<T: serde::Serialize>(
    state: &AppState,
    key: &str,
    load: impl Future<Output = AppResult<Option<T>>>,
) -> AppResult<Response> {
    if let Some(body) = state.cache.get::<Bytes>(key) {
        return Ok(json_bytes((*body).clone()));
    }
    let generation = state.cache.generation();
    let value = load.await?.ok_or(AppError::NotFound("book"))?;
    let body = Bytes::from(serde_json::to_vec(&value).map_err(anyhow::Error::from)?);
    state
        .cache
        .put(key, generation, std::sync::Arc::new(body.clone()));
    Ok(json_bytes(body))
}

/// The category a `?category=` filter names (Korean or English name), `None` when it is absent
/// or blank; 404 when it names no category.
async fn category_filter(state: &AppState, category: Option<&str>) -> AppResult<Option<i64>> {
    let Some(name) = category.filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    let id = queries::category_id(&state.db, name).await?;
    id.map(Some).ok_or(AppError::NotFound("category"))
}

/// All categories by name.
#[utoipa::path(get, path = "/categories", tag = "catalog", responses((status = 200, body = Vec<Category>)))]
async fn list_categories(state: axum::extract::State<AppState>) -> AppResult<Json<Vec<Category>>> {
    Ok(Json(queries::categories(&state.db).await?))
}

/// Creates a category.
#[utoipa::path(post, path = "/categories", tag = "catalog", request_body = CreateCategoryRequest,
    responses((status = 201, body = Category), (status = 409, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn create_category(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Json(body): Json<CreateCategoryRequest>,
) -> AppResult<(StatusCode, Json<Category>)> {
    let mut checks = Checks::default();
    let name = checks.name("name", &body.name, limits::CATEGORY_NAME);
    let name_en = checks.line("name_en", &body.name_en, limits::CATEGORY_NAME_EN);
    checks.finish()?;
    let id = insert_returning_id(
        &state.db,
        "INSERT INTO categories (name, name_en) VALUES (?, ?)",
        vals![name.clone(), name_en.clone()],
    )
    .await
    .map_err(|e| conflict(e, "a category with this name already exists"))?;
    state.cache.invalidate();
    let category =
        crate::lang::with_translations(async { queries::category(id, name, name_en, 0) }).await;
    Ok((StatusCode::CREATED, Json(category)))
}

/// Renames a category, in Korean or English.
#[utoipa::path(patch, path = "/categories/{id}", tag = "catalog", request_body = UpdateCategoryRequest,
    responses((status = 200, body = Category), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn update_category(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(body): Json<UpdateCategoryRequest>,
) -> AppResult<Json<Category>> {
    let mut checks = Checks::default();
    let mut sets: Vec<&str> = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(v) = &body.name {
        values.push(checks.name("name", v, limits::CATEGORY_NAME).into());
        sets.push("name = ?");
    }
    if let Some(v) = &body.name_en {
        values.push(checks.line("name_en", v, limits::CATEGORY_NAME_EN).into());
        sets.push("name_en = ?");
    }
    checks.finish()?;
    if !sets.is_empty() {
        values.push(id.into());
        exec(
            &state.db,
            &format!("UPDATE categories SET {} WHERE id = ?", sets.join(", ")),
            values,
        )
        .await
        .map_err(|e| conflict(e, "a category with this name already exists"))?;
        state.cache.invalidate();
    }
    crate::lang::with_translations(queries::categories(&state.db))
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(Json)
        .ok_or(AppError::NotFound("category"))
}

/// Deletes a category (its foods stay).
#[utoipa::path(delete, path = "/categories/{id}", tag = "catalog", responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn delete_category(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let txn = crate::db::begin(&state.db).await?;
    exec(
        &txn,
        "DELETE FROM food_categories WHERE category_id = ?",
        vals![id],
    )
    .await?;
    let deleted = exec(&txn, "DELETE FROM categories WHERE id = ?", vals![id]).await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound("category"));
    }
    txn.commit().await?;
    state.cache.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

fn dedup_names(checks: &mut Checks, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = checks.name("categories", n, limits::CATEGORY_NAME);
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.len() > 20 {
        checks.fail("categories", "at most 20 categories");
    }
    out
}

/// Ids without repeats, refused past [`MAX_BOOK_FOODS`].
pub fn dedup_ids(checks: &mut Checks, ids: &[i64]) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    let out: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if out.len() > MAX_BOOK_FOODS {
        checks.fail("food_ids", format!("at most {MAX_BOOK_FOODS} foods"));
    }
    out
}

/// Refuses ids that name no catalog food.
pub async fn check_food_ids(c: &impl sea_orm::ConnectionTrait, ids: &[i64]) -> AppResult<()> {
    let missing = queries::missing_food_ids(c, ids).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(i64::to_string).collect();
    Err(AppError::field(
        "food_ids",
        format!("unknown foods: {}", list.join(", ")),
    ))
}

/// Refuses image keys that name no stored image.
pub async fn check_images_exist(
    state: &AppState,
    keys: &[(&str, &Option<String>)],
) -> AppResult<()> {
    let mut checks = Checks::default();
    for (field, key) in keys {
        if let Some(key) = key
            && !state
                .storage
                .exists(key)
                .await
                .map_err(AppError::Unavailable)?
        {
            checks.fail(field, "no stored image has this key");
        }
    }
    checks.finish()
}

/// A unique violation becomes 409, a dangling foreign key 422, anything else passes through.
pub fn conflict(e: sea_orm::DbErr, message: &str) -> AppError {
    if db::is_unique_violation(&e) {
        AppError::Conflict(message.to_owned())
    } else if db::is_foreign_key_violation(&e) {
        AppError::BadRequest("a referenced item does not exist".to_owned())
    } else {
        e.into()
    }
}
