//! Quiz queries. Every list (questions, participants, my exams) is read with a fixed number of
//! statements whatever its length; writes that can race (new codes, retakes) retry as a whole.

use std::time::Duration;

use rand::RngExt;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::model::{ExamMode, PairFoods, Person, Question};
use crate::db::{
    Db, exec, fetch_all, fetch_i64, fetch_optional, insert_returning_id, is_retryable,
    is_unique_violation,
};
use crate::vals;

/// How many times a write that lost a race is tried in all.
const WRITE_ATTEMPTS: u32 = 30;

/// Waits a few random milliseconds, longer after each lost race, before trying again.
async fn back_off(attempt: u32) {
    let ms = rand::rng().random_range(1..=5) * u64::from(attempt.min(10));
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// An exam with its author's name and its number of questions.
#[derive(Debug, FromQueryResult)]
pub struct ExamRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub mode: String,
    pub author_id: i64,
    pub author: String,
    pub author_display_name: String,
    pub created_at: i64,
    pub participant_count: i64,
    pub question_count: i64,
}

impl ExamRow {
    pub fn author(&self) -> Person {
        Person {
            username: self.author.clone(),
            display_name: self.author_display_name.clone(),
        }
    }

    pub fn mode(&self) -> ExamMode {
        ExamMode::parse(&self.mode)
    }
}

/// One exam by its (normalized) share code; the question count is a primary-key range of at
/// most 50 rows.
pub async fn exam_by_code(c: &impl ConnectionTrait, code: &str) -> Result<Option<ExamRow>, DbErr> {
    fetch_optional(
        c,
        "SELECT e.id, e.code, e.title, e.mode, e.author_id, u.username AS author, \
         u.display_name AS author_display_name, e.created_at, e.participant_count, \
         (SELECT COUNT(*) FROM exam_questions q WHERE q.exam_id = e.id) AS question_count \
         FROM exams e JOIN users u ON u.id = e.author_id WHERE e.code = ?",
        vals![code],
    )
    .await
}

/// What may change of an exam: its participant count and its author's names.
#[derive(Clone, Debug, FromQueryResult)]
pub struct ExamLive {
    pub participant_count: i64,
    pub username: String,
    pub display_name: String,
}

/// The changing part of an exam by id (`None` once deleted): two primary-key reads in one
/// statement, whatever the number of participants.
pub async fn exam_live(c: &impl ConnectionTrait, exam_id: i64) -> Result<Option<ExamLive>, DbErr> {
    fetch_optional(
        c,
        "SELECT e.participant_count, u.username, u.display_name \
         FROM exams e JOIN users u ON u.id = e.author_id WHERE e.id = ?",
        vals![exam_id],
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
    mode: ExamMode,
    questions: &[(i64, i64)],
    mut next_code: impl FnMut() -> String,
) -> Result<(String, i64), DbErr> {
    let mut attempt = 1;
    loop {
        let code = next_code();
        match try_create_exam(db, author_id, title, mode, questions, &code).await {
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
    mode: ExamMode,
    questions: &[(i64, i64)],
    code: &str,
) -> Result<i64, DbErr> {
    let now = crate::db::now_ms();
    let txn = crate::db::begin(db).await?;
    let exam_id = insert_returning_id(
        &txn,
        "INSERT INTO exams (code, title, mode, author_id, created_at) VALUES (?, ?, ?, ?, ?)",
        vals![code, title, mode.as_str(), author_id, now],
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
///
/// The guesses go with their attempts by `fk_attempt_answers_attempt … ON DELETE CASCADE`,
/// through the guesses' primary key; deleting them first would need a subquery that MariaDB 10
/// runs as a scan of every guess of every exam.
pub async fn delete_exam(db: &Db, exam_id: i64) -> Result<(), DbErr> {
    let txn = crate::db::begin(db).await?;
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

/// Why an attempt was not stored.
#[derive(Debug)]
pub enum SubmitError {
    /// The exam is gone.
    NoExam,
    /// The participant already has an attempt.
    AlreadyTaken,
    /// The participant withdrew; only the author's reset allows a new attempt.
    Withdrawn,
    Db(DbErr),
}

impl From<DbErr> for SubmitError {
    fn from(e: DbErr) -> Self {
        SubmitError::Db(e)
    }
}

/// Stores a participant's one attempt with its score in one transaction, counted in the
/// exam's participant counter. The counter row is locked first, so submissions to one exam
/// queue there instead of deadlocking; a second attempt by the same user meets
/// `uq_exam_attempts_exam_user` (concurrent ones wait on it and then meet it), so exactly one
/// remains. The withdrawal check comes after the insert: a withdrawal committed meanwhile
/// is then seen.
pub async fn submit_attempt(
    db: &Db,
    exam_id: i64,
    user_id: i64,
    score: i64,
    guesses: &[(i64, i64)],
) -> Result<(), SubmitError> {
    let mut attempt = 1;
    loop {
        match try_submit_attempt(db, exam_id, user_id, score, guesses).await {
            Err(SubmitError::Db(e)) if is_unique_violation(&e) => {
                return Err(SubmitError::AlreadyTaken);
            }
            Err(SubmitError::Db(e)) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => {
                back_off(attempt).await
            }
            other => return other,
        }
        attempt += 1;
    }
}

async fn try_submit_attempt(
    db: &Db,
    exam_id: i64,
    user_id: i64,
    score: i64,
    guesses: &[(i64, i64)],
) -> Result<(), SubmitError> {
    let txn = crate::db::begin(db).await?;
    let counted = exec(
        &txn,
        "UPDATE exams SET participant_count = participant_count + 1 WHERE id = ?",
        vals![exam_id],
    )
    .await?;
    if counted.rows_affected() == 0 {
        return Err(SubmitError::NoExam);
    }
    let attempt_id = insert_returning_id(
        &txn,
        "INSERT INTO exam_attempts (exam_id, user_id, score, total, submitted_at) VALUES (?, ?, ?, ?, ?)",
        vals![exam_id, user_id, score, guesses.len() as i64, crate::db::now_ms()],
    )
    .await?;
    if fetch_i64(
        &txn,
        "SELECT user_id FROM exam_withdrawals WHERE exam_id = ? AND user_id = ?",
        vals![exam_id, user_id],
    )
    .await?
    .is_some()
    {
        return Err(SubmitError::Withdrawn);
    }
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
    txn.commit().await?;
    Ok(())
}

/// Deletes a user's attempt at an exam with its guesses and uncounts it; answers whether
/// there was one.
///
/// One statement through `uq_exam_attempts_exam_user`; the guesses go with the attempt by
/// `fk_attempt_answers_attempt … ON DELETE CASCADE`, through their primary key (a subquery
/// over the guesses would scan every guess of every exam on MariaDB 10). The transaction
/// begins with the write, which SQLite needs to wait for the lock instead of failing with
/// `SQLITE_BUSY_SNAPSHOT`.
async fn remove_attempt(
    c: &impl ConnectionTrait,
    exam_id: i64,
    user_id: i64,
) -> Result<bool, DbErr> {
    let deleted = exec(
        c,
        "DELETE FROM exam_attempts WHERE exam_id = ? AND user_id = ?",
        vals![exam_id, user_id],
    )
    .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    exec(
        c,
        "UPDATE exams SET participant_count = participant_count - 1 WHERE id = ?",
        vals![exam_id],
    )
    .await?;
    Ok(true)
}

/// Withdraws a user from an exam for good (until the author resets them); answers whether
/// they had an attempt.
pub async fn withdraw(db: &Db, exam_id: i64, user_id: i64) -> Result<bool, DbErr> {
    crate::db::retrying(|| async {
        let txn = crate::db::begin(db).await?;
        if !remove_attempt(&txn, exam_id, user_id).await? {
            return Ok(false);
        }
        let insert = crate::db::insert_ignore_sql(
            db.get_database_backend(),
            "INTO exam_withdrawals (exam_id, user_id, withdrawn_at) VALUES (?, ?, ?)",
        );
        exec(&txn, &insert, vals![exam_id, user_id, crate::db::now_ms()]).await?;
        txn.commit().await?;
        Ok(true)
    })
    .await
}

/// Resets a participant (the author's call): their attempt or withdrawal goes, and they may
/// take the exam again. Answers whether there was anything to reset.
pub async fn reset(db: &Db, exam_id: i64, user_id: i64) -> Result<bool, DbErr> {
    crate::db::retrying(|| async {
        let txn = crate::db::begin(db).await?;
        let had_attempt = remove_attempt(&txn, exam_id, user_id).await?;
        let withdrawals = exec(
            &txn,
            "DELETE FROM exam_withdrawals WHERE exam_id = ? AND user_id = ?",
            vals![exam_id, user_id],
        )
        .await?;
        txn.commit().await?;
        Ok(had_attempt || withdrawals.rows_affected() > 0)
    })
    .await
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

/// A user's id and names.
#[derive(Debug, FromQueryResult)]
pub struct PersonRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
}

/// A user by username, case-insensitively.
pub async fn person_by_name(
    c: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<PersonRow>, DbErr> {
    fetch_optional(
        c,
        "SELECT id, username, display_name FROM users WHERE username_key = ?",
        vals![username.trim().to_lowercase()],
    )
    .await
}

/// Where a score stands at an exam: (competition rank, participant count), one statement:
/// a range of `ix_exam_attempts_scoreboard` and the exam's counter.
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
        "SELECT e.participant_count AS participants, \
         (SELECT COUNT(*) FROM exam_attempts a WHERE a.exam_id = e.id AND a.score > ?) AS ahead \
         FROM exams e WHERE e.id = ?",
        vals![score, exam_id],
    )
    .await?;
    Ok(row.map(|r| (r.ahead + 1, r.participants)).unwrap_or((1, 0)))
}

/// The version of an exam's attempts: their number and the newest id, in one statement
/// (SQLite and MariaDB answer it from `ix_exam_attempts_scoreboard` alone, whose entries carry
/// the row id).
///
/// Attempts are never updated (a retake deletes one and inserts another) and ids only grow, so
/// a set of attempts that differs from an earlier one either holds an id newer than all of the
/// earlier ones (the newest id grew) or only lost rows (the count dropped).
pub async fn attempts_version(c: &impl ConnectionTrait, exam_id: i64) -> Result<(i64, i64), DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        n: i64,
        newest: Option<i64>,
    }
    let row = fetch_optional::<Row>(
        c,
        "SELECT COUNT(*) AS n, MAX(id) AS newest FROM exam_attempts WHERE exam_id = ?",
        vals![exam_id],
    )
    .await?;
    Ok(row.map(|r| (r.n, r.newest.unwrap_or(0))).unwrap_or((0, 0)))
}

/// A participant's name and score.
#[derive(Debug, FromQueryResult)]
pub struct ScoreRow {
    pub username: String,
    pub display_name: String,
    pub score: i64,
    pub total: i64,
}

/// Every participant of an exam by score descending, then username case-insensitively: one
/// statement over `ix_exam_attempts_scoreboard` and the users' primary key.
pub async fn scores(c: &impl ConnectionTrait, exam_id: i64) -> Result<Vec<ScoreRow>, DbErr> {
    fetch_all(
        c,
        "SELECT u.username, u.display_name, a.score, a.total FROM exam_attempts a JOIN users u ON u.id = a.user_id \
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
    pub mode: String,
    pub created_at: i64,
    pub participant_count: i64,
}

/// The exams a user wrote, newest first: one range of `ix_exams_author`.
pub async fn authored(c: &impl ConnectionTrait, user_id: i64) -> Result<Vec<AuthoredRow>, DbErr> {
    fetch_all(
        c,
        "SELECT e.code, e.title, e.mode, e.created_at, e.participant_count FROM exams e \
         WHERE e.author_id = ? ORDER BY e.created_at DESC, e.id DESC",
        vals![user_id],
    )
    .await
}

/// An exam a user took, with their result and the exam's participant count.
#[derive(Debug, FromQueryResult)]
pub struct ParticipatedRow {
    pub code: String,
    pub title: String,
    pub mode: String,
    pub author: String,
    pub author_display_name: String,
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
        "SELECT e.code, e.title, e.mode, u.username AS author, u.display_name AS author_display_name, \
         a.score, a.total, e.participant_count \
         FROM exam_attempts a JOIN exams e ON e.id = a.exam_id JOIN users u ON u.id = e.author_id \
         WHERE a.user_id = ? ORDER BY a.submitted_at DESC, a.id DESC",
        vals![user_id],
    )
    .await
}
