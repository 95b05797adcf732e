//! Quiz types as the API shows them, and the rules of the game: share codes, answer checks,
//! scoring and competition ranking. No I/O here.

use std::collections::{HashMap, HashSet};

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::model::{Checks, Food};
use crate::error::FieldError;

/// The characters of a share code: digits and capitals without the look-alikes 0 O 1 I L.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a share code (31^6 ≈ 887 million codes).
pub const CODE_LEN: usize = 6;
/// Longest exam title, in characters after trimming.
pub const TITLE_MAX: usize = 30;
/// Most questions an exam may have.
pub const MAX_QUESTIONS: usize = 50;
/// Most pairs `GET /quiz/pairs` draws at once, and how many it draws by default.
pub const MAX_PAIR_COUNT: i64 = 50;
pub const DEFAULT_PAIR_COUNT: i64 = 24;

/// A fresh random share code.
pub fn new_code(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Length of the original server's share codes (5 hex characters), which exams brought over
/// by `ipmat import-django` keep, stored in upper case. They never collide with new codes.
pub const LEGACY_CODE_LEN: usize = 5;

/// A share code as typed by someone (any case, surrounding spaces) in its stored form, or
/// `None` when it cannot be a code at all.
pub fn normalize_code(input: &str) -> Option<String> {
    let code = input.trim().to_ascii_uppercase();
    let fresh = code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
    let legacy = code.len() == LEGACY_CODE_LEN && code.bytes().all(|b| b.is_ascii_hexdigit());
    (fresh || legacy).then_some(code)
}

/// One answer of a request: which food of a pair was chosen.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub pair_id: i64,
    pub food_id: i64,
}

/// The two foods of a question pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairFoods {
    pub left_id: i64,
    pub right_id: i64,
}

impl PairFoods {
    pub fn contains(&self, food_id: i64) -> bool {
        food_id == self.left_id || food_id == self.right_id
    }
}

/// A question of an exam with the author's answer, in the author's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question {
    pub pair_id: i64,
    pub foods: PairFoods,
    pub answer_id: i64,
}

/// First checks of a new exam's answers that need no database: the count and repeated pairs.
/// Answers the distinct pair ids to look up when the count is acceptable.
pub fn check_answer_list(checks: &mut Checks, answers: &[AnswerInput]) -> Option<Vec<i64>> {
    if answers.is_empty() || answers.len() > MAX_QUESTIONS {
        checks.fail("answers", format!("must hold 1 to {MAX_QUESTIONS} answers"));
        return None;
    }
    let mut first_seen: HashMap<i64, usize> = HashMap::new();
    let mut ids = Vec::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        match first_seen.get(&a.pair_id) {
            Some(j) => checks.fail(
                &format!("answers[{i}].pair_id"),
                format!("repeats the pair of answers[{j}]"),
            ),
            None => {
                first_seen.insert(a.pair_id, i);
                ids.push(a.pair_id);
            }
        }
    }
    Some(ids)
}

/// Checks that every answer names an existing pair and one of its two foods.
pub fn check_answers_against_pairs(
    checks: &mut Checks,
    answers: &[AnswerInput],
    pairs: &HashMap<i64, PairFoods>,
) {
    for (i, a) in answers.iter().enumerate() {
        match pairs.get(&a.pair_id) {
            None => checks.fail(
                &format!("answers[{i}].pair_id"),
                "no question pair has this id",
            ),
            Some(p) if !p.contains(a.food_id) => checks.fail(
                &format!("answers[{i}].food_id"),
                "must be one of the two foods of the pair",
            ),
            Some(_) => {}
        }
    }
}

/// Matches a participant's answers to an exam's questions: every question exactly once, each
/// guess one of its pair. Answers the guesses in question order, or every problem found.
pub fn match_guesses(
    questions: &[Question],
    answers: &[AnswerInput],
) -> Result<Vec<i64>, Vec<FieldError>> {
    let position: HashMap<i64, usize> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.pair_id, i))
        .collect();
    let mut guesses: Vec<Option<i64>> = vec![None; questions.len()];
    let mut errors = Vec::new();
    let mut answered: HashSet<i64> = HashSet::new();
    for (i, a) in answers.iter().enumerate() {
        let Some(&at) = position.get(&a.pair_id) else {
            errors.push(FieldError::new(
                format!("answers[{i}].pair_id"),
                "is not a question of this exam",
            ));
            continue;
        };
        if !answered.insert(a.pair_id) {
            errors.push(FieldError::new(
                format!("answers[{i}].pair_id"),
                "answers the same question twice",
            ));
            continue;
        }
        if !questions[at].foods.contains(a.food_id) {
            errors.push(FieldError::new(
                format!("answers[{i}].food_id"),
                "must be one of the two foods of the pair",
            ));
            continue;
        }
        guesses[at] = Some(a.food_id);
    }
    let missing: Vec<String> = questions
        .iter()
        .enumerate()
        .filter(|(_, q)| !answered.contains(&q.pair_id))
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        errors.push(FieldError::new(
            "answers",
            format!("every question must be answered exactly once; missing questions (index from 0): {}", missing.join(", ")),
        ));
    }
    if errors.is_empty() {
        Ok(guesses.into_iter().map(|g| g.unwrap_or_default()).collect())
    } else {
        Err(errors)
    }
}

/// The number of guesses equal to the author's answers.
pub fn score(questions: &[Question], guesses: &[i64]) -> i64 {
    questions
        .iter()
        .zip(guesses)
        .filter(|(q, g)| q.answer_id == **g)
        .count() as i64
}

/// Competition ranks ("1224") of scores already sorted from best to worst.
pub fn competition_ranks(sorted_scores: &[i64]) -> Vec<i64> {
    let mut ranks = Vec::with_capacity(sorted_scores.len());
    for (i, s) in sorted_scores.iter().enumerate() {
        let rank = if i > 0 && sorted_scores[i - 1] == *s {
            ranks[i - 1]
        } else {
            i as i64 + 1
        };
        ranks.push(rank);
    }
    ranks
}

/// A question pair of the bank.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Pair {
    pub id: i64,
    pub left: Food,
    pub right: Food,
}

/// Body of `POST /quiz/pairs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePairRequest {
    pub left_id: i64,
    pub right_id: i64,
}

/// How friends answer an exam.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExamMode {
    /// Friends guess the author's choices ("나를 얼마나 알까?").
    #[default]
    Guess,
    /// Friends answer for themselves; the score is how alike the tastes are (입맛 궁합).
    Match,
}

impl ExamMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExamMode::Guess => "guess",
            ExamMode::Match => "match",
        }
    }

    /// The stored value; anything unknown reads as the default.
    pub fn parse(stored: &str) -> ExamMode {
        if stored == "match" {
            ExamMode::Match
        } else {
            ExamMode::Guess
        }
    }
}

/// A member or guest as an exam names them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Person {
    pub username: String,
    pub display_name: String,
}

/// The share of agreeing answers, 0..=1 (0 for an exam without questions).
pub fn match_rate(score: i64, total: i64) -> f64 {
    if total <= 0 {
        0.0
    } else {
        score as f64 / total as f64
    }
}

/// Body of `POST /exams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExamRequest {
    /// 1 to 30 characters after trimming.
    pub title: String,
    /// `guess` when omitted.
    pub mode: Option<ExamMode>,
    /// The author's choices, in question order: 1 to 50, each pair at most once.
    pub answers: Vec<AnswerInput>,
}

/// Body of `POST /worldcups/{id}/exam`; both fields are optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorldcupExamRequest {
    /// 1 to 30 characters after trimming; "내 월드컵 픽 맞혀봐" when omitted.
    pub title: Option<String>,
    pub mode: Option<ExamMode>,
}

/// Answer of `POST /exams` and `POST /worldcups/{id}/exam`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateExamResponse {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub author: Person,
    pub question_count: i64,
    pub created_at: String,
}

/// A question as participants see it (never the author's answer).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExamQuestion {
    /// Position in the author's order, from 0.
    pub index: i64,
    pub pair_id: i64,
    pub left: Food,
    pub right: Food,
}

/// Answer of `GET /exams/{code}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExamDetail {
    /// Exact at once: read fresh on every request.
    pub participant_count: i64,
    pub author: Person,
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub question_count: i64,
    pub created_at: String,
    pub questions: Vec<ExamQuestion>,
}

/// What never changes of an exam: [`ExamDetail`] without the author and the participant
/// count, serialized once and cached.
#[derive(Debug, Serialize)]
pub struct ExamBody<'a> {
    pub code: &'a str,
    pub title: &'a str,
    pub mode: ExamMode,
    pub question_count: i64,
    pub created_at: String,
    pub questions: Vec<ExamQuestion>,
}

/// A question with the author's answer, for the author's key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnswerKeyQuestion {
    pub index: i64,
    pub pair_id: i64,
    pub left: Food,
    pub right: Food,
    pub answer_id: i64,
}

/// Answer of `GET /exams/{code}/answers`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnswerKey {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub questions: Vec<AnswerKeyQuestion>,
}

/// Body of `PUT /exams/{code}/attempt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitAttemptRequest {
    /// One guess for every question of the exam, in any order.
    pub answers: Vec<AnswerInput>,
}

/// Answer of `PUT /exams/{code}/attempt`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitAttemptResponse {
    pub score: i64,
    pub total: i64,
    /// score / total, 0..=1.
    pub match_rate: f64,
    /// Competition rank among the participants (1, 2, 2, 4).
    pub rank: i64,
    pub participant_count: i64,
}

/// One question of a result, with the author's answer and the participant's choice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResultQuestion {
    /// Position in the author's order, from 0.
    pub index: i64,
    pub pair_id: i64,
    pub left: Food,
    pub right: Food,
    pub answer_id: i64,
    /// The participant's choice.
    pub guess_id: Option<i64>,
    /// Whether the choice agrees with the author's (right in guess mode, same in match mode).
    pub correct: bool,
}

/// Answer of `GET /exams/{code}/attempt` and `GET /exams/{code}/attempts/{username}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptResult {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub author: Person,
    /// Whose result this is.
    pub participant: Person,
    pub score: i64,
    pub total: i64,
    pub match_rate: f64,
    pub rank: i64,
    pub participant_count: i64,
    pub questions: Vec<ResultQuestion>,
}

/// One participant on a scoreboard.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Standing {
    pub username: String,
    pub display_name: String,
    pub score: i64,
    pub match_rate: f64,
    pub rank: i64,
}

/// Answer of `GET /exams/{code}/scoreboard`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Scoreboard {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub question_count: i64,
    /// By score descending, then username (case-insensitively).
    pub participants: Vec<Standing>,
}

/// An exam the member wrote.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthoredExam {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub participant_count: i64,
    pub created_at: String,
}

/// An exam the member took.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParticipatedExam {
    pub code: String,
    pub title: String,
    pub mode: ExamMode,
    pub author: Person,
    pub score: i64,
    pub total: i64,
    pub match_rate: f64,
    pub participant_count: i64,
}

/// Answer of `GET /me/exams`, newest first in both lists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyExams {
    pub authored: Vec<AuthoredExam>,
    pub participated: Vec<ParticipatedExam>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pair_id: i64, left_id: i64, right_id: i64, answer_id: i64) -> Question {
        Question {
            pair_id,
            foods: PairFoods { left_id, right_id },
            answer_id,
        }
    }

    fn a(pair_id: i64, food_id: i64) -> AnswerInput {
        AnswerInput { pair_id, food_id }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn codes_use_six_characters_of_the_alphabet() {
        let mut rng = rand::rng();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let code = new_code(&mut rng);
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            seen.insert(code);
        }
        assert!(seen.len() > 1990, "codes are random");
        assert_eq!(CODE_ALPHABET.len(), 31);
        for look_alike in b"01OIL" {
            assert!(!CODE_ALPHABET.contains(look_alike));
        }
    }

    #[test]
    fn codes_are_accepted_in_any_case() {
        assert_eq!(normalize_code("abc234").as_deref(), Some("ABC234"));
        assert_eq!(normalize_code(" AbC234 ").as_deref(), Some("ABC234"));
        // Imported codes of the original server: 5 hex characters.
        assert_eq!(normalize_code("3f2a1").as_deref(), Some("3F2A1"));
        for bad in [
            "",
            "ABC2G",
            "ABC2345",
            "ABC23O",
            "ABC231",
            "ABCDEI",
            "ABC-23",
            "가나다라마바",
        ] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn exam_answers_are_counted_and_distinct() {
        let mut checks = Checks::default();
        assert_eq!(check_answer_list(&mut checks, &[]), None);
        assert_eq!(fields(&checks.0), ["answers"]);

        let mut checks = Checks::default();
        let many: Vec<AnswerInput> = (0..51).map(|i| a(i, 1)).collect();
        assert_eq!(check_answer_list(&mut checks, &many), None);
        assert_eq!(fields(&checks.0), ["answers"]);

        let mut checks = Checks::default();
        let fifty: Vec<AnswerInput> = (0..50).map(|i| a(i, 1)).collect();
        assert_eq!(
            check_answer_list(&mut checks, &fifty).map(|ids| ids.len()),
            Some(50)
        );
        assert!(checks.0.is_empty());

        let mut checks = Checks::default();
        let ids = check_answer_list(&mut checks, &[a(7, 1), a(8, 1), a(7, 2), a(7, 3)]);
        assert_eq!(ids, Some(vec![7, 8]));
        assert_eq!(
            fields(&checks.0),
            ["answers[2].pair_id", "answers[3].pair_id"]
        );
        assert_eq!(checks.0[0].message, "repeats the pair of answers[0]");
    }

    #[test]
    fn exam_answers_name_a_pair_and_one_of_its_foods() {
        let pairs = HashMap::from([
            (
                1,
                PairFoods {
                    left_id: 10,
                    right_id: 11,
                },
            ),
            (
                2,
                PairFoods {
                    left_id: 12,
                    right_id: 13,
                },
            ),
        ]);
        let mut checks = Checks::default();
        check_answers_against_pairs(
            &mut checks,
            &[a(1, 10), a(2, 13), a(3, 10), a(2, 10)],
            &pairs,
        );
        assert_eq!(
            fields(&checks.0),
            ["answers[2].pair_id", "answers[3].food_id"]
        );
    }

    #[test]
    fn guesses_cover_every_question_exactly_once() {
        let questions = [q(1, 10, 11, 10), q(2, 12, 13, 13), q(3, 14, 15, 14)];
        assert_eq!(
            match_guesses(&questions, &[a(3, 15), a(1, 10), a(2, 12)]),
            Ok(vec![10, 12, 15])
        );

        let errors = match_guesses(&questions, &[a(1, 10), a(2, 12)]).unwrap_err();
        assert_eq!(fields(&errors), ["answers"]);
        assert!(errors[0].message.ends_with(": 2"), "{}", errors[0].message);

        let errors = match_guesses(
            &questions,
            &[a(1, 10), a(1, 11), a(2, 99), a(3, 14), a(4, 1)],
        )
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "answers[1].pair_id",
                "answers[2].food_id",
                "answers[4].pair_id"
            ]
        );

        let errors = match_guesses(&questions, &[]).unwrap_err();
        assert_eq!(fields(&errors), ["answers"]);
        assert!(errors[0].message.ends_with(": 0, 1, 2"));
    }

    #[test]
    fn the_score_counts_matching_guesses() {
        let questions = [q(1, 10, 11, 10), q(2, 12, 13, 13), q(3, 14, 15, 14)];
        assert_eq!(score(&questions, &[10, 13, 14]), 3);
        assert_eq!(score(&questions, &[11, 13, 15]), 1);
        assert_eq!(score(&questions, &[11, 12, 15]), 0);
    }

    #[test]
    fn match_rates_are_shares_of_agreement() {
        assert_eq!(match_rate(5, 8), 0.625);
        assert_eq!(match_rate(0, 0), 0.0);
        assert_eq!(match_rate(3, 3), 1.0);
        assert_eq!(ExamMode::parse("match"), ExamMode::Match);
        assert_eq!(ExamMode::parse("other"), ExamMode::Guess);
        assert_eq!(
            serde_json::to_string(&ExamMode::Match).unwrap(),
            "\"match\""
        );
    }

    #[test]
    fn equal_scores_share_a_competition_rank() {
        assert_eq!(competition_ranks(&[9, 7, 7, 5]), [1, 2, 2, 4]);
        assert_eq!(competition_ranks(&[3, 3, 3]), [1, 1, 1]);
        assert_eq!(
            competition_ranks(&[5, 4, 3, 3, 3, 0, 0]),
            [1, 2, 3, 3, 3, 6, 6]
        );
        assert_eq!(competition_ranks(&[]), Vec::<i64>::new());
    }
}
