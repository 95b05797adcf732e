//! Taking an exam: one final attempt per participant, results, withdrawing, and the author's
//! reset of one participant.

use axum::extract::State;
use axum::http::StatusCode;

use super::model::*;
use super::queries::{self, ExamRow, SubmitError};
use super::{bank, find_exam};
use crate::accounts::AuthUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// Takes an exam: every question answered exactly once. The first attempt is final.
#[utoipa::path(put, path = "/exams/{code}/attempt", tag = "quiz", request_body = SubmitAttemptRequest,
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 200, body = SubmitAttemptResponse), (status = 401, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn submit_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
    Json(body): Json<SubmitAttemptRequest>,
) -> AppResult<Json<SubmitAttemptResponse>> {
    let exam = find_exam(&state, &code).await?;
    if exam.author_id == user.id {
        return Err(AppError::Conflict(
            "the author cannot take their own exam".to_owned(),
        ));
    }
    let questions: Vec<Question> = queries::exam_questions(&state.db, exam.id, None)
        .await?
        .into_iter()
        .map(|q| q.question)
        .collect();
    let guesses = match_guesses(&questions, &body.answers).map_err(AppError::Validation)?;
    let score = score(&questions, &guesses);
    let answers: Vec<(i64, i64)> = questions
        .iter()
        .zip(&guesses)
        .map(|(q, &g)| (q.pair_id, g))
        .collect();
    queries::submit_attempt(&state.db, exam.id, user.id, score, &answers)
        .await
        .map_err(|e| match e {
            SubmitError::NoExam => AppError::NotFound("exam"),
            SubmitError::AlreadyTaken => AppError::Conflict(
                "you have taken this exam already; the first attempt is final".to_owned(),
            ),
            SubmitError::Withdrawn => AppError::Conflict(
                "you withdrew from this exam; only its author can let you take it again".to_owned(),
            ),
            // The exam was deleted meanwhile.
            SubmitError::Db(e) if crate::db::is_foreign_key_violation(&e) => {
                AppError::NotFound("exam")
            }
            SubmitError::Db(e) => e.into(),
        })?;
    state.metrics.count(crate::metrics::Event::AttemptSubmitted);
    let (rank, participant_count) = queries::standing(&state.db, exam.id, score).await?;
    let total = questions.len() as i64;
    Ok(Json(SubmitAttemptResponse {
        score,
        total,
        match_rate: match_rate(score, total),
        rank,
        participant_count,
    }))
}

/// One participant's result at an exam, question by question.
async fn attempt_result(
    state: &AppState,
    exam: &ExamRow,
    participant: Person,
    user_id: i64,
) -> AppResult<AttemptResult> {
    let attempt = queries::attempt(&state.db, exam.id, user_id)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    let questions = queries::exam_questions(&state.db, exam.id, Some(attempt.id)).await?;
    let foods = bank::foods_of(
        &state.db,
        &state.storage,
        questions.iter().map(|q| q.question.foods),
    )
    .await?;
    let questions = questions
        .iter()
        .filter_map(|q| {
            Some(ResultQuestion {
                index: q.index,
                pair_id: q.question.pair_id,
                left: foods.get(&q.question.foods.left_id)?.clone(),
                right: foods.get(&q.question.foods.right_id)?.clone(),
                answer_id: q.question.answer_id,
                guess_id: q.guess_id,
                correct: q.guess_id == Some(q.question.answer_id),
            })
        })
        .collect();
    let (rank, participant_count) = queries::standing(&state.db, exam.id, attempt.score).await?;
    Ok(AttemptResult {
        code: exam.code.clone(),
        title: exam.title.clone(),
        mode: exam.mode(),
        author: exam.author(),
        participant,
        score: attempt.score,
        total: attempt.total,
        match_rate: match_rate(attempt.score, attempt.total),
        rank,
        participant_count,
        questions,
    })
}

/// The caller's result at an exam; 404 when they have not taken it.
#[utoipa::path(get, path = "/exams/{code}/attempt", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 200, body = AttemptResult), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn get_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
) -> AppResult<Json<AttemptResult>> {
    let exam = find_exam(&state, &code).await?;
    let me = Person {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
    };
    Ok(Json(attempt_result(&state, &exam, me, user.id).await?))
}

/// The exam of `code` when `user` wrote it, else 403 (404 for an unknown code).
async fn authored_exam(state: &AppState, user: &AuthUser, code: &str) -> AppResult<ExamRow> {
    let exam = find_exam(state, code).await?;
    if exam.author_id != user.id {
        return Err(AppError::Forbidden(
            "only the exam's author may see or reset other participants",
        ));
    }
    Ok(exam)
}

/// One participant's result, for the exam's author only.
#[utoipa::path(get, path = "/exams/{code}/attempts/{username}", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case"), ("username" = String, Path, description = "Participant, any case")),
    responses((status = 200, body = AttemptResult), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn get_participant_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    Path((code, username)): Path<(String, String)>,
) -> AppResult<Json<AttemptResult>> {
    let exam = authored_exam(&state, &user, &code).await?;
    let participant = queries::person_by_name(&state.db, &username)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    let person = Person {
        username: participant.username,
        display_name: participant.display_name,
    };
    Ok(Json(
        attempt_result(&state, &exam, person, participant.id).await?,
    ))
}

/// Resets one participant, who may then take the exam again; for the exam's author only.
#[utoipa::path(delete, path = "/exams/{code}/attempts/{username}", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case"), ("username" = String, Path, description = "Participant, any case")),
    responses((status = 204), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn reset_participant(
    State(state): State<AppState>,
    user: AuthUser,
    Path((code, username)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let exam = authored_exam(&state, &user, &code).await?;
    let participant = queries::person_by_name(&state.db, &username)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    if !queries::reset(&state.db, exam.id, participant.id).await? {
        return Err(AppError::NotFound("attempt"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraws the caller from an exam: the attempt leaves the scoreboard, and no new attempt
/// is allowed (unless the author resets them).
#[utoipa::path(delete, path = "/exams/{code}/attempt", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn withdraw_attempt(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
) -> AppResult<StatusCode> {
    let exam = find_exam(&state, &code).await?;
    if !queries::withdraw(&state.db, exam.id, user.id).await? {
        return Err(AppError::NotFound("attempt"));
    }
    Ok(StatusCode::NO_CONTENT)
}
