//! The taste quiz over HTTP on every engine: the question bank, exams, attempts, scoreboards,
//! my exams, authorisation, races and the side effects of deleting things.

mod common;

use std::collections::HashSet;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    admins_build_the_question_bank,
    random_pairs_are_distinct_and_cover_the_bank,
    random_pairs_are_drawn_from_a_large_bank_with_holes,
    authors_create_exams_with_share_codes,
    invalid_exams_are_refused_field_by_field,
    participants_are_scored_ranked_and_attempt_once,
    invalid_attempts_are_refused_field_by_field,
    quiz_routes_enforce_who_may_do_what,
    deleting_an_exam_is_for_its_author_and_takes_its_attempts,
    my_exams_lists_authored_and_taken_exams_newest_first,
    concurrent_submissions_leave_exactly_one_whole_attempt,
    concurrent_exam_creation_gives_distinct_codes,
    a_taken_code_is_drawn_again,
    deleting_an_account_removes_its_exams_and_attempts,
    large_scoreboards_rank_every_participant,
    deleting_a_food_leaves_exams_readable,
    match_mode_exams_score_how_alike_tastes_are,
    display_names_show_wherever_exams_name_people,
    a_finished_world_cup_becomes_an_exam_of_its_picks,
    world_cup_exams_are_for_the_owner_of_a_finished_cup,
    a_64_cup_exam_asks_its_last_31_matches,
    exam_details_stay_exact_while_cached,
    an_exam_shows_exactly_its_allowed_fields,
);

/// A question pair as created: (pair id, left food id, right food id).
type BankPair = (i64, i64, i64);

/// Creates `n` pairs over `2n` fresh foods.
async fn bank(app: &TestApp, admin: &str, n: usize) -> Vec<BankPair> {
    let (_, foods) = app.book_with_foods(admin, "음식", 2 * n).await;
    let mut pairs = Vec::new();
    for i in 0..n {
        let (left, right) = (foods[2 * i], foods[2 * i + 1]);
        let (status, pair) = app
            .post(
                "/api/v1/quiz/pairs",
                Some(admin),
                json!({"left_id": left, "right_id": right}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{pair}");
        pairs.push((pair["id"].as_i64().unwrap(), left, right));
    }
    pairs
}

/// Answers choosing the left food where `picks` says `true`.
fn answers(pairs: &[BankPair], picks: &[bool]) -> Value {
    let list: Vec<Value> = pairs
        .iter()
        .zip(picks)
        .map(|(&(id, l, r), &left)| json!({"pair_id": id, "food_id": if left { l } else { r }}))
        .collect();
    json!(list)
}

/// Creates an exam and answers its code.
async fn exam(
    app: &TestApp,
    token: &str,
    title: &str,
    pairs: &[BankPair],
    picks: &[bool],
) -> String {
    let (status, body) = app
        .post(
            "/api/v1/exams",
            Some(token),
            json!({"title": title, "answers": answers(pairs, picks)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["code"].as_str().unwrap().to_owned()
}

async fn take(
    app: &TestApp,
    token: &str,
    code: &str,
    pairs: &[BankPair],
    picks: &[bool],
) -> (StatusCode, Value) {
    app.call(
        Method::PUT,
        &format!("/api/v1/exams/{code}/attempt"),
        Some(token),
        Some(json!({"answers": answers(pairs, picks)})),
    )
    .await
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn admins_build_the_question_bank(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (_, foods) = app.book_with_foods(&admin, "짝", 4).await;
    let (status, pair) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": foods[1], "right_id": foods[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    assert!(pair["id"].as_i64().is_some());
    assert_eq!(
        (pair["left"]["id"].as_i64(), pair["right"]["id"].as_i64()),
        (Some(foods[1]), Some(foods[0]))
    );
    assert_eq!(
        pair["left"]["name"], "짝2",
        "pairs carry whole foods: {pair}"
    );
    assert!(pair["left"]["categories"].is_array());

    for (left, right) in [(foods[1], foods[0]), (foods[0], foods[1])] {
        let (status, problem) = app
            .post(
                "/api/v1/quiz/pairs",
                Some(&admin),
                json!({"left_id": left, "right_id": right}),
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::CONFLICT, Some("conflict")),
            "either order"
        );
    }
    let invalid: Vec<(Value, &str)> = vec![
        (
            json!({"left_id": foods[2], "right_id": foods[2]}),
            "right_id",
        ),
        (json!({"left_id": 999_999, "right_id": foods[2]}), "left_id"),
        (
            json!({"left_id": foods[2], "right_id": 999_999}),
            "right_id",
        ),
    ];
    for (body, field) in invalid {
        let (status, problem) = app
            .post("/api/v1/quiz/pairs", Some(&admin), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(fields(&problem), [field], "{body}: {problem}");
    }
    for body in [
        json!({"left_id": foods[2]}),
        json!({"left_id": "1", "right_id": 2}),
        json!({"left_id": 1, "right_id": 2, "x": 1}),
    ] {
        let (status, _) = app
            .post("/api/v1/quiz/pairs", Some(&admin), body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let member = app.signup("member").await;
    let body = json!({"left_id": foods[2], "right_id": foods[3]});
    let (status, _) = app.post("/api/v1/quiz/pairs", None, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = app.post("/api/v1/quiz/pairs", Some(&member), body).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM quiz_pairs").await, 1);
}

async fn random_pairs_are_distinct_and_cover_the_bank(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (status, empty) = app.get("/api/v1/quiz/pairs").await;
    assert_eq!(
        (status, empty),
        (StatusCode::OK, json!([])),
        "an empty bank gives no pairs"
    );
    let admin = app.admin().await;
    let bank = bank(&app, &admin, 6).await;
    let all: HashSet<i64> = bank.iter().map(|p| p.0).collect();

    let (status, pairs) = app.get("/api/v1/quiz/pairs").await;
    assert_eq!(status, StatusCode::OK);
    let ids: HashSet<i64> = pairs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, all, "the default 24 takes the whole of a smaller bank");
    let first = &pairs[0];
    let (_, l, r) = bank
        .iter()
        .find(|p| p.0 == first["id"].as_i64().unwrap())
        .copied()
        .unwrap();
    assert_eq!(
        (first["left"]["id"].as_i64(), first["right"]["id"].as_i64()),
        (Some(l), Some(r))
    );

    let mut seen = HashSet::new();
    for _ in 0..40 {
        let (status, pairs) = app.get("/api/v1/quiz/pairs?count=2").await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<i64> = pairs
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1], "distinct pairs");
        seen.extend(ids);
    }
    assert_eq!(seen, all, "every pair comes up");
    let (_, fifty) = app.get("/api/v1/quiz/pairs?count=50").await;
    assert_eq!(fifty.as_array().unwrap().len(), 6);

    for bad in [
        "count=0",
        "count=51",
        "count=-1",
        "count=abc",
        "count=",
        "bogus=1",
    ] {
        let (status, problem) = app.get(&format!("/api/v1/quiz/pairs?{bad}")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
            "{bad}"
        );
    }
}

/// Inserts foods and pairs straight into the database: `pairs` pairs with the given ids.
async fn bulk_bank(app: &TestApp, pair_ids: &[i64]) {
    let foods = 100;
    let values: Vec<String> = (1..=foods)
        .map(|i| format!("({i}, 'f{i}', '', '', '', 0, 0)"))
        .collect();
    let sql = format!(
        "INSERT INTO foods (id, name, description, details, credit, created_at, updated_at) VALUES {}",
        values.join(", ")
    );
    ipmat::db::exec(&app.db, &sql, vec![]).await.unwrap();
    let mut combos = Vec::new();
    for a in 1..=foods {
        for b in (a + 1)..=foods {
            combos.push((a, b));
        }
    }
    assert!(combos.len() >= pair_ids.len());
    for chunk in pair_ids.iter().zip(&combos).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|(id, (a, b))| format!("({id}, {a}, {b}, {a}, {b}, 0)"))
            .collect();
        let sql = format!(
            "INSERT INTO quiz_pairs (id, left_id, right_id, low_id, high_id, created_at) VALUES {}",
            rows.join(", ")
        );
        ipmat::db::exec(&app.db, &sql, vec![]).await.unwrap();
    }
}

async fn random_pairs_are_drawn_from_a_large_bank_with_holes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    // Every other id over a span of 8,000: the draw samples the id range.
    let dense: Vec<i64> = (1..=4000).map(|i| 2 * i).collect();
    bulk_bank(&app, &dense).await;
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let (status, pairs) = app.get("/api/v1/quiz/pairs?count=50").await;
        assert_eq!(status, StatusCode::OK);
        let pairs = pairs.as_array().unwrap();
        let ids: HashSet<i64> = pairs.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), 50, "50 distinct pairs");
        assert!(ids.iter().all(|id| id % 2 == 0 && (2..=8000).contains(id)));
        assert!(
            pairs
                .iter()
                .all(|p| p["left"]["name"].is_string() && p["right"]["name"].is_string())
        );
        seen.extend(ids);
    }
    assert!(
        seen.len() > 200,
        "draws differ: {} distinct in 250",
        seen.len()
    );

    // Few pairs in a wide range: sampling falls short and every id is read instead.
    ipmat::db::exec(
        &app.db,
        "DELETE FROM quiz_pairs WHERE id % 200 <> 0",
        vec![],
    )
    .await
    .unwrap();
    let (status, pairs) = app.get("/api/v1/quiz/pairs?count=50").await;
    assert_eq!(status, StatusCode::OK);
    let ids: HashSet<i64> = pairs
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 40, "all 40 remaining pairs");
    assert!(ids.iter().all(|id| id % 200 == 0));
}

async fn authors_create_exams_with_share_codes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 4).await;
    let author = app.signup("Author").await;
    // The author's order is not the bank's order.
    let order = [pairs[2], pairs[0], pairs[3]];
    let (status, created) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "  나의 입맛  ", "answers": answers(&order, &[true, false, true])}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let code = created["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert_eq!(created["title"], "나의 입맛", "titles are trimmed");
    assert_eq!(
        created["author"],
        json!({"username": "Author", "display_name": "Author"})
    );
    assert_eq!(created["mode"], "guess", "the default mode");
    assert_eq!(created["question_count"], 3);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, lower) = app
        .get(&format!("/api/v1/exams/{}", code.to_lowercase()))
        .await;
    assert_eq!(lower, detail, "codes are case-insensitive");
    assert_eq!(detail["code"], code.as_str());
    assert_eq!(
        detail["author"],
        json!({"username": "Author", "display_name": "Author"})
    );
    assert_eq!(detail["mode"], "guess");
    assert_eq!(detail["question_count"], 3);
    assert_eq!(detail["participant_count"], 0);
    let questions = detail["questions"].as_array().unwrap();
    let got: Vec<(i64, i64, i64, i64)> = questions
        .iter()
        .map(|q| {
            (
                q["index"].as_i64().unwrap(),
                q["pair_id"].as_i64().unwrap(),
                q["left"]["id"].as_i64().unwrap(),
                q["right"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(i64, i64, i64, i64)> = order
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i64, p.0, p.1, p.2))
        .collect();
    assert_eq!(got, want, "questions in the author's order, indexed from 0");
    assert!(
        !detail.to_string().contains("answer"),
        "never the answers: {detail}"
    );

    let head = app
        .client
        .head(app.url(&format!("/api/v1/exams/{}", code.to_lowercase())))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    let head = app
        .client
        .head(app.url("/api/v1/exams/ZZZZZZ"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert!(head.bytes().await.unwrap().is_empty());

    for unknown in [
        "ZZZZZZ",
        "zzzzzz",
        "ABC",
        "ABCDEFG",
        "ABC10O",
        "%20",
        "가나다라마바",
    ] {
        let (status, problem) = app.get(&format!("/api/v1/exams/{unknown}")).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{unknown}"
        );
    }
    let (status, scoreboard) = app
        .get(&format!("/api/v1/exams/{}/scoreboard", code.to_lowercase()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        scoreboard,
        json!({"code": code, "title": "나의 입맛", "mode": "guess", "question_count": 3, "participants": []})
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 3);
}

async fn invalid_exams_are_refused_field_by_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let (p, l, r) = pairs[0];
    let ok = json!([{"pair_id": p, "food_id": l}]);
    let fifty_one: Vec<Value> = (0..51)
        .map(|i| json!({"pair_id": p + i, "food_id": l}))
        .collect();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": "", "answers": ok}), vec!["title"]),
        (json!({"title": "   ", "answers": ok}), vec!["title"]),
        (
            json!({"title": "가".repeat(31), "answers": ok}),
            vec!["title"],
        ),
        (json!({"title": "two\nlines", "answers": ok}), vec!["title"]),
        (json!({"title": "t", "answers": []}), vec!["answers"]),
        (json!({"title": "t", "answers": fifty_one}), vec!["answers"]),
        (
            json!({"title": "t", "answers": [{"pair_id": p, "food_id": l}, {"pair_id": p, "food_id": r}]}),
            vec!["answers[1].pair_id"],
        ),
        (
            json!({"title": "t", "answers": [{"pair_id": 999_999, "food_id": l}]}),
            vec!["answers[0].pair_id"],
        ),
        (
            json!({"title": "t", "answers": [{"pair_id": p, "food_id": pairs[1].1}]}),
            vec!["answers[0].food_id"],
        ),
        (
            json!({"title": "", "answers": [{"pair_id": p, "food_id": l}, {"pair_id": pairs[1].0, "food_id": l}, {"pair_id": 0, "food_id": l}]}),
            vec!["title", "answers[1].food_id", "answers[2].pair_id"],
        ),
    ];
    for (body, want) in cases {
        let (status, problem) = app.post("/api/v1/exams", Some(&author), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["code"], "validation_failed");
        assert_eq!(fields(&problem), want, "{body}: {problem}");
    }
    let (status, _) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "가".repeat(30), "answers": ok}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "30 characters is fine");
    for body in [
        json!({"answers": ok}),
        json!({"title": "t"}),
        json!({"title": 5, "answers": ok}),
        json!({"title": "t", "answers": [{"pair_id": p}]}),
        json!({"title": "t", "answers": ok, "extra": 1}),
    ] {
        let (status, _) = app.post("/api/v1/exams", Some(&author), body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exams").await,
        1,
        "refused exams write nothing"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 1);
}

async fn participants_are_scored_ranked_and_attempt_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 3).await;
    let author = app.signup("author").await;
    let key = [true, false, true];
    let code = exam(&app, &author, "맞혀 봐", &pairs, &key).await;

    // bob 3/3, Alice 1/3, carol 1/3, dave 0/3 → ranks 1, 2, 2, 4; equal scores by name, any case.
    let mut tokens = Vec::new();
    let plays: [(&str, [bool; 3], i64, i64, i64); 4] = [
        ("carol", [false, false, false], 1, 1, 1),
        ("bob", [true, false, true], 3, 1, 2),
        ("Alice", [true, true, false], 1, 2, 3),
        ("dave", [false, true, false], 0, 4, 4),
    ];
    for (name, picks, score, rank, participants) in plays {
        let token = app.signup(name).await;
        let (status, outcome) = take(&app, &token, &code.to_lowercase(), &pairs, &picks).await;
        assert_eq!(status, StatusCode::OK, "{outcome}");
        assert_eq!(
            outcome,
            json!({"score": score, "total": 3, "match_rate": score as f64 / 3.0, "rank": rank, "participant_count": participants}),
            "{name}"
        );
        tokens.push(token);
    }
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(
        board["participants"],
        json!([
            {"username": "bob", "display_name": "bob", "score": 3, "match_rate": 1.0, "rank": 1},
            {"username": "Alice", "display_name": "Alice", "score": 1, "match_rate": 1.0 / 3.0, "rank": 2},
            {"username": "carol", "display_name": "carol", "score": 1, "match_rate": 1.0 / 3.0, "rank": 2},
            {"username": "dave", "display_name": "dave", "score": 0, "match_rate": 0.0, "rank": 4},
        ])
    );
    assert_eq!(board["question_count"], 3);
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["participant_count"], 4);

    // Alice's result, question by question.
    let (status, result) = app
        .get_as(&tokens[2], &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        (result["score"].as_i64(), result["total"].as_i64()),
        (Some(1), Some(3))
    );
    let questions = result["questions"].as_array().unwrap();
    for (i, q) in questions.iter().enumerate() {
        let (pair, l, r) = pairs[i];
        assert_eq!(q["index"], i as i64);
        assert_eq!(q["pair_id"], pair);
        assert_eq!(
            (q["left"]["id"].as_i64(), q["right"]["id"].as_i64()),
            (Some(l), Some(r))
        );
        assert_eq!(q["answer_id"], if key[i] { l } else { r });
        assert_eq!(q["guess_id"], if [true, true, false][i] { l } else { r });
        assert_eq!(q["correct"], i == 0);
    }

    assert_eq!(result["title"], "맞혀 봐", "a result names its exam");
    assert_eq!(
        result["participant"],
        json!({"username": "Alice", "display_name": "Alice"})
    );
    assert_eq!(
        (result["rank"].as_i64(), result["match_rate"].as_f64()),
        (Some(2), Some(1.0 / 3.0))
    );

    // The first attempt is final: dave's retake is refused and changes nothing.
    let (status, problem) = take(&app, &tokens[3], &code, &pairs, &key).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{problem}"
    );
    let (_, unchanged) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(unchanged["participants"][3]["score"], 0);
    // Until the author resets him: then he may take it again (and does better).
    let reset = format!("/api/v1/exams/{code}/attempts/DAVE");
    let (status, _) = app.call(Method::DELETE, &reset, Some(&author), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(Method::DELETE, &reset, Some(&author), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing left to reset");
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["participant_count"], 3, "a reset leaves the board");
    let (status, outcome) = take(&app, &tokens[3], &code, &pairs, &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        outcome,
        json!({"score": 3, "total": 3, "match_rate": 1.0, "rank": 1, "participant_count": 4})
    );
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    let ranked: Vec<(&str, i64)> = board["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["username"].as_str().unwrap(), p["rank"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        ranked,
        [("bob", 1), ("dave", 1), ("Alice", 3), ("carol", 3)]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_attempts").await, 4);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_answers").await, 12);
    let (_, result) = app
        .get_as(&tokens[3], &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert!(
        result["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["correct"] == true)
    );

    // The author may not take their own exam.
    let (status, problem) = take(&app, &author, &code, &pairs, &key).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // Withdrawing: 204, then the attempt is gone and withdrawing again is 404.
    let path = format!("/api/v1/exams/{}/attempt", code.to_lowercase());
    let (status, _) = app
        .call(Method::DELETE, &path, Some(&tokens[1]), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::DELETE, &path, Some(&tokens[1]), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = app.get_as(&tokens[1], &path).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["participant_count"], 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_answers").await, 9);
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    let names: Vec<&str> = board["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dave", "Alice", "carol"], "bob withdrew");
    // Withdrawing does not open a new attempt; the author's reset does.
    let (status, problem) = take(&app, &tokens[1], &code, &pairs, &key).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{problem}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_attempts").await, 3);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/exams/{code}/attempts/bob"),
            Some(&author),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a withdrawn participant is reset too"
    );
    let (status, outcome) = take(&app, &tokens[1], &code, &pairs, &[false; 3]).await;
    assert_eq!(
        (status, outcome["participant_count"].as_i64()),
        (StatusCode::OK, Some(4))
    );
    let (status, _) = app.get_as(&author, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the author has no attempt");
}

async fn invalid_attempts_are_refused_field_by_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 4).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "t", &pairs[..3], &[true, true, true]).await;
    let member = app.signup("member").await;
    let a = |i: usize, left: bool| json!({"pair_id": pairs[i].0, "food_id": if left { pairs[i].1 } else { pairs[i].2 }});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!([]), vec!["answers"]),
        (json!([a(0, true), a(1, true)]), vec!["answers"]),
        (
            json!([a(0, true), a(1, true), a(2, true), a(3, true)]),
            vec!["answers[3].pair_id"],
        ),
        (
            json!([a(0, true), a(1, true), a(2, true), a(2, false)]),
            vec!["answers[3].pair_id"],
        ),
        (
            json!([a(0, true), a(1, true), {"pair_id": pairs[2].0, "food_id": pairs[3].1}]),
            vec!["answers[2].food_id"],
        ),
        (
            json!([a(0, true), {"pair_id": 999_999, "food_id": 1}, a(2, true)]),
            vec!["answers[1].pair_id", "answers"],
        ),
    ];
    for (list, want) in cases {
        let body = json!({"answers": list});
        let (status, problem) = app
            .call(
                Method::PUT,
                &format!("/api/v1/exams/{code}/attempt"),
                Some(&member),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(fields(&problem), want, "{body}: {problem}");
    }
    for body in [
        json!({}),
        json!({"answers": "x"}),
        json!({"answers": [{"pair_id": 1}]}),
        json!([1]),
    ] {
        let (status, _) = app
            .call(
                Method::PUT,
                &format!("/api/v1/exams/{code}/attempt"),
                Some(&member),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, _) = take(&app, &member, "ZZZZZZ", &pairs[..3], &[true, true, true]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exam_attempts").await,
        0,
        "nothing was stored"
    );
}

async fn quiz_routes_enforce_who_may_do_what(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "t", &pairs, &[true, true]).await;
    let player = app.signup("Player.One").await;
    take(&app, &player, &code, &pairs, &[true, false]).await;
    let other = app.signup("other").await;
    let attempt = json!({"answers": answers(&pairs, &[true, true])});

    // Without a session (or with a made-up one): 401 on every route that needs one.
    let needs_login: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/exams".into(),
            Some(json!({"title": "t", "answers": answers(&pairs, &[true, true])})),
        ),
        (
            Method::PUT,
            format!("/api/v1/exams/{code}/attempt"),
            Some(attempt.clone()),
        ),
        (Method::GET, format!("/api/v1/exams/{code}/attempt"), None),
        (
            Method::DELETE,
            format!("/api/v1/exams/{code}/attempt"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/exams/{code}/attempts/Player.One"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/exams/{code}"), None),
        (Method::GET, "/api/v1/me/exams".into(), None),
        (Method::GET, format!("/api/v1/exams/{code}/answers"), None),
        (
            Method::DELETE,
            format!("/api/v1/exams/{code}/attempts/Player.One"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/worldcups/{}/exam", "0".repeat(32)),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in needs_login {
        let (status, problem) = app.call(method.clone(), &path, None, body.clone()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{method} {path}"
        );
        let (status, _) = app
            .call(method.clone(), &path, Some("0".repeat(64).as_str()), body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "made-up token: {method} {path}"
        );
    }
    // Anyone may read an exam and its scoreboard.
    for path in [
        format!("/api/v1/exams/{code}"),
        format!("/api/v1/exams/{code}/scoreboard"),
        "/api/v1/quiz/pairs".into(),
    ] {
        let (status, _) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // Only the author sees a participant's answers, the answer key, resets a participant and
    // deletes the exam.
    for token in [&player, &other, &admin] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/exams/{code}/answers")),
            (
                Method::DELETE,
                format!("/api/v1/exams/{code}/attempts/Player.One"),
            ),
        ] {
            let (status, problem) = app.call(method.clone(), &path, Some(token), None).await;
            assert_eq!(
                (status, problem["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("forbidden")),
                "{method} {path}"
            );
        }
        let (status, problem) = app
            .get_as(token, &format!("/api/v1/exams/{code}/attempts/Player.One"))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        let (status, problem) = app
            .call(
                Method::DELETE,
                &format!("/api/v1/exams/{code}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    let (status, result) = app
        .get_as(
            &author,
            &format!("/api/v1/exams/{}/attempts/player.one", code.to_lowercase()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "usernames in any case: {result}");
    assert_eq!(
        (result["score"].as_i64(), result["total"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(result["questions"][1]["guess_id"], pairs[1].2);
    for nobody in ["other", "nobody", "author"] {
        let (status, _) = app
            .get_as(&author, &format!("/api/v1/exams/{code}/attempts/{nobody}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{nobody} has no attempt");
    }
    let (status, _) = app
        .get_as(&author, "/api/v1/exams/ZZZZZZ/attempts/Player.One")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/exams/ZZZZZZ", Some(&author), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exams").await,
        1,
        "refused deletes delete nothing"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_attempts").await, 1);

    // The author's answer key, question by question.
    let (status, key) = app
        .get_as(
            &author,
            &format!("/api/v1/exams/{}/answers", code.to_lowercase()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let answers: Vec<(i64, i64)> = key["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["pair_id"].as_i64().unwrap(),
                q["answer_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [(pairs[0].0, pairs[0].1), (pairs[1].0, pairs[1].1)]
    );
    assert_eq!(key["questions"][0]["left"]["id"], pairs[0].1);
    let (status, _) = app.get_as(&author, "/api/v1/exams/ZZZZZZ/answers").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn deleting_an_exam_is_for_its_author_and_takes_its_attempts(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let doomed = exam(&app, &author, "doomed", &pairs, &[true, true]).await;
    let kept = exam(&app, &author, "kept", &pairs, &[false, false]).await;
    let player = app.signup("player").await;
    for code in [&doomed, &kept] {
        let (status, _) = take(&app, &player, code, &pairs, &[true, false]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/exams/{}", doomed.to_lowercase()),
            Some(&author),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/v1/exams/{doomed}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/exams/{doomed}"),
            Some(&author),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exams").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 2);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_attempts").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_answers").await, 2);
    let (_, mine) = app.get_as(&player, "/api/v1/me/exams").await;
    let codes: Vec<&str> = mine["participated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [kept.as_str()]);
}

async fn my_exams_lists_authored_and_taken_exams_newest_first(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let me = app.signup("myself").await;
    let friend = app.signup("friend").await;
    let third = app.signup("third").await;
    let (_, empty) = app.get_as(&me, "/api/v1/me/exams").await;
    assert_eq!(empty, json!({"authored": [], "participated": []}));

    let first = exam(&app, &me, "first", &pairs, &[true, true]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await; // distinct creation times
    let second = exam(&app, &me, "second", &pairs, &[true, true]).await;
    take(&app, &friend, &first, &pairs, &[true, true]).await;
    take(&app, &third, &first, &pairs, &[false, false]).await;

    let theirs = exam(&app, &friend, "friend's", &pairs, &[true, false]).await;
    let older = exam(&app, &third, "third's", &pairs, &[true, false]).await;
    take(&app, &me, &older, &pairs, &[true, true]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    take(&app, &me, &theirs, &pairs, &[true, false]).await;
    take(&app, &third, &theirs, &pairs, &[true, true]).await;

    let (status, mine) = app.get_as(&me, "/api/v1/me/exams").await;
    assert_eq!(status, StatusCode::OK);
    let authored: Vec<(&str, &str, i64)> = mine["authored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap(),
                e["title"].as_str().unwrap(),
                e["participant_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        authored,
        [(second.as_str(), "second", 0), (first.as_str(), "first", 2)]
    );
    assert!(
        mine["authored"][0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        mine["participated"],
        json!([
            {"code": theirs, "title": "friend's", "mode": "guess", "author": {"username": "friend", "display_name": "friend"},
             "score": 2, "total": 2, "match_rate": 1.0, "participant_count": 2},
            {"code": older, "title": "third's", "mode": "guess", "author": {"username": "third", "display_name": "third"},
             "score": 1, "total": 2, "match_rate": 0.5, "participant_count": 1},
        ])
    );
}

async fn concurrent_submissions_leave_exactly_one_whole_attempt(engine: Engine) {
    let app = std::sync::Arc::new(TestApp::spawn(engine).await);
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 5).await;
    let author = app.signup("author").await;
    let key = [true; 5];
    let code = exam(&app, &author, "race", &pairs, &key).await;
    let player = app.signup("player").await;
    // 20 different submissions: the first 20 of the 32 ways to answer 5 questions.
    let submissions: Vec<Vec<bool>> = (0..20u32)
        .map(|m| (0..5).map(|b| m & (1 << b) == 0).collect())
        .collect();
    let results = futures_join_all(submissions.iter().map(|picks| {
        let (app, player, code, pairs, picks) = (
            app.clone(),
            player.clone(),
            code.clone(),
            pairs.clone(),
            picks.clone(),
        );
        async move { take(&app, &player, &code, &pairs, &picks).await }
    }))
    .await;
    let accepted: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(accepted.len(), 1, "exactly one submission is accepted");
    assert_eq!(accepted[0]["participant_count"], 1);
    for (status, body) in &results {
        assert!(
            *status == StatusCode::OK
                || (*status == StatusCode::CONFLICT && body["code"] == "conflict"),
            "the others are 409: {status} {body}"
        );
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exam_attempts").await,
        1,
        "exactly one attempt"
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM attempt_answers").await,
        5,
        "and exactly its answers"
    );
    let (_, result) = app
        .get_as(&player, &format!("/api/v1/exams/{code}/attempt"))
        .await;
    let guesses: Vec<bool> = result["questions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&pairs)
        .map(|(q, p)| q["guess_id"].as_i64().unwrap() == p.1)
        .collect();
    assert!(
        submissions.contains(&guesses),
        "the answers are one whole submission: {guesses:?}"
    );
    let score = guesses.iter().filter(|&&g| g).count() as i64;
    assert_eq!(result["score"], score, "and the score is that submission's");
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(
        board["participants"],
        json!([{"username": "player", "display_name": "player", "score": score, "match_rate": score as f64 / 5.0, "rank": 1}])
    );
}

/// Runs futures concurrently on the test's runtime and collects their outputs in order.
async fn futures_join_all<F: Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let mut set = Vec::new();
    for f in futures {
        set.push(tokio::spawn(f));
    }
    let mut out = Vec::new();
    for handle in set {
        out.push(handle.await.unwrap());
    }
    out
}

async fn concurrent_exam_creation_gives_distinct_codes(engine: Engine) {
    let app = std::sync::Arc::new(TestApp::spawn(engine).await);
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let creations = (0..50).map(|i| {
        let (app, author, pairs) = (app.clone(), author.clone(), pairs.clone());
        async move { exam(&app, &author, &format!("exam {i}"), &pairs, &[true, false]).await }
    });
    let codes: HashSet<String> = futures_join_all(creations).await.into_iter().collect();
    assert_eq!(codes.len(), 50, "50 distinct codes");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exams").await, 50);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 100);
    let (_, mine) = app.get_as(&author, "/api/v1/me/exams").await;
    assert_eq!(mine["authored"].as_array().unwrap().len(), 50);
}

async fn a_taken_code_is_drawn_again(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 1).await;
    let token = app.signup("author").await;
    let taken = exam(&app, &token, "first", &pairs, &[true]).await;
    let author_id = app
        .scalar("SELECT id FROM users WHERE username_key = 'author'")
        .await;
    let mut draws = vec![taken.clone(), taken.clone(), "ABC234".to_owned()].into_iter();
    let (code, _) = ipmat::quiz::queries::create_exam(
        &app.db,
        author_id,
        "second",
        ipmat::quiz::model::ExamMode::Guess,
        &[(pairs[0].0, pairs[0].1)],
        || draws.next().expect("three draws are enough"),
    )
    .await
    .unwrap();
    assert_eq!(code, "ABC234", "the taken code was drawn again, twice");
    assert_eq!(draws.next(), None);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exams").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exam_questions").await,
        2,
        "no questions of a failed try remain"
    );
    let (status, detail) = app.get("/api/v1/exams/abc234").await;
    assert_eq!(
        (status, detail["title"].as_str()),
        (StatusCode::OK, Some("second"))
    );
}

async fn deleting_an_account_removes_its_exams_and_attempts(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let leaver = app.signup("leaver").await;
    let stayer = app.signup("stayer").await;
    let third = app.signup("third").await;
    let leavers_exam = exam(&app, &leaver, "leaver's", &pairs, &[true, true]).await;
    let stayers_exam = exam(&app, &stayer, "stayer's", &pairs, &[true, true]).await;
    take(&app, &stayer, &leavers_exam, &pairs, &[true, true]).await;
    take(&app, &third, &leavers_exam, &pairs, &[true, false]).await;
    take(&app, &leaver, &stayers_exam, &pairs, &[false, true]).await;
    take(&app, &third, &stayers_exam, &pairs, &[false, false]).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_attempts").await, 4);

    let (status, _) = app
        .call(Method::DELETE, "/api/v1/me", Some(&leaver), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username_key = 'leaver'")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exams").await,
        1,
        "the leaver's exam is gone"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 2);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM exam_attempts").await,
        1,
        "only third's attempt at stayer's exam remains"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_answers").await, 2);
    let (status, _) = app.get(&format!("/api/v1/exams/{leavers_exam}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, board) = app
        .get(&format!("/api/v1/exams/{stayers_exam}/scoreboard"))
        .await;
    assert_eq!(
        board["participants"],
        json!([{"username": "third", "display_name": "third", "score": 0, "match_rate": 0.0, "rank": 1}])
    );
    let (_, mine) = app.get_as(&stayer, "/api/v1/me/exams").await;
    assert_eq!(mine["participated"], json!([]));
    assert_eq!(mine["authored"][0]["participant_count"], 1);
}

async fn large_scoreboards_rank_every_participant(engine: Engine) {
    let app = std::sync::Arc::new(TestApp::spawn(engine).await);
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 5).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "big", &pairs, &[true; 5]).await;
    let exam_id = app.scalar("SELECT id FROM exams").await;
    // 600 participants straight into the database, names in mixed case, scores 0..=5.
    let n = 600;
    let users: Vec<String> = (0..n)
        .map(|i| {
            let name = if i % 3 == 0 {
                format!("User{i:04}")
            } else {
                format!("user{i:04}")
            };
            format!("('{name}', '{}', 'x', FALSE, 0)", name.to_lowercase())
        })
        .collect();
    let sql = format!(
        "INSERT INTO users (username, username_key, password_hash, is_admin, created_at) VALUES {}",
        users.join(", ")
    );
    ipmat::db::exec(&app.db, &sql, vec![]).await.unwrap();
    let first_id = app
        .scalar("SELECT MIN(id) FROM users WHERE username_key LIKE 'user%'")
        .await;
    let score_of = |i: i64| (i * 7) % 6;
    let attempts: Vec<String> = (0..n)
        .map(|i| format!("({exam_id}, {}, {}, 5, {i})", first_id + i, score_of(i)))
        .collect();
    let sql = format!(
        "INSERT INTO exam_attempts (exam_id, user_id, score, total, submitted_at) VALUES {}",
        attempts.join(", ")
    );
    ipmat::db::exec(&app.db, &sql, vec![]).await.unwrap();
    // The participant counter, as the submissions would have kept it.
    ipmat::db::exec(
        &app.db,
        &format!("UPDATE exams SET participant_count = {n} WHERE id = {exam_id}"),
        vec![],
    )
    .await
    .unwrap();

    let (status, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<(String, i64, i64)> = board["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["username"].as_str().unwrap().to_owned(),
                p["score"].as_i64().unwrap(),
                p["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, i64)> = (0..n)
        .map(|i| {
            (
                if i % 3 == 0 {
                    format!("User{i:04}")
                } else {
                    format!("user{i:04}")
                },
                score_of(i),
            )
        })
        .collect();
    want.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
    });
    assert_eq!(got.len(), n as usize);
    for (i, ((name, score, rank), (want_name, want_score))) in got.iter().zip(&want).enumerate() {
        assert_eq!((name, score), (want_name, want_score), "position {i}");
        let first_with_score = want.iter().position(|w| w.1 == *score).unwrap() as i64 + 1;
        assert_eq!(*rank, first_with_score, "competition rank of {name}");
    }
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["participant_count"], n);
    // A newcomer with a perfect score shares first place with all the other 5s.
    let newcomer = app.signup("newcomer").await;
    let (_, outcome) = take(&app, &newcomer, &code, &pairs, &[true; 5]).await;
    assert_eq!(
        outcome,
        json!({"score": 5, "total": 5, "match_rate": 1.0, "rank": 1, "participant_count": n + 1})
    );
    let low = app.signup("low").await;
    let (_, outcome) = take(&app, &low, &code, &pairs, &[false; 5]).await;
    // Everyone above 0 is ahead, the newcomer too.
    let ahead = (0..n).filter(|&i| score_of(i) > 0).count() as i64 + 1;
    assert_eq!(outcome["rank"], ahead + 1);

    // A served scoreboard never outlives a change, even one that keeps the count: another
    // newcomer arrives and the first one withdraws.
    let path = format!("/api/v1/exams/{code}/scoreboard");
    let (_, before) = app.get(&path).await;
    let (_, again) = app.get(&path).await;
    assert_eq!(before, again);
    let newcomer_row = before["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == "low")
        .unwrap();
    assert_eq!(newcomer_row["rank"], ahead + 1);
    let second = app.signup("second").await;
    take(&app, &second, &code, &pairs, &[false; 5]).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&newcomer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = app.get(&path).await;
    let participants = after["participants"].as_array().unwrap();
    assert_eq!(participants.len(), n as usize + 2);
    assert!(participants.iter().any(|p| p["username"] == "second"));
    assert!(participants.iter().all(|p| p["username"] != "newcomer"));
}

async fn deleting_a_food_leaves_exams_readable(engine: Engine) {
    // Exams are immutable history: a food an exam uses is retired, not deleted, so the
    // exam keeps every question and every stored score keeps its meaning.
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 3).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "t", &pairs, &[true, true, true]).await;
    let player = app.signup("player").await;
    take(&app, &player, &code, &pairs, &[true, true, false]).await;
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(board["question_count"], 3);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/foods/{}", pairs[1].1),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    let indexes: Vec<i64> = detail["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 2], "no question leaves the exam");
    assert_eq!(detail["question_count"], 3);
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(board["question_count"], 3);
    let (status, result) = app
        .get_as(&player, &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["questions"].as_array().unwrap().len(), 3);
    // A newcomer answers every question, the retired food's included.
    let newcomer = app.signup("newcomer").await;
    let (status, outcome) = take(&app, &newcomer, &code, &pairs, &[true, true, true]).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["total"], 3);
    // A new exam cannot ask the pair whose food is gone; the others still can.
    let (status, problem) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "again", "answers": answers(&pairs, &[true, true, true])}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem.to_string().contains("answers[1].pair_id"),
        "{problem}"
    );
    let kept = [pairs[0], pairs[2]];
    let (status, created) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "again", "answers": answers(&kept, &[true, true])}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

async fn match_mode_exams_score_how_alike_tastes_are(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 4).await;
    let author = app.signup("author").await;
    let (status, created) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "궁합", "mode": "match", "answers": answers(&pairs, &[true; 4])}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["mode"], "match");
    let code = created["code"].as_str().unwrap().to_owned();
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["mode"], "match");
    let friend = app.signup("friend").await;
    let (status, outcome) = take(&app, &friend, &code, &pairs, &[true, true, true, false]).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(
        (outcome["score"].as_i64(), outcome["match_rate"].as_f64()),
        (Some(3), Some(0.75))
    );
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(board["mode"], "match");
    assert_eq!(board["participants"][0]["match_rate"], 0.75);
    let (_, result) = app
        .get_as(&friend, &format!("/api/v1/exams/{code}/attempt"))
        .await;
    assert_eq!(result["mode"], "match");
    assert_eq!(result["questions"][3]["correct"], false);

    for bad in [json!("both"), json!(1), json!(null)] {
        let (status, problem) = app
            .post(
                "/api/v1/exams",
                Some(&author),
                json!({"title": "t", "mode": bad, "answers": answers(&pairs, &[true; 4])}),
            )
            .await;
        if bad.is_null() {
            assert_eq!(status, StatusCode::CREATED, "null is the default mode");
        } else {
            assert!(status.is_client_error(), "{bad}: {status} {problem}");
        }
    }
}

async fn display_names_show_wherever_exams_name_people(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let (status, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"username": "minji22", "password": "password123", "display_name": " 민지 "}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let author = body["token"].as_str().unwrap().to_owned();
    let code = exam(&app, &author, "민지 퀴즈", &pairs, &[true, true]).await;
    let friend = app.signup("friend").await;
    take(&app, &friend, &code, &pairs, &[true, false]).await;
    let (status, me) = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&friend),
            Some(json!({"display_name": "수아"})),
        )
        .await;
    assert_eq!(
        (status, me["display_name"].as_str()),
        (StatusCode::OK, Some("수아"))
    );

    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(
        detail["author"],
        json!({"username": "minji22", "display_name": "민지"})
    );
    let (_, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(board["participants"][0]["display_name"], "수아");
    let (_, theirs) = app
        .get_as(&author, &format!("/api/v1/exams/{code}/attempts/friend"))
        .await;
    assert_eq!(
        (
            theirs["participant"]["display_name"].as_str(),
            theirs["title"].as_str()
        ),
        (Some("수아"), Some("민지 퀴즈"))
    );
    let (_, mine) = app.get_as(&friend, "/api/v1/me/exams").await;
    assert_eq!(mine["participated"][0]["author"]["display_name"], "민지");
    // The author renames themself: the cached exam shows it at once.
    app.call(
        Method::PATCH,
        "/api/v1/me",
        Some(&author),
        Some(json!({"display_name": "민지짱"})),
    )
    .await;
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(detail["author"]["display_name"], "민지짱");
}

/// Starts a world cup of `size` as `token` and plays it out, the left food always winning.
async fn played_cup(
    app: &TestApp,
    token: Option<&str>,
    book: i64,
    size: i64,
    finish: bool,
) -> (String, Value) {
    let (status, mut state) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            token,
            json!({"size": size}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    let id = state["id"].as_str().unwrap().to_owned();
    let key = state["play_key"].as_str().map(str::to_owned);
    while finish && !state["finished"].as_bool().unwrap() {
        let winner = state["current"]["left"]["id"].as_i64().unwrap();
        let mut request = app
            .client
            .post(app.url(&format!("/api/v1/worldcups/{id}/picks")))
            .json(&json!({"winner": winner}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = &key {
            request = request.header("x-play-key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        state = response.json().await.unwrap();
    }
    (id, state)
}

async fn a_finished_world_cup_becomes_an_exam_of_its_picks(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "월드컵", 8).await;
    // A bank pair that the cup may reuse is not needed: matches become pairs of their own.
    let owner = app.signup("owner").await;
    let (id, state) = played_cup(&app, Some(&owner), book, 8, true).await;
    let picks = state["picks"].as_array().unwrap().clone();
    assert_eq!(picks.len(), 7);
    let (status, created) = app
        .post(
            &format!("/api/v1/worldcups/{id}/exam"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["title"], "내 월드컵 픽 맞혀봐");
    assert_eq!(created["question_count"], 7);
    let code = created["code"].as_str().unwrap().to_owned();
    let (_, key) = app
        .get_as(&owner, &format!("/api/v1/exams/{code}/answers"))
        .await;
    let asked: Vec<(i64, i64, i64)> = key["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["left"]["id"].as_i64().unwrap(),
                q["right"]["id"].as_i64().unwrap(),
                q["answer_id"].as_i64().unwrap(),
            )
        })
        .collect();
    let played: Vec<(i64, i64, i64)> = picks
        .iter()
        .map(|p| {
            (
                p["left_id"].as_i64().unwrap(),
                p["right_id"].as_i64().unwrap(),
                p["winner_id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        asked, played,
        "the questions are the matches, the answers the picks"
    );
    // The pairs stay out of the bank: random draws never offer them.
    let (_, drawn) = app.get("/api/v1/quiz/pairs?count=50").await;
    assert_eq!(drawn, json!([]));
    // A friend takes it like any exam, in match mode too.
    let (status, created) = app
        .post(
            &format!("/api/v1/worldcups/{id}/exam"),
            Some(&owner),
            json!({"title": "  우리 궁합  ", "mode": "match"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["title"].as_str(), created["mode"].as_str()),
        (Some("우리 궁합"), Some("match"))
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM quiz_pairs").await,
        7,
        "the second exam reuses the pairs"
    );
    let (_, detail) = app.get(&format!("/api/v1/exams/{code}")).await;
    let friend = app.signup("friend").await;
    let all_left: Vec<Value> = detail["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| json!({"pair_id": q["pair_id"], "food_id": q["left"]["id"]}))
        .collect();
    let (status, outcome) = app
        .call(
            Method::PUT,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&friend),
            Some(json!({"answers": all_left})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["score"], 7, "the owner always picked the left food");
    // An admin adding one of those pairs to the bank gets it into the bank, not a 409.
    let (l, r) = (played[0].0, played[0].1);
    let (status, pair) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": l, "right_id": r}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    let (status, _) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": l, "right_id": r}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, drawn) = app.get("/api/v1/quiz/pairs?count=50").await;
    assert_eq!(drawn.as_array().unwrap().len(), 1);
}

async fn world_cup_exams_are_for_the_owner_of_a_finished_cup(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "월드컵", 4).await;
    let owner = app.signup("owner").await;
    let other = app.signup("other").await;
    let (finished, _) = played_cup(&app, Some(&owner), book, 4, true).await;
    let (unfinished, _) = played_cup(&app, Some(&owner), book, 4, false).await;
    let (anonymous, _) = played_cup(&app, None, book, 4, true).await;
    let cases: Vec<(&str, String, Value, StatusCode, &str)> = vec![
        (
            "someone else's cup",
            finished.clone(),
            json!({}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "a cup played signed out",
            anonymous.clone(),
            json!({}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "an unknown cup",
            "f".repeat(32),
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a malformed id",
            "nope".into(),
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (what, id, body, want, code) in cases {
        let (status, problem) = app
            .post(&format!("/api/v1/worldcups/{id}/exam"), Some(&other), body)
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (want, Some(code)),
            "{what}"
        );
    }
    let (status, problem) = app
        .post(
            &format!("/api/v1/worldcups/{unfinished}/exam"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "가".repeat(31)}), "title"),
    ] {
        let (status, problem) = app
            .post(
                &format!("/api/v1/worldcups/{finished}/exam"),
                Some(&owner),
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(fields(&problem), [field]);
    }
    let (status, _) = app
        .post(
            &format!("/api/v1/worldcups/{finished}/exam"),
            Some(&owner),
            json!({"mode": "both"}),
        )
        .await;
    assert!(status.is_client_error());
    // An empty body is every default.
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/worldcups/{finished}/exam"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exams").await, 1);
}

async fn a_64_cup_exam_asks_its_last_31_matches(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "큰 월드컵", 64).await;
    let owner = app.signup("owner").await;
    let (id, state) = played_cup(&app, Some(&owner), book, 64, true).await;
    let picks = state["picks"].as_array().unwrap();
    assert_eq!(picks.len(), 63);
    let (status, created) = app
        .post(
            &format!("/api/v1/worldcups/{id}/exam"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["question_count"], 31);
    let code = created["code"].as_str().unwrap();
    let (_, key) = app
        .get_as(&owner, &format!("/api/v1/exams/{code}/answers"))
        .await;
    let first = &key["questions"][0];
    assert_eq!(
        first["left"]["id"], picks[32]["left_id"],
        "from the round of 32 on"
    );
    assert_eq!(
        key["questions"][30]["answer_id"], state["champion"]["id"],
        "the final last"
    );
}

async fn exam_details_stay_exact_while_cached(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "캐시", &pairs, &[true, true]).await;
    let path = format!("/api/v1/exams/{code}");
    let (_, first) = app.get(&path).await;
    assert_eq!(first["participant_count"], 0);
    let mut tokens = Vec::new();
    for (i, name) in ["pp1", "pp2", "pp3"].iter().enumerate() {
        let token = app.signup(name).await;
        take(&app, &token, &code, &pairs, &[true, false]).await;
        let (_, detail) = app.get(&path).await;
        assert_eq!(detail["participant_count"], i as i64 + 1, "exact at once");
        tokens.push(token);
    }
    app.call(
        Method::DELETE,
        &format!("{path}/attempt"),
        Some(&tokens[0]),
        None,
    )
    .await;
    let (_, detail) = app.get(&path).await;
    assert_eq!(
        detail["participant_count"], 2,
        "a withdrawal counts at once"
    );
    assert_eq!(detail["questions"], first["questions"]);
    let (status, _) = app.call(Method::DELETE, &path, Some(&author), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&path).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a deleted exam is gone at once"
    );
}

/// The keys of a JSON object, sorted.
fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// An exam read by anyone carries exactly these fields, so no answer can leak through a new
/// one: the question, its two foods and the author are pinned as well.
async fn an_exam_shows_exactly_its_allowed_fields(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, 2).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, "pinned", &pairs, &[true, false]).await;
    let player = app.signup("player").await;
    for token in [None, Some(player.as_str()), Some(author.as_str())] {
        let (status, detail) = match token {
            None => app.get(&format!("/api/v1/exams/{code}")).await,
            Some(t) => app.get_as(t, &format!("/api/v1/exams/{code}")).await,
        };
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(
            keys_of(&detail),
            [
                "author",
                "code",
                "created_at",
                "mode",
                "participant_count",
                "question_count",
                "questions",
                "title"
            ]
        );
        assert_eq!(keys_of(&detail["author"]), ["display_name", "username"]);
        let food_fields = [
            "alt_credit",
            "alt_image_url",
            "alt_image_webp_url",
            "categories",
            "credit",
            "description",
            "details",
            "id",
            "image_url",
            "image_webp_url",
            "name",
        ];
        for question in detail["questions"].as_array().unwrap() {
            assert_eq!(keys_of(question), ["index", "left", "pair_id", "right"]);
            assert_eq!(keys_of(&question["left"]), food_fields);
            assert_eq!(keys_of(&question["right"]), food_fields);
        }
    }
}
