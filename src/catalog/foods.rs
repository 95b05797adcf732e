//! Foods: the list (filters, search, cursor pages), one food, and the admin's writes.

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::{check_images_exist, conflict, dedup_names, queries};
use crate::accounts::Admin;
use crate::db::{exec, fetch_i64, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::media::{self, Owner};
use crate::state::AppState;
use crate::vals;

/// Query of `GET /foods`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct ListFoodsQuery {
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
pub(super) async fn list_foods(
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

/// One food.
#[utoipa::path(get, path = "/foods/{id}", tag = "catalog",
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem)))]
pub(super) async fn get_food(
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

/// Whether a visitor (no account) finds the food `id`: the status of its web page, 404 exactly
/// when `GET /foods/{id}` is 404 for a visitor.
pub async fn food_is_public(state: &AppState, id: i64) -> AppResult<bool> {
    match crate::community::check_food_visible(state, id, None).await {
        Err(AppError::NotFound(_)) => return Ok(false),
        other => other?,
    }
    Ok(queries::food(&state.db, &state.storage, id)
        .await?
        .is_some())
}

/// Creates a food.
#[utoipa::path(post, path = "/foods", tag = "catalog", request_body = CreateFoodRequest,
    responses((status = 201, body = Food), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn create_food(
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
    let row = queries::FoodRow {
        id: 0,
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
    };
    let id = queries::insert_food(&txn, &row)
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
pub(super) async fn update_food(
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
pub(super) async fn delete_food(
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
