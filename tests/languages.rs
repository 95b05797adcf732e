//! Answers in Korean or English (src/lang.rs) over HTTP on every engine: how the language is
//! chosen, the English of the bundled catalog, the fallback to Korean, and the admin round
//! trip of the English fields.

mod common;

use common::{Engine, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_all_engines!(
    the_bundled_catalog_is_served_in_english_when_asked,
    the_query_beats_the_header_and_q_values_decide,
    english_falls_back_to_korean_where_none_is_written,
    admins_write_and_read_the_english_fields,
    world_cups_and_quizzes_show_foods_in_the_chosen_language,
);

/// GET with an optional `Accept-Language`; answers status, body and the response headers.
async fn get_in(
    app: &TestApp,
    path: &str,
    accept_language: Option<&str>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = app.client.get(app.url(path));
    if let Some(lang) = accept_language {
        request = request.header("accept-language", lang);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

fn has_hangul(text: &str) -> bool {
    text.chars().any(|c| ('가'..='힣').contains(&c))
}

/// The food whose `field` is `name` within a list of foods.
fn food_named<'a>(foods: &'a [Value], field: &str, name: &str) -> &'a Value {
    foods
        .iter()
        .find(|f| f[field] == name)
        .unwrap_or_else(|| panic!("{name} among {foods:?}"))
}

async fn the_bundled_catalog_is_served_in_english_when_asked(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let (status, books, headers) = get_in(&app, "/api/v1/books?lang=en", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-language"], "en");
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Accept-Language")),
        "{headers:?}"
    );
    let books = books.as_array().unwrap();
    assert_eq!(books.len(), 15);
    for book in books {
        let name = book["name"].as_str().unwrap();
        assert!(!has_hangul(name) && !name.is_empty(), "{book}");
        assert!(
            book.get("name_en").is_none(),
            "translations only on request"
        );
    }
    assert_eq!(books[0]["name"], "All-foods world cup");

    // Every food of the biggest book, with its categories, in English.
    let id = books[0]["id"].as_i64().unwrap();
    let (_, detail, _) = get_in(&app, &format!("/api/v1/books/{id}"), Some("en-US,en;q=0.9")).await;
    let foods = detail["foods"].as_array().unwrap();
    assert_eq!(foods.len(), 64);
    for food in foods {
        for field in ["name", "description", "details"] {
            let text = food[field].as_str().unwrap();
            assert!(!text.is_empty() && !has_hangul(text), "{field}: {food}");
        }
        for c in food["categories"].as_array().unwrap() {
            assert!(!has_hangul(c.as_str().unwrap()), "{food}");
        }
    }
    let (_, korean, headers) = get_in(&app, &format!("/api/v1/books/{id}"), None).await;
    assert_eq!(headers["content-language"], "ko");
    let tteokbokki = food_named(korean["foods"].as_array().unwrap(), "name", "떡볶이");
    let english = foods
        .iter()
        .find(|f| f["id"] == tteokbokki["id"])
        .expect("the same food in English");
    assert_eq!(english["name"], "Tteokbokki (spicy rice cakes)");
    assert!(
        tteokbokki["categories"]
            .as_array()
            .unwrap()
            .contains(&json!("분식"))
    );
    assert!(
        english["categories"]
            .as_array()
            .unwrap()
            .contains(&json!("Snack bar (bunsik)"))
    );

    let (_, categories, _) = get_in(&app, "/api/v1/categories?lang=en", None).await;
    let names: Vec<&str> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 12);
    assert!(
        names.contains(&"Noodles") && names.contains(&"Seafood"),
        "{names:?}"
    );
    // A category filter takes the English name as well as the Korean one.
    let (_, by_english, _) = get_in(&app, "/api/v1/foods?category=Noodles&limit=200", None).await;
    let (_, by_korean, _) = get_in(&app, "/api/v1/foods?category=면&limit=200", None).await;
    assert!(!by_english["items"].as_array().unwrap().is_empty());
    assert_eq!(by_english, by_korean);
}

async fn the_query_beats_the_header_and_q_values_decide(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let (_, page, _) = get_in(&app, "/api/v1/foods?q=떡볶이&lang=ko", None).await;
    let id = food_named(page["items"].as_array().unwrap(), "name", "떡볶이")["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/foods/{id}");
    let cases: [(&str, Option<&str>, &str); 9] = [
        ("", None, "ko"),
        ("", Some("en-US,en;q=0.9"), "en"),
        ("", Some("en-GB"), "en"),
        ("", Some("ko-KR,ko;q=0.9,en-US;q=0.8"), "ko"),
        ("", Some("ko;q=0.3, en;q=0.8"), "en"),
        ("", Some("fr-FR, ja;q=0.9"), "ko"),
        ("", Some("en;q=0, ko;q=0.1"), "ko"),
        ("?lang=ko", Some("en-US"), "ko"),
        ("?lang=en", Some("ko-KR"), "en"),
    ];
    for (query, header, want) in cases {
        let (status, food, headers) = get_in(&app, &format!("{path}{query}"), header).await;
        assert_eq!(status, StatusCode::OK, "{query} {header:?}");
        assert_eq!(headers["content-language"], want, "{query} {header:?}");
        let name = if want == "en" {
            "Tteokbokki (spicy rice cakes)"
        } else {
            "떡볶이"
        };
        assert_eq!(food["name"], name, "{query} {header:?}");
    }
    // The same cached answer is never served in the other language.
    for _ in 0..2 {
        let (_, ko, _) = get_in(&app, "/api/v1/books", Some("ko")).await;
        let (_, en, _) = get_in(&app, "/api/v1/books", Some("en")).await;
        assert_eq!(ko[0]["name"], "전체 음식 월드컵");
        assert_eq!(en[0]["name"], "All-foods world cup");
    }
    // An unknown language is a validation error naming the parameter, on any operation.
    for bad in [
        "/api/v1/books?lang=fr",
        "/api/v1/foods?lang=",
        "/api/v1/config?translations=maybe",
    ] {
        let (status, body) = app.get(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["code"], "validation_failed");
        let field = body["errors"][0]["field"].as_str().unwrap();
        assert!(field == "lang" || field == "translations", "{body}");
    }
    // `lang` never upsets an operation's own query parameters.
    let (status, page) = app
        .get("/api/v1/foods?limit=3&lang=en&translations=true")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["items"][0]["name_ko"].is_string(), "{page}");
}

async fn english_falls_back_to_korean_where_none_is_written(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "된장국", "description": "구수한 국", "details": "된장을 푼 국",
                   "name_en": "Soybean paste soup"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    let id = food["id"].as_i64().unwrap();
    let (_, en, _) = get_in(&app, &format!("/api/v1/foods/{id}?lang=en"), None).await;
    assert_eq!(en["name"], "Soybean paste soup");
    assert_eq!(
        en["description"], "구수한 국",
        "no English one-liner: the Korean"
    );
    assert_eq!(en["details"], "된장을 푼 국");

    // Community books are written in one language: English readers see the Korean.
    let member = app.signup("cook").await;
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(&member),
            json!({"name": "우리 동네 맛집", "description": "동네 사람만 아는 집"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    let book_id = book["id"].as_i64().unwrap();
    let (status, shown) = app
        .call(
            Method::GET,
            &format!("/api/v1/books/{book_id}?lang=en"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["name"], "우리 동네 맛집");
    assert_eq!(shown["description"], "동네 사람만 아는 집");
    let (status, refused) = app
        .post(
            "/api/v1/books",
            Some(&member),
            json!({"name": "영어 책", "name_en": "English book"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "name_en");
}

async fn admins_write_and_read_the_english_fields(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (status, category) = app
        .post(
            "/api/v1/categories",
            Some(&admin),
            json!({"name": "국", "name_en": "Soup"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{category}");
    assert_eq!(
        (&category["name_ko"], &category["name_en"]),
        (&json!("국"), &json!("Soup"))
    );
    let category_id = category["id"].as_i64().unwrap();
    let (status, renamed) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/categories/{category_id}"),
            Some(&admin),
            Some(json!({"name_en": "Soups"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name_en"], "Soups");
    assert_eq!(renamed["name"], "국");

    // A food written in both languages; its category given by its English name.
    let (status, food) = app
        .post(
            "/api/v1/foods",
            Some(&admin),
            json!({"name": "미역국", "description": "생일 국", "details": "미역을 끓인 국",
                   "name_en": "Seaweed soup (miyeok-guk)", "description_en": "The birthday soup",
                   "details_en": "Seaweed simmered in broth.", "categories": ["Soups"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{food}");
    for (field, want) in [
        ("name", "미역국"),
        ("name_ko", "미역국"),
        ("name_en", "Seaweed soup (miyeok-guk)"),
        ("description_en", "The birthday soup"),
        ("details_ko", "미역을 끓인 국"),
        ("details_en", "Seaweed simmered in broth."),
    ] {
        assert_eq!(food[field], want, "{field}: {food}");
    }
    assert_eq!(food["categories"], json!(["국"]));
    let id = food["id"].as_i64().unwrap();

    let (status, changed) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/foods/{id}?lang=en"),
            Some(&admin),
            Some(json!({"description_en": "Eaten on birthdays", "details_en": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["description"], "Eaten on birthdays");
    assert_eq!(
        changed["details"], "미역을 끓인 국",
        "cleared: the Korean again"
    );
    assert_eq!(changed["details_en"], "");
    assert_eq!(changed["categories"], json!(["Soups"]));
    let stored = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM foods WHERE id = {id} AND description_en = 'Eaten on birthdays' AND details_en = ''"
        ))
        .await;
    assert_eq!(stored, 1, "the row holds the English");
    let (_, read, _) = get_in(
        &app,
        &format!("/api/v1/foods/{id}?translations=true"),
        Some("en"),
    )
    .await;
    assert_eq!(read["name"], "Seaweed soup (miyeok-guk)");
    assert_eq!(read["name_ko"], "미역국");
    assert_eq!(read["description_ko"], "생일 국");

    // Books: an English name and description, changed later.
    let (status, book) = app
        .post(
            "/api/v1/books",
            Some(&admin),
            json!({"name": "국 월드컵", "name_en": "Soup cup", "description": "국물 요리",
                   "description_en": "Soups only", "food_ids": [id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{book}");
    assert_eq!(book["name_en"], "Soup cup");
    assert_eq!(book["foods"][0]["name_en"], "Seaweed soup (miyeok-guk)");
    let book_id = book["id"].as_i64().unwrap();
    let (status, book) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/books/{book_id}"),
            Some(&admin),
            Some(json!({"name_en": "Soup world cup"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{book}");
    assert_eq!(book["name_en"], "Soup world cup");
    assert_eq!(book["description_en"], "Soups only");
    let (_, list, _) = get_in(&app, "/api/v1/books?lang=en", None).await;
    assert_eq!(list[0]["name"], "Soup world cup");
    assert_eq!(list[0]["description"], "Soups only");

    // The English limits, field by field.
    let long = |n: usize| "a".repeat(n);
    let cases = [
        (
            "/api/v1/foods",
            json!({"name": "새 음식", "name_en": long(41)}),
            "name_en",
        ),
        (
            "/api/v1/foods",
            json!({"name": "새 음식", "description_en": long(61)}),
            "description_en",
        ),
        (
            "/api/v1/foods",
            json!({"name": "새 음식", "details_en": long(601)}),
            "details_en",
        ),
        (
            "/api/v1/foods",
            json!({"name": "새 음식", "name_en": "two\nlines"}),
            "name_en",
        ),
        (
            "/api/v1/categories",
            json!({"name": "새 분류", "name_en": long(31)}),
            "name_en",
        ),
        (
            "/api/v1/books",
            json!({"name": "새 책", "name_en": long(61)}),
            "name_en",
        ),
        (
            "/api/v1/books",
            json!({"name": "새 책", "description_en": long(401)}),
            "description_en",
        ),
    ];
    for (path, body, field) in cases {
        let (status, problem) = app.post(path, Some(&admin), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {field}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
}

async fn world_cups_and_quizzes_show_foods_in_the_chosen_language(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let (_, books) = app.get("/api/v1/books").await;
    let book = books[0]["id"].as_i64().unwrap();
    let member = app.signup("traveller").await;
    let response = app
        .client
        .post(app.url(&format!("/api/v1/books/{book}/worldcups")))
        .bearer_auth(&member)
        .header("accept-language", "en-US")
        .json(&json!({"size": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cup: Value = response.json().await.unwrap();
    let left = cup["current"]["left"]["name"].as_str().unwrap();
    assert!(!has_hangul(left), "{cup}");
    let cup_id = cup["id"].as_str().unwrap();
    let (_, korean, _) = get_in(&app, &format!("/api/v1/worldcups/{cup_id}"), Some("ko")).await;
    assert!(has_hangul(
        korean["current"]["left"]["name"].as_str().unwrap()
    ));
    assert_eq!(
        korean["current"]["left"]["id"],
        cup["current"]["left"]["id"]
    );

    let (status, mine) = app.get_as(&member, "/api/v1/me/worldcups?lang=en").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["items"][0]["book_name"], "All-foods world cup");
    let (_, mine) = app.get_as(&member, "/api/v1/me/worldcups").await;
    assert_eq!(mine["items"][0]["book_name"], "전체 음식 월드컵");

    let (_, pairs, _) = get_in(&app, "/api/v1/quiz/pairs?count=5&lang=en", None).await;
    for pair in pairs.as_array().unwrap() {
        for side in ["left", "right"] {
            assert!(!has_hangul(pair[side]["name"].as_str().unwrap()), "{pair}");
        }
    }
}
