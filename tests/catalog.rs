//! The catalog API: foods, categories, books, over HTTP on every engine.

mod common;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    the_bundled_catalog_is_served_in_order,
    foods_are_paged_by_name_and_searchable,
    admins_manage_foods_and_categories,
    admins_manage_books_and_their_foods,
    catalog_writes_are_for_admins_only,
    invalid_catalog_writes_are_refused_field_by_field,
    the_random_pick_covers_every_food,
    book_lists_reflect_writes_at_once,
);

async fn the_bundled_catalog_is_served_in_order(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let (status, books) = app.get("/api/v1/books").await;
    assert_eq!(status, StatusCode::OK);
    let books = books.as_array().unwrap();
    assert!(books.len() >= 8);
    let order: Vec<(i64, i64)> = books
        .iter()
        .map(|b| (b["priority"].as_i64().unwrap(), b["id"].as_i64().unwrap()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "books are ordered by priority, then id");
    for b in books {
        let count = b["food_count"].as_i64().unwrap();
        assert!((16..=64).contains(&count), "{b}");
        assert_eq!(b["play_count"], 0);
        let cover = b["cover_url"].as_str().unwrap();
        assert!(cover.starts_with("/media/seed/"));
        // The bundled pictures get their WebP when the catalog is loaded.
        let webp = format!("{}.webp", cover.strip_suffix(".jpg").unwrap());
        assert_eq!(b["cover_webp_url"], webp.as_str(), "{b}");
    }

    let id = books[0]["id"].as_i64().unwrap();
    let (status, detail) = app.get(&format!("/api/v1/books/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let foods = detail["foods"].as_array().unwrap();
    assert_eq!(foods.len() as i64, detail["food_count"].as_i64().unwrap());
    let names: Vec<&str> = foods.iter().map(|f| f["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "a book's foods are ordered by name");
    let food = &foods[0];
    for field in [
        "id",
        "name",
        "description",
        "details",
        "image_url",
        "credit",
        "alt_image_url",
        "alt_credit",
        "categories",
        "image_webp_url",
        "alt_image_webp_url",
    ] {
        assert!(food.get(field).is_some(), "food has {field}: {food}");
    }
    assert!(!food["categories"].as_array().unwrap().is_empty());

    // The image URL serves the image with long-lived cache headers.
    let url = app.url(food["image_url"].as_str().unwrap());
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let (status, categories) = app.get("/api/v1/categories").await;
    assert_eq!(status, StatusCode::OK);
    let categories = categories.as_array().unwrap();
    assert!(categories.len() >= 6);
    assert!(
        categories
            .iter()
            .all(|c| c["food_count"].as_i64().unwrap() > 0)
    );

    // Seeding happens once: a second start over the same database changes nothing.
    let foods_before = app.scalar("SELECT COUNT(*) FROM foods").await;
    let again = app.restart(&[("IPMAT_SEED", "auto")]).await;
    assert_eq!(
        again.scalar("SELECT COUNT(*) FROM foods").await,
        foods_before
    );
}

async fn foods_are_paged_by_name_and_searchable(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    for name in [
        "김치찌개",
        "된장찌개",
        "라면",
        "Ramen_100%",
        "ramen!",
        "냉면",
    ] {
        let (status, body) = app
            .post("/api/v1/foods", Some(&admin), json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/foods?limit=4&cursor={c}"),
            None => "/api/v1/foods?limit=4".to_owned(),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    // Code-point order on every engine.
    assert_eq!(
        seen,
        [
            "Ramen_100%",
            "ramen!",
            "김치찌개",
            "냉면",
            "된장찌개",
            "라면"
        ]
    );

    let search = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move {
            let (status, page) = app
                .client
                .get(app.url("/api/v1/foods"))
                .query(&[("q", q.as_str())])
                .send()
                .await
                .map(|r| (r.status(), r))
                .unwrap();
            assert_eq!(status, StatusCode::OK);
            let body: Value = page.json().await.unwrap();
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("찌개").await, ["김치찌개", "된장찌개"]);
    assert_eq!(
        search("RAMEN").await,
        ["Ramen_100%", "ramen!"],
        "case-insensitive"
    );
    assert_eq!(search("%").await, ["Ramen_100%"], "wildcards are literal");
    assert_eq!(search("_").await, ["Ramen_100%"]);
    assert!(search("없는음식").await.is_empty());

    for bad in [
        "/api/v1/foods?limit=0",
        "/api/v1/foods?limit=201",
        "/api/v1/foods?limit=abc",
        "/api/v1/foods?cursor=zz",
        "/api/v1/foods?bogus=1",
    ] {
        let (status, body) = app.get(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["code"], "validation_failed");
    }
}

async fn admins_manage_foods_and_categories(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, category) = app
        .post("/api/v1/categories", Some(&admin), json!({"name": "면"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(category["food_count"], 0);
    let (status, dup) = app
        .post("/api/v1/categories", Some(&admin), json!({"name": "면"}))
        .await;
    assert_eq!(
        (status, dup["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    app.post("/api/v1/categories", Some(&admin), json!({"name": "한식"}))
        .await;

    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "칼국수", "description": "비 오는 날엔", "details": "밀가루 반죽을 칼로 썬 면.",
                   "credit": "@khu_reviews", "categories": ["면", "한식", "면"], "alt_credit": "@someone"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    assert_eq!(food["categories"], json!(["면", "한식"]));
    assert_eq!(food["image_url"], Value::Null);
    assert_eq!(food["credit"], "@khu_reviews");
    let id = food["id"].as_i64().unwrap();

    // Admin writes answer with both languages' texts, as a read asking for them does.
    let (status, same) = app
        .get(&format!("/api/v1/foods/{id}?translations=true"))
        .await;
    assert_eq!((status, &same), (StatusCode::OK, &food));

    let (status, patched) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/foods/{id}"),
            Some(&admin),
            Some(json!({"description": "바지락 듬뿍", "alt_credit": null, "categories": ["면"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["description"], "바지락 듬뿍");
    assert_eq!(patched["alt_credit"], Value::Null);
    assert_eq!(patched["name"], "칼국수", "absent fields keep their value");
    assert_eq!(patched["categories"], json!(["면"]));

    let (status, _) = app
        .post("/api/v1/foods", Some(&admin), json!({"name": "칼국수"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "food names are unique");
    let (_, other) = app
        .post("/api/v1/foods", Some(&admin), json!({"name": "수제비"}))
        .await;
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/foods/{}", other["id"]),
            Some(&admin),
            Some(json!({"name": "칼국수"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "renaming onto a taken name");

    let (_, categories) = app.get("/api/v1/categories").await;
    let noodles = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "면")
        .unwrap()
        .clone();
    assert_eq!(noodles["food_count"], 1);
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/categories/{}", noodles["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, food) = app.get(&format!("/api/v1/foods/{id}")).await;
    assert_eq!(
        food["categories"],
        json!([]),
        "deleting a category leaves its foods"
    );

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/foods/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&format!("/api/v1/foods/{id}")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/foods/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM food_categories WHERE food_id = {id}"
        ))
        .await,
        0
    );
}

async fn admins_manage_books_and_their_foods(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book_id, foods) = app.book_with_foods(&admin, "면", 4).await;
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(detail["food_count"], 4);
    assert_eq!(detail["foods"].as_array().unwrap().len(), 4);

    let (status, detail) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{book_id}/foods"),
            Some(&admin),
            Some(json!({"food_ids": [foods[0], foods[1], foods[0]]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["food_count"], 2, "duplicates count once");

    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/api/v1/books/{book_id}/foods"),
            Some(&admin),
            Some(json!({"food_ids": [foods[0], 999999]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "food_ids");
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(detail["food_count"], 2, "a refused write changes nothing");

    let (status, patched) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/books/{book_id}"),
            Some(&admin),
            Some(json!({"priority": -5, "name": "새 이름"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["priority"].as_i64(), patched["name"].as_str()),
        (Some(-5), Some("새 이름"))
    );

    let (status, _) = app
        .post("/api/v1/books", Some(&admin), json!({"name": "새 이름"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting a food removes it from the book.
    app.call(
        Method::DELETE,
        &format!("/api/v1/foods/{}", foods[0]),
        Some(&admin),
        None,
    )
    .await;
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(detail["food_count"], 1);

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/books/{book_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM foods").await,
        3,
        "a book's foods outlive it"
    );
}

async fn catalog_writes_are_for_admins_only(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let member = app.signup("member").await;
    // POST /books is open to members (it makes a community book: tests/community.rs).
    let writes: [(Method, &str, Value); 8] = [
        (Method::POST, "/api/v1/foods", json!({"name": "x"})),
        (Method::PATCH, "/api/v1/foods/1", json!({"name": "x"})),
        (Method::DELETE, "/api/v1/foods/1", Value::Null),
        (Method::PATCH, "/api/v1/books/1", json!({"name": "x"})),
        (Method::DELETE, "/api/v1/books/1", Value::Null),
        (
            Method::PUT,
            "/api/v1/books/1/foods",
            json!({"food_ids": []}),
        ),
        (Method::POST, "/api/v1/categories", json!({"name": "x"})),
        (Method::DELETE, "/api/v1/categories/1", Value::Null),
    ];
    for (method, path, body) in writes {
        let body = (!body.is_null()).then_some(body);
        let (status, problem) = app.call(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{method} {path}"
        );
        let (status, problem) = app
            .call(method.clone(), path, Some(&member), body.clone())
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{method} {path}"
        );
        let (status, _) = app
            .call(method.clone(), path, Some("0".repeat(64).as_str()), body)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a made-up token: {method} {path}"
        );
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM foods").await, 0);
}

async fn invalid_catalog_writes_are_refused_field_by_field(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    app.post("/api/v1/categories", Some(&admin), json!({"name": "면"}))
        .await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": ""}), "name"),
        (json!({"name": "가".repeat(16)}), "name"),
        (
            json!({"name": "ok", "description": "가".repeat(31)}),
            "description",
        ),
        (
            json!({"name": "ok", "description": "two\nlines"}),
            "description",
        ),
        (
            json!({"name": "ok", "details": "가".repeat(301)}),
            "details",
        ),
        (json!({"name": "ok", "credit": "c".repeat(31)}), "credit"),
        (
            json!({"name": "ok", "categories": ["없는분류"]}),
            "categories",
        ),
        (
            json!({"name": "ok", "image_key": "../../etc/passwd"}),
            "image_key",
        ),
        (
            json!({"name": "ok", "image_key": "img/never-uploaded.jpg"}),
            "image_key",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post("/api/v1/foods", Some(&admin), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["code"], "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let wrong_types = [
        json!({"name": 5}),
        json!({"name": "ok", "categories": "면"}),
        json!([1, 2]),
        json!({"nmae": "typo"}),
    ];
    for body in wrong_types {
        let (status, problem) = app.post("/api/v1/foods", Some(&admin), body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
    }
    let (status, _) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "b", "food_ids": [1, "2"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM foods").await,
        0,
        "nothing was written"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM books").await, 0);
}

async fn the_random_pick_covers_every_food(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (status, problem) = app.get("/api/v1/foods/random").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "no foods yet"
    );
    let admin = app.admin().await;
    app.post("/api/v1/categories", Some(&admin), json!({"name": "면"}))
        .await;
    let mut noodle_ids = Vec::new();
    for (name, cats) in [
        ("라면", vec!["면"]),
        ("우동", vec!["면"]),
        ("김밥", vec![]),
        ("떡볶이", vec![]),
    ] {
        let (_, food) = app
            .post(
                "/api/v1/foods",
                Some(&admin),
                json!({"name": name, "categories": cats}),
            )
            .await;
        if name == "라면" || name == "우동" {
            noodle_ids.push(food["id"].as_i64().unwrap());
        }
    }
    let mut counts = std::collections::HashMap::new();
    for _ in 0..200 {
        let (status, food) = app.get("/api/v1/foods/random").await;
        assert_eq!(status, StatusCode::OK);
        *counts
            .entry(food["name"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 4, "every food comes up: {counts:?}");
    // 200 draws over 4 foods: each expected 50; below 20 would be a 1-in-a-million event.
    assert!(counts.values().all(|&n| n >= 20), "{counts:?}");
    for _ in 0..30 {
        let (_, food) = app.get("/api/v1/foods/random?category=면").await;
        assert!(noodle_ids.contains(&food["id"].as_i64().unwrap()));
    }
    let (status, _) = app.get("/api/v1/foods/random?category=없는분류").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn book_lists_reflect_writes_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book_id, _) = app.book_with_foods(&admin, "분식", 2).await;
    let (_, books) = app.get("/api/v1/books").await;
    assert_eq!(books[0]["name"], "분식 월드컵");
    let (_, _) = app.get(&format!("/api/v1/books/{book_id}")).await;
    app.call(
        Method::PATCH,
        &format!("/api/v1/books/{book_id}"),
        Some(&admin),
        Some(json!({"name": "바뀐 이름"})),
    )
    .await;
    let (_, books) = app.get("/api/v1/books").await;
    assert_eq!(
        books[0]["name"], "바뀐 이름",
        "the cached list was invalidated"
    );
    let (_, detail) = app.get(&format!("/api/v1/books/{book_id}")).await;
    assert_eq!(detail["name"], "바뀐 이름");
    app.call(
        Method::DELETE,
        &format!("/api/v1/books/{book_id}"),
        Some(&admin),
        None,
    )
    .await;
    let (_, books) = app.get("/api/v1/books").await;
    assert_eq!(books, json!([]));
}
