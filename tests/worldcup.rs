//! The food world cup over HTTP, on every engine: brackets, picks, undo, concurrency,
//! play keys and owners, checked picks, rankings and their ranks, fresh book counts, my plays,
//! my taste, the food of the day and the purge of abandoned world cups.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};
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
    picks_and_undo_need_the_play_key_or_the_owner,
    a_pick_for_another_match_than_the_current_one_is_refused,
    books_count_finished_cups_and_answer_their_own_starts_at_once,
    equal_records_share_a_rank,
    a_finished_cup_shows_the_champions_path_and_the_runner_up,
    my_world_cups_come_newest_first_in_pages,
    my_taste_adds_up_my_finished_cups_beside_everyones,
    the_food_of_the_day_is_one_per_date,
    cups_finished_before_migration_0008_get_their_champion_from_the_last_pick,
);

/// Play keys of the cups started by the tests of this process, by cup id.
static KEYS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

fn key_of(id: &str) -> String {
    KEYS.lock().unwrap()[id].clone()
}

/// A request with an optional bearer token and play key; answers status and body.
async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("X-Play-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert!(status.as_u16() < 500, "{path} answered {status}: {text}");
    if !status.is_success() {
        assert_eq!(content_type, "application/problem+json", "{path}: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Starts a cup (signed in with `token` if given) and remembers its play key.
async fn start_as(
    app: &TestApp,
    token: Option<&str>,
    book: i64,
    body: Value,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/books/{book}/worldcups");
    let (status, state) = keyed(app, Method::POST, &path, token, None, Some(body)).await;
    if status == StatusCode::CREATED {
        let key = state["play_key"]
            .as_str()
            .expect("a start shows the play key");
        assert_eq!(key.len(), 64, "256 random bits");
        let id = state["id"].as_str().unwrap().to_owned();
        KEYS.lock().unwrap().insert(id, key.to_owned());
    }
    (status, state)
}

async fn start(app: &TestApp, book: i64, body: Value) -> (StatusCode, Value) {
    start_as(app, None, book, body).await
}

/// Picks with the cup's play key.
async fn pick(app: &TestApp, id: &str, winner: i64) -> (StatusCode, Value) {
    let path = format!("/api/v1/worldcups/{id}/picks");
    let body = json!({"winner": winner});
    keyed(
        app,
        Method::POST,
        &path,
        None,
        Some(&key_of(id)),
        Some(body),
    )
    .await
}

/// Undoes with the cup's play key.
async fn undo(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/worldcups/{id}/picks/last");
    keyed(app, Method::DELETE, &path, None, Some(&key_of(id)), None).await
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
    let (status, _) = undo(&app, &id).await;
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
    let (status, _) = undo(&app, id).await;
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
    for body in [
        json!({}),
        json!({"winner": "left"}),
        json!({"winner": 1.5}),
        json!({"winner": *outsider, "round": 3}),
        json!({"winner": *outsider, "round": -4}),
        json!({"winner": *outsider, "match": 0}),
        json!({"winner": *outsider, "match": "1"}),
    ] {
        let path = format!("/api/v1/worldcups/{id}/picks");
        let (status, _) = keyed(
            &app,
            Method::POST,
            &path,
            None,
            Some(&key_of(id)),
            Some(body.clone()),
        )
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
            let key = key_of(&id);
            tasks.spawn(async move {
                let response = client
                    .post(url)
                    .header("X-Play-Key", key)
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
    let (status, undone) = undo(&app, &id).await;
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
    // Every item, its rank and the order, against the stored picks.
    assert_ranking_matches_stored_picks(&app, book, &ranking).await;
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
    for n in 0..cups {
        let (_, state) = start(&app, book, json!({"size": 4})).await;
        // Play all but the final, one by one, picking by a rule that mixes sides, so that
        // win rates come out as fractions.
        let mut state = state;
        for m in 0..2 {
            let (l, r) = (
                food_id(&state["current"]["left"]),
                food_id(&state["current"]["right"]),
            );
            let winner = if (l + r + n + m) % 3 == 0 { r } else { l };
            state = pick(&app, state["id"].as_str().unwrap(), winner).await.1;
        }
        states.push(state);
    }
    // Then every final at once.
    let mut tasks = tokio::task::JoinSet::new();
    for (n, state) in states.into_iter().enumerate() {
        let client = app.client.clone();
        let id = state["id"].as_str().unwrap().to_owned();
        let url = app.url(&format!("/api/v1/worldcups/{id}/picks"));
        let side = if n % 2 == 0 { "left" } else { "right" };
        let winner = food_id(&state["current"][side]);
        let key = key_of(&id);
        tasks.spawn(async move {
            client
                .post(url)
                .header("X-Play-Key", key)
                .json(&json!({"winner": winner, "round": 2, "match": 1}))
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
    assert_ranking_matches_stored_picks(&app, book, &ranking).await;
    let items = ranking["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| {
            let rate = i["win_rate"].as_f64().unwrap();
            rate > 0.0 && rate < 1.0
        }),
        "some win rates are fractions: {ranking}"
    );
}

/// One food's record recomputed by the test.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    rank: i64,
    food: i64,
    name: String,
    wins: i64,
    matches: i64,
    championships: i64,
}

/// Recomputes every food's wins, matches and championships in a book from the stored picks
/// of its finished cups (replaying the brackets here, not with the server's code), orders
/// them by championships, win rate (as exact fractions) and name, and ranks them 1, 2, 2, 4.
async fn expected_ranking(app: &TestApp, book: i64) -> (i64, Vec<Expected>) {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        entrants: String,
        picks: String,
    }
    let rows = ipmat::db::fetch_all::<Row>(
        &app.db,
        "SELECT entrants, picks FROM worldcups WHERE book_id = ? AND finished = ?",
        ipmat::vals![book, true],
    )
    .await
    .unwrap();
    let (_, detail) = app.get(&format!("/api/v1/books/{book}")).await;
    let mut records: HashMap<i64, Expected> = detail["foods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                food_id(f),
                Expected {
                    rank: 0,
                    food: food_id(f),
                    name: f["name"].as_str().unwrap().to_owned(),
                    wins: 0,
                    matches: 0,
                    championships: 0,
                },
            )
        })
        .collect();
    let ids = |text: &str| -> Vec<i64> { text.split(',').map(|s| s.parse().unwrap()).collect() };
    for row in &rows {
        let mut round = ids(&row.entrants);
        let mut picks = ids(&row.picks).into_iter();
        while round.len() > 1 {
            let mut next = Vec::new();
            for pair in round.chunks(2) {
                let winner = picks.next().expect("a finished cup decided every match");
                assert!(pair.contains(&winner), "a stored pick is one of its match");
                for &food in pair {
                    let r = records.get_mut(&food).unwrap();
                    r.matches += 1;
                    r.wins += i64::from(food == winner);
                }
                next.push(winner);
            }
            round = next;
        }
        records.get_mut(&round[0]).unwrap().championships += 1;
    }
    let mut list: Vec<Expected> = records.into_values().collect();
    let fraction = |e: &Expected| {
        if e.matches == 0 {
            (0, 1)
        } else {
            (e.wins, e.matches)
        }
    };
    let better = |a: &Expected, b: &Expected| {
        let ((aw, am), (bw, bm)) = (fraction(a), fraction(b));
        b.championships
            .cmp(&a.championships)
            .then((bw * am).cmp(&(aw * bm)))
    };
    list.sort_by(|a, b| better(a, b).then_with(|| a.name.cmp(&b.name)));
    for i in 0..list.len() {
        list[i].rank = if i > 0 && better(&list[i - 1], &list[i]).is_eq() {
            list[i - 1].rank
        } else {
            i as i64 + 1
        };
    }
    (rows.len() as i64, list)
}

/// Asserts a ranking answer item by item against [`expected_ranking`].
async fn assert_ranking_matches_stored_picks(app: &TestApp, book: i64, ranking: &Value) {
    let (cups, expected) = expected_ranking(app, book).await;
    assert_eq!(ranking["worldcups_finished"].as_i64(), Some(cups));
    let items = ranking["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        expected.len(),
        "every food of the book is ranked"
    );
    for (n, (item, want)) in items.iter().zip(&expected).enumerate() {
        let got = Expected {
            rank: item["rank"].as_i64().unwrap(),
            food: food_id(&item["food"]),
            name: item["food"]["name"].as_str().unwrap().to_owned(),
            wins: item["wins"].as_i64().unwrap(),
            matches: item["matches"].as_i64().unwrap(),
            championships: item["championships"].as_i64().unwrap(),
        };
        assert_eq!(&got, want, "ranking item {n}");
        let win_rate = if want.matches == 0 {
            0.0
        } else {
            want.wins as f64 / want.matches as f64
        };
        assert_close(item["win_rate"].as_f64().unwrap(), win_rate, n);
        let champion_rate = if cups == 0 {
            0.0
        } else {
            want.championships as f64 / cups as f64
        };
        assert_close(item["champion_rate"].as_f64().unwrap(), champion_rate, n);
    }
}

/// Rates as the fractions they are: serde_json's default float parsing may be off in the
/// last bit, nothing more.
fn assert_close(got: f64, want: f64, item: usize) {
    assert!(
        (got - want).abs() < 1e-12,
        "item {item}: {got} is not {want}"
    );
}

/// A book's play count straight from the database (the API's answer is cached briefly).
async fn plays(app: &TestApp, book: i64) -> i64 {
    ipmat::catalog::queries::play_counts(&app.db, &[book])
        .await
        .unwrap()
        .get(&book)
        .map_or(0, |c| c.0)
}

/// Plays a 2-food cup between `a` and `b` (every other food of the book left out) won by
/// `winner`; answers the finished state.
async fn duel(
    app: &TestApp,
    token: Option<&str>,
    book: i64,
    foods: &[i64],
    (a, b): (i64, i64),
    winner: i64,
) -> Value {
    let others: Vec<i64> = foods
        .iter()
        .copied()
        .filter(|&f| f != a && f != b)
        .collect();
    let (status, state) = start_as(
        app,
        token,
        book,
        json!({"size": 2, "exclude_food_ids": others}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    let (status, done) = pick(app, state["id"].as_str().unwrap(), winner).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["finished"], true);
    done
}

async fn picks_and_undo_need_the_play_key_or_the_owner(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "열쇠", 8).await;
    let (_, state) = start(&app, book, json!({"size": 8})).await;
    let id = state["id"].as_str().unwrap().to_owned();
    let key = key_of(&id);
    let left = food_id(&state["current"]["left"]);
    let picks = format!("/api/v1/worldcups/{id}/picks");
    let last = format!("/api/v1/worldcups/{id}/picks/last");

    // Only a hash of the key is stored, and reading the cup never shows it.
    let (status, read) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("play_key").is_none(), "{read}");
    assert!(!read.to_string().contains(&key));
    assert_eq!(state["can_pick"], true, "the starter plays");
    assert_eq!(read["can_pick"], false, "a shared link only views");
    let cup_path = format!("/api/v1/worldcups/{id}");
    let (_, with_key) = keyed(&app, Method::GET, &cup_path, None, Some(&key), None).await;
    assert_eq!(with_key["can_pick"], true);
    let stored = ipmat::db::fetch_all::<HashRow>(
        &app.db,
        "SELECT play_key_hash, user_id FROM worldcups WHERE id = ?",
        ipmat::vals![id.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        stored[0].play_key_hash.as_deref().map(str::trim),
        Some(ipmat::accounts::auth::token_hash(&key).as_str())
    );
    assert_eq!(stored[0].user_id, None, "an anonymous start has no owner");

    let stranger = app.signup("stranger").await;
    for (token, key) in [
        (None, None),
        (None, Some("0".repeat(64))),
        (Some(stranger.as_str()), None),
    ] {
        let body = json!({"winner": left});
        let (status, problem) = keyed(
            &app,
            Method::POST,
            &picks,
            token,
            key.as_deref(),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    let (_, read) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(read["picks"], json!([]), "refused picks change nothing");
    let (status, _) = keyed(
        &app,
        Method::POST,
        &picks,
        None,
        Some(&key),
        Some(json!({"winner": left})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = keyed(&app, Method::DELETE, &last, None, None, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = keyed(&app, Method::DELETE, &last, Some(&stranger), None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, read) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(
        read["picks"].as_array().unwrap().len(),
        1,
        "a refused undo changes nothing"
    );
    let (status, undone) = keyed(&app, Method::DELETE, &last, None, Some(&key), None).await;
    assert_eq!(
        (status, undone["picks"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );

    // A cup started while signed in belongs to the account: any session of it plays it
    // without the key (another device), and nobody else does.
    let owner = app.signup("owner").await;
    let (_, login) = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "owner", "password": "password123"}),
        )
        .await;
    let second_device = login["token"].as_str().unwrap().to_owned();
    let (_, mine) = start_as(&app, Some(&owner), book, json!({"size": 4})).await;
    let mine_id = mine["id"].as_str().unwrap().to_owned();
    let owner_id = app
        .scalar("SELECT id FROM users WHERE username = 'owner'")
        .await;
    let stored = ipmat::db::fetch_all::<HashRow>(
        &app.db,
        "SELECT play_key_hash, user_id FROM worldcups WHERE id = ?",
        ipmat::vals![mine_id.clone()],
    )
    .await
    .unwrap();
    assert_eq!(stored[0].user_id, Some(owner_id));
    let cup_path = format!("/api/v1/worldcups/{mine_id}");
    for (token, can) in [(&second_device, true), (&stranger, false)] {
        let (_, read) = keyed(&app, Method::GET, &cup_path, Some(token), None, None).await;
        assert_eq!(read["can_pick"], can);
    }
    let picks = format!("/api/v1/worldcups/{mine_id}/picks");
    let last = format!("/api/v1/worldcups/{mine_id}/picks/last");
    let l = food_id(&mine["current"]["left"]);
    let (status, problem) = keyed(
        &app,
        Method::POST,
        &picks,
        Some(&stranger),
        None,
        Some(json!({"winner": l})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = keyed(
        &app,
        Method::POST,
        &picks,
        None,
        None,
        Some(json!({"winner": l})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, next) = keyed(
        &app,
        Method::POST,
        &picks,
        Some(&second_device),
        None,
        Some(json!({"winner": l})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let (status, _) = keyed(&app, Method::DELETE, &last, Some(&stranger), None, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = keyed(&app, Method::DELETE, &last, Some(&owner), None, None).await;
    assert_eq!(status, StatusCode::OK);
    // The key still works for the owner's cup too (the browser that started it).
    let (status, _) = keyed(
        &app,
        Method::POST,
        &picks,
        None,
        Some(&key_of(&mine_id)),
        Some(json!({"winner": l})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A key opens only its own cup.
    let (status, _) = keyed(&app, Method::DELETE, &last, None, Some(&key), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[derive(sea_orm::FromQueryResult)]
struct HashRow {
    play_key_hash: Option<String>,
    user_id: Option<i64>,
}

async fn a_pick_for_another_match_than_the_current_one_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "확인", 8).await;
    let (_, state) = start(&app, book, json!({"size": 8})).await;
    let id = state["id"].as_str().unwrap().to_owned();
    let key = key_of(&id);
    let path = format!("/api/v1/worldcups/{id}/picks");
    let send = |body: Value| {
        let (app, path, key) = (&app, path.clone(), key.clone());
        async move { keyed(app, Method::POST, &path, None, Some(&key), Some(body)).await }
    };
    let left = food_id(&state["current"]["left"]);
    let (status, next) = send(json!({"winner": left, "round": 8, "match": 1})).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["label"], "8강 2/4");
    // A second tap on the same spot: the left food of the new match, sent for the match the
    // player saw. It must not decide the new match.
    let new_left = food_id(&next["current"]["left"]);
    for stale in [
        json!({"winner": new_left, "round": 8, "match": 1}),
        json!({"winner": new_left, "match": 1}),
        json!({"winner": new_left, "round": 4}),
        json!({"winner": new_left, "round": 4, "match": 2}),
    ] {
        let (status, problem) = send(stale.clone()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::CONFLICT, Some("conflict")),
            "{stale}: {problem}"
        );
    }
    let (_, read) = app.get(&format!("/api/v1/worldcups/{id}")).await;
    assert_eq!(
        read["picks"].as_array().unwrap().len(),
        1,
        "stale picks change nothing"
    );
    // Without round and match a pick still works as before; with the right ones too.
    let (status, next) = send(json!({"winner": new_left})).await;
    assert_eq!(
        (status, next["label"].as_str()),
        (StatusCode::OK, Some("8강 3/4"))
    );
    let l = food_id(&next["current"]["left"]);
    let (status, next) = send(json!({"winner": l, "round": 8, "match": 3})).await;
    assert_eq!(
        (status, next["label"].as_str()),
        (StatusCode::OK, Some("8강 4/4"))
    );
}

async fn books_count_finished_cups_and_answer_their_own_starts_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "신선", 4).await;
    // Read first, so that the answers are cached, then write: the answers follow at once.
    assert_eq!(book_counts(&app, book).await, (0, 0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/books/{book}/worldcups"));
        tasks.spawn(async move {
            client
                .post(url)
                .json(&json!({"size": 4}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(book_counts(&app, book).await, (40, 0));
    for n in 1..=3 {
        let (_, state) = start(&app, book, json!({"size": 4})).await;
        play_out(&app, state, |l, _| l).await;
        assert_eq!(
            book_counts(&app, book).await,
            (40 + n, n),
            "after finish {n}"
        );
    }
    // An abandoned cup counts as a play, not as finished.
    let (_, state) = start(&app, book, json!({"size": 4})).await;
    pick(
        &app,
        state["id"].as_str().unwrap(),
        food_id(&state["current"]["left"]),
    )
    .await;
    assert_eq!(book_counts(&app, book).await, (44, 3));
}

async fn equal_records_share_a_rank(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    // 라면 and 오므라이스 (and 김밥) end equal; names order them within their rank.
    let mut foods = Vec::new();
    for name in ["오므라이스", "라면", "김밥", "떡볶이", "순대", "우동"] {
        let (_, food) = app
            .post(
                "/api/v1/foods",
                Some(&admin),
                json!({"name": name, "description": "맛"}),
            )
            .await;
        foods.push(food_id(&food));
    }
    let (_, created) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "동점", "food_ids": foods}),
        )
        .await;
    let book = food_id(&created);
    let [omurice, ramen, gimbap, tteok, sundae, udon] = foods[..] else {
        unreachable!()
    };
    // 우동: 2 titles at 2/2. 라면 and 오므라이스: one title each at 1/1. 김밥: one title at
    // 1/2. 떡볶이 and 순대: no title, 0/2 each. Ranks 1, 2, 2, 4, 5, 5.
    for (pair, winner) in [
        ((udon, tteok), udon),
        ((udon, sundae), udon),
        ((ramen, sundae), ramen),
        ((omurice, gimbap), omurice),
        ((gimbap, tteok), gimbap),
    ] {
        duel(&app, None, book, &foods, pair, winner).await;
    }
    let (_, ranking) = app.get(&format!("/api/v1/books/{book}/ranking")).await;
    let got: Vec<(i64, &str)> = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["rank"].as_i64().unwrap(),
                i["food"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "우동"),
            (2, "라면"),
            (2, "오므라이스"),
            (4, "김밥"),
            (5, "떡볶이"),
            (5, "순대"),
        ]
    );
    assert_ranking_matches_stored_picks(&app, book, &ranking).await;
    // Ranks hold across pages.
    let (_, page) = app
        .get(&format!("/api/v1/books/{book}/ranking?limit=2&cursor=2"))
        .await;
    let ranks: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, vec![2, 4]);
}

async fn a_finished_cup_shows_the_champions_path_and_the_runner_up(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "경로", 8).await;
    let (_, state) = start(&app, book, json!({"size": 8})).await;
    assert_eq!(state["champion_path"], json!([]));
    assert_eq!(state["runner_up"], Value::Null);
    let done = play_out(&app, state, |l, r| l.max(r)).await;
    let champion = food_id(&done["champion"]);
    let picks = done["picks"].as_array().unwrap();
    let expected: Vec<(i64, i64, i64)> = picks
        .iter()
        .filter(|p| p["winner_id"] == champion)
        .map(|p| {
            let (l, r) = (
                p["left_id"].as_i64().unwrap(),
                p["right_id"].as_i64().unwrap(),
            );
            (
                p["round"].as_i64().unwrap(),
                p["match"].as_i64().unwrap(),
                l + r - champion,
            )
        })
        .collect();
    assert_eq!(expected.len(), 3, "an 8-cup champion wins three matches");
    let path: Vec<(i64, i64, i64)> = done["champion_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["round"].as_i64().unwrap(),
                s["match"].as_i64().unwrap(),
                food_id(&s["opponent"]),
            )
        })
        .collect();
    assert_eq!(path, expected);
    assert_eq!(path.iter().map(|p| p.0).collect::<Vec<_>>(), vec![8, 4, 2]);
    let final_pick = picks.last().unwrap();
    let runner_up = final_pick["left_id"].as_i64().unwrap()
        + final_pick["right_id"].as_i64().unwrap()
        - champion;
    assert_eq!(food_id(&done["runner_up"]), runner_up);
    assert!(done["runner_up"]["name"].is_string());
    assert_eq!(path[2].2, runner_up, "the last step beat the runner-up");
    let (_, read) = app
        .get(&format!(
            "/api/v1/worldcups/{}",
            done["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read, done, "a shared link shows the same");
}

async fn my_world_cups_come_newest_first_in_pages(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "기록", 4).await;
    let me = app.signup("player").await;
    let other = app.signup("someone").await;
    let mut finished = HashMap::new();
    for n in 0..5 {
        if n % 2 == 0 {
            let done = duel(
                &app,
                Some(&me),
                book,
                &foods,
                (foods[0], foods[n % 4 + 1]),
                foods[0],
            )
            .await;
            finished.insert(done["id"].as_str().unwrap().to_owned(), foods[0]);
        } else {
            start_as(&app, Some(&me), book, json!({"size": 4})).await;
        }
    }
    start_as(&app, Some(&other), book, json!({"size": 4})).await;
    start(&app, book, json!({"size": 4})).await;

    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        id: String,
    }
    let expected: Vec<String> = ipmat::db::fetch_all::<Row>(
        &app.db,
        "SELECT w.id FROM worldcups w JOIN users u ON u.id = w.user_id WHERE u.username = 'player' \
         ORDER BY w.created_at DESC, w.id DESC",
        vec![],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    assert_eq!(expected.len(), 5);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/me/worldcups?limit=2".to_owned(),
            Some(c) => format!("/api/v1/me/worldcups?limit=2&cursor={c}"),
        };
        let (status, page) = app.get_as(&me, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap().to_owned();
            assert_eq!(item["book_id"], book);
            assert_eq!(item["book_name"], "기록 월드컵");
            match finished.get(&id) {
                Some(&champion) => {
                    assert_eq!(
                        (item["finished"].as_bool(), item["size"].as_i64()),
                        (Some(true), Some(2))
                    );
                    assert_eq!(food_id(&item["champion"]), champion);
                }
                None => {
                    assert_eq!(
                        (item["finished"].as_bool(), item["size"].as_i64()),
                        (Some(false), Some(4))
                    );
                    assert_eq!(item["champion"], Value::Null);
                }
            }
            let at = item["created_at"].as_str().unwrap();
            assert!(at.ends_with('Z') && at.contains('T'), "{at}");
            seen.push(id);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "newest first, each once, only mine");
    let (_, theirs) = app.get_as(&other, "/api/v1/me/worldcups").await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    let (status, _) = app.get("/api/v1/me/worldcups").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in [
        "limit=0",
        "limit=201",
        "cursor=abc",
        "cursor=1_zz",
        "sort=old",
    ] {
        let (status, _) = app
            .get_as(&me, &format!("/api/v1/me/worldcups?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

async fn my_taste_adds_up_my_finished_cups_beside_everyones(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    for name in ["면", "한식"] {
        let (status, _) = app
            .post("/api/v1/categories", Some(&admin), json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (book, foods) = app.book_with_foods(&admin, "취향", 4).await;
    let [a, b, c, d] = foods[..] else {
        unreachable!()
    };
    for (food, categories) in [(a, vec!["면"]), (b, vec!["면", "한식"]), (c, vec!["한식"])] {
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/api/v1/foods/{a}", a = food),
                Some(&admin),
                Some(json!({"categories": categories})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let me = app.signup("taster").await;
    let friend = app.signup("friend").await;
    let third = app.signup("third").await;
    let (status, empty) = app.get_as(&me, "/api/v1/me/taste").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"worldcups_finished": 0, "top_champions": [], "top_categories": []})
    );
    // Mine: a beats b, a beats c, b beats c; one cup left unfinished.
    duel(&app, Some(&me), book, &foods, (a, b), a).await;
    duel(&app, Some(&me), book, &foods, (a, c), a).await;
    duel(&app, Some(&me), book, &foods, (b, c), b).await;
    start_as(&app, Some(&me), book, json!({"size": 4})).await;
    // Everyone's: the friend crowns a, the third player crowns d; an anonymous cup crowns b.
    duel(&app, Some(&friend), book, &foods, (a, d), a).await;
    duel(&app, Some(&friend), book, &foods, (a, b), a).await;
    duel(&app, Some(&third), book, &foods, (c, d), d).await;
    duel(&app, None, book, &foods, (b, d), b).await;

    let (status, taste) = app.get_as(&me, "/api/v1/me/taste").await;
    assert_eq!(status, StatusCode::OK, "{taste}");
    assert_eq!(taste["worldcups_finished"], 3);
    let champions: Vec<(i64, i64, f64)> = taste["top_champions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                food_id(&c["food"]),
                c["times"].as_i64().unwrap(),
                c["share_of_players"].as_f64().unwrap(),
            )
        })
        .collect();
    // Three players finished cups; a was crowned by two of them, b by me alone.
    let expected = [(a, 2, 2.0 / 3.0), (b, 1, 1.0 / 3.0)];
    assert_eq!(champions.len(), expected.len(), "{taste}");
    for (n, (got, want)) in champions.iter().zip(&expected).enumerate() {
        assert_eq!((got.0, got.1), (want.0, want.1), "{taste}");
        assert_close(got.2, want.2, n);
    }
    assert_eq!(
        taste["top_categories"],
        json!([{"name": "면", "wins": 3}, {"name": "한식", "wins": 1}])
    );
    let (_, theirs) = app.get_as(&third, "/api/v1/me/taste").await;
    assert_close(
        theirs["top_champions"][0]["share_of_players"]
            .as_f64()
            .unwrap(),
        1.0 / 3.0,
        0,
    );
    assert_eq!(theirs["top_categories"], json!([]), "d has no category");
    let (status, _) = app.get("/api/v1/me/taste").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn the_food_of_the_day_is_one_per_date(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, problem) = app.get("/api/v1/foods/today").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    app.post("/api/v1/categories", Some(&admin), json!({"name": "국물"}))
        .await;
    let (_, foods) = app.book_with_foods(&admin, "오늘", 10).await;
    for &food in &foods[..4] {
        app.call(
            Method::PATCH,
            &format!("/api/v1/foods/{food}"),
            Some(&admin),
            Some(json!({"categories": ["국물"]})),
        )
        .await;
    }
    // The same for every call of the day, and the one the date gives.
    let (status, first) = app.get("/api/v1/foods/today").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, second) = app.get("/api/v1/foods/today").await;
    assert_eq!(first, second);
    let today = ipmat::catalog::today::today_utc();
    let of_today = ipmat::catalog::today::food_id_of_day(&app.db, None, today)
        .await
        .unwrap();
    assert_eq!(of_today, Some(food_id(&first)));
    // Across days (an injected clock): ten days show ten different foods, never one twice
    // in a row, and asking again for a day gives the same food.
    let mut day = time::macros::date!(2030 - 01 - 01);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let pick = ipmat::catalog::today::food_id_of_day(&app.db, None, day)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            ipmat::catalog::today::food_id_of_day(&app.db, None, day)
                .await
                .unwrap(),
            Some(pick)
        );
        assert!(foods.contains(&pick));
        assert_ne!(seen.last(), Some(&pick), "{day}");
        seen.push(pick);
        day = day.next_day().unwrap();
    }
    // Julian days of a 10-day cycle: 2030-01-01 is day 2462503, so days 2462510.. form one.
    let mut cycle = HashSet::new();
    let mut day = time::Date::from_julian_day(2_462_510).unwrap();
    for _ in 0..10 {
        cycle.insert(
            ipmat::catalog::today::food_id_of_day(&app.db, None, day)
                .await
                .unwrap()
                .unwrap(),
        );
        day = day.next_day().unwrap();
    }
    assert_eq!(cycle.len(), 10, "every food has its day in a cycle");
    // A category narrows the choice; an unknown one is 404.
    for _ in 0..2 {
        let (status, soup) = app
            .get("/api/v1/foods/today?category=%EA%B5%AD%EB%AC%BC")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(foods[..4].contains(&food_id(&soup)), "{soup}");
        assert_eq!(soup["categories"], json!(["국물"]));
    }
    let (status, _) = app.get("/api/v1/foods/today?category=없음").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/api/v1/foods/today?date=2030-01-01").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no date from outside"
    );
    // Retired foods never get a day.
    ipmat::db::exec(
        &app.db,
        "UPDATE foods SET retired_at = ? WHERE id <> ?",
        ipmat::vals![ipmat::db::now_ms(), foods[7]],
    )
    .await
    .unwrap();
    let mut day = time::macros::date!(2031 - 06 - 01);
    for _ in 0..5 {
        assert_eq!(
            ipmat::catalog::today::food_id_of_day(&app.db, None, day)
                .await
                .unwrap(),
            Some(foods[7])
        );
        day = day.next_day().unwrap();
    }
}

/// (play_count, finished_count) of a book from its detail, checked against the book list.
async fn book_counts(app: &TestApp, book: i64) -> (i64, i64) {
    let (_, detail) = app.get(&format!("/api/v1/books/{book}")).await;
    let (_, list) = app.get("/api/v1/books").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == book)
        .unwrap()
        .clone();
    assert_eq!(listed["play_count"], detail["play_count"]);
    assert_eq!(listed["finished_count"], detail["finished_count"]);
    (
        detail["play_count"].as_i64().unwrap(),
        detail["finished_count"].as_i64().unwrap(),
    )
}

async fn cups_finished_before_migration_0008_get_their_champion_from_the_last_pick(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "이전", 8).await;
    let mut champions = Vec::new();
    for size in [2, 4, 8] {
        let (_, state) = start(&app, book, json!({"size": size})).await;
        let done = play_out(&app, state, |l, r| l.max(r)).await;
        champions.push((
            done["id"].as_str().unwrap().to_owned(),
            food_id(&done["champion"]),
        ));
    }
    let (_, open) = start(&app, book, json!({"size": 4})).await;
    pick(
        &app,
        open["id"].as_str().unwrap(),
        food_id(&open["current"]["left"]),
    )
    .await;
    // As a cup finished by an older release: no champion stored.
    ipmat::db::exec(&app.db, "UPDATE worldcups SET champion_id = NULL", vec![])
        .await
        .unwrap();
    let migration = match engine {
        Engine::Sqlite => include_str!("../migrations/sqlite/0008_worldcup_champion.sql"),
        Engine::MySql => include_str!("../migrations/mysql/0008_worldcup_champion.sql"),
        Engine::Postgres => include_str!("../migrations/postgres/0008_worldcup_champion.sql"),
    };
    let backfill = migration
        .lines()
        .find(|l| l.starts_with("UPDATE"))
        .expect("the migration fills in old cups");
    ipmat::db::exec(&app.db, backfill.trim_end_matches(';'), vec![])
        .await
        .unwrap();
    for (id, champion) in &champions {
        let stored = app
            .scalar(&format!(
                "SELECT champion_id FROM worldcups WHERE id = '{id}'"
            ))
            .await;
        assert_eq!(stored, *champion, "cup {id}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM worldcups WHERE champion_id IS NULL")
            .await,
        1,
        "the unfinished cup has no champion"
    );
}
