//! A random food, from the whole catalog, a category or a book.

use rand::RngExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::queries;
use crate::db::fetch_i64;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::vals;

/// Query of `GET /foods/random`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct RandomFoodQuery {
    /// Category name (or id).
    category: Option<String>,
}

/// One uniformly random food ("today's pick"), cheap whatever the size of the catalog.
#[utoipa::path(get, path = "/foods/random", tag = "catalog", params(RandomFoodQuery),
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem)))]
pub(super) async fn random_food(
    state: axum::extract::State<AppState>,
    Query(query): Query<RandomFoodQuery>,
) -> AppResult<Json<Food>> {
    let category_id = super::category_filter(&state, query.category.as_deref()).await?;
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
