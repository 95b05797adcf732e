//! The food world cup over HTTP, on every engine: brackets, picks, undo, concurrency,
//! rankings and the purge of abandoned world cups.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    a_sixteen_food_world_cup_plays_to_a_champion,
    invalid_starts_picks_and_undos_are_refused,
    sizes_default_and_exclusions_leave_foods_out,
    every_food_of_a_book_can_be_drawn,
    parallel_starts_count_every_play,
    parallel_picks_never_corrupt_a_world_cup,
    undo_then_redo_reaches_the_same_state,
    rankings_add_up_finished_world_cups_only,
    parallel_finishes_keep_statistics_exact,
    abandoned_world_cups_are_purged,
);

async fn start(app: &TestApp, book: i64, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/books/{book}/worldcups"), None, body)
        .await
}

async fn pick(app: &TestApp, id: &str, winner: i64) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/worldcups/{id}/picks"),
        None,
        json!({"winner": winner}),
    )
    .await
}

fn food_id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

/// Plays a world cup to the end, always picking the food for which `choose` says true.
async fn play_out(app: &TestApp, mut state: Value, choose: impl Fn(i64, i64) -> i64) -> Value {
    while !state["finished"].as_bool().unwrap() {
        let (l, r) = (
            food_id(&state["current"]["left"]),
            food_id(&state["current"]["right"]),
        );
        let (status, next) = pick(app, state["id"].as_str().unwrap(), choose(l, r)).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        state = next;
    }
    state
}

async fn a_sixteen_food_world_cup_plays_to_a_champion(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "음식", 20).await;
    let (status, state) = start(&app, book, json!({"size": 16})).await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    let id = state["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "ids carry 128 random bits");
    assert_eq!(
        (
            state["size"].as_i64(),
            state["round"].as_i64(),
            state["match"].as_i64(),
            state["matches_in_round"].as_i64()
        ),
        (Some(16), Some(16), Some(1), Some(8))
    );
    assert_eq!(state["label"], "16강 1/8");
    assert_eq!(state["finished"], false);
    assert_eq!(state["champion"], Value::Null);
    assert_eq!(state["picks"], json!([]));
    assert!(state["current"]["left"]["name"].is_string());
    let (_, detail) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(detail["play_count"], 1);

    let mut labels = Vec::new();
    let mut state = state;
    for n in 0..15 {
        labels.push(state["label"].as_str().unwrap().to_owned());
        let left = food_id(&state["current"]["left"]);
        let (status, next) = pick(&app, &id, left).await;
        assert_eq!(status, StatusCode::OK, "pick {n}: {next}");
        assert_eq!(next["picks"].as_array().unwrap().len(), n + 1);
        let last = &next["picks"][n];
        assert_eq!(last["winner_id"].as_i64(), Some(left));
        assert_eq!(last["round"], state["round"]);
        assert_eq!(last["match"], state["match"]);
        state = next;
    }
    assert_eq!(labels[0], "16강 1/8");
    assert_eq!(labels[7], "16강 8/8");
    assert_eq!(labels[8], "8강 1/4");
    assert_eq!(labels[12], "4강 1/2");
    assert_eq!(labels[14], "결승");
    assert_eq!(state["finished"], true);
    assert_eq!(state["current"], Value::Null);
    assert_eq!(state["label"], "우승");
    let champion = food_id(&state["champion"]);
    assert!(foods.contains(&champion));

    let (status, again) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again, state,
        "a finished world cup can be shared and read back"
    );
    let (status, problem) = pick(&app, &id, champion).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/worldcups/{id}/picks/last"),
            None,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a finished world cup cannot be undone"
    );

    let (status, ranking) = app.get(&format!("/api/v1/books/{book}/ranking")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ranking["worldcups_finished"], 1);
    let items = ranking["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "every food of the book is ranked");
    assert_eq!(food_id(&items[0]["food"]), champion);
    assert_eq!(
        (items[0]["wins"].as_i64(), items[0]["matches"].as_i64()),
        (Some(4), Some(4))
    );
    assert_eq!(
        (
            items[0]["championships"].as_i64(),
            items[0]["champion_rate"].as_f64()
        ),
        (Some(1), Some(1.0))
    );
    let wins: i64 = items.iter().map(|i| i["wins"].as_i64().unwrap()).sum();
    let matches: i64 = items.iter().map(|i| i["matches"].as_i64().unwrap()).sum();
    assert_eq!((wins, matches), (15, 30));
    assert_eq!(
        items.iter().filter(|i| i["matches"] == 0).count(),
        4,
        "four foods were not drawn"
    );
}

async fn invalid_starts_picks_and_undos_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "메뉴", 16).await;
    let bad_starts = [
        json!({"size": 3}),
        json!({"size": 1}),
        json!({"size": 0}),
        json!({"size": 128}),
        json!({"size": 32}),
        json!({"size": -2}),
        json!({"size": "16"}),
        json!({"size": 16, "exclude_food_ids": [foods[0]]}),
        json!({"exclude_food_ids": foods[..15]}),
        json!({"exclude_food_ids": (1..=65).collect::<Vec<i64>>()}),
        json!({"exclude_food_ids": "all"}),
        json!({"sise": 16}),
    ];
    for body in bad_starts {
        let (status, problem) = start(&app, book, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
    }
    let (_, detail) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(detail["play_count"], 0, "refused starts are not plays");
    let (status, _) = start(&app, 999_999, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for id in ["0123456789abcdef0123456789abcdef", "not-an-id", "../../etc"] {
        let (status, _) = app.get(&format!("/api/v1/worldcups/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
    }

    let (_, state) = start(&app, book, json!({"size": 4})).await;
    let id = state["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/worldcups/{id}/picks/last"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to undo");
    let entrants: HashSet<i64> = [
        food_id(&state["current"]["left"]),
        food_id(&state["current"]["right"]),
    ]
    .into();
    let outsider = foods.iter().find(|f| !entrants.contains(f)).unwrap();
    let (status, problem) = pick(&app, id, *outsider).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "winner");
    for body in [json!({}), json!({"winner": "left"}), json!({"winner": 1.5})] {
        let (status, _) = app
            .post(&format!("/api/v1/worldcups/{id}/picks"), None, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (_, state) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(state["picks"], json!([]), "refused picks change nothing");
}

async fn sizes_default_and_exclusions_leave_foods_out(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "간식", 20).await;
    let (status, state) = start(&app, book, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        state["size"], 16,
        "the largest power of two the book allows"
    );
    let (status, state) = app
        .call(
            Method::POST,
            &format!("/api/v1/books/{book}/worldcups"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, state["size"].as_i64()),
        (StatusCode::CREATED, Some(16)),
        "no body at all"
    );

    let excluded: Vec<i64> = foods[..5].to_vec();
    for _ in 0..10 {
        let (status, state) = start(&app, book, json!({"exclude_food_ids": excluded})).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(state["size"], 8, "15 foods left: the default is 8");
        let final_state = play_out(&app, state, |l, _| l).await;
        for p in final_state["picks"].as_array().unwrap() {
            for side in ["left_id", "right_id"] {
                assert!(
                    !excluded.contains(&p[side].as_i64().unwrap()),
                    "an excluded food was drawn"
                );
            }
        }
    }
    let (big, _) = app.book_with_foods(&admin, "대형", 40).await;
    let (_, state) = start(&app, big, json!({})).await;
    assert_eq!(state["size"], 32, "the default is at most 32");
    let (status, state) = start(&app, big, json!({"size": 64})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "64 needs 64 foods: {state}"
    );
}

async fn every_food_of_a_book_can_be_drawn(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "후보", 8).await;
    let mut seen: HashMap<i64, u32> = HashMap::new();
    let mut first_slot: HashMap<i64, u32> = HashMap::new();
    for _ in 0..160 {
        let (_, state) = start(&app, book, json!({"size": 2})).await;
        for side in ["left", "right"] {
            *seen.entry(food_id(&state["current"][side])).or_default() += 1;
        }
        *first_slot
            .entry(food_id(&state["current"]["left"]))
            .or_default() += 1;
    }
    assert_eq!(seen.len(), foods.len(), "every food was drawn: {seen:?}");
    // 320 draws over 8 foods: 40 each expected; under 10 would be astronomically unlikely.
    assert!(seen.values().all(|&n| n >= 10), "{seen:?}");
    assert_eq!(
        first_slot.len(),
        foods.len(),
        "and in either slot: {first_slot:?}"
    );
}

async fn parallel_starts_count_every_play(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "동시", 16).await;
    let (other, _) = app.book_with_foods(&admin, "병렬", 8).await;
    let starts = 300;
    let mut tasks = tokio::task::JoinSet::new();
    // Two books at once: the starts of a moment are stored together, counted per book.
    for n in 0..starts {
        let client = app.client.clone();
        let target = if n % 3 == 0 { other } else { book };
        let url = app.url(&format!("/api/v1/books/{target}/worldcups"));
        tasks.spawn(async move {
            client
                .post(url)
                .json(&json!({"size": 8}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut created = 0;
    while let Some(status) = tasks.join_next().await {
        let status = status.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        created += 1;
    }
    assert_eq!(created, starts, "every start succeeded");
    assert_eq!(plays(&app, other).await, (starts / 3) as i64);
    assert_eq!(plays(&app, book).await, (starts - starts / 3) as i64);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM worldcups").await,
        starts as i64
    );
}

async fn parallel_picks_never_corrupt_a_world_cup(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "경쟁", 8).await;
    for round in 0..5 {
        let (_, state) = start(&app, book, json!({"size": 8})).await;
        let id = state["id"].as_str().unwrap().to_owned();
        let (l, r) = (
            food_id(&state["current"]["left"]),
            food_id(&state["current"]["right"]),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..12 {
            let client = app.client.clone();
            let url = app.url(&format!("/api/v1/worldcups/{id}/picks"));
            let winner = if n % 2 == 0 { l } else { r };
            tasks.spawn(async move {
                let response = client
                    .post(url)
                    .json(&json!({"winner": winner}))
                    .send()
                    .await
                    .unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            });
        }
        let mut ok = 0;
        while let Some(result) = tasks.join_next().await {
            let (status, body) = result.unwrap();
            match status {
                StatusCode::OK => ok += 1,
                StatusCode::CONFLICT => assert_eq!(body["code"], "conflict"),
                other => panic!("round {round}: {other} {body}"),
            }
        }
        assert_eq!(ok, 1, "exactly one pick of the first match wins");
        let (_, state) = app.get(&format!("/api/v1/worldcups/{id}")).await;
        assert_eq!(state["picks"].as_array().unwrap().len(), 1);
        assert_eq!(state["label"], "8강 2/4");
    }
}

async fn undo_then_redo_reaches_the_same_state(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "되돌리기", 8).await;
    let (_, mut state) = start(&app, book, json!({"size": 8})).await;
    let id = state["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let right = food_id(&state["current"]["right"]);
        state = pick(&app, &id, right).await.1;
    }
    let before = state.clone();
    let last = before["picks"][4]["winner_id"].as_i64().unwrap();
    let (status, undone) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/worldcups/{id}/picks/last"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(undone["picks"].as_array().unwrap().len(), 4);
    assert_eq!(undone["label"], "4강 1/2");
    let (status, redone) = pick(&app, &id, last).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(redone, before);
}

async fn rankings_add_up_finished_world_cups_only(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "순위", 4).await;
    // The lowest id always wins: it becomes champion of both finished cups.
    for _ in 0..2 {
        let (_, state) = start(&app, book, json!({"size": 4})).await;
        play_out(&app, state, |l, r| l.min(r)).await;
    }
    // An unfinished cup counts for nothing.
    let (_, state) = start(&app, book, json!({"size": 4})).await;
    let left = food_id(&state["current"]["left"]);
    pick(&app, state["id"].as_str().unwrap(), left).await;

    let (_, ranking) = app.get(&format!("/api/v1/books/{book}/ranking")).await;
    assert_eq!(ranking["worldcups_finished"], 2);
    let items = ranking["items"].as_array().unwrap();
    let top = &items[0];
    assert_eq!(food_id(&top["food"]), foods[0]);
    assert_eq!(
        (
            top["championships"].as_i64(),
            top["wins"].as_i64(),
            top["matches"].as_i64()
        ),
        (Some(2), Some(4), Some(4))
    );
    assert_eq!(
        (top["win_rate"].as_f64(), top["champion_rate"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    let matches: i64 = items.iter().map(|i| i["matches"].as_i64().unwrap()).sum();
    assert_eq!(matches, 12, "two cups of three matches, two foods each");
    // Order: championships, then win rate, then name.
    for pair in items.windows(2) {
        let key = |i: &Value| {
            (
                -i["championships"].as_i64().unwrap(),
                -(i["win_rate"].as_f64().unwrap() * 1e6) as i64,
            )
        };
        assert!(key(&pair[0]) <= key(&pair[1]), "{pair:?}");
        if key(&pair[0]) == key(&pair[1]) {
            assert!(pair[0]["food"]["name"].as_str() < pair[1]["food"]["name"].as_str());
        }
    }
    let (_, first) = app
        .get(&format!("/api/v1/books/{book}/ranking?limit=3"))
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get(&format!(
            "/api/v1/books/{book}/ranking?limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(
        second["items"][0], items[3],
        "pages continue where the last one stopped"
    );
    for bad in ["limit=0", "limit=201", "cursor=abc"] {
        let (status, _) = app
            .get(&format!("/api/v1/books/{book}/ranking?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, _) = app.get("/api/v1/books/999999/ranking").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Deleting a food removes its statistics with it; the ranking still answers.
    app.call(
        Method::DELETE,
        &format!("/api/v1/foods/{}", foods[0]),
        Some(&admin),
        None,
    )
    .await;
    let (status, ranking) = app.get(&format!("/api/v1/books/{book}/ranking")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ranking["items"].as_array().unwrap().len(), 3);
}

async fn abandoned_world_cups_are_purged(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "방치", 4).await;
    let (_, abandoned) = start(&app, book, json!({"size": 4})).await;
    let (_, recent) = start(&app, book, json!({"size": 2})).await;
    let (_, finished) = start(&app, book, json!({"size": 2})).await;
    play_out(&app, finished.clone(), |l, _| l).await;
    let eight_days_ago = ipmat::db::now_ms() - 8 * 24 * 3600 * 1000;
    ipmat::db::exec(
        &app.db,
        "UPDATE worldcups SET updated_at = ? WHERE id IN (?, ?)",
        ipmat::vals![
            eight_days_ago,
            abandoned["id"].as_str().unwrap(),
            finished["id"].as_str().unwrap()
        ],
    )
    .await
    .unwrap();
    let removed = ipmat::worldcup::purge_abandoned(&app.db, Duration::from_secs(7 * 24 * 3600))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    for (cup, status) in [
        (&abandoned, StatusCode::NOT_FOUND),
        (&recent, StatusCode::OK),
        (&finished, StatusCode::OK),
    ] {
        let (got, _) = app
            .get(&format!(
                "/api/v1/worldcups/{}",
                cup["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(got, status);
    }
    // The sweep also runs when a server starts, with the configured age.
    ipmat::db::exec(
        &app.db,
        "UPDATE worldcups SET updated_at = ? WHERE id = ?",
        ipmat::vals![eight_days_ago - 1, recent["id"].as_str().unwrap()],
    )
    .await
    .unwrap();
    let app = app
        .restart(&[
            ("IPMAT_SEED", "off"),
            ("IPMAT_WORLDCUP_MAX_AGE_HOURS", "24"),
        ])
        .await;
    let mut left = 2;
    for _ in 0..100 {
        left = app.scalar("SELECT COUNT(*) FROM worldcups").await;
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 1, "only the finished world cup is left");
}

async fn parallel_finishes_keep_statistics_exact(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "결승", 8).await;
    let cups = 24;
    let mut states = Vec::new();
    for _ in 0..cups {
        let (_, state) = start(&app, book, json!({"size": 4})).await;
        // Play all but the final, one by one.
        let mut state = state;
        for _ in 0..2 {
            let left = food_id(&state["current"]["left"]);
            state = pick(&app, state["id"].as_str().unwrap(), left).await.1;
        }
        states.push(state);
    }
    // Then every final at once.
    let mut tasks = tokio::task::JoinSet::new();
    for state in states {
        let client = app.client.clone();
        let url = app.url(&format!(
            "/api/v1/worldcups/{}/picks",
            state["id"].as_str().unwrap()
        ));
        let winner = food_id(&state["current"]["right"]);
        tasks.spawn(async move {
            client
                .post(url)
                .json(&json!({"winner": winner}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let (_, ranking) = app.get(&format!("/api/v1/books/{book}/ranking")).await;
    assert_eq!(ranking["worldcups_finished"], cups);
    let items = ranking["items"].as_array().unwrap();
    let sum = |field: &str| {
        items
            .iter()
            .map(|i| i[field].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(sum("championships"), cups);
    assert_eq!(sum("wins"), cups * 3);
    assert_eq!(sum("matches"), cups * 6);
}

/// A book's play count straight from the database (the API's answer is cached briefly).
async fn plays(app: &TestApp, book: i64) -> i64 {
    ipmat::catalog::queries::play_counts(&app.db, &[book])
        .await
        .unwrap()
        .get(&book)
        .map_or(0, |c| c.0)
}
