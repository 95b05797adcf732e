//! Community world cups over HTTP, on every engine: books members make with their own foods,
//! visibility, the community list, comments with the champion, reports, moderation, quotas.

mod common;

use std::sync::{Arc, Mutex};

use sea_orm::ConnectionTrait;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    members_make_books_whose_own_foods_never_leak,
    books_need_4_to_128_foods_to_be_played_or_listed,
    private_and_unlisted_books_are_seen_only_as_they_should,
    only_owners_and_admins_change_community_books,
    the_community_list_sorts_searches_and_pages,
    comments_show_the_champion_and_are_deleted_by_the_right_people,
    comment_posting_is_rate_limited_and_repeats_are_refused,
    reports_hide_after_distinct_reporters_and_admins_resolve_them,
    daily_quotas_stop_books_and_uploads,
);

/// A small PNG, different for each `seed`.
fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([seed, x as u8 * 20, y as u8 * 20]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Uploads an image as `token`; answers the status and body.
async fn upload(app: &TestApp, token: &str, seed: u8) -> (StatusCode, Value) {
    let boundary = "ipmat-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png(seed));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = app
        .client
        .post(app.url("/api/v1/images"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn image_key(app: &TestApp, token: &str, seed: u8) -> String {
    let (status, body) = upload(app, token, seed).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

/// Makes a community book with `n` own foods; answers (book id, food ids).
async fn community_book(
    app: &TestApp,
    token: &str,
    name: &str,
    visibility: &str,
    n: usize,
) -> (i64, Vec<i64>) {
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(token),
            json!({"name": name, "description": "우리 동네", "visibility": visibility}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    let id = book["id"].as_i64().unwrap();
    let key = image_key(app, token, 1).await;
    let mut foods = Vec::new();
    for i in 0..n {
        let (status, food) = app
            .post(
                &format!("/api/v1/books/{id}/foods"),
                Some(token),
                json!({"name": format!("{name}{i}"), "description": "집밥", "image_key": key, "credit": "@me"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{food}");
        foods.push(food["id"].as_i64().unwrap());
    }
    (id, foods)
}

/// Plays a world cup of `size` to the end as `token`; answers its id and champion.
async fn play(app: &TestApp, token: Option<&str>, book: i64, size: u32) -> (String, i64) {
    let (status, mut cup) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            token,
            json!({"size": size}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cup}");
    let id = cup["id"].as_str().unwrap().to_owned();
    let key = cup["play_key"].as_str().map(str::to_owned);
    while !cup["finished"].as_bool().unwrap() {
        let winner = cup["current"]["left"]["id"].as_i64().unwrap();
        let mut request = app
            .client
            .post(app.url(&format!("/api/v1/worldcups/{id}/picks")))
            .json(&json!({"winner": winner}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = &key {
            request = request.header("X-Play-Key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        cup = response.json().await.unwrap();
    }
    (id, cup["champion"]["id"].as_i64().unwrap())
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect()
}

async fn members_make_books_whose_own_foods_never_leak(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (official, catalog_ids) = app.book_with_foods(&admin, "공식", 2).await;
    let member = app.signup("maker").await;
    app.call(
        Method::PATCH,
        "/api/v1/me",
        Some(&member),
        Some(json!({"display_name": "요리왕"})),
    )
    .await;
    let (book, own) = community_book(&app, &member, "우리집", "public", 4).await;

    let (status, detail) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["kind"], "community");
    assert_eq!(detail["owner"]["username"], "maker");
    assert_eq!(detail["visibility"], "public");
    assert_eq!(detail["description"], "우리 동네");
    assert_eq!(detail["food_count"], 4);
    let (_, official_detail) = app.get(&format!("/api/v1/books/{official}")).await;
    assert_eq!(official_detail["kind"], "official");
    assert_eq!(official_detail["owner"], Value::Null);

    // GET /books stays the official books; /foods, the random pick and the quiz bank never
    // see a book's own foods.
    let (_, books) = app.get("/api/v1/books").await;
    assert_eq!(ids(&books), vec![official]);
    let (_, foods) = app.get("/api/v1/foods?limit=200").await;
    assert_eq!(ids(&foods["items"]), catalog_ids);
    // Nor does the home page's preview image, which draws the first catalog foods that have a
    // picture (the own foods have pictures, the catalog's only once the admin gives one).
    let pictured = catalog_ids[1];
    let key = image_key(&app, &admin, 9).await;
    let (status, food) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/foods/{pictured}"),
            Some(&admin),
            Some(json!({"image_key": key})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{food}");
    let pictures = ipmat::catalog::preview::home_pictures(&app.db)
        .await
        .unwrap();
    let drawn: Vec<i64> = pictures.iter().map(|p| p.id).collect();
    assert_eq!(
        drawn,
        vec![pictured],
        "own foods {own:?} stay out of the home preview"
    );
    for _ in 0..20 {
        let (_, food) = app.get("/api/v1/foods/random").await;
        assert!(
            catalog_ids.contains(&food["id"].as_i64().unwrap()),
            "{food}"
        );
    }
    let (status, problem) = app
        .post(
            "/api/v1/quiz/pairs",
            Some(&admin),
            json!({"left_id": own[0], "right_id": catalog_ids[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // Nor can another book take them.
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{official}/foods"),
            Some(&admin),
            Some(json!({"food_ids": [own[0]]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Own food names are unique within the book only.
    let key = image_key(&app, &member, 2).await;
    let same = json!({"name": "우리집0", "image_key": key});
    let (status, _) = app
        .post(
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            same.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (other, _) = community_book(&app, &member, "다른집", "public", 0).await;
    let (status, _) = app
        .post(&format!("/api/v1/books/{other}/foods"), Some(&member), same)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let catalog_name = json!({"name": "공식1", "image_key": key});
    let (status, _) = app
        .post(
            &format!("/api/v1/books/{other}/foods"),
            Some(&member),
            catalog_name,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Catalog foods join community books too; own foods stay whatever PUT lists (a client
    // may send back the whole list it read).
    let listed: Vec<i64> = catalog_ids.iter().copied().chain([own[1]]).collect();
    let (status, detail) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            Some(json!({"food_ids": listed})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["food_count"], 6);

    // Removing an own food deletes it; a catalog food only leaves the book.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/books/{book}/foods/{}", own[0]),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM foods WHERE id = {}", own[0]))
            .await,
        0
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/books/{book}/foods/{}", catalog_ids[0]),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM foods WHERE id = {}",
            catalog_ids[0]
        ))
        .await,
        1
    );

    // Deleting the book takes its own foods (and their images) with it.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/books/{book}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM foods WHERE book_id = {book}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM foods WHERE book_id IS NULL")
            .await,
        2
    );
    let (status, _) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn books_need_4_to_128_foods_to_be_played_or_listed(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let member = app.signup("maker").await;
    let (book, _) = community_book(&app, &member, "세개", "public", 3).await;
    let (status, problem) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            None,
            json!({"size": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, list) = app.get("/api/v1/community/books").await;
    assert!(ids(&list["items"]).is_empty());
    let key = image_key(&app, &member, 3).await;
    let (status, _) = app
        .post(
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            json!({"name": "넷째", "image_key": key}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = app.get("/api/v1/community/books").await;
    assert_eq!(ids(&list["items"]), vec![book]);
    play(&app, None, book, 4).await;

    // At most 128 foods.
    let (_, catalog) = app.book_with_foods(&admin, "음", 125).await;
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            Some(json!({"food_ids": catalog})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, detail) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            Some(json!({"food_ids": catalog[..124]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["food_count"], 128);
    let (status, problem) = app
        .post(
            &format!("/api/v1/books/{book}/foods"),
            Some(&member),
            json!({"name": "초과", "image_key": key}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let many: Vec<i64> = catalog.iter().copied().chain([0; 4]).collect();
    let (status, _) = app
        .post(
            "/api/v1/books",
            Some(&member),
            json!({"name": "큰책", "food_ids": many}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn private_and_unlisted_books_are_seen_only_as_they_should(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let owner = app.signup("owner").await;
    let other = app.signup("other").await;
    let (private, private_foods) = community_book(&app, &owner, "비밀", "private", 4).await;
    let (unlisted, _) = community_book(&app, &owner, "링크", "unlisted", 4).await;
    // Favourites: the owner keeps their private book, a stranger an unlisted one.
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/me/favorites/{private}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/me/favorites/{unlisted}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    for (token, status) in [
        (None, StatusCode::NOT_FOUND),
        (Some(other.as_str()), StatusCode::NOT_FOUND),
        (Some(owner.as_str()), StatusCode::OK),
        (Some(admin.as_str()), StatusCode::OK),
    ] {
        let path = format!("/api/v1/books/{private}");
        let (got, _) = app.call(Method::GET, &path, token, None).await;
        assert_eq!(got, status, "{token:?}");
        let (got, _) = app
            .call(Method::GET, &format!("{path}/comments"), token, None)
            .await;
        assert_eq!(got, status, "comments {token:?}");
        let (got, _) = app
            .call(Method::GET, &format!("{path}/ranking"), token, None)
            .await;
        assert_eq!(got, status, "ranking {token:?}");
        let food = format!("/api/v1/foods/{}", private_foods[0]);
        let (got, _) = app.call(Method::GET, &food, token, None).await;
        assert_eq!(got, status, "own food {token:?}");
        let favorite = format!("/api/v1/me/favorites/{private}");
        if let Some(token) = token {
            let (got, _) = app.call(Method::PUT, &favorite, Some(token), None).await;
            let want = if status == StatusCode::OK {
                StatusCode::NO_CONTENT
            } else {
                status
            };
            assert_eq!(got, want, "favourite {token}");
        }
        let (got, _) = app
            .call(
                Method::POST,
                &format!("{path}/worldcups"),
                token,
                Some(json!({"size": 4})),
            )
            .await;
        assert_eq!(
            got == StatusCode::CREATED,
            status == StatusCode::OK,
            "start {token:?}"
        );
    }
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/books/{private}"),
            Some(&other),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // No preview picture or page names it, and favourites of others never list it.
    for path in [
        format!("/og/books/{private}.png"),
        format!("/books/{private}"),
    ] {
        let page = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            !page.text().await.unwrap().contains("비밀"),
            "{path} names the book"
        );
    }
    let unlisted_page = app
        .client
        .get(app.url(&format!("/books/{unlisted}")))
        .send()
        .await
        .unwrap();
    assert_eq!(unlisted_page.status(), StatusCode::OK);
    assert!(unlisted_page.text().await.unwrap().contains("noindex"));
    let (_, mine) = app.get_as(&owner, "/api/v1/me/favorites").await;
    assert_eq!(ids(&mine), vec![private]);
    let (_, theirs) = app.get_as(&other, "/api/v1/me/favorites").await;
    assert_eq!(ids(&theirs), vec![unlisted]);

    // Unlisted: anyone with the link opens and plays it; no list shows it.
    let (status, _) = app.get(&format!("/api/v1/books/{unlisted}")).await;
    assert_eq!(status, StatusCode::OK);
    play(&app, None, unlisted, 4).await;
    for sort in ["popular", "new"] {
        let (_, list) = app
            .get(&format!("/api/v1/community/books?sort={sort}"))
            .await;
        assert!(ids(&list["items"]).is_empty(), "{list}");
    }
    let (_, books) = app.get("/api/v1/books").await;
    assert!(ids(&books).is_empty());
    // The owner's list has both.
    let (_, mine) = app.get_as(&owner, "/api/v1/me/books").await;
    assert_eq!(ids(&mine["items"]), vec![unlisted, private]);
    // Making it public lists it.
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/books/{private}"),
            Some(&owner),
            Some(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get("/api/v1/community/books").await;
    assert_eq!(ids(&list["items"]), vec![private]);
}

async fn only_owners_and_admins_change_community_books(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let owner = app.signup("owner").await;
    let other = app.signup("other").await;
    let (book, own) = community_book(&app, &owner, "내책", "public", 4).await;
    let key = image_key(&app, &other, 4).await;
    let path = format!("/api/v1/books/{book}");
    let writes: [(Method, String, Option<Value>); 5] = [
        (Method::PATCH, path.clone(), Some(json!({"name": "뺏기"}))),
        (
            Method::PUT,
            format!("{path}/foods"),
            Some(json!({"food_ids": []})),
        ),
        (
            Method::POST,
            format!("{path}/foods"),
            Some(json!({"name": "끼워", "image_key": key})),
        ),
        (Method::DELETE, format!("{path}/foods/{}", own[0]), None),
        (Method::DELETE, path.clone(), None),
    ];
    for (method, p, body) in &writes {
        let (status, _) = app.call(method.clone(), p, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {p}");
        let (status, problem) = app
            .call(method.clone(), p, Some(&other), body.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {p}: {problem}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM book_foods WHERE book_id = {book}"
        ))
        .await,
        4
    );

    // Guests make no books; members cannot set a priority; names are unique per owner.
    app.db
        .execute_unprepared("UPDATE users SET is_guest = TRUE WHERE username = 'other'")
        .await
        .unwrap();
    let (status, _) = app
        .post("/api/v1/books", Some(&other), json!({"name": "손님책"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(&app, &other, 5).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(
            "/api/v1/books",
            Some(&owner),
            json!({"name": "우선", "priority": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .post("/api/v1/books", Some(&owner), json!({"name": "내책"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let third = app.signup("third").await;
    let (status, _) = app
        .post("/api/v1/books", Some(&third), json!({"name": "내책"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(
            "/api/v1/books",
            Some(&owner),
            json!({"name": "x", "visibility": "secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The owner edits; an admin may do anything to it.
    let (status, detail) = app
        .call(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(json!({"name": "새이름", "description": "바뀜"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["name"], "새이름");
    let (status, _) = app
        .call(
            Method::PATCH,
            &path,
            Some(&admin),
            Some(json!({"visibility": "private"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A member who leaves takes their books, own foods and comments along.
    let (status, _) = app
        .call(Method::DELETE, "/api/v1/me", Some(&third), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM books WHERE owner_id IS NOT NULL")
            .await,
        0
    );
}

async fn the_community_list_sorts_searches_and_pages(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let member = app.signup("maker").await;
    let (a, _) = community_book(&app, &member, "김치", "public", 4).await;
    let (b, _) = community_book(&app, &member, "라면", "public", 4).await;
    let (c, _) = community_book(&app, &member, "김밥", "public", 4).await;
    play(&app, None, b, 4).await;
    play(&app, None, b, 2).await;
    play(&app, None, a, 2).await;
    let (_, popular) = app.get("/api/v1/community/books?sort=popular").await;
    assert_eq!(ids(&popular["items"]), vec![b, a, c]);
    assert_eq!(popular["items"][0]["owner"]["username"], "maker");
    let (_, new) = app.get("/api/v1/community/books?sort=new").await;
    assert_eq!(ids(&new["items"]), vec![c, b, a]);
    let (_, found) = app.get("/api/v1/community/books?q=%EA%B9%80").await; // 김
    assert_eq!(ids(&found["items"]), vec![a, c]);
    for sort in ["popular", "new"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/community/books?sort={sort}&limit=1");
        loop {
            let (status, page) = app.get(&path).await;
            assert_eq!(status, StatusCode::OK);
            seen.extend(ids(&page["items"]));
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/v1/community/books?sort={sort}&limit=1&cursor={cursor}")
                }
                None => break,
            }
        }
        let whole = if sort == "popular" { &popular } else { &new };
        assert_eq!(seen, ids(&whole["items"]));
    }
    for bad in ["sort=best", "limit=0", "limit=201", "cursor=zz"] {
        let (status, problem) = app.get(&format!("/api/v1/community/books?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    // Finishes older than a week leave the weekly figure.
    app.db
        .execute_unprepared("UPDATE book_finish_days SET day = day - 30")
        .await
        .unwrap();
    ipmat::community::sweep_popularity(&app.db).await.unwrap();
    assert_eq!(
        app.scalar(&format!("SELECT finished_week FROM books WHERE id = {b}"))
            .await,
        0
    );
    assert_eq!(
        app.scalar(&format!("SELECT finished_total FROM books WHERE id = {b}"))
            .await,
        2
    );
}

async fn comments_show_the_champion_and_are_deleted_by_the_right_people(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let owner = app.signup("owner").await;
    let poster = app.signup("poster").await;
    let other = app.signup("other").await;
    let (book, _) = community_book(&app, &owner, "댓글책", "public", 4).await;
    let path = format!("/api/v1/books/{book}/comments");
    let (status, _) = app.post(&path, None, json!({"text": "익명"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (cup, champion) = play(&app, Some(&poster), book, 4).await;
    let (status, first) = app
        .post(
            &path,
            Some(&poster),
            json!({"text": "이게 우승!", "worldcup_id": cup}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["champion"]["id"], champion);
    assert_eq!(first["author"]["username"], "poster");
    // Someone else's cup, or an unfinished one, cannot be attached.
    let (status, _) = app
        .post(
            &path,
            Some(&other),
            json!({"text": "남의 컵", "worldcup_id": cup}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, unfinished) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            Some(&poster),
            json!({"size": 4}),
        )
        .await;
    let (status, _) = app
        .post(
            &path,
            Some(&poster),
            json!({"text": "아직", "worldcup_id": unfinished["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for bad in [
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "가".repeat(301)}),
        json!({"txt": "a"}),
    ] {
        let (status, _) = app.post(&path, Some(&poster), bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, second) = app.post(&path, Some(&other), json!({"text": "별로"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, third) = app
        .post(&path, Some(&other), json!({"text": "그래도 먹음"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = app.get(&path).await;
    assert_eq!(
        ids(&list["items"]),
        vec![
            third["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
            first["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(list["items"][2]["champion"]["id"], champion);
    assert_eq!(list["items"][0]["champion"], Value::Null);

    let delete = |id: &Value| format!("/api/v1/comments/{}", id["id"]);
    let (status, _) = app
        .call(Method::DELETE, &delete(&first), Some(&other), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(Method::DELETE, &delete(&first), Some(&poster), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::DELETE, &delete(&second), Some(&owner), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::DELETE, &delete(&third), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::DELETE, &delete(&third), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&path).await;
    assert!(ids(&list["items"]).is_empty());
}

async fn comment_posting_is_rate_limited_and_repeats_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = app.signup("owner").await;
    let (book, _) = community_book(&app, &owner, "도배", "public", 4).await;
    let path = format!("/api/v1/books/{book}/comments");
    let poster = app.signup("poster").await;
    let (status, _) = app
        .post(&path, Some(&poster), json!({"text": "맛있어요"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The same text again, even with other spacing and case, is refused.
    let (status, problem) = app
        .post(&path, Some(&poster), json!({"text": "맛있어요!!"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    for i in 0..4 {
        let (status, _) = app
            .post(&path, Some(&poster), json!({"text": format!("댓글 {i}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Five per minute per account.
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&poster)
        .json(&json!({"text": "여섯째"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Twenty per ten minutes per address, whatever the account.
    let mut posted = 5;
    let mut refused = false;
    for n in 0..4 {
        let token = app.signup(&format!("sock{n}")).await;
        for i in 0..5 {
            let (status, _) = app
                .post(&path, Some(&token), json!({"text": format!("{n} 번 {i}")}))
                .await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                refused = true;
            } else {
                assert_eq!(status, StatusCode::CREATED);
                posted += 1;
            }
        }
    }
    assert!(refused);
    assert_eq!(posted, 20);
}

/// A webhook receiver: answers 200 to every request and keeps the bodies.
async fn webhook() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            kept.lock().unwrap().push(body.to_owned());
                            break;
                        }
                    }
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, bodies)
}

async fn reports_hide_after_distinct_reporters_and_admins_resolve_them(engine: Engine) {
    let (hook, bodies) = webhook().await;
    let app = TestApp::spawn_with(
        engine,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_REPORT_HIDE_AT", "2"),
            ("IPMAT_NOTIFY_URL", &hook),
        ],
    )
    .await;
    let admin = app.admin().await;
    let owner = app.signup("owner").await;
    let first = app.signup("first").await;
    let second = app.signup("second").await;
    let (book, _) = community_book(&app, &owner, "신고책", "public", 4).await;
    let reports = format!("/api/v1/books/{book}/reports");

    for bad in [
        json!({"reason": "ugly"}),
        json!({"reason": "other", "detail": "가".repeat(301)}),
        json!({}),
    ] {
        let (status, _) = app.post(&reports, Some(&first), bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, accepted) = app
        .post(
            &reports,
            Some(&first),
            json!({"reason": "spam", "detail": "광고"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["target_hidden"], false);
    let (status, _) = app
        .post(&reports, Some(&first), json!({"reason": "other"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The second distinct reporter (an anonymous visitor, by address) hides it.
    let (status, accepted) = app
        .post(&reports, None, json!({"reason": "copyright"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(accepted["target_hidden"], true);
    let (status, _) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get_as(&second, &format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, seen) = app.get_as(&owner, &format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["hidden"], true);
    let (_, list) = app.get("/api/v1/community/books").await;
    assert!(ids(&list["items"]).is_empty());

    // The queue, for admins only, open first.
    let (status, _) = app.get_as(&owner, "/api/v1/reports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, queue) = app.get_as(&admin, "/api/v1/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue["items"].as_array().unwrap().len(), 2);
    assert_eq!(queue["items"][0]["status"], "open");
    assert_eq!(queue["items"][0]["open_reports"], 2);
    assert_eq!(queue["items"][0]["target"]["text"], "신고책");
    assert_eq!(queue["items"][1]["reporter"]["username"], "first");
    let report_id = queue["items"][0]["id"].as_i64().unwrap();
    let resolve = format!("/api/v1/reports/{report_id}/resolve");
    let (status, _) = app
        .post(&resolve, Some(&owner), json!({"action": "dismiss"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post(&resolve, Some(&admin), json!({"action": "ban"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, done) = app
        .post(&resolve, Some(&admin), json!({"action": "dismiss"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(done["settled"], 2);
    let (status, _) = app.get(&format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get("/api/v1/community/books").await;
    assert_eq!(ids(&list["items"]), vec![book]);
    let (_, queue) = app.get_as(&admin, "/api/v1/reports").await;
    assert_eq!(queue["items"][0]["status"], "dismiss");

    // Comments: hidden after two reporters, then hidden for good, then deleted.
    let (_, comment) = app
        .post(
            &format!("/api/v1/books/{book}/comments"),
            Some(&second),
            json!({"text": "스팸 링크"}),
        )
        .await;
    let comment_reports = format!("/api/v1/comments/{}/reports", comment["id"]);
    app.post(&comment_reports, Some(&first), json!({"reason": "spam"}))
        .await;
    let (_, accepted) = app
        .post(&comment_reports, Some(&owner), json!({"reason": "spam"}))
        .await;
    assert_eq!(accepted["target_hidden"], true);
    let (_, list) = app.get(&format!("/api/v1/books/{book}/comments")).await;
    assert!(ids(&list["items"]).is_empty());
    let (_, list) = app
        .get_as(&second, &format!("/api/v1/books/{book}/comments"))
        .await;
    assert_eq!(list["items"][0]["hidden"], true);
    let (_, queue) = app.get_as(&admin, "/api/v1/reports").await;
    assert_eq!(queue["items"][0]["target"]["kind"], "comment");
    let report_id = queue["items"][0]["id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/reports/{report_id}/resolve"),
            Some(&admin),
            json!({"action": "hide"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM comments WHERE id = {} AND hidden_at IS NOT NULL",
            comment["id"]
        ))
        .await,
        1
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/reports/{report_id}/resolve"),
            Some(&admin),
            json!({"action": "delete"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM comments WHERE id = {}",
            comment["id"]
        ))
        .await,
        0
    );
    // Deleting a reported book.
    app.post(&reports, Some(&second), json!({"reason": "hateful"}))
        .await;
    let (_, queue) = app.get_as(&admin, "/api/v1/reports").await;
    let report_id = queue["items"][0]["id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &format!("/api/v1/reports/{report_id}/resolve"),
            Some(&admin),
            json!({"action": "delete"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get_as(&owner, &format!("/api/v1/books/{book}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every report reached the webhook (it is sent in the background).
    for _ in 0..100 {
        if bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b.contains("report"))
            .count()
            >= 5
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let reports_sent: Vec<String> = bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.contains("report"))
        .cloned()
        .collect();
    assert_eq!(reports_sent.len(), 5, "{reports_sent:?}");
    assert!(
        reports_sent
            .iter()
            .any(|b| b.contains("hidden pending review"))
    );
}

async fn daily_quotas_stop_books_and_uploads(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let member = app.signup("busy").await;
    for i in 0..10 {
        let (status, _) = app
            .post(
                "/api/v1/books",
                Some(&member),
                json!({"name": format!("책{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, problem) = app
        .post("/api/v1/books", Some(&member), json!({"name": "열한째"}))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert_eq!(problem["code"], "rate_limited");
    for i in 0..60 {
        let (status, _) = upload(&app, &member, i).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = upload(&app, &member, 99).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another member has their own quota; admins have none.
    let fresh = app.signup("fresh").await;
    let (status, _) = upload(&app, &fresh, 1).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = upload(&app, &admin, 1).await;
    assert_eq!(status, StatusCode::CREATED);
}
