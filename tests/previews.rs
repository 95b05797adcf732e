//! Link previews over HTTP on every engine: the head of each page kind (every tag, absolute,
//! escaped), 404 for what does not exist, and the preview images (PNG size, versions, ETag,
//! one drawing per burst, photos drawn in).

mod common;

use std::collections::HashSet;

use common::{Engine, TestApp};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

on_all_engines!(
    every_page_kind_has_its_own_absolute_escaped_head,
    links_use_the_public_url_when_configured,
    unknown_paths_codes_and_ids_answer_the_app_with_404,
    preview_images_are_pngs_with_versions_and_etags,
    a_burst_of_requests_for_a_new_image_draws_it_once,
    photos_are_drawn_into_the_images,
);

/// A title with every character HTML gives a meaning to.
const TRICKY: &str = r#"Tom's "매운" <떡볶이> & 순대"#;

/// Creates `n` question pairs over fresh foods; answers (pair id, left id, right id).
async fn bank(app: &TestApp, admin: &str, prefix: &str, n: usize) -> Vec<(i64, i64, i64)> {
    let (_, foods) = app.book_with_foods(admin, prefix, 2 * n).await;
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

/// Creates an exam over `pairs` (always the left food) and answers its code.
async fn exam(app: &TestApp, token: &str, title: &str, pairs: &[(i64, i64, i64)]) -> String {
    let answers: Vec<Value> = pairs
        .iter()
        .map(|&(id, left, _)| json!({"pair_id": id, "food_id": left}))
        .collect();
    let (status, body) = app
        .post(
            "/api/v1/exams",
            Some(token),
            json!({"title": title, "answers": answers}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["code"].as_str().unwrap().to_owned()
}

/// Starts a world cup of `size` in `book` and makes `picks` picks (always the left food).
async fn worldcup(app: &TestApp, book: i64, size: u32, picks: usize) -> Value {
    let (status, mut state) = app
        .post(
            &format!("/api/v1/books/{book}/worldcups"),
            None,
            json!({"size": size}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{state}");
    let key = state["play_key"].as_str().unwrap().to_owned();
    for _ in 0..picks {
        let id = state["id"].as_str().unwrap().to_owned();
        let winner = state["current"]["left"]["id"].as_i64().unwrap();
        let response = app
            .client
            .post(app.url(&format!("/api/v1/worldcups/{id}/picks")))
            .header("x-play-key", &key)
            .json(&json!({"winner": winner}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let next: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{next}");
        state = next;
    }
    state
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
    (status, response.text().await.unwrap())
}

/// The head of a page, up to `</head>`.
fn head(html: &str) -> &str {
    &html[..html.find("</head>").expect("the page has a head")]
}

/// The raw (still escaped) content of `<meta {attr}="{key}" content="…">`.
fn tag<'a>(head: &'a str, attr: &str, key: &str) -> &'a str {
    let needle = format!("<meta {attr}=\"{key}\" content=\"");
    let start = head
        .find(&needle)
        .unwrap_or_else(|| panic!("no {key} in {head}"))
        + needle.len();
    let len = head[start..].find('"').unwrap();
    &head[start..start + len]
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Checks every tag a page must have and answers (og:title, og:description, og:image) as
/// text.
fn check_head(head: &str, base: &str, url_path: &str) -> (String, String, String) {
    assert_eq!(head.matches("<title>").count(), 1, "{head}");
    let title_start = head.find("<title>").unwrap() + "<title>".len();
    let title = &head[title_start..title_start + head[title_start..].find("</title>").unwrap()];
    assert_eq!(title, tag(head, "property", "og:title"));
    assert_eq!(
        tag(head, "name", "description"),
        tag(head, "property", "og:description")
    );
    assert_eq!(tag(head, "property", "og:site_name"), "입맛");
    assert_eq!(tag(head, "property", "og:type"), "website");
    assert_eq!(tag(head, "property", "og:locale"), "ko_KR");
    assert_eq!(tag(head, "property", "og:image:width"), "1200");
    assert_eq!(tag(head, "property", "og:image:height"), "630");
    assert_eq!(tag(head, "name", "twitter:card"), "summary_large_image");
    let url = format!("{base}{url_path}");
    assert_eq!(unescape(tag(head, "property", "og:url")), url);
    assert!(
        head.contains(&format!("<link rel=\"canonical\" href=\"{url}\">")),
        "{head}"
    );
    let image = unescape(tag(head, "property", "og:image"));
    assert!(image.starts_with(&format!("{base}/og/")), "{image}");
    assert_eq!(unescape(tag(head, "name", "twitter:image")), image);
    (
        unescape(tag(head, "property", "og:title")),
        unescape(tag(head, "property", "og:description")),
        image,
    )
}

async fn every_page_kind_has_its_own_absolute_escaped_head(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, "음식", 3).await;
    let author = app.signup("author").await;
    let code = exam(&app, &author, TRICKY, &pairs).await;
    let (book, _) = app.book_with_foods(&admin, "분식", 4).await;
    let base = app.base.clone();

    let (status, html) = page(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    let (title, _, image) = check_head(head(&html), &base, "/");
    assert!(title.contains("입맛"), "{title}");
    assert!(
        image.starts_with(&format!("{base}/og/home.png?v=")),
        "{image}"
    );
    assert!(
        html.contains("<main id=\"main\""),
        "the app itself follows the head"
    );

    // The quiz page: the title is escaped in the markup and intact once parsed.
    let (status, html) = page(&app, &format!("/quiz/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    let head_html = head(&html);
    assert!(!head_html.contains(TRICKY));
    assert!(!head_html.contains("<떡볶이>"));
    assert!(head_html.contains("Tom&#39;s &quot;매운&quot; &lt;떡볶이&gt; &amp; 순대"));
    let (title, description, image) = check_head(head_html, &base, &format!("/quiz/{code}"));
    assert!(title.starts_with(TRICKY), "{title}");
    assert!(
        description.contains("author님")
            && description.contains("3문제")
            && description.contains("나를 얼마나 알까?"),
        "{description}"
    );
    assert!(
        image.starts_with(&format!("{base}/og/quiz/{code}.png?v=")),
        "{image}"
    );
    // A code typed in lower case and the exam's other pages share the exam's preview.
    for path in [
        format!("/quiz/{}", code.to_lowercase()),
        format!("/quiz/{code}/scoreboard"),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            check_head(head(&html), &base, &format!("/quiz/{code}")).0,
            title
        );
    }

    // A world cup under way shows its book and round; a finished one its champion.
    let running = worldcup(&app, book, 4, 1).await;
    let id = running["id"].as_str().unwrap();
    let (status, html) = page(&app, &format!("/worldcup/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (title, description, image) = check_head(head(&html), &base, &format!("/worldcup/{id}"));
    assert_eq!(title, "분식 월드컵 · 4강 2/2");
    assert!(description.contains("4강"), "{description}");
    assert!(image.starts_with(&format!("{base}/og/worldcup/{id}.png?v=")));

    let finished = worldcup(&app, book, 4, 3).await;
    assert_eq!(finished["finished"], true);
    let champion = finished["champion"]["name"].as_str().unwrap();
    let id = finished["id"].as_str().unwrap();
    let (_, html) = page(&app, &format!("/worldcup/{id}")).await;
    let (title, description, _) = check_head(head(&html), &base, &format!("/worldcup/{id}"));
    assert_eq!(title, format!("{champion} 우승! · 분식 월드컵"));
    // The champions here are named 분식1…4: the particle follows the digit as read (일, 이…).
    let particle = if champion.ends_with(['2', '4']) {
        "가"
    } else {
        "이"
    };
    assert!(
        description.contains(&format!("{champion}{particle} 우승했어요")),
        "{description}"
    );

    // A book: its name, food count and plays (the two world cups above).
    let (status, html) = page(&app, &format!("/books/{book}")).await;
    assert_eq!(status, StatusCode::OK);
    let (title, description, image) = check_head(head(&html), &base, &format!("/books/{book}"));
    assert_eq!(title, "분식 월드컵 · 입맛");
    assert!(
        description.starts_with("음식 4개 · 2번 플레이"),
        "{description}"
    );
    assert!(image.starts_with(&format!("{base}/og/books/{book}.png?v=")));

    // Pages are revalidated: the same page with its ETag is a 304.
    let first = app
        .client
        .get(app.url(&format!("/books/{book}")))
        .send()
        .await
        .unwrap();
    let etag = first.headers()[ETAG].clone();
    assert_eq!(first.headers()[CACHE_CONTROL], "no-cache");
    let again = app
        .client
        .get(app.url(&format!("/books/{book}")))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Pages without a subject of their own get the site's head, on their own URL.
    let (status, html) = page(&app, "/quiz/new").await;
    assert_eq!(status, StatusCode::OK);
    check_head(head(&html), &base, "/quiz/new");
}

async fn links_use_the_public_url_when_configured(engine: Engine) {
    let app = TestApp::spawn_with(
        engine,
        &[
            ("IPMAT_SEED", "off"),
            ("IPMAT_PUBLIC_URL", "https://ipmat.example"),
        ],
    )
    .await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "국밥", 2).await;
    let response = app
        .client
        .get(app.url(&format!("/books/{book}")))
        .header("host", "attacker.example")
        .header("x-forwarded-host", "attacker.example")
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    let (_, _, image) = check_head(
        head(&html),
        "https://ipmat.example",
        &format!("/books/{book}"),
    );
    assert!(image.starts_with("https://ipmat.example/og/books/"));
    assert!(!html.contains("attacker"));
}

async fn unknown_paths_codes_and_ids_answer_the_app_with_404(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, foods) = app.book_with_foods(&admin, "면", 2).await;
    let missing_book = book + 1000;
    let missing_food = foods[1] + 1000;
    for path in [
        "/nowhere".to_owned(),
        "/me/extra/deep".to_owned(),
        "/quiz/ZZZZZZ".to_owned(),
        "/quiz/not-a-code".to_owned(),
        "/quiz/ZZZZZZ/scoreboard".to_owned(),
        "/worldcup/0123456789abcdef0123456789abcdef".to_owned(),
        "/worldcup/short".to_owned(),
        format!("/books/{missing_book}"),
        "/books/abc".to_owned(),
        format!("/foods/{missing_food}"),
        "/foods/0".to_owned(),
        "/foods/abc".to_owned(),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            html.contains("<script type=\"module\" src=\"/app.js?v="),
            "{path}: the app"
        );
        assert_eq!(tag(head(&html), "name", "robots"), "noindex", "{path}");
    }
    for path in [
        "/".to_owned(),
        "/login".to_owned(),
        "/signup".to_owned(),
        "/me".to_owned(),
        "/quiz".to_owned(),
        "/worldcup".to_owned(),
        "/admin/foods".to_owned(),
        format!("/foods/{}", foods[0]),
    ] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("noindex"), "{path}");
    }
    for path in [
        "/og/quiz/ZZZZZZ.png".to_owned(),
        "/og/worldcup/0123456789abcdef0123456789abcdef.png".to_owned(),
        format!("/og/books/{missing_book}.png"),
        format!("/og/books/{book}.jpg"),
        "/og/books/x.png".to_owned(),
        "/og/elsewhere.png".to_owned(),
    ] {
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
    }
}

async fn get_png(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap().to_vec();
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 630), "{path}");
    (headers, bytes)
}

async fn preview_images_are_pngs_with_versions_and_etags(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let pairs = bank(&app, &admin, "음식", 2).await;
    let other_pairs = bank(&app, &admin, "반찬", 2).await;
    let author = app.signup("author").await;
    let first = exam(&app, &author, "나의 입맛", &pairs).await;
    let second = exam(&app, &author, TRICKY, &other_pairs).await;
    let (book, _) = app.book_with_foods(&admin, "분식", 4).await;
    let cup = worldcup(&app, book, 2, 1).await;

    let (headers, a) = get_png(&app, &format!("/og/quiz/{first}.png")).await;
    let etag = headers[ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with("\"og-"), "{etag}");
    assert!(
        headers[CACHE_CONTROL].to_str().unwrap().contains("max-age"),
        "{headers:?}"
    );
    assert_eq!(headers["x-preview-cache"], "miss");
    let (headers_b, b) = get_png(&app, &format!("/og/quiz/{second}.png")).await;
    assert_ne!(a, b, "two exams give two images");
    assert_ne!(headers_b[ETAG], headers[ETAG]);

    // Drawn once: the next answer comes from the cache, byte for byte; with the ETag, 304.
    let (again_headers, again) =
        get_png(&app, &format!("/og/quiz/{}.png?v=x", first.to_lowercase())).await;
    assert_eq!(again, a);
    assert_eq!(again_headers["x-preview-cache"], "hit");
    assert_eq!(again_headers[ETAG], headers[ETAG]);
    let response = app
        .client
        .get(app.url(&format!("/og/quiz/{first}.png")))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()[ETAG].to_str().unwrap(), etag);
    assert!(response.bytes().await.unwrap().is_empty());

    // The og:image URL of the page names the image's version.
    let (_, html) = page(&app, &format!("/quiz/{first}")).await;
    let image = unescape(tag(head(&html), "property", "og:image"));
    let version = &etag[4..12];
    assert!(
        image.ends_with(&format!("?v={version}")),
        "{image} vs {etag}"
    );

    let mut etags = HashSet::new();
    for path in [
        "/og/home.png".to_owned(),
        format!("/og/books/{book}.png"),
        format!("/og/worldcup/{}.png", cup["id"].as_str().unwrap()),
    ] {
        let (headers, _) = get_png(&app, &path).await;
        assert!(etags.insert(headers[ETAG].to_str().unwrap().to_owned()));
    }
    // HEAD answers the headers alone.
    let response = app
        .client
        .head(app.url(&format!("/og/books/{book}.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
}

async fn a_burst_of_requests_for_a_new_image_draws_it_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let admin = app.admin().await;
    let (book, _) = app.book_with_foods(&admin, "분식", 4).await;
    let url = app.url(&format!("/og/books/{book}.png"));
    let requests = (0..12).map(|_| {
        let (client, url) = (app.client.clone(), url.clone());
        tokio::spawn(async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let cache = response.headers()["x-preview-cache"]
                .to_str()
                .unwrap()
                .to_owned();
            (cache, response.bytes().await.unwrap())
        })
    });
    let mut misses = 0;
    let mut bodies = HashSet::new();
    for request in requests {
        let (cache, body) = request.await.unwrap();
        misses += usize::from(cache == "miss");
        bodies.insert(body);
    }
    assert_eq!(misses, 1, "one drawing for the whole burst");
    assert_eq!(bodies.len(), 1);
}

/// Distinct colours in the photo area (x < 600) of a preview image.
fn photo_colours(png: &[u8]) -> usize {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let mut colours = HashSet::new();
    for y in (0..630).step_by(3) {
        for x in (0..600).step_by(3) {
            colours.insert(img.get_pixel(x, y).0);
        }
    }
    colours.len()
}

async fn photos_are_drawn_into_the_images(engine: Engine) {
    let app = TestApp::spawn_seeded(engine).await;
    let (_, books) = app.get("/api/v1/books").await;
    let book = books[0]["id"].as_i64().unwrap();
    let cup = worldcup(&app, book, 2, 1).await;
    assert_eq!(cup["finished"], true);
    assert!(
        cup["champion"]["image_url"].is_string(),
        "the seed has photos"
    );
    let (_, champion) = get_png(
        &app,
        &format!("/og/worldcup/{}.png", cup["id"].as_str().unwrap()),
    )
    .await;
    let (_, collage) = get_png(&app, &format!("/og/books/{book}.png")).await;

    // Foods without photos get flat tiles with their names: few colours.
    let admin = app.admin().await;
    let (plain_book, _) = app.book_with_foods(&admin, "사진없음", 4).await;
    let (_, plain) = get_png(&app, &format!("/og/books/{plain_book}.png")).await;
    let plain_colours = photo_colours(&plain);
    assert!(plain_colours < 600, "{plain_colours}");
    for (what, png) in [("champion", &champion), ("collage", &collage)] {
        let colours = photo_colours(png);
        assert!(colours > 3 * plain_colours, "{what}: {colours} colours");
    }
}
