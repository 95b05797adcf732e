//! The question bank: random draws of pairs and pairs with their foods, each with a fixed
//! number of statements whatever the size of the bank.

use std::collections::{HashMap, HashSet};

use rand::RngExt;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::model::{Pair, PairFoods};
use crate::catalog::model::Food;
use crate::catalog::queries::foods_by_ids;
use crate::db::{fetch_all, fetch_optional, placeholders};
use crate::media::Storage;

/// Below this span of pair ids, drawing random pairs simply reads every id.
const FULL_READ_SPAN: i64 = 4096;
/// Rounds of drawing random ids in the id range before falling back to reading every id.
const DRAW_ROUNDS: usize = 4;

#[derive(FromQueryResult)]
struct IdRow {
    id: i64,
}

/// A pair whose foods are both in the catalog (not retired): only these are drawn.
pub(crate) const LIVE_PAIR: &str = "NOT EXISTS (SELECT 1 FROM foods rf WHERE rf.id IN (quiz_pairs.left_id, \
     quiz_pairs.right_id) AND rf.retired_at IS NOT NULL)";

/// Up to `count` distinct pair ids drawn uniformly at random, in random order.
///
/// One statement gives the count and the id range. A small range is read whole. A large one
/// is sampled: random ids in the range are looked up with one `IN (…)` statement per round
/// and the ones that exist kept in draw order, which is uniform over the existing pairs; if
/// holes in the ids leave it short after a few rounds, every id is read once instead.
pub async fn random_pair_ids(c: &impl ConnectionTrait, count: usize) -> Result<Vec<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Range {
        n: i64,
        lo: Option<i64>,
        hi: Option<i64>,
    }
    let range = fetch_optional::<Range>(
        c,
        "SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM quiz_pairs WHERE in_bank = ?",
        crate::vals![true],
    )
    .await?;
    let Some(Range {
        n,
        lo: Some(lo),
        hi: Some(hi),
    }) = range
    else {
        return Ok(Vec::new());
    };
    if n as usize > count && hi - lo + 1 > FULL_READ_SPAN {
        let mut chosen: Vec<i64> = Vec::with_capacity(count);
        let mut tried: HashSet<i64> = HashSet::new();
        for _ in 0..DRAW_ROUNDS {
            let want = 2 * (count - chosen.len()) + 8;
            let candidates: Vec<i64> = {
                let mut rng = rand::rng();
                let mut out = Vec::with_capacity(want);
                while out.len() < want && (tried.len() as i64) < hi - lo + 1 {
                    let id = rng.random_range(lo..=hi);
                    if tried.insert(id) {
                        out.push(id);
                    }
                }
                out
            };
            let sql = format!(
                "SELECT id FROM quiz_pairs WHERE in_bank = ? AND id IN ({}) AND {LIVE_PAIR}",
                placeholders(candidates.len())
            );
            let values = std::iter::once(true.into())
                .chain(candidates.iter().map(|&i| i.into()))
                .collect();
            let found: HashSet<i64> = fetch_all::<IdRow>(c, &sql, values)
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect();
            chosen.extend(
                candidates
                    .into_iter()
                    .filter(|id| found.contains(id))
                    .take(count - chosen.len()),
            );
            if chosen.len() == count {
                return Ok(chosen);
            }
        }
    }
    let ids: Vec<i64> = fetch_all::<IdRow>(
        c,
        &format!("SELECT id FROM quiz_pairs WHERE in_bank = ? AND {LIVE_PAIR}"),
        crate::vals![true],
    )
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect();
    let mut rng = rand::rng();
    Ok(
        rand::seq::index::sample(&mut rng, ids.len(), count.min(ids.len()))
            .into_iter()
            .map(|i| ids[i])
            .collect(),
    )
}

#[derive(FromQueryResult)]
struct PairRow {
    id: i64,
    left_id: i64,
    right_id: i64,
}

/// The foods of the pairs with these ids (unknown ids are absent).
pub async fn pair_foods(
    c: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, PairFoods>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, left_id, right_id FROM quiz_pairs WHERE id IN ({})",
        placeholders(ids.len())
    );
    Ok(
        fetch_all::<PairRow>(c, &sql, ids.iter().map(|&i| i.into()).collect())
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.id,
                    PairFoods {
                        left_id: r.left_id,
                        right_id: r.right_id,
                    },
                )
            })
            .collect(),
    )
}

/// Those of `ids` that name a pair with a retired food: no new exam may ask them.
pub async fn retired_pairs(c: &impl ConnectionTrait, ids: &[i64]) -> Result<HashSet<i64>, DbErr> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT id FROM quiz_pairs WHERE id IN ({}) AND NOT {LIVE_PAIR}",
        placeholders(ids.len())
    );
    Ok(
        fetch_all::<IdRow>(c, &sql, ids.iter().map(|&i| i.into()).collect())
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect(),
    )
}

/// Loads every food that `pairs` mention with two statements, keyed by id.
pub async fn foods_of(
    c: &impl ConnectionTrait,
    storage: &Storage,
    pairs: impl Iterator<Item = PairFoods>,
) -> Result<HashMap<i64, Food>, DbErr> {
    let mut ids: Vec<i64> = pairs.flat_map(|p| [p.left_id, p.right_id]).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(foods_by_ids(c, storage, &ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect())
}

/// Full pairs by id, in the order of `ids` (unknown ids are skipped). Three statements.
pub async fn pairs_by_ids(
    c: &impl ConnectionTrait,
    storage: &Storage,
    ids: &[i64],
) -> Result<Vec<Pair>, DbErr> {
    let foods_by_pair = pair_foods(c, ids).await?;
    let foods = foods_of(c, storage, foods_by_pair.values().copied()).await?;
    Ok(ids
        .iter()
        .filter_map(|id| {
            let p = foods_by_pair.get(id)?;
            Some(Pair {
                id: *id,
                left: foods.get(&p.left_id)?.clone(),
                right: foods.get(&p.right_id)?.clone(),
            })
        })
        .collect())
}

/// The pair of each match `(left, right)`, in order: an existing pair of the same two foods
/// (in the bank or not), else a new pair outside the bank (never drawn for new exams). Three
/// statements whatever the number of matches; concurrent callers meet on
/// `uq_quiz_pairs_foods` and share the row.
pub async fn pairs_for_matches(
    c: &impl ConnectionTrait,
    matches: &[(i64, i64)],
) -> Result<Vec<i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        low_id: i64,
        high_id: i64,
    }
    if matches.is_empty() {
        return Ok(Vec::new());
    }
    let now = crate::db::now_ms();
    let rows = vec!["(?, ?, ?, ?, ?, ?)"; matches.len()].join(", ");
    let values = matches
        .iter()
        .flat_map(|&(l, r)| crate::vals![l, r, l.min(r), l.max(r), now, false])
        .collect();
    let insert = crate::db::insert_ignore_sql(
        c.get_database_backend(),
        &format!(
            "INTO quiz_pairs (left_id, right_id, low_id, high_id, created_at, in_bank) VALUES {rows}"
        ),
    );
    crate::db::exec(c, &insert, values).await?;
    let lows: Vec<i64> = matches.iter().map(|&(l, r)| l.min(r)).collect();
    let sql = format!(
        "SELECT id, low_id, high_id FROM quiz_pairs WHERE low_id IN ({})",
        placeholders(lows.len())
    );
    let found: HashMap<(i64, i64), i64> =
        fetch_all::<Row>(c, &sql, lows.iter().map(|&i| i.into()).collect())
            .await?
            .into_iter()
            .map(|r| ((r.low_id, r.high_id), r.id))
            .collect();
    matches
        .iter()
        .map(|&(l, r)| {
            found
                .get(&(l.min(r), l.max(r)))
                .copied()
                .ok_or_else(|| DbErr::Custom(format!("no pair was stored for foods {l} and {r}")))
        })
        .collect()
}

/// Puts a pair made outside the bank (for a world-cup quiz) into the bank; answers its id, or
/// `None` when the pair of these foods is in the bank already.
pub async fn admit_to_bank(
    c: &impl ConnectionTrait,
    left_id: i64,
    right_id: i64,
) -> Result<Option<i64>, DbErr> {
    let (low, high) = (left_id.min(right_id), left_id.max(right_id));
    let done = crate::db::exec(
        c,
        "UPDATE quiz_pairs SET in_bank = ? WHERE low_id = ? AND high_id = ? AND in_bank = ?",
        crate::vals![true, low, high, false],
    )
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    crate::db::fetch_i64(
        c,
        "SELECT id FROM quiz_pairs WHERE low_id = ? AND high_id = ?",
        crate::vals![low, high],
    )
    .await
}
