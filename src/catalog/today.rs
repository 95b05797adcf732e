//! The food of the day: one food per UTC date, the same for every visitor and replica.
//!
//! The choice is a pure function of the date and the sorted ids of the candidate foods, so it
//! is stable while the catalog is unchanged. Days are grouped into cycles of as many days as
//! there are foods; each cycle walks a fresh seeded shuffle of the foods, so every food gets
//! its day once per cycle and two consecutive days never show the same food.

use axum::extract::State;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::model::Food;
use super::queries;
use crate::db::{Db, fetch_all};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::vals;

/// Query of `GET /foods/today`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TodayQuery {
    /// Category name (or id).
    category: Option<String>,
}

/// Today's date in UTC: the clock of the food of the day.
pub fn today_utc() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The food of the day: one per UTC date, the same for everyone that day (`/foods/random` is
/// the reroll).
#[utoipa::path(get, path = "/foods/today", tag = "catalog", params(TodayQuery),
    responses((status = 200, body = Food), (status = 404, body = crate::error::Problem)))]
pub async fn food_of_the_day(
    State(state): State<AppState>,
    Query(query): Query<TodayQuery>,
) -> AppResult<Json<Food>> {
    let category_id = super::category_filter(&state, query.category.as_deref()).await?;
    let key = format!("today-ids:{}", category_id.unwrap_or(0));
    let ids = match state.cache.get::<Vec<i64>>(&key) {
        Some(ids) => ids,
        None => {
            let generation = state.cache.generation();
            let ids = std::sync::Arc::new(candidates(&state.db, category_id).await?);
            state.cache.put(&key, generation, ids.clone());
            ids
        }
    };
    let Some(id) = pick_for_date(&ids, today_utc(), category_id.unwrap_or(0)) else {
        return Err(AppError::NotFound("food"));
    };
    queries::food(&state.db, &state.storage, id)
        .await?
        .map(Json)
        .ok_or(AppError::NotFound("food"))
}

/// The id of the food of the day on `date` among the current (not retired) foods, of a
/// category when given; `None` when there is none. The date is the caller's clock.
pub async fn food_id_of_day(
    db: &Db,
    category_id: Option<i64>,
    date: time::Date,
) -> Result<Option<i64>, sea_orm::DbErr> {
    let ids = candidates(db, category_id).await?;
    Ok(pick_for_date(&ids, date, category_id.unwrap_or(0)))
}

/// Ids of the foods that may be the food of the day, ascending.
async fn candidates(db: &Db, category_id: Option<i64>) -> Result<Vec<i64>, sea_orm::DbErr> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        id: i64,
    }
    let rows = match category_id {
        None => {
            fetch_all::<Row>(
                db,
                "SELECT id FROM foods WHERE retired_at IS NULL ORDER BY id",
                vec![],
            )
            .await?
        }
        Some(c) => {
            fetch_all::<Row>(
                db,
                "SELECT f.id FROM foods f JOIN food_categories fc ON fc.food_id = f.id \
                 WHERE fc.category_id = ? AND f.retired_at IS NULL ORDER BY f.id",
                vals![c],
            )
            .await?
        }
    };
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The pick of `date` among `ids` (ascending, distinct); `salt` tells lists apart (the
/// category), so that two categories do not move in step.
pub fn pick_for_date(ids: &[i64], date: time::Date, salt: i64) -> Option<i64> {
    let n = ids.len() as i64;
    match n {
        0 => return None,
        1 | 2 => return Some(ids[date.to_julian_day().rem_euclid(n as i32) as usize]),
        _ => {}
    }
    let day = i64::from(date.to_julian_day());
    let (cycle, position) = (day.div_euclid(n), day.rem_euclid(n) as usize);
    let mut order = shuffled(ids, cycle, salt);
    if position <= 1 {
        // The first day of a cycle never repeats the last day of the one before.
        let before = shuffled(ids, cycle - 1, salt);
        if order[0] == before[ids.len() - 1] {
            order.swap(0, 1);
        }
    }
    Some(order[position])
}

/// `ids` in the seeded order of one cycle (Fisher–Yates over SplitMix64).
fn shuffled(ids: &[i64], cycle: i64, salt: i64) -> Vec<i64> {
    let digest = Sha256::digest(format!("ipmat-today:{salt}:{}:{cycle}", ids.len()));
    let mut seed = u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 has 32 bytes"));
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut out = ids.to_vec();
    for i in (1..out.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use time::macros::date;

    #[test]
    fn one_food_per_day_the_same_all_day() {
        let ids: Vec<i64> = (1..=7).collect();
        let day = date!(2026 - 12 - 01);
        assert_eq!(pick_for_date(&ids, day, 0), pick_for_date(&ids, day, 0));
        assert_eq!(pick_for_date(&[], day, 0), None);
        assert_eq!(pick_for_date(&[42], day, 0), Some(42));
    }

    #[test]
    fn consecutive_days_differ_and_every_food_gets_its_day() {
        for n in [2usize, 3, 5, 8, 31, 200] {
            let ids: Vec<i64> = (0..n as i64).map(|i| i * 3 + 10).collect();
            let mut day = date!(2026 - 01 - 01);
            let mut previous = None;
            let mut seen = HashSet::new();
            for _ in 0..(n * 6) {
                let pick = pick_for_date(&ids, day, 0).unwrap();
                assert!(ids.contains(&pick));
                assert_ne!(
                    Some(pick),
                    previous,
                    "{n} foods: {day} repeats the day before"
                );
                previous = Some(pick);
                seen.insert(pick);
                day = day.next_day().unwrap();
            }
            assert_eq!(seen.len(), n, "every one of {n} foods had a day");
        }
    }

    #[test]
    fn a_cycle_shows_each_food_once() {
        let ids: Vec<i64> = (1..=10).collect();
        // Julian day numbers divisible by 10 start a cycle of ten days.
        let start = time::Date::from_julian_day(2_461_000).unwrap();
        let mut day = start;
        let mut picks = HashSet::new();
        for _ in 0..10 {
            picks.insert(pick_for_date(&ids, day, 0).unwrap());
            day = day.next_day().unwrap();
        }
        assert_eq!(picks.len(), 10);
    }

    #[test]
    fn categories_do_not_move_in_step() {
        let ids: Vec<i64> = (1..=20).collect();
        let mut day = date!(2026 - 03 - 01);
        let mut same = 0;
        for _ in 0..60 {
            if pick_for_date(&ids, day, 1) == pick_for_date(&ids, day, 2) {
                same += 1;
            }
            day = day.next_day().unwrap();
        }
        assert!(same < 20, "{same} of 60 days agreed");
    }
}
