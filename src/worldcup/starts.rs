//! Group commit of world-cup starts.
//!
//! Under load, many starts arrive at once. Instead of one transaction each (four round trips
//! and a log flush per start), a single writer task takes every start waiting in its queue and
//! stores them in one transaction: one multi-row insert of the brackets and one counter
//! update per book. A request is answered only after its batch has committed, so play counts
//! stay exact; when a batch fails (say, one book was deleted meanwhile), its starts are
//! written one by one so that only the faulty one fails.

use std::collections::BTreeMap;

use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

use super::{Counter, add_to_counter};
use crate::db::{self, Db, exec};

/// Most starts written in one transaction.
const MAX_BATCH: usize = 128;

/// A world cup to store.
pub struct NewStart {
    pub id: String,
    pub book_id: i64,
    /// The signed-in member or guest who started it.
    pub user_id: Option<i64>,
    pub size: u32,
    /// Entrant ids as stored.
    pub entrants: String,
    pub now: i64,
}

/// A start waiting in the queue, with the channel its request waits on.
struct PendingStart {
    start: NewStart,
    done: oneshot::Sender<Result<(), DbErr>>,
}

/// The queue in front of the writer task.
#[derive(Clone)]
pub struct StartWriter {
    queue: mpsc::Sender<PendingStart>,
}

impl StartWriter {
    /// Starts the writer task over a pool (on the current runtime).
    pub fn spawn(db: Db) -> StartWriter {
        let (queue, rx) = mpsc::channel(4096);
        tokio::spawn(run(db, rx));
        StartWriter { queue }
    }

    /// Stores one start; resolves when it is committed.
    pub async fn store(&self, start: NewStart) -> Result<(), DbErr> {
        let (done, rx) = oneshot::channel();
        self.queue
            .send(PendingStart { start, done })
            .await
            .map_err(|_| DbErr::Custom("the world-cup writer has stopped".to_owned()))?;
        rx.await
            .map_err(|_| DbErr::Custom("the world-cup writer dropped a start".to_owned()))?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<PendingStart>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = db::retrying(|| write(&db, &batch)).await;
        match result {
            Ok(()) => {
                for start in batch.drain(..) {
                    let _ = start.done.send(Ok(()));
                }
            }
            Err(_) if batch.len() > 1 => {
                for start in batch.drain(..) {
                    let one = std::slice::from_ref(&start);
                    let result = db::retrying(|| write(&db, one)).await;
                    let _ = start.done.send(result);
                }
            }
            Err(e) => {
                for start in batch.drain(..) {
                    let _ = start.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Writes starts and their play counts in one transaction.
async fn write(db: &Db, pending: &[PendingStart]) -> Result<(), DbErr> {
    let starts: Vec<&NewStart> = pending.iter().map(|p| &p.start).collect();
    let txn = crate::db::begin(db).await?;
    let rows = vec!["(?, ?, ?, ?, ?, '', 0, ?, ?, ?)"; starts.len()].join(", ");
    let mut values = Vec::with_capacity(starts.len() * 8);
    for s in &starts {
        values.extend(crate::vals![
            s.id.clone(),
            s.book_id,
            s.user_id,
            i64::from(s.size),
            s.entrants.clone(),
            false,
            s.now,
            s.now
        ]);
    }
    exec(
        &txn,
        &format!(
            "INSERT INTO worldcups (id, book_id, user_id, size, entrants, picks, pick_count, finished, created_at, updated_at) \
             VALUES {rows}"
        ),
        values,
    )
    .await?;
    let mut per_book: BTreeMap<i64, i64> = BTreeMap::new();
    for s in &starts {
        *per_book.entry(s.book_id).or_default() += 1;
    }
    for (book_id, plays) in per_book {
        add_to_counter(&txn, book_id, Counter::Plays, plays).await?;
    }
    txn.commit().await
}
