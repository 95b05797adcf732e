//! "내 월드컵 픽 맞혀봐": a finished world cup becomes an exam whose questions are its matches
//! and whose answers are the owner's picks.

use axum::extract::State;
use axum::http::StatusCode;

use super::model::*;
use super::{bank, store_exam};
use crate::accounts::AuthUser;
use crate::catalog::model::Checks;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The title of a world-cup exam when none is given.
pub const DEFAULT_TITLE: &str = "내 월드컵 픽 맞혀봐";

/// The matches that become questions: the last [`MAX_FROM_WORLDCUP`] (a 64-cup's 63 matches
/// are too many to answer; its last 31 are the 32-cup the player went on to decide).
pub fn exam_matches(matches: &[(i64, i64, i64)]) -> &[(i64, i64, i64)] {
    &matches[matches.len().saturating_sub(MAX_FROM_WORLDCUP)..]
}

/// Most questions a world-cup exam has.
pub const MAX_FROM_WORLDCUP: usize = 31;

/// Turns the caller's finished world cup into an exam of its matches.
#[utoipa::path(post, path = "/worldcups/{id}/exam", tag = "quiz", request_body = CreateWorldcupExamRequest,
    params(("id" = String, Path, description = "World-cup id")),
    responses((status = 201, body = CreateExamResponse), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    security(("bearer" = []), ("cookie" = [])))]
pub(super) async fn create_worldcup_exam(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<CreateExamResponse>)> {
    // The body is optional: an empty one means every default.
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        CreateWorldcupExamRequest::default()
    } else {
        crate::extract::parse_json_object::<CreateWorldcupExamRequest>(&body)?
    };
    let mut checks = Checks::default();
    let title = checks.name(
        "title",
        request.title.as_deref().unwrap_or(DEFAULT_TITLE),
        TITLE_MAX,
    );
    checks.finish()?;
    let cup = crate::worldcup::export::finished_matches(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound("world cup"))?;
    if cup.owner_id != Some(user.id) {
        return Err(AppError::Forbidden(
            "only the member who played this world cup may make a quiz of it",
        ));
    }
    if !cup.finished {
        return Err(AppError::Conflict(
            "this world cup is not finished yet".to_owned(),
        ));
    }
    let mut matches = exam_matches(&cup.matches).to_vec();
    // Foods deleted since the cup was played cannot be asked about.
    let ids: Vec<i64> = matches.iter().flat_map(|&(l, r, _)| [l, r]).collect();
    let missing = crate::catalog::queries::missing_food_ids(&state.db, &ids).await?;
    matches.retain(|(l, r, _)| !missing.contains(l) && !missing.contains(r));
    if matches.is_empty() {
        return Err(AppError::Conflict(
            "the foods of this world cup are gone".to_owned(),
        ));
    }
    let pairs: Vec<(i64, i64)> = matches.iter().map(|&(l, r, _)| (l, r)).collect();
    let pair_ids = crate::db::retrying(|| bank::pairs_for_matches(&state.db, &pairs)).await?;
    let questions: Vec<(i64, i64)> = pair_ids
        .into_iter()
        .zip(&matches)
        .map(|(pair_id, &(_, _, winner))| (pair_id, winner))
        .collect();
    let created = store_exam(
        &state,
        &user,
        &title,
        request.mode.unwrap_or_default(),
        &questions,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_64_cup_gives_its_last_31_matches() {
        let matches: Vec<(i64, i64, i64)> = (0..63).map(|i| (i, i + 100, i)).collect();
        let asked = exam_matches(&matches);
        assert_eq!(asked.len(), 31);
        assert_eq!(asked[0], (32, 132, 32));
        assert_eq!(asked[30], (62, 162, 62));
        let small: Vec<(i64, i64, i64)> = (0..15).map(|i| (i, i + 100, i)).collect();
        assert_eq!(exam_matches(&small).len(), 15);
        assert!(DEFAULT_TITLE.chars().count() <= TITLE_MAX);
    }
}
