//! Quiz queries. Every list (questions, participants, my exams) is read with a fixed number of
//! statements whatever its length; writes that can race (new codes, retakes) retry as a whole.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rand::Rng;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, TransactionTrait, Value};

use super::model::{Pair, PairFoods, Question};
use crate::catalog::model::Food;
use crate::catalog::queries::foods_by_ids;
use crate::db::{
    Db, exec, fetch_all, fetch_optional, insert_returning_id, is_retryable, is_unique_violation,
    placeholders,
};
use crate::media::Storage;
use crate::vals;

/// How many times a write that lost a race is tried in all.
const WRITE_ATTEMPTS: u32 = 30;
/// Below this span of pair ids, drawing random pairs simply reads every id.
const FULL_READ_SPAN: i64 = 4096;
/// Rounds of drawing random ids in the id range before falling back to reading every id.
const DRAW_ROUNDS: usize = 4;

/// Waits a few random milliseconds, longer after each lost race, before trying again.
async fn back_off(attempt: u32) {
    let ms = rand::rng().random_range(1..=5) * u64::from(attempt.min(10));
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[derive(FromQueryResult)]
struct IdRow {
    id: i64,
}

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
        "SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM quiz_pairs",
        vec![],
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
                "SELECT id FROM quiz_pairs WHERE id IN ({})",
                placeholders(candidates.len())
            );
            let found: HashSet<i64> =
                fetch_all::<IdRow>(c, &sql, candidates.iter().map(|&i| i.into()).collect())
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
    let ids: Vec<i64> = fetch_all::<IdRow>(c, "SELECT id FROM quiz_pairs", vec![])
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

/// An exam with its author's name and its counts.
#[derive(Debug, FromQueryResult)]
pub struct ExamRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub author_id: i64,
    pub author: String,
    pub created_at: i64,
    pub question_count: i64,
    pub participant_count: i64,
}

/// One exam by its (normalized) share code. The counts are index lookups.
pub async fn exam_by_code(c: &impl ConnectionTrait, code: &str) -> Result<Option<ExamRow>, DbErr> {
    fetch_optional(
        c,
        "SELECT e.id, e.code, e.title, e.author_id, u.username AS author, e.created_at, \
         (SELECT COUNT(*) FROM exam_questions q WHERE q.exam_id = e.id) AS question_count, \
         (SELECT COUNT(*) FROM exam_attempts a WHERE a.exam_id = e.id) AS participant_count \
         FROM exams e JOIN users u ON u.id = e.author_id WHERE e.code = ?",
        vals![code],
    )
    .await
}

#[derive(FromQueryResult)]
struct QuestionRow {
    ordinal: i64,
    pair_id: i64,
    left_id: i64,
    right_id: i64,
    answer_id: i64,
    guess_id: Option<i64>,
}

impl QuestionRow {
    fn question(&self) -> Question {
        Question {
            pair_id: self.pair_id,
            foods: PairFoods {
                left_id: self.left_id,
                right_id: self.right_id,
            },
            answer_id: self.answer_id,
        }
    }
}

/// A question with the author's answer and, in a result, the participant's guess.
#[derive(Clone, Copy, Debug)]
pub struct QuestionWithGuess {
    pub index: i64,
    pub question: Question,
    pub guess_id: Option<i64>,
}

/// An exam's questions in the author's order, with the guesses of one attempt when given.
pub async fn exam_questions(
    c: &impl ConnectionTrait,
    exam_id: i64,
    attempt_id: Option<i64>,
) -> Result<Vec<QuestionWithGuess>, DbErr> {
    let rows = fetch_all::<QuestionRow>(
        c,
        "SELECT q.ordinal, q.pair_id, p.left_id, p.right_id, q.answer_id, g.guess_id \
         FROM exam_questions q JOIN quiz_pairs p ON p.id = q.pair_id \
         LEFT JOIN attempt_answers g ON g.attempt_id = ? AND g.pair_id = q.pair_id \
         WHERE q.exam_id = ? ORDER BY q.ordinal",
        vals![attempt_id.unwrap_or(-1), exam_id],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| QuestionWithGuess {
            index: r.ordinal,
            question: r.question(),
            guess_id: r.guess_id,
        })
        .collect())
}

/// Creates an exam with its questions `(pair_id, answer_id)` under a fresh code from
/// `next_code`, drawing again when the code is taken. Answers the code and creation time.
pub async fn create_exam(
    db: &Db,
    author_id: i64,
    title: &str,
    questions: &[(i64, i64)],
    mut next_code: impl FnMut() -> String,
) -> Result<(String, i64), DbErr> {
    let mut attempt = 1;
    loop {
        let code = next_code();
        match try_create_exam(db, author_id, title, questions, &code).await {
            Ok(created_at) => return Ok((code, created_at)),
            // The only unique key of `exams` besides its id is the code: it was taken.
            Err(e) if is_unique_violation(&e) && attempt < WRITE_ATTEMPTS => {}
            Err(e) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => back_off(attempt).await,
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}

async fn try_create_exam(
    db: &Db,
    author_id: i64,
    title: &str,
    questions: &[(i64, i64)],
    code: &str,
) -> Result<i64, DbErr> {
    let now = crate::db::now_ms();
    let txn = db.begin().await?;
    let exam_id = insert_returning_id(
        &txn,
        "INSERT INTO exams (code, title, author_id, created_at) VALUES (?, ?, ?, ?)",
        vals![code, title, author_id, now],
    )
    .await?;
    let rows = vec!["(?, ?, ?, ?)"; questions.len()].join(", ");
    let values: Vec<Value> = questions
        .iter()
        .enumerate()
        .flat_map(|(i, &(pair_id, answer_id))| {
            [
                exam_id.into(),
                (i as i64).into(),
                pair_id.into(),
                answer_id.into(),
            ]
        })
        .collect();
    exec(
        &txn,
        &format!("INSERT INTO exam_questions (exam_id, ordinal, pair_id, answer_id) VALUES {rows}"),
        values,
    )
    .await?;
    txn.commit().await?;
    Ok(now)
}

/// Deletes an exam with its questions and every attempt at it.
pub async fn delete_exam(db: &Db, exam_id: i64) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    exec(
        &txn,
        "DELETE FROM attempt_answers WHERE attempt_id IN (SELECT id FROM exam_attempts WHERE exam_id = ?)",
        vals![exam_id],
    )
    .await?;
    exec(
        &txn,
        "DELETE FROM exam_attempts WHERE exam_id = ?",
        vals![exam_id],
    )
    .await?;
    exec(
        &txn,
        "DELETE FROM exam_questions WHERE exam_id = ?",
        vals![exam_id],
    )
    .await?;
    exec(&txn, "DELETE FROM exams WHERE id = ?", vals![exam_id]).await?;
    txn.commit().await
}

/// Stores a user's attempt, replacing any earlier one, in one transaction: the old attempt and
/// its guesses go, the new one comes with its score. Concurrent retakes by the same user collide
/// on `uq_exam_attempts_exam_user` (or deadlock on MariaDB); the loser starts over, so exactly
/// one whole submission remains.
pub async fn save_attempt(
    db: &Db,
    exam_id: i64,
    user_id: i64,
    score: i64,
    guesses: &[(i64, i64)],
) -> Result<(), DbErr> {
    let mut attempt = 1;
    loop {
        match try_save_attempt(db, exam_id, user_id, score, guesses).await {
            Ok(()) => return Ok(()),
            Err(e) if (is_unique_violation(&e) || is_retryable(&e)) && attempt < WRITE_ATTEMPTS => {
                back_off(attempt).await
            }
            Err(e) => return Err(e),
        }
        attempt += 1;
    }
}

async fn try_save_attempt(
    db: &Db,
    exam_id: i64,
    user_id: i64,
    score: i64,
    guesses: &[(i64, i64)],
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    remove_attempt(&txn, exam_id, user_id).await?;
    let attempt_id = insert_returning_id(
        &txn,
        "INSERT INTO exam_attempts (exam_id, user_id, score, total, submitted_at) VALUES (?, ?, ?, ?, ?)",
        vals![exam_id, user_id, score, guesses.len() as i64, crate::db::now_ms()],
    )
    .await?;
    // An exam whose every pair left the bank has no questions, and its attempts no guesses.
    if !guesses.is_empty() {
        let rows = vec!["(?, ?, ?)"; guesses.len()].join(", ");
        let values: Vec<Value> = guesses
            .iter()
            .flat_map(|&(pair_id, guess_id)| [attempt_id.into(), pair_id.into(), guess_id.into()])
            .collect();
        exec(
            &txn,
            &format!("INSERT INTO attempt_answers (attempt_id, pair_id, guess_id) VALUES {rows}"),
            values,
        )
        .await?;
    }
    txn.commit().await
}

/// Deletes a user's attempt at an exam with its guesses; answers whether there was one.
async fn remove_attempt(
    c: &impl ConnectionTrait,
    exam_id: i64,
    user_id: i64,
) -> Result<bool, DbErr> {
    exec(
        c,
        "DELETE FROM attempt_answers WHERE attempt_id IN \
         (SELECT id FROM exam_attempts WHERE exam_id = ? AND user_id = ?)",
        vals![exam_id, user_id],
    )
    .await?;
    let deleted = exec(
        c,
        "DELETE FROM exam_attempts WHERE exam_id = ? AND user_id = ?",
        vals![exam_id, user_id],
    )
    .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Withdraws a user from an exam; answers whether they had an attempt.
pub async fn withdraw(db: &Db, exam_id: i64, user_id: i64) -> Result<bool, DbErr> {
    let mut attempt = 1;
    loop {
        let result = async {
            let txn = db.begin().await?;
            let removed = remove_attempt(&txn, exam_id, user_id).await?;
            txn.commit().await?;
            Ok::<bool, DbErr>(removed)
        }
        .await;
        match result {
            Err(e) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => back_off(attempt).await,
            other => return other,
        }
        attempt += 1;
    }
}

/// A stored attempt.
#[derive(Debug, FromQueryResult)]
pub struct AttemptRow {
    pub id: i64,
    pub score: i64,
    pub total: i64,
}

/// A user's attempt at an exam.
pub async fn attempt(
    c: &impl ConnectionTrait,
    exam_id: i64,
    user_id: i64,
) -> Result<Option<AttemptRow>, DbErr> {
    fetch_optional(
        c,
        "SELECT id, score, total FROM exam_attempts WHERE exam_id = ? AND user_id = ?",
        vals![exam_id, user_id],
    )
    .await
}

/// The id of a user by name, case-insensitively.
pub async fn user_id_by_name(
    c: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<i64>, DbErr> {
    crate::db::fetch_i64(
        c,
        "SELECT id FROM users WHERE username_key = ?",
        vals![username.trim().to_lowercase()],
    )
    .await
}

/// Where a score stands at an exam: (competition rank, participant count), one statement.
pub async fn standing(
    c: &impl ConnectionTrait,
    exam_id: i64,
    score: i64,
) -> Result<(i64, i64), DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        participants: i64,
        ahead: i64,
    }
    let row = fetch_optional::<Row>(
        c,
        "SELECT COUNT(*) AS participants, COUNT(CASE WHEN score > ? THEN 1 END) AS ahead \
         FROM exam_attempts WHERE exam_id = ?",
        vals![score, exam_id],
    )
    .await?;
    Ok(row.map(|r| (r.ahead + 1, r.participants)).unwrap_or((1, 0)))
}

/// A participant's name and score.
#[derive(Debug, FromQueryResult)]
pub struct ScoreRow {
    pub username: String,
    pub score: i64,
}

/// Every participant of an exam by score descending, then username case-insensitively: one
/// statement over `ix_exam_attempts_scoreboard` and the users' primary key.
pub async fn scores(c: &impl ConnectionTrait, exam_id: i64) -> Result<Vec<ScoreRow>, DbErr> {
    fetch_all(
        c,
        "SELECT u.username, a.score FROM exam_attempts a JOIN users u ON u.id = a.user_id \
         WHERE a.exam_id = ? ORDER BY a.score DESC, u.username_key, u.id",
        vals![exam_id],
    )
    .await
}

/// An exam a user wrote, with its participant count.
#[derive(Debug, FromQueryResult)]
pub struct AuthoredRow {
    pub code: String,
    pub title: String,
    pub created_at: i64,
    pub participant_count: i64,
}

/// The exams a user wrote, newest first: one grouped statement.
pub async fn authored(c: &impl ConnectionTrait, user_id: i64) -> Result<Vec<AuthoredRow>, DbErr> {
    fetch_all(
        c,
        "SELECT e.code, e.title, e.created_at, COUNT(a.id) AS participant_count \
         FROM exams e LEFT JOIN exam_attempts a ON a.exam_id = e.id \
         WHERE e.author_id = ? GROUP BY e.id, e.code, e.title, e.created_at \
         ORDER BY e.created_at DESC, e.id DESC",
        vals![user_id],
    )
    .await
}

/// An exam a user took, with their result and the exam's participant count.
#[derive(Debug, FromQueryResult)]
pub struct ParticipatedRow {
    pub code: String,
    pub title: String,
    pub author: String,
    pub score: i64,
    pub total: i64,
    pub participant_count: i64,
}

/// The exams a user took, most recently submitted first: one statement.
pub async fn participated(
    c: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<ParticipatedRow>, DbErr> {
    fetch_all(
        c,
        "SELECT e.code, e.title, u.username AS author, a.score, a.total, \
         (SELECT COUNT(*) FROM exam_attempts n WHERE n.exam_id = e.id) AS participant_count \
         FROM exam_attempts a JOIN exams e ON e.id = a.exam_id JOIN users u ON u.id = e.author_id \
         WHERE a.user_id = ? ORDER BY a.submitted_at DESC, a.id DESC",
        vals![user_id],
    )
    .await
}
