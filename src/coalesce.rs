//! Coalesced reads of hot rows: when many requests want the same row at the same moment (a
//! quiz link just shared in a group chat), they share one database read instead of each
//! making its own, and every answer is still as fresh as if it had read alone.
//!
//! Requests for one key join a *batch* that has not started yet. When the read before it
//! finishes, the batch's read runs once (reads of one key run one at a time) and every member
//! gets its result. A batch stops taking members the moment its read starts, so each answer
//! comes from a read that started after its request arrived: a write committed before a
//! request came in is always seen. Reads of different keys run in parallel as before.
//!
//! ```ignore
//! let reads: Coalesced<i64, Option<Row>> = Coalesced::default();
//! let row = reads.read(id, || query(&db, id)).await?;
//! ```
//!
//! A member whose request is dropped leaves the batch; if it was the one running the read,
//! another member runs it. Errors are shared like results (`Arc`, as database errors are not
//! `Clone`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// Reads of `V` by key `K`, coalesced per key.
pub struct Coalesced<K, V, E = sea_orm::DbErr> {
    keys: Mutex<HashMap<K, Arc<KeyState<V, E>>>>,
}

impl<K, V, E> Default for Coalesced<K, V, E> {
    fn default() -> Self {
        Coalesced {
            keys: Mutex::new(HashMap::new()),
        }
    }
}

struct KeyState<V, E> {
    /// Held while this key's read runs: reads of one key run one at a time.
    turn: tokio::sync::Mutex<()>,
    /// The batch that takes new members (its read has not started); guarded by `keys`.
    open: Mutex<Option<Arc<Batch<V, E>>>>,
}

type Batch<V, E> = OnceCell<Result<V, Arc<E>>>;

/// A request's place: its key's state and the batch it joined.
type Place<V, E> = (Arc<KeyState<V, E>>, Arc<Batch<V, E>>);

impl<K, V, E> Coalesced<K, V, E>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    /// The value of `key` as read by `read`, shared with the other requests for the same key
    /// that arrived while the previous read of it ran.
    pub async fn read<F, Fut>(&self, key: K, read: F) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let (state, batch) = self.join(&key);
        let result = batch
            .get_or_init(|| async {
                let _turn = state.turn.lock().await;
                // From here on, requests for this key form the next batch.
                Self::close(&state, &batch);
                read().await.map_err(Arc::new)
            })
            .await
            .clone();
        drop(batch);
        self.leave(&key, state);
        result
    }

    fn join(&self, key: &K) -> Place<V, E> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let state = keys
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(KeyState {
                    turn: tokio::sync::Mutex::new(()),
                    open: Mutex::new(None),
                })
            })
            .clone();
        let mut open = state.open.lock().unwrap_or_else(|e| e.into_inner());
        let batch = open
            .get_or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        drop(open);
        (state, batch)
    }

    fn close(state: &KeyState<V, E>, batch: &Arc<Batch<V, E>>) {
        let mut open = state.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().is_some_and(|b| Arc::ptr_eq(b, batch)) {
            *open = None;
        }
    }

    /// Drops the key's state once no request holds it.
    fn leave(&self, key: &K, state: Arc<KeyState<V, E>>) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        // Under `keys`, nobody can take a new reference: the map's and ours are the last two.
        if Arc::strong_count(&state) == 2 {
            keys.remove(key);
        }
    }

    /// Keys with requests in flight (for tests).
    pub fn keys_in_flight(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_reads_of_one_key_share_reads_and_see_earlier_writes() {
        let reads: Arc<Coalesced<u32, u64, ()>> = Arc::default();
        let value = Arc::new(AtomicU64::new(0));
        let queries = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (reads, value, queries) = (reads.clone(), value.clone(), queries.clone());
            tasks.push(tokio::spawn(async move {
                // A write lands, then a read is asked for: the read must see it.
                let written = value.fetch_add(1, Ordering::SeqCst) + 1;
                let seen = reads
                    .read(7, || async {
                        queries.fetch_add(1, Ordering::SeqCst);
                        let now = value.load(Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        Ok(now)
                    })
                    .await
                    .unwrap();
                assert!(seen >= written, "read {seen} after writing {written}");
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let made = queries.load(Ordering::SeqCst);
        assert!(
            made < 200,
            "{made} reads for 200 requests: nothing was shared"
        );
        assert_eq!(reads.keys_in_flight(), 0, "key state is dropped after use");
    }

    #[tokio::test]
    async fn errors_are_returned_and_a_cancelled_read_frees_the_key() {
        let reads: Arc<Coalesced<u32, u64, String>> = Arc::default();
        let err = reads.read(1, || async { Err("down".to_owned()) }).await;
        assert_eq!(err.unwrap_err().as_str(), "down");

        // A reader is cancelled mid-read: the next batch, waiting for its turn, then reads.
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let first = {
            let reads = reads.clone();
            tokio::spawn(async move {
                reads
                    .read(2, || async {
                        started_tx.send(()).unwrap();
                        std::future::pending::<Result<u64, String>>().await
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let second = reads.read(2, || async { Ok(42) });
        first.abort();
        assert_eq!(second.await.unwrap(), 42);
        assert_eq!(reads.keys_in_flight(), 0);

        // Two members of one batch, waiting for their turn; the one that would read is
        // cancelled: the other reads.
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let running = {
            let reads = reads.clone();
            tokio::spawn(async move {
                reads
                    .read(3, || async {
                        started_tx.send(()).unwrap();
                        std::future::pending::<Result<u64, String>>().await
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        let (b_reads, c_reads) = (reads.clone(), reads.clone());
        let b = tokio::spawn(async move { b_reads.read(3, || async { Ok(1) }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let c = tokio::spawn(async move { c_reads.read(3, || async { Ok(2) }).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.abort();
        running.abort();
        assert_eq!(c.await.unwrap().unwrap(), 2, "the remaining member read");
        assert_eq!(reads.keys_in_flight(), 0);
    }
}
