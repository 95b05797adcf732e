//! Foods, categories and food books: public reads and admin writes.

pub mod cache;
pub mod model;
pub mod preview;
pub mod queries;
pub mod today;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::model::*;
use crate::accounts::Admin;
use crate::db::{self, exec, fetch_i64, insert_returning_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::media::{self, Owner};
use crate::state::AppState;
use crate::vals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
        .routes(routes!(list_foods, create_food))
        .routes(routes!(random_food))
        .routes(routes!(today::food_of_the_day))
        .routes(routes!(get_food, update_food, delete_food))
        .routes(routes!(list_books, create_book))
        .routes(routes!(get_book, update_book, delete_book))
        .routes(routes!(set_book_foods))
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

/// Query of `GET /foods`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListFoodsQuery {
    /// Category name (or id).
    category: Option<String>,
    /// Substring of the name, case-insensitive.
    q: Option<String>,
    /// Page size, 1..=200 (default 50).
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Paged foods by name.
#[utoipa::path(get, path = "/foods", tag = "catalog", params(ListFoodsQuery),
    responses((status = 200, body = FoodPage), (status = 422, body = crate::error::Problem)))]
async fn list_foods(
    state: axum::extract::State<AppState>,
    Query(query): Query<ListFoodsQuery>,
) -> AppResult<Json<FoodPage>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            decode_cursor(cursor)
                .ok_or_else(|| AppError::field("cursor", "is not a cursor from this list"))?,
        ),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 50) {
        return Err(AppError::field("q", "must be at most 50 characters"));
    }
    let category_id = match query.category.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => match queries::category_id(&state.db, c).await? {
            Some(id) => Some(id),
            None => {
                return Ok(Json(FoodPage {
                    items: vec![],
                    next_cursor: None,
                }));
            }
        },
    };
    let like = q.map(like_pattern);
    let mut rows = queries::food_page(
        &state.db,
        category_id,
        like.as_deref(),
        after.as_deref(),
        limit + 1,
    )
    .await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(&r.name))
    } else {
        None
    };
    let items = queries::foods_with_categories(&state.db, &state.storage, rows).await?;
    Ok(Json(FoodPage { items, next_cursor }))
}

fn encode_cursor(name: &str) -> String {
    hex::encode(name.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    hex::decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Query of `GET /foods/random`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct RandomFoodQuery {
    /// Category name (or id).
    category: Option<String>,
}

/// One uniformly random food ("today's pick"), cheap whatever the size of the catalog.
#[utoipa::path(get, path = "/foods/random", tag = "catalog", params(RandomFoodQuery),
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem)))]
async fn random_food(
    state: axum::extract::State<AppState>,
    Query(query): Query<RandomFoodQuery>,
) -> AppResult<Json<Food>> {
    let category_id = match query.category.as_deref().filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(c) => Some(
            queries::category_id(&state.db, c)
                .await?
                .ok_or(AppError::NotFound("category"))?,
        ),
    };
    let id =
        match category_id {
            None => {
                random_member(
                    &state.db,
                    "foods",
                    "id",
                    "retired_at IS NULL AND book_id IS NULL",
                    vec![],
                )
                .await?
            }
            Some(c) => random_member(
                &state.db,
                "food_categories",
                "food_id",
                "category_id = ? AND food_id IN (SELECT id FROM foods WHERE retired_at IS NULL)",
                vals![c],
            )
            .await?,
        };
    if let Some(id) = id
        && let Some(food) = queries::food(&state.db, &state.storage, id).await?
    {
        return Ok(Json(food));
    }
    Err(AppError::NotFound("food"))
}

/// A uniformly random `column` value among the rows of `table` matching `filter`.
///
/// First by rejection sampling: draw a value between the smallest and the largest (two index
/// look-ups) and keep it if a row has it, which is uniform over the existing values and costs
/// O(1) per try whatever the table size. When values are too sparse for that to hit within a
/// few tries, count the rows and read one at a random offset instead (also uniform).
async fn random_member(
    db: &crate::db::Db,
    table: &str,
    column: &str,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> AppResult<Option<i64>> {
    #[derive(sea_orm::FromQueryResult)]
    struct Range {
        low: Option<i64>,
        high: Option<i64>,
    }
    let range = crate::db::fetch_optional::<Range>(
        db,
        &format!("SELECT MIN({column}) AS low, MAX({column}) AS high FROM {table} WHERE {filter}"),
        values.clone(),
    )
    .await?;
    let Some(Range {
        low: Some(low),
        high: Some(high),
    }) = range
    else {
        return Ok(None);
    };
    let probe = format!("SELECT {column} FROM {table} WHERE {filter} AND {column} = ?");
    for _ in 0..16 {
        let candidate = rand::rng().random_range(low..=high);
        let mut probe_values = values.clone();
        probe_values.push(candidate.into());
        if let Some(id) = fetch_i64(db, &probe, probe_values).await? {
            return Ok(Some(id));
        }
    }
    let count = fetch_i64(
        db,
        &format!("SELECT COUNT(*) FROM {table} WHERE {filter}"),
        values.clone(),
    )
    .await?
    .unwrap_or(0);
    if count == 0 {
        return Ok(None);
    }
    let mut pick_values = values;
    pick_values.push(rand::rng().random_range(0..count).into());
    let pick =
        format!("SELECT {column} FROM {table} WHERE {filter} ORDER BY {column} LIMIT 1 OFFSET ?");
    Ok(fetch_i64(db, &pick, pick_values).await?)
}

/// One food.
#[utoipa::path(get, path = "/foods/{id}", tag = "catalog",
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem)))]
async fn get_food(
    state: axum::extract::State<AppState>,
    user: crate::accounts::MaybeUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Food>> {
    crate::community::check_food_visible(&state, id, user.0.as_ref()).await?;
    queries::food(&state.db, &state.storage, id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("food"))
}

/// Creates a food.
#[utoipa::path(post, path = "/foods", tag = "catalog", request_body = CreateFoodRequest,
    responses((status = 201, body = Food), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn create_food(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Json(body): Json<CreateFoodRequest>,
) -> AppResult<(StatusCode, Json<Food>)> {
    let mut checks = Checks::default();
    let name = checks.name("name", &body.name, limits::FOOD_NAME);
    let description = checks.line("description", &body.description, limits::DESCRIPTION);
    let details = checks.text("details", &body.details, limits::DETAILS);
    let name_en = checks.line("name_en", &body.name_en, limits::FOOD_NAME_EN);
    let description_en = checks.line(
        "description_en",
        &body.description_en,
        limits::DESCRIPTION_EN,
    );
    let details_en = checks.text("details_en", &body.details_en, limits::DETAILS_EN);
    let credit = checks.line("credit", &body.credit, limits::CREDIT);
    let alt_credit = body
        .alt_credit
        .as_deref()
        .map(|c| checks.line("alt_credit", c, limits::CREDIT));
    let image_key = body
        .image_key
        .as_deref()
        .map(|k| checks.image_key("image_key", k));
    let alt_image_key = body
        .alt_image_key
        .as_deref()
        .map(|k| checks.image_key("alt_image_key", k));
    let categories = dedup_names(&mut checks, &body.categories);
    checks.finish()?;
    check_images_exist(
        &state,
        &[("image_key", &image_key), ("alt_image_key", &alt_image_key)],
    )
    .await?;

    let txn = crate::db::begin(&state.db).await?;
    let category_ids = queries::category_ids(&txn, &categories)
        .await?
        .map_err(|missing| {
            AppError::field(
                "categories",
                format!("unknown categories: {}", missing.join(", ")),
            )
        })?;
    let now = now_ms();
    let id = insert_returning_id(
        &txn,
        "INSERT INTO foods (name, description, details, name_en, description_en, details_en, \
         image_key, credit, alt_image_key, alt_credit, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vals![
            name,
            description,
            details,
            name_en,
            description_en,
            details_en,
            image_key,
            credit,
            alt_image_key,
            alt_credit,
            now,
            now
        ],
    )
    .await
    .map_err(|e| conflict(e, "a food with this name already exists"))?;
    queries::set_food_categories(&txn, id, &category_ids).await?;
    txn.commit().await?;
    state.cache.invalidate();
    let food = crate::lang::with_translations(queries::food(&state.db, &state.storage, id))
        .await?
        .ok_or(AppError::NotFound("food"))?;
    Ok((StatusCode::CREATED, Json(food)))
}

/// Changes some fields of a food.
#[utoipa::path(patch, path = "/foods/{id}", tag = "catalog", request_body = UpdateFoodRequest,
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn update_food(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(body): Json<UpdateFoodRequest>,
) -> AppResult<Json<Food>> {
    let mut checks = Checks::default();
    let mut sets: Vec<&str> = Vec::new();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    if let Some(v) = &body.name {
        values.push(checks.name("name", v, limits::FOOD_NAME).into());
        sets.push("name = ?");
    }
    if let Some(v) = &body.description {
        values.push(checks.line("description", v, limits::DESCRIPTION).into());
        sets.push("description = ?");
    }
    if let Some(v) = &body.details {
        values.push(checks.text("details", v, limits::DETAILS).into());
        sets.push("details = ?");
    }
    if let Some(v) = &body.name_en {
        values.push(checks.line("name_en", v, limits::FOOD_NAME_EN).into());
        sets.push("name_en = ?");
    }
    if let Some(v) = &body.description_en {
        values.push(
            checks
                .line("description_en", v, limits::DESCRIPTION_EN)
                .into(),
        );
        sets.push("description_en = ?");
    }
    if let Some(v) = &body.details_en {
        values.push(checks.text("details_en", v, limits::DETAILS_EN).into());
        sets.push("details_en = ?");
    }
    if let Some(v) = &body.credit {
        values.push(checks.line("credit", v, limits::CREDIT).into());
        sets.push("credit = ?");
    }
    if let Some(v) = &body.alt_credit {
        values.push(
            v.as_deref()
                .map(|c| checks.line("alt_credit", c, limits::CREDIT))
                .into(),
        );
        sets.push("alt_credit = ?");
    }
    let mut new_keys = Vec::new();
    if let Some(v) = &body.image_key {
        let key = v.as_deref().map(|k| checks.image_key("image_key", k));
        new_keys.push(("image_key", key.clone()));
        values.push(key.into());
        sets.push("image_key = ?");
    }
    if let Some(v) = &body.alt_image_key {
        let key = v.as_deref().map(|k| checks.image_key("alt_image_key", k));
        new_keys.push(("alt_image_key", key.clone()));
        values.push(key.into());
        sets.push("alt_image_key = ?");
    }
    let categories = body
        .categories
        .as_ref()
        .map(|c| dedup_names(&mut checks, c));
    checks.finish()?;
    let key_checks: Vec<(&str, &Option<String>)> = new_keys.iter().map(|(f, k)| (*f, k)).collect();
    check_images_exist(&state, &key_checks).await?;

    let txn = crate::db::begin(&state.db).await?;
    let exists = fetch_i64(&txn, "SELECT id FROM foods WHERE id = ?", vals![id]).await?;
    if exists.is_none() {
        return Err(AppError::NotFound("food"));
    }
    let old_keys = if new_keys.is_empty() {
        Vec::new()
    } else {
        media::image_keys_of(&txn, Owner::Food, id).await?
    };
    sets.push("updated_at = ?");
    values.push(now_ms().into());
    values.push(id.into());
    exec(
        &txn,
        &format!("UPDATE foods SET {} WHERE id = ?", sets.join(", ")),
        values,
    )
    .await
    .map_err(|e| conflict(e, "a food with this name already exists"))?;
    if let Some(categories) = categories {
        let ids = queries::category_ids(&txn, &categories)
            .await?
            .map_err(|missing| {
                AppError::field(
                    "categories",
                    format!("unknown categories: {}", missing.join(", ")),
                )
            })?;
        queries::set_food_categories(&txn, id, &ids).await?;
    }
    txn.commit().await?;
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, old_keys).await;
    let food = crate::lang::with_translations(queries::food(&state.db, &state.storage, id))
        .await?
        .ok_or(AppError::NotFound("food"))?;
    Ok(Json(food))
}

/// Removes a food from the catalog.
///
/// A food that any exam or world cup uses is **retired**, not deleted: it disappears from
/// food lists, searches, `/foods/random`, book member lists (so new world cups never draw
/// it) and the quiz's question bank, but it keeps its id, name and pictures, and is still
/// shown wherever it was used (finished exams, attempts, scoreboards, world cups, rankings),
/// so no submitted answer, score or question ever changes. A food nothing uses is deleted
/// for good, with its pictures. Either way the answer is 204; retiring again is a no-op.
#[utoipa::path(delete, path = "/foods/{id}", tag = "catalog", responses((status = 204, description = "deleted, or retired when an exam or world cup uses it"), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn delete_food(
    state: axum::extract::State<AppState>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    if fetch_i64(&state.db, "SELECT id FROM foods WHERE id = ?", vals![id])
        .await?
        .is_none()
    {
        return Err(AppError::NotFound("food"));
    }
    if queries::food_is_used(&state.db, id).await? {
        exec(
            &state.db,
            "UPDATE foods SET retired_at = ? WHERE id = ? AND retired_at IS NULL",
            vals![crate::db::now_ms(), id],
        )
        .await?;
        state.cache.invalidate();
        return Ok(StatusCode::NO_CONTENT);
    }
    let old_keys = media::image_keys_of(&state.db, Owner::Food, id).await?;
    let deleted = exec(&state.db, "DELETE FROM foods WHERE id = ?", vals![id]).await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound("food"));
    }
    state.cache.invalidate();
    media::release_unreferenced(&state.db, &state.storage, old_keys).await;
    Ok(StatusCode::NO_CONTENT)
}

/// All food books by priority, then id.
#[utoipa::path(get, path = "/books", tag = "catalog", responses((status = 200, body = Vec<Book>)))]
async fn list_books(state: axum::extract::State<AppState>) -> AppResult<Response> {
    cached(&state, "books", async {
        Ok(Some(queries::books(&state.db, &state.storage).await?))
    })
    .await
}

/// One food book with its foods by name.
#[utoipa::path(get, path = "/books/{id}", tag = "catalog",
    responses((status = 200, body = BookDetail), (status = 404, body = crate::error::Problem)))]
async fn get_book(
    state: axum::extract::State<AppState>,
    user: crate::accounts::MaybeUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    crate::community::check_visible(&state, id, user.0.as_ref()).await?;
    cached(&state, &format!("book:{id}"), book_detail(&state, id)).await
}

async fn book_detail(state: &AppState, id: i64) -> AppResult<Option<BookDetail>> {
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
async fn create_book(
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
async fn update_book(
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
async fn delete_book(
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
async fn set_book_foods(
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
