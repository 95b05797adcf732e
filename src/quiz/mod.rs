//! The taste quiz: question pairs, exams, attempts and scoreboards.
//!
//! An author answers some pairs of the bank and shares the exam's code; friends guess the
//! author's choices. Scores are computed when an attempt is submitted and stored with it, so a
//! scoreboard is one indexed read whatever the number of participants (and a cached answer
//! while nothing changed). See `docs/quiz.md`.

mod attempts;
pub mod bank;
mod from_worldcup;
pub mod model;
mod pairs_admin;
pub mod preview;
pub mod queries;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::model::*;
use self::queries::ExamRow;
use crate::accounts::{Admin, AuthUser};
use crate::catalog::model::Checks;
use crate::catalog::{conflict, json_bytes};
use crate::db::{self, insert_returning_id, now_ms, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::vals;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pairs, create_pair))
        .routes(routes!(pairs_admin::delete_pair))
        .routes(routes!(pairs_admin::list_bank))
        .routes(routes!(create_exam))
        .routes(routes!(get_exam, delete_exam))
        .routes(routes!(get_answer_key))
        .routes(routes!(
            attempts::get_attempt,
            attempts::submit_attempt,
            attempts::withdraw_attempt
        ))
        .routes(routes!(
            attempts::get_participant_attempt,
            attempts::reset_participant
        ))
        .routes(routes!(from_worldcup::create_worldcup_exam))
        .routes(routes!(get_scoreboard))
        .routes(routes!(list_my_exams))
}

/// Query of `GET /quiz/pairs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListPairsQuery {
    /// How many pairs, 1..=50 (default 24).
    count: Option<i64>,
}

/// `count` distinct pairs of the bank drawn at random (fewer when the bank is smaller).
#[utoipa::path(get, path = "/quiz/pairs", tag = "quiz", params(ListPairsQuery),
    responses((status = 200, body = Vec<Pair>), (status = 422, body = crate::error::Problem)))]
async fn list_pairs(
    State(state): State<AppState>,
    Query(query): Query<ListPairsQuery>,
) -> AppResult<Json<Vec<Pair>>> {
    let count = query.count.unwrap_or(DEFAULT_PAIR_COUNT);
    if !(1..=MAX_PAIR_COUNT).contains(&count) {
        return Err(AppError::field(
            "count",
            format!("must be from 1 to {MAX_PAIR_COUNT}"),
        ));
    }
    let ids = bank::random_pair_ids(&state.db, count as usize).await?;
    Ok(Json(
        bank::pairs_by_ids(&state.db, &state.storage, &ids).await?,
    ))
}

/// Adds a pair of two different foods to the question bank.
#[utoipa::path(post, path = "/quiz/pairs", tag = "quiz", request_body = CreatePairRequest,
    responses((status = 201, body = Pair), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn create_pair(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<CreatePairRequest>,
) -> AppResult<(StatusCode, Json<Pair>)> {
    let (left, right) = (body.left_id, body.right_id);
    let mut checks = Checks::default();
    if left == right {
        checks.fail("right_id", "must be a different food from left_id");
    } else {
        for missing in crate::catalog::queries::missing_food_ids(&state.db, &[left, right]).await? {
            checks.fail(
                if missing == left {
                    "left_id"
                } else {
                    "right_id"
                },
                "no food has this id",
            );
        }
    }
    checks.finish()?;
    let id = match insert_returning_id(
        &state.db,
        "INSERT INTO quiz_pairs (left_id, right_id, low_id, high_id, created_at) VALUES (?, ?, ?, ?, ?)",
        vals![left, right, left.min(right), left.max(right), now_ms()],
    )
    .await
    {
        Ok(id) => id,
        // A pair made for a world-cup quiz joins the bank instead.
        Err(e) if db::is_unique_violation(&e) => bank::admit_to_bank(&state.db, left, right)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(
                    "this pair is already in the bank (in one order or the other)".to_owned(),
                )
            })?,
        Err(e) => return Err(e.into()),
    };
    let pair = bank::pairs_by_ids(&state.db, &state.storage, &[id])
        .await?
        .pop();
    Ok((
        StatusCode::CREATED,
        Json(pair.ok_or(AppError::NotFound("pair"))?),
    ))
}

/// Creates an exam from the author's answers and gives it a share code.
#[utoipa::path(post, path = "/exams", tag = "quiz", request_body = CreateExamRequest,
    responses((status = 201, body = CreateExamResponse), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn create_exam(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateExamRequest>,
) -> AppResult<(StatusCode, Json<CreateExamResponse>)> {
    let mut checks = Checks::default();
    let title = checks.name("title", &body.title, TITLE_MAX);
    if let Some(pair_ids) = check_answer_list(&mut checks, &body.answers) {
        let pairs = bank::pair_foods(&state.db, &pair_ids).await?;
        check_answers_against_pairs(&mut checks, &body.answers, &pairs);
        let retired = bank::retired_pairs(&state.db, &pair_ids).await?;
        for (i, a) in body.answers.iter().enumerate() {
            if retired.contains(&a.pair_id) {
                checks.fail(
                    &format!("answers[{i}].pair_id"),
                    "a food of this pair was removed from the catalog",
                );
            }
        }
    }
    checks.finish()?;
    let questions: Vec<(i64, i64)> = body
        .answers
        .iter()
        .map(|a| (a.pair_id, a.food_id))
        .collect();
    let created = store_exam(
        &state,
        &user,
        &title,
        body.mode.unwrap_or_default(),
        &questions,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Stores a checked exam under a fresh code.
async fn store_exam(
    state: &AppState,
    user: &AuthUser,
    title: &str,
    mode: ExamMode,
    questions: &[(i64, i64)],
) -> AppResult<CreateExamResponse> {
    let (code, created_at) =
        queries::create_exam(&state.db, user.id, title, mode, questions, || {
            new_code(&mut rand::rng())
        })
        .await
        .map_err(|e| conflict(e, "the exam could not be given a code"))?;
    state.metrics.count(crate::metrics::Event::ExamCreated);
    Ok(CreateExamResponse {
        code,
        title: title.to_owned(),
        mode,
        author: Person {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
        },
        question_count: questions.len() as i64,
        created_at: rfc3339(created_at),
    })
}

/// The exam of a share code (in any case), or 404.
async fn find_exam(state: &AppState, code: &str) -> AppResult<ExamRow> {
    let code = normalize_code(code).ok_or(AppError::NotFound("exam"))?;
    queries::exam_by_code(&state.db, &code)
        .await?
        .ok_or(AppError::NotFound("exam"))
}

/// What `GET /exams/{code}` keeps of an exam: its id and the serialized [`ExamBody`] without
/// its opening brace, to which the fresh fields are prepended.
struct CachedExam {
    id: i64,
    tail: Bytes,
}

/// Reads and serializes the part of an exam that never changes.
async fn load_exam_body(state: &AppState, code: &str) -> AppResult<CachedExam> {
    let exam = find_exam(state, code).await?;
    let questions = queries::exam_questions(&state.db, exam.id, None).await?;
    let foods = bank::foods_of(
        &state.db,
        &state.storage,
        questions.iter().map(|q| q.question.foods),
    )
    .await?;
    let questions = questions
        .iter()
        .filter_map(|q| {
            Some(ExamQuestion {
                index: q.index,
                pair_id: q.question.pair_id,
                left: foods.get(&q.question.foods.left_id)?.clone(),
                right: foods.get(&q.question.foods.right_id)?.clone(),
            })
        })
        .collect();
    let body = ExamBody {
        code: &exam.code,
        title: &exam.title,
        mode: exam.mode(),
        question_count: exam.question_count,
        created_at: rfc3339(exam.created_at),
        questions,
    };
    let mut bytes = serde_json::to_vec(&body).map_err(anyhow::Error::from)?;
    bytes.remove(0);
    Ok(CachedExam {
        id: exam.id,
        tail: Bytes::from(bytes),
    })
}

/// An exam with its questions in the author's order, never the answers. `HEAD` works too.
///
/// The questions and their foods never change after creation, so their serialized form is
/// kept in the response cache by code; each request reads only the participant count and
/// the author's names (one statement over two primary keys), so both are exact at once.
/// Requests for one exam that arrive together share that read (`crate::coalesce`): each still
/// sees every write made before it arrived.
#[utoipa::path(get, path = "/exams/{code}", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 200, body = ExamDetail), (status = 404, body = crate::error::Problem)))]
async fn get_exam(State(state): State<AppState>, Path(code): Path<String>) -> AppResult<Response> {
    let code = normalize_code(&code).ok_or(AppError::NotFound("exam"))?;
    let key = format!("quiz-exam:{code}");
    let mut cached = state.cache.get::<CachedExam>(&key);
    let mut live = None;
    let db = &state.db;
    let read_live = |id: i64| {
        state
            .exam_reads
            .read(id, move || queries::exam_live(db, id))
    };
    if let Some(hit) = &cached {
        live = read_live(hit.id).await?;
    }
    // A miss, or a hit whose exam was deleted (its code may belong to a new exam now).
    if live.is_none() {
        let generation = state.cache.generation();
        let loaded = Arc::new(load_exam_body(&state, &code).await?);
        state.cache.put(&key, generation, loaded.clone());
        live = read_live(loaded.id).await?;
        cached = Some(loaded);
    }
    let (Some(cached), Some(live)) = (cached, live) else {
        return Err(AppError::NotFound("exam"));
    };
    #[derive(serde::Serialize)]
    struct Head {
        participant_count: i64,
        author: Person,
    }
    let head = serde_json::to_vec(&Head {
        participant_count: live.participant_count,
        author: Person {
            username: live.username,
            display_name: live.display_name,
        },
    })
    .map_err(anyhow::Error::from)?;
    // `{"participant_count":N,"author":{…}}` + `"code":…}` joined with a comma.
    let mut body = Vec::with_capacity(head.len() + cached.tail.len());
    body.extend_from_slice(&head[..head.len() - 1]);
    body.push(b',');
    body.extend_from_slice(&cached.tail);
    Ok(json_bytes(Bytes::from(body)))
}

/// The author's own answers, question by question; for the author only.
#[utoipa::path(get, path = "/exams/{code}/answers", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 200, body = AnswerKey), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn get_answer_key(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
) -> AppResult<Json<AnswerKey>> {
    let exam = find_exam(&state, &code).await?;
    if exam.author_id != user.id {
        return Err(AppError::Forbidden(
            "only the exam's author may see its answers",
        ));
    }
    let questions = queries::exam_questions(&state.db, exam.id, None).await?;
    let foods = bank::foods_of(
        &state.db,
        &state.storage,
        questions.iter().map(|q| q.question.foods),
    )
    .await?;
    let questions = questions
        .iter()
        .filter_map(|q| {
            Some(AnswerKeyQuestion {
                index: q.index,
                pair_id: q.question.pair_id,
                left: foods.get(&q.question.foods.left_id)?.clone(),
                right: foods.get(&q.question.foods.right_id)?.clone(),
                answer_id: q.question.answer_id,
            })
        })
        .collect();
    Ok(Json(AnswerKey {
        mode: exam.mode(),
        code: exam.code,
        title: exam.title,
        questions,
    }))
}

/// Deletes an exam with every attempt at it; only its author may.
#[utoipa::path(delete, path = "/exams/{code}", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 204), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn delete_exam(
    State(state): State<AppState>,
    user: AuthUser,
    Path(code): Path<String>,
) -> AppResult<StatusCode> {
    let exam = find_exam(&state, &code).await?;
    if exam.author_id != user.id {
        return Err(AppError::Forbidden("only the author may delete an exam"));
    }
    queries::delete_exam(&state.db, exam.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A serialized scoreboard and the state of the attempts it was computed from.
struct CachedScoreboard {
    version: (i64, i64),
    question_count: i64,
    body: Bytes,
}

/// Every participant by score, equal scores sharing a rank (1, 2, 2, 4).
///
/// A large scoreboard costs more to read and serialize than to check, so the serialized
/// answer is kept in the response cache with the version of the exam's attempts (their count and
/// newest id, see [`queries::attempts_version`]) and served again while that version holds.
#[utoipa::path(get, path = "/exams/{code}/scoreboard", tag = "quiz",
    params(("code" = String, Path, description = "Share code, any case")),
    responses((status = 200, body = Scoreboard), (status = 404, body = crate::error::Problem)))]
async fn get_scoreboard(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Response> {
    let exam = find_exam(&state, &code).await?;
    // Read before the participants: a submission landing in between makes the stored answer
    // look older than it is (and recomputed next time), never newer.
    let version = queries::attempts_version(&state.db, exam.id).await?;
    let key = format!("quiz-scoreboard:{}", exam.id);
    let hit = state
        .cache
        .get::<CachedScoreboard>(&key)
        .filter(|c| c.version == version && c.question_count == exam.question_count);
    if let Some(hit) = hit {
        return Ok(json_bytes(hit.body.clone()));
    }
    let generation = state.cache.generation();
    let rows = queries::scores(&state.db, exam.id).await?;
    let scores: Vec<i64> = rows.iter().map(|r| r.score).collect();
    let participants = rows
        .into_iter()
        .zip(competition_ranks(&scores))
        .map(|(r, rank)| Standing {
            match_rate: match_rate(r.score, r.total),
            username: r.username,
            display_name: r.display_name,
            score: r.score,
            rank,
        })
        .collect();
    let board = Scoreboard {
        mode: exam.mode(),
        code: exam.code,
        title: exam.title,
        question_count: exam.question_count,
        participants,
    };
    let body = Bytes::from(serde_json::to_vec(&board).map_err(anyhow::Error::from)?);
    let cached = CachedScoreboard {
        version,
        question_count: exam.question_count,
        body: body.clone(),
    };
    state.cache.put(&key, generation, Arc::new(cached));
    Ok(json_bytes(body))
}

/// The exams the caller wrote and the exams they took, newest first.
#[utoipa::path(get, path = "/me/exams", tag = "quiz",
    responses((status = 200, body = MyExams), (status = 401, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
async fn list_my_exams(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<MyExams>> {
    let authored = queries::authored(&state.db, user.id)
        .await?
        .into_iter()
        .map(|r| AuthoredExam {
            mode: ExamMode::parse(&r.mode),
            code: r.code,
            title: r.title,
            participant_count: r.participant_count,
            created_at: rfc3339(r.created_at),
        })
        .collect();
    let participated = queries::participated(&state.db, user.id)
        .await?
        .into_iter()
        .map(|r| ParticipatedExam {
            mode: ExamMode::parse(&r.mode),
            match_rate: match_rate(r.score, r.total),
            code: r.code,
            title: r.title,
            author: Person {
                username: r.author,
                display_name: r.author_display_name,
            },
            score: r.score,
            total: r.total,
            participant_count: r.participant_count,
        })
        .collect();
    Ok(Json(MyExams {
        authored,
        participated,
    }))
}
