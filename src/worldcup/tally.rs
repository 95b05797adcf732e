//! What a world cup adds to its book: the sharded play and finish counters, and the food
//! statistics recorded in the transaction that saves the final pick.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::WorldcupRow;
use super::bracket::Bracket;
use super::play::{saved, stale};
use crate::db::{self, Db, exec, fetch_all, placeholders};
use crate::error::AppResult;
use crate::vals;

/// The two counters of a book.
#[derive(Clone, Copy)]
pub(super) enum Counter {
    Plays,
    Finished,
}

/// Number of counter rows per book: concurrent world cups of one book spread their
/// increments over them instead of queueing on one row lock.
const COUNTER_SHARDS: i64 = 16;

/// Adds to a book's counter in one statement (the row is created on first use): plays on
/// a random shard, finishes always on shard 0, which serialises the finishes of a book.
pub(super) async fn add_to_counter(
    c: &impl ConnectionTrait,
    book_id: i64,
    counter: Counter,
    amount: i64,
) -> Result<(), sea_orm::DbErr> {
    let (column, plays, finished) = match counter {
        Counter::Plays => ("plays", amount, 0),
        Counter::Finished => ("finished", 0, amount),
    };
    let insert = "INSERT INTO book_plays (book_id, shard, plays, finished) VALUES (?, ?, ?, ?)";
    let sql = match c.get_database_backend() {
        sea_orm::DbBackend::MySql => {
            format!("{insert} ON DUPLICATE KEY UPDATE {column} = {column} + ?")
        }
        _ => format!(
            "{insert} ON CONFLICT (book_id, shard) DO UPDATE SET {column} = book_plays.{column} + ?"
        ),
    };
    let shard = match counter {
        Counter::Plays => rand::random_range(0..COUNTER_SHARDS),
        Counter::Finished => 0,
    };
    exec(c, &sql, vals![book_id, shard, plays, finished, amount]).await?;
    Ok(())
}

/// Saves the final pick and adds the world cup to its book's statistics, atomically (a lost
/// race with another transaction is retried).
pub(super) async fn finish(db: &Db, row: &WorldcupRow, bracket: &Bracket) -> AppResult<()> {
    let result = db::retrying(|| async {
        let txn = crate::db::begin(db).await?;
        // The book's popularity figures first: updating the book row locks it, so finishes of
        // one book queue here rather than deadlocking on the rows that refer to it.
        crate::community::record_finish(&txn, row.book_id).await?;
        // Counting first locks the book's finish counter row: finishes of one book queue here
        // rather than deadlocking on each other's statistics rows.
        add_to_counter(&txn, row.book_id, Counter::Finished, 1).await?;
        if !saved(&txn, row, bracket, true).await? {
            return Ok(false);
        }
        record_statistics(&txn, row.book_id, bracket).await?;
        txn.commit().await?;
        Ok(true)
    })
    .await?;
    if !result {
        return Err(stale());
    }
    Ok(())
}

/// Adds a finished world cup's matches to its book's statistics: foods knocked out in the same
/// round share their tallies, so this takes a handful of statements whatever the size.
async fn record_statistics(
    c: &impl ConnectionTrait,
    book_id: i64,
    bracket: &Bracket,
) -> Result<(), sea_orm::DbErr> {
    let tallies = bracket.tallies();
    // Statistics only for foods that still exist in the catalog.
    let ids: Vec<i64> = tallies.iter().map(|t| t.0).collect();
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
    }
    let existing: std::collections::HashSet<i64> = fetch_all::<Row>(
        c,
        &format!(
            "SELECT id FROM foods WHERE id IN ({})",
            placeholders(ids.len())
        ),
        ids.iter().map(|&i| i.into()).collect(),
    )
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect();
    let champion = bracket.progress().champion;
    let mut groups: HashMap<(u32, u32, u32), Vec<i64>> = HashMap::new();
    for (food, wins, matches) in tallies.into_iter().filter(|t| existing.contains(&t.0)) {
        let title = u32::from(Some(food) == champion);
        groups.entry((wins, matches, title)).or_default().push(food);
    }
    let mut all: Vec<i64> = groups.values().flatten().copied().collect();
    all.sort_unstable();
    if !all.is_empty() {
        let rows = vec!["(?, ?, 0, 0, 0)"; all.len()].join(", ");
        let sql = db::insert_ignore_sql(
            c.get_database_backend(),
            &format!(
                "INTO book_food_stats (book_id, food_id, wins, matches, championships) VALUES {rows}"
            ),
        );
        let values = all
            .iter()
            .flat_map(|&f| [book_id.into(), f.into()])
            .collect();
        exec(c, &sql, values).await?;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_unstable();
    for ((wins, matches, title), foods) in groups {
        let mut values = vals![
            i64::from(wins),
            i64::from(matches),
            i64::from(title),
            book_id
        ];
        values.extend(foods.iter().map(|&f| f.into()));
        exec(
            c,
            &format!(
                "UPDATE book_food_stats SET wins = wins + ?, matches = matches + ?, championships = championships + ? \
                 WHERE book_id = ? AND food_id IN ({})",
                placeholders(foods.len())
            ),
            values,
        )
        .await?;
    }
    Ok(())
}
