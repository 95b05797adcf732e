//! The admin's question bank over HTTP on every engine: the paged, searchable list and
//! deleting pairs (deleted when unused, retired when an exam asks them).

mod common;

use std::collections::HashSet;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    admins_page_through_the_bank_newest_first,
    admins_search_the_bank_by_either_food,
    invalid_bank_queries_are_refused_by_field,
    only_admins_see_and_delete_pairs,
    deleting_an_unused_pair_removes_it,
    deleting_a_pair_an_exam_asks_retires_it_and_keeps_the_exam,
);

/// Creates foods named `{prefix}1`… and `n` pairs of them (1,2), (3,4)…; answers the pair ids
/// in creation order with their food ids.
async fn pairs(app: &TestApp, admin: &str, prefix: &str, n: usize) -> Vec<(i64, i64, i64)> {
    let (_, foods) = app.book_with_foods(admin, prefix, 2 * n).await;
    let mut out = Vec::new();
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
        out.push((pair["id"].as_i64().unwrap(), left, right));
    }
    out
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn delete(app: &TestApp, token: Option<&str>, id: i64) -> (StatusCode, Value) {
    app.call(
        Method::DELETE,
        &format!("/api/v1/quiz/pairs/{id}"),
        token,
        None,
    )
    .await
}

/// Every pair id the public draw can give (the whole bank when it is at most 50 pairs).
async fn drawable(app: &TestApp) -> HashSet<i64> {
    let (status, drawn) = app.get("/api/v1/quiz/pairs?count=50").await;
    assert_eq!(status, StatusCode::OK, "{drawn}");
    drawn
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

async fn admins_page_through_the_bank_newest_first(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, empty) = app.get_as(&admin, "/api/v1/admin/quiz/pairs").await;
    assert_eq!(status, StatusCode::OK, "{empty}");
    assert_eq!(empty, json!({"items": [], "next_cursor": null, "total": 0}));

    let made = pairs(&app, &admin, "짝", 7).await;
    let mut newest_first: Vec<i64> = made.iter().map(|p| p.0).collect();
    newest_first.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/admin/quiz/pairs?limit=3".to_owned(),
            Some(c) => format!("/api/v1/admin/quiz/pairs?limit=3&cursor={c}"),
        };
        let (status, page) = app.get_as(&admin, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 7, "the total counts every page: {page}");
        let got = ids(&page);
        assert!(got.len() <= 3, "{page}");
        seen.extend(got);
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first, "each pair once, newest first");

    let (_, page) = app.get_as(&admin, "/api/v1/admin/quiz/pairs?limit=1").await;
    let first = &page["items"][0];
    assert_eq!(
        first["left"]["name"], "짝13",
        "pairs carry whole foods: {first}"
    );
    assert_eq!(first["right"]["name"], "짝14");
    assert_eq!(first["exam_count"], 0);
    // An empty cursor is the first page, as elsewhere.
    let (_, again) = app
        .get_as(&admin, "/api/v1/admin/quiz/pairs?limit=1&cursor=")
        .await;
    assert_eq!(ids(&again), ids(&page));
}

async fn admins_search_the_bank_by_either_food(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let plain = pairs(&app, &admin, "국", 2).await;
    let spicy = pairs(&app, &admin, "Tteok", 2).await;
    // One pair mixes the two names, with the searched one on the right.
    let (status, mixed) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": plain[0].1, "right_id": spicy[0].1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mixed}");
    let mixed = mixed["id"].as_i64().unwrap();

    let (status, found) = app
        .get_as(&admin, "/api/v1/admin/quiz/pairs?q=%20tTEOK%20")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        ids(&found),
        [mixed, spicy[1].0, spicy[0].0],
        "case-insensitive, either side, trimmed: {found}"
    );
    assert_eq!(found["total"], 3);
    let (_, one) = app
        .get_as(&admin, "/api/v1/admin/quiz/pairs?q=%EA%B5%AD3")
        .await;
    assert_eq!(ids(&one), [plain[1].0], "국3 is in the second plain pair");
    // LIKE wildcards are searched as text.
    for q in ["%25", "_", "!"] {
        let (status, none) = app
            .get_as(&admin, &format!("/api/v1/admin/quiz/pairs?q={q}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(none["total"], 0, "{q}: {none}");
    }
    let (_, all) = app.get_as(&admin, "/api/v1/admin/quiz/pairs?q=").await;
    assert_eq!(all["total"], 5, "an empty search is the whole bank");
}

async fn invalid_bank_queries_are_refused_by_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let long = "가".repeat(51);
    let cases = [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-4", "cursor"),
        (&*format!("q={long}"), "q"),
    ];
    for (query, field) in cases {
        let (status, problem) = app
            .get_as(&admin, &format!("/api/v1/admin/quiz/pairs?{query}"))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
            "{query}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    for query in ["limit=x", "count=3"] {
        let (status, problem) = app
            .get_as(&admin, &format!("/api/v1/admin/quiz/pairs?{query}"))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {problem}"
        );
    }
    let (status, problem) = app
        .call(Method::DELETE, "/api/v1/quiz/pairs/x", Some(&admin), None)
        .await;
    assert!(status.is_client_error(), "{problem}");
    let (status, problem) = delete(&app, Some(&admin), 999_999).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{problem}"
    );
}

async fn only_admins_see_and_delete_pairs(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let made = pairs(&app, &admin, "짝", 1).await;
    let member = app.signup("member").await;
    let (status, _) = app.get("/api/v1/admin/quiz/pairs").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = app.get_as(&member, "/api/v1/admin/quiz/pairs").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = delete(&app, None, made[0].0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = delete(&app, Some(&member), made[0].0).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM quiz_pairs").await, 1);
    assert_eq!(drawable(&app).await, HashSet::from([made[0].0]));
}

async fn deleting_an_unused_pair_removes_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let made = pairs(&app, &admin, "짝", 3).await;
    let (status, body) = delete(&app, Some(&admin), made[1].0).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM quiz_pairs WHERE id = {}",
            made[1].0
        ))
        .await,
        0,
        "the row is gone"
    );
    assert_eq!(drawable(&app).await, HashSet::from([made[0].0, made[2].0]));
    let (_, page) = app.get_as(&admin, "/api/v1/admin/quiz/pairs").await;
    assert_eq!(ids(&page), [made[2].0, made[0].0]);
    assert_eq!(page["total"], 2);
    let (status, _) = delete(&app, Some(&admin), made[1].0).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted means gone");
    // The foods stay, and the pair can be made again.
    let (status, again) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": made[1].1, "right_id": made[1].2}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
}

async fn deleting_a_pair_an_exam_asks_retires_it_and_keeps_the_exam(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let made = pairs(&app, &admin, "짝", 3).await;
    let author = app.signup("author").await;
    let answers: Vec<Value> = made
        .iter()
        .map(|&(id, left, _)| json!({"pair_id": id, "food_id": left}))
        .collect();
    let (status, exam) = app
        .post(
            "/api/v1/exams",
            Some(&author),
            json!({"title": "내 입맛", "answers": answers}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{exam}");
    let code = exam["code"].as_str().unwrap().to_owned();
    let player = app.signup("player").await;
    let (status, outcome) = app
        .call(
            Method::PUT,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&player),
            Some(json!({"answers": answers})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    let (_, before) = app.get(&format!("/api/v1/exams/{code}")).await;
    let (_, page) = app.get_as(&admin, "/api/v1/admin/quiz/pairs").await;
    assert_eq!(page["items"][0]["exam_count"], 1, "{page}");

    let (status, _) = delete(&app, Some(&admin), made[0].0).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = delete(&app, Some(&admin), made[0].0).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "retiring again is a no-op");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM quiz_pairs WHERE id = {}",
            made[0].0
        ))
        .await,
        1,
        "the row an exam uses stays"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM exam_questions").await, 3);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM attempt_answers").await, 3);
    assert_eq!(drawable(&app).await, HashSet::from([made[1].0, made[2].0]));
    let (_, page) = app.get_as(&admin, "/api/v1/admin/quiz/pairs").await;
    assert_eq!(
        ids(&page),
        [made[2].0, made[1].0],
        "retired pairs leave the list"
    );

    let (status, after) = app.get(&format!("/api/v1/exams/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        after["questions"], before["questions"],
        "the exam reads as before"
    );
    let (status, board) = app.get(&format!("/api/v1/exams/{code}/scoreboard")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(board["participants"][0]["score"], 3, "{board}");
    let newcomer = app.signup("newcomer").await;
    let (status, outcome) = app
        .call(
            Method::PUT,
            &format!("/api/v1/exams/{code}/attempt"),
            Some(&newcomer),
            Some(json!({"answers": answers})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the retired question is still answered: {outcome}"
    );
    assert_eq!(outcome["total"], 3);

    // Adding the same two foods puts the retired pair back in the bank.
    let (status, back) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": made[0].1, "right_id": made[0].2}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{back}");
    assert_eq!(back["id"].as_i64(), Some(made[0].0));
    assert!(drawable(&app).await.contains(&made[0].0));
}
