//! What a link preview shows of an exam, read for `crate::previews`: its title, its author's
//! display name, its question count, its mode and the foods of its first questions (both foods
//! of each pair, so the picture never gives an answer away).

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::model::normalize_code;
use crate::catalog::preview::{COLLAGE, FoodPicture, food_pictures};
use crate::db::{fetch_all, fetch_optional};
use crate::vals;

/// An exam as its link preview shows it.
#[derive(Clone, Debug)]
pub struct ExamPreview {
    pub code: String,
    pub title: String,
    /// The author's display name.
    pub author: String,
    pub question_count: i64,
    /// The exam's mode as players read it (e.g. "밸런스 게임"), when exams have one.
    pub mode: Option<String>,
    pub pictures: Vec<FoodPicture>,
}

#[derive(FromQueryResult)]
struct Row {
    code: String,
    title: String,
    author: String,
    question_count: i64,
    mode: String,
}

#[derive(FromQueryResult)]
struct PairRow {
    left_id: i64,
    right_id: i64,
}

/// An exam's preview by its share code in any case, or `None` when no exam has it.
pub async fn exam_preview(
    c: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<ExamPreview>, DbErr> {
    let Some(code) = normalize_code(code) else {
        return Ok(None);
    };
    let Some(row) = fetch_optional::<Row>(
        c,
        "SELECT e.code, e.title, \
         CASE WHEN u.display_name = '' THEN u.username ELSE u.display_name END AS author, \
         (SELECT COUNT(*) FROM exam_questions q WHERE q.exam_id = e.id) AS question_count, \
         e.mode FROM exams e JOIN users u ON u.id = e.author_id WHERE e.code = ?",
        vals![code.clone()],
    )
    .await?
    else {
        return Ok(None);
    };
    let pairs = fetch_all::<PairRow>(
        c,
        &format!(
            "SELECT p.left_id, p.right_id FROM exams e \
             JOIN exam_questions q ON q.exam_id = e.id JOIN quiz_pairs p ON p.id = q.pair_id \
             WHERE e.code = ? ORDER BY q.ordinal LIMIT {}",
            COLLAGE / 2
        ),
        vals![code],
    )
    .await?;
    let ids: Vec<i64> = pairs.iter().flat_map(|p| [p.left_id, p.right_id]).collect();
    Ok(Some(ExamPreview {
        code: row.code,
        title: row.title,
        author: row.author,
        question_count: row.question_count,
        // How the quiz is framed to players, as the web app frames it.
        mode: Some(match row.mode.as_str() {
            "match" => "우리 입맛 궁합".to_owned(),
            _ => "나를 얼마나 알까?".to_owned(),
        }),
        pictures: food_pictures(c, &ids).await?,
    }))
}
