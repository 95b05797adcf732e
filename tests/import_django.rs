//! `ipmat import-django` on every engine: a fixture database in the original Django server's
//! schema on the test MariaDB, holding every kind of dirt the original allowed, is imported
//! with its images (from a folder and over HTTP), then checked over the API: counts, the
//! scoreboard by the original's rules, old share codes, favourites, play counts, stored and
//! resized images, the idempotent second run and the dry run that writes nothing.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Engine, TestApp};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use ipmat::import_django::{MediaSource, Options, Report};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

on_all_engines!(
    the_original_moves_in_with_its_images_over_http,
    a_dry_run_writes_nothing_and_a_second_run_adds_nothing,
    the_command_line_imports_from_a_media_folder_and_writes_a_report,
    a_failure_half_way_leaves_whole_stages_and_a_rerun_finishes,
);

// ---------------------------------------------------------------------------------------
// The fixture: the original's schema on MariaDB, a small realistic data set, its images

const SCHEMA: &[&str] = &[
    "CREATE TABLE food_foodsubcategory (id INT AUTO_INCREMENT PRIMARY KEY, \
     categoryName VARCHAR(15) NOT NULL UNIQUE) ENGINE=InnoDB",
    "CREATE TABLE food_food (id INT AUTO_INCREMENT PRIMARY KEY, food_name VARCHAR(15) NOT NULL UNIQUE, \
     img VARCHAR(100) NOT NULL, creator VARCHAR(30) NOT NULL, sub_img VARCHAR(100) NOT NULL, \
     sub_creator VARCHAR(30) NOT NULL, oneline_desc VARCHAR(30) NOT NULL, `desc` LONGTEXT NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE food_food_category (id INT AUTO_INCREMENT PRIMARY KEY, food_id INT NOT NULL, \
     foodsubcategory_id INT NOT NULL, UNIQUE (food_id, foodsubcategory_id), \
     FOREIGN KEY (food_id) REFERENCES food_food (id), \
     FOREIGN KEY (foodsubcategory_id) REFERENCES food_foodsubcategory (id)) ENGINE=InnoDB",
    "CREATE TABLE food_foodbook (id INT AUTO_INCREMENT PRIMARY KEY, food_book_name VARCHAR(30) NOT NULL UNIQUE, \
     image VARCHAR(40) NOT NULL, star INT NOT NULL, playCount INT NOT NULL, priority INT NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE food_foodbook_food (id INT AUTO_INCREMENT PRIMARY KEY, foodbook_id INT NOT NULL, \
     food_id INT NOT NULL, UNIQUE (foodbook_id, food_id), \
     FOREIGN KEY (foodbook_id) REFERENCES food_foodbook (id), \
     FOREIGN KEY (food_id) REFERENCES food_food (id)) ENGINE=InnoDB",
    "CREATE TABLE member_member (`_id` VARCHAR(15) NOT NULL PRIMARY KEY, pw VARCHAR(20) NOT NULL, \
     session_key VARCHAR(50) NOT NULL, birth_year INT NOT NULL, birth_month INT NOT NULL, \
     birth_day INT NOT NULL, imgs VARCHAR(100) NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE member_member_favorite_book (id INT AUTO_INCREMENT PRIMARY KEY, \
     member_id VARCHAR(15) NOT NULL, foodbook_id INT NOT NULL, UNIQUE (member_id, foodbook_id), \
     FOREIGN KEY (member_id) REFERENCES member_member (`_id`), \
     FOREIGN KEY (foodbook_id) REFERENCES food_foodbook (id)) ENGINE=InnoDB",
    "CREATE TABLE food_test_testrowone (id INT AUTO_INCREMENT PRIMARY KEY, left_food_id INT NOT NULL, \
     right_food_id INT NOT NULL, FOREIGN KEY (left_food_id) REFERENCES food_food (id), \
     FOREIGN KEY (right_food_id) REFERENCES food_food (id)) ENGINE=InnoDB",
    "CREATE TABLE food_test_foodtest (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(30) NOT NULL, \
     author_id VARCHAR(15) NOT NULL, hashId VARCHAR(5) NOT NULL, \
     FOREIGN KEY (author_id) REFERENCES member_member (`_id`)) ENGINE=InnoDB",
    "CREATE TABLE food_test_testrows (id INT AUTO_INCREMENT PRIMARY KEY, test_id INT NOT NULL, \
     member_id VARCHAR(15) NOT NULL, row_id INT NOT NULL, answer_id INT NOT NULL, \
     FOREIGN KEY (test_id) REFERENCES food_test_foodtest (id), \
     FOREIGN KEY (member_id) REFERENCES member_member (`_id`), \
     FOREIGN KEY (row_id) REFERENCES food_test_testrowone (id), \
     FOREIGN KEY (answer_id) REFERENCES food_food (id)) ENGINE=InnoDB",
    "CREATE TABLE food_test_participantanswer (id INT AUTO_INCREMENT PRIMARY KEY, \
     member_id VARCHAR(15) NOT NULL, question_id INT NOT NULL, answer_id INT NOT NULL, test_id INT NOT NULL, \
     FOREIGN KEY (member_id) REFERENCES member_member (`_id`), \
     FOREIGN KEY (question_id) REFERENCES food_test_testrows (id), \
     FOREIGN KEY (answer_id) REFERENCES food_food (id), \
     FOREIGN KEY (test_id) REFERENCES food_test_foodtest (id)) ENGINE=InnoDB",
    "CREATE TABLE preference_visitorcount (id INT AUTO_INCREMENT PRIMARY KEY, `date` VARCHAR(10) NOT NULL, \
     `count` INT NOT NULL) ENGINE=InnoDB",
    // Django's own tables are there too and hold nothing of ipmat's.
    "CREATE TABLE django_migrations (id INT AUTO_INCREMENT PRIMARY KEY, app VARCHAR(255) NOT NULL, \
     name VARCHAR(255) NOT NULL, applied DATETIME(6) NOT NULL) ENGINE=InnoDB",
];

/// Food ids of the fixture.
const JOKBAL: i64 = 1;
const NAENGMYEON: i64 = 2;
const TTEOKBOKKI: i64 = 3;
const GIMBAP: i64 = 4;
const RAMEN: i64 = 5;
const BIBIMBAP: i64 = 6;
const JJAJANG: i64 = 7;
const JJAMPPONG: i64 = 8;

fn data() -> Vec<String> {
    let long_desc = "겉은 쫄깃하고 속은 부드러운 족발. ".repeat(20); // > 300 characters
    let mut sql = vec![
        "INSERT INTO food_foodsubcategory (id, categoryName) VALUES (1, '경희대맛집'), (2, '한식'), (3, '면')".to_owned(),
        format!(
            "INSERT INTO food_food (id, food_name, img, creator, sub_img, sub_creator, oneline_desc, `desc`) VALUES \
             (1, '족발', 'imgs/jokbal_3f2a1.jpeg', '@khu_reviews', 'imgs/jokbal_side.png', '@side_dish', '쫄깃한 족발', '{long_desc}'), \
             (2, '냉면', 'imgs/naengmyeon.jpg', '@cold', '', '', '시원한 냉면', ''), \
             (3, '떡볶이', 'imgs/broken.jpg', '', '', '', '매콤한 떡볶이', '떡볶이\\r\\n맛집'), \
             (4, '김밥', 'imgs/default_food.png', '', '', '', '한 줄 김밥', ''), \
             (5, '라면', 'imgs/ramen.png', '@ramen', '', '', '꼬들꼬들', ''), \
             (6, '비빔밥', 'imgs/bibimbap.jpg', '@bap', '', '', '고추장 듬뿍', ''), \
             (7, '짜장면', 'imgs/default_food.png', '', '', '', '', ''), \
             (8, '짬뽕', 'imgs/default_food.png', '', '', '', '얼큰한\\n짬뽕', '')"
        ),
        // 김밥 (4) is in no category.
        "INSERT INTO food_food_category (food_id, foodsubcategory_id) VALUES \
         (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (5, 3), (6, 2), (7, 3), (8, 3)".to_owned(),
        "INSERT INTO food_foodbook (id, food_book_name, image, star, playCount, priority) VALUES \
         (1, '경희대 맛집 월드컵', 'imgs/cover_khu.jpg', 5, 42, 2), \
         (2, '면 월드컵', 'imgs/food_book_default.jpg', 3, 7, 1)".to_owned(),
        "INSERT INTO food_foodbook_food (foodbook_id, food_id) VALUES \
         (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 2), (2, 5), (2, 7), (2, 8)".to_owned(),
        // Plain-text passwords that ipmat's rules refuse, clock-made session keys, login names
        // ipmat refuses (Hangul, too short), and birth dates that do not exist.
        "INSERT INTO member_member (`_id`, pw, session_key, birth_year, birth_month, birth_day, imgs) VALUES \
         ('jinsu', '1234', '1546300800.123', 1997, 1, 1, ''), \
         ('minji', 'pw', '1546300801.456', 1997, 2, 31, 'imgs/minji.jpg'), \
         ('Hyun', 'hyunhyun', '', 2001, 5, 17, ''), \
         ('김철수', 'abc', '', 1999, 12, 25, ''), \
         ('ab', 'x', '', 0, 0, 0, ''), \
         ('bora', 'bora1998', '', 1998, 3, 3, '')".to_owned(),
        "INSERT INTO member_member_favorite_book (member_id, foodbook_id) VALUES \
         ('jinsu', 1), ('minji', 1), ('minji', 2), ('김철수', 2)".to_owned(),
        // Pair 5 is pair 1 the other way round; pair 6 pits a food against itself.
        format!(
            "INSERT INTO food_test_testrowone (id, left_food_id, right_food_id) VALUES \
             (1, {JOKBAL}, {NAENGMYEON}), (2, {TTEOKBOKKI}, {GIMBAP}), (3, {RAMEN}, {BIBIMBAP}), \
             (4, {JJAJANG}, {JJAMPPONG}), (5, {NAENGMYEON}, {JOKBAL}), (6, {GIMBAP}, {GIMBAP})"
        ),
        // Exam 2 repeats exam 1's code in another case: the older exam keeps it.
        "INSERT INTO food_test_foodtest (id, title, author_id, hashId) VALUES \
         (1, 'jinsu의 입맛', 'jinsu', '3f2a1'), (2, 'minji test', 'minji', '3F2A1'), \
         (3, 'Hyun quiz', 'Hyun', 'abcde'), (4, '', 'bora', 'zz')".to_owned(),
        format!(
            "INSERT INTO food_test_testrows (id, test_id, member_id, row_id, answer_id) VALUES \
             (1, 1, 'jinsu', 1, {JOKBAL}), (2, 1, 'jinsu', 2, {GIMBAP}), (3, 1, 'jinsu', 3, {RAMEN}), \
             (4, 1, 'jinsu', 4, {JJAMPPONG}), \
             (5, 2, 'minji', 1, {NAENGMYEON}), (6, 2, 'minji', 3, {BIBIMBAP}), \
             (7, 3, 'Hyun', 2, {TTEOKBOKKI}), (8, 3, 'Hyun', 5, {JOKBAL}), (9, 3, 'Hyun', 4, {JJAJANG}), \
             (10, 4, 'bora', 6, {GIMBAP})"
        ),
    ];
    // Exam 1: bora 4 (a retake replaced a wrong first guess), Hyun 3, minji 3, 김철수 1 of the
    // two questions answered, ab 0 of the one answered.
    let guesses: &[(&str, i64, i64, i64)] = &[
        ("minji", 1, JOKBAL, 1),
        ("minji", 2, GIMBAP, 1),
        ("minji", 3, BIBIMBAP, 1),
        ("minji", 4, JJAMPPONG, 1),
        ("Hyun", 1, NAENGMYEON, 1),
        ("Hyun", 2, GIMBAP, 1),
        ("Hyun", 3, RAMEN, 1),
        ("Hyun", 4, JJAMPPONG, 1),
        ("김철수", 1, JOKBAL, 1),
        ("김철수", 2, TTEOKBOKKI, 1),
        ("bora", 1, NAENGMYEON, 1),
        ("bora", 2, GIMBAP, 1),
        ("bora", 3, RAMEN, 1),
        ("bora", 4, JJAMPPONG, 1),
        ("bora", 1, JOKBAL, 1),
        ("ab", 3, BIBIMBAP, 1),
        // Exam 2: jinsu 1 of 2; minji answered her own exam.
        ("jinsu", 5, NAENGMYEON, 2),
        ("jinsu", 6, RAMEN, 2),
        ("minji", 5, NAENGMYEON, 2),
        // Exam 3: jinsu 2 of 3; a row whose exam does not match its question.
        ("jinsu", 7, TTEOKBOKKI, 3),
        ("jinsu", 8, JOKBAL, 3),
        ("jinsu", 9, JJAMPPONG, 3),
        ("bora", 7, TTEOKBOKKI, 1),
    ];
    let rows: Vec<String> = guesses
        .iter()
        .map(|(m, q, a, t)| format!("('{m}', {q}, {a}, {t})"))
        .collect();
    sql.push(format!(
        "INSERT INTO food_test_participantanswer (member_id, question_id, answer_id, test_id) VALUES {}",
        rows.join(", ")
    ));
    // Two rows for 1 March (a known defect), and a date that is not one.
    sql.push(
        "INSERT INTO preference_visitorcount (`date`, `count`) VALUES \
         ('20190301', 5), ('20190302', 3), ('20190301', 2), ('2019030', 1)"
            .to_owned(),
    );
    sql.push(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('food', '0001_initial', NOW())"
            .to_owned(),
    );
    sql
}

/// A photo-like picture (a gradient with noise).
fn photo(width: u32, height: u32) -> DynamicImage {
    let mut seed = 0x2545_f491_u32;
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = seed % 32;
        Rgb([
            ((x * 200 / width) + noise) as u8,
            ((y * 200 / height) + noise) as u8,
            (128 + noise) as u8,
        ])
    }))
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// The bucket's files by key. `imgs/naengmyeon.jpg` is missing on purpose.
fn bucket() -> HashMap<String, Vec<u8>> {
    HashMap::from([
        (
            "imgs/jokbal_3f2a1.jpeg".to_owned(),
            encode(&photo(1200, 900), ImageFormat::Jpeg),
        ),
        (
            "imgs/jokbal_side.png".to_owned(),
            encode(&photo(40, 30), ImageFormat::Png),
        ),
        (
            "imgs/broken.jpg".to_owned(),
            b"this is not a picture".to_vec(),
        ),
        (
            "imgs/ramen.png".to_owned(),
            encode(&photo(300, 200), ImageFormat::Png),
        ),
        (
            "imgs/bibimbap.jpg".to_owned(),
            encode(&photo(200, 100), ImageFormat::Jpeg),
        ),
        (
            "imgs/cover_khu.jpg".to_owned(),
            encode(&photo(800, 800), ImageFormat::Jpeg),
        ),
        (
            "imgs/default_food.png".to_owned(),
            encode(&photo(10, 10), ImageFormat::Png),
        ),
    ])
}

/// The original database on the test MariaDB, dropped with this value.
struct Original {
    url: String,
    name: String,
    admin: String,
}

impl Original {
    async fn create() -> Original {
        let admin = std::env::var("IPMAT_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let name = format!("django_t_{}", &ipmat::accounts::auth::new_token()[..12]);
        let server = ipmat::db::connect(&format!("{admin}/"), 1)
            .await
            .expect("the test MariaDB is reachable");
        // Django on MySQL: utf8mb4 with the default, case-insensitive collation.
        server
            .execute_unprepared(&format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            ))
            .await
            .unwrap();
        server.close().await.ok();
        let url = format!("{admin}/{name}");
        let db = ipmat::db::connect(&url, 1).await.unwrap();
        db.execute_unprepared("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci")
            .await
            .unwrap();
        for statement in SCHEMA {
            db.execute_unprepared(statement).await.unwrap();
        }
        for statement in data() {
            db.execute_unprepared(&statement)
                .await
                .unwrap_or_else(|e| panic!("{e}\n{statement}"));
        }
        db.close().await.ok();
        Original { url, name, admin }
    }
}

impl Drop for Original {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(db) = ipmat::db::connect(&format!("{admin}/"), 1).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                        .await;
                    db.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// A tiny HTTP server playing the bucket's public URL; answers its base URL.
async fn serve_bucket(files: HashMap<String, Vec<u8>>) -> String {
    let files = Arc::new(files);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let files = files.clone();
        async move {
            let key = uri.path().trim_start_matches("/bucket/");
            match files.get(key) {
                Some(bytes) => (StatusCode::OK, bytes.clone()),
                None => (StatusCode::NOT_FOUND, b"NoSuchKey".to_vec()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/bucket")
}

/// Writes the bucket into a folder (the `aws s3 sync` copy).
fn bucket_dir(root: &Path) -> PathBuf {
    let dir = root.join("bucket");
    for (key, bytes) in bucket() {
        let path = dir.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

async fn storage(app: &TestApp) -> ipmat::media::Storage {
    ipmat::media::Storage::from_config(&app.config)
        .await
        .unwrap()
}

async fn import(app: &TestApp, original: &Original, media: MediaSource, dry_run: bool) -> Report {
    let options = Options {
        from: original.url.clone(),
        media,
        dry_run,
        quiet: true,
    };
    ipmat::import_django::run(&app.db, &storage(app).await, &options)
        .await
        .unwrap()
}

/// Row counts of everything an import writes.
async fn row_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "categories",
        "foods",
        "food_categories",
        "books",
        "book_foods",
        "book_plays",
        "quiz_pairs",
        "users",
        "favorites",
        "exams",
        "exam_questions",
        "exam_attempts",
        "attempt_answers",
        "visitors",
        "django_imports",
    ] {
        out.push((
            table,
            app.scalar(&format!("SELECT COUNT(*) FROM {table}")).await,
        ));
    }
    out
}

fn stored_files(dir: &Path) -> usize {
    fn walk(dir: &Path, n: &mut usize) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), n);
                } else {
                    *n += 1;
                }
            }
        }
    }
    let mut n = 0;
    walk(dir, &mut n);
    n
}

async fn login(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"username": username, "password": password}),
    )
    .await
}

/// The dimensions of the image at an image URL of the API.
async fn image_size(app: &TestApp, url: &Value) -> (u32, u32) {
    let url = url.as_str().expect("an image URL");
    let bytes = app
        .client
        .get(app.url(url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    (image.width(), image.height())
}

async fn food_named(app: &TestApp, name: &str) -> Value {
    let (status, page) = app
        .get(&format!("/api/v1/foods?q={}", urlencode(name)))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no food {name} in {page}"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tests

async fn the_original_moves_in_with_its_images_over_http(engine: Engine) {
    let original = Original::create().await;
    let app = TestApp::spawn(engine).await;
    let base = serve_bucket(bucket()).await;
    let media = MediaSource::Url(ipmat::import_django::images::base_url(&base).unwrap());
    let report = import(&app, &original, media, false).await;

    // Counts per kind.
    let c = &report.counts;
    assert_eq!(
        (c.categories.found, c.categories.created),
        (3, 3),
        "{report:#?}"
    );
    assert_eq!((c.foods.found, c.foods.created), (8, 8));
    assert_eq!((c.books.created, c.book_foods.created), (2, 12));
    // Pair 5 merges into pair 1; pair 6 (a food against itself) is skipped.
    assert_eq!(
        (
            c.pairs.found,
            c.pairs.created,
            c.pairs.existing,
            c.pairs.skipped
        ),
        (6, 4, 1, 1)
    );
    assert_eq!((c.members.found, c.members.created), (6, 6));
    assert_eq!(c.favorites.created, 4);
    // Exam 4 asks only the skipped pair: nothing left to ask.
    assert_eq!((c.exams.found, c.exams.created, c.exams.skipped), (4, 3, 1));
    assert_eq!(c.questions.created, 9);
    // Exam 1: 5 participants, exam 2: jinsu (minji's own guess is skipped), exam 3: jinsu;
    // bora's stray row for exam 1 belongs to exam 3's question and is dropped.
    assert_eq!(
        (c.attempts.found, c.attempts.created, c.attempts.skipped),
        (8, 7, 1)
    );
    assert_eq!(
        (
            c.visitor_days.found,
            c.visitor_days.created,
            c.visitor_days.skipped
        ),
        (2, 2, 1)
    );
    let i = &report.images;
    assert_eq!(
        (i.stored, i.reused, i.missing, i.broken, i.absent),
        (5, 0, 1, 1, 11),
        "{i:?}"
    );

    // Renamed members and the fresh code are listed.
    let renamed: HashMap<&str, &str> = report
        .renamed_members
        .iter()
        .map(|r| (r.original.as_str(), r.username.as_str()))
        .collect();
    assert_eq!(
        renamed,
        HashMap::from([("김철수", "member"), ("ab", "ab_member")])
    );
    assert_eq!(report.changed_codes.len(), 1, "{:?}", report.changed_codes);
    let changed = &report.changed_codes[0];
    assert_eq!((changed.exam, changed.original_code.as_str()), (2, "3F2A1"));
    assert_eq!(changed.code.len(), 6);
    assert_eq!(report.partial_attempts.len(), 2);

    // Old share codes resolve in any case; the duplicate got its fresh code.
    for code in ["3f2a1", "3F2A1"] {
        let (status, exam) = app.get(&format!("/api/v1/exams/{code}")).await;
        assert_eq!(status, StatusCode::OK, "{exam}");
        assert_eq!(exam["title"], "jinsu의 입맛");
        assert_eq!(exam["code"], "3F2A1");
        assert_eq!(exam["question_count"], 4);
        assert_eq!(exam["participant_count"], 5);
    }
    let (status, exam) = app.get("/api/v1/exams/AbCdE").await;
    assert_eq!(status, StatusCode::OK, "{exam}");
    assert_eq!(exam["title"], "Hyun quiz");
    assert_eq!(exam["question_count"], 3);
    let (status, exam) = app.get(&format!("/api/v1/exams/{}", changed.code)).await;
    assert_eq!(status, StatusCode::OK, "{exam}");
    assert_eq!(exam["title"], "minji test");
    let response = app.client.get(app.url("/quiz/3f2a1")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The scoreboard is the original's: a point per guess equal to the author's answer, over
    // the questions each participant answered; equal scores share a rank.
    let (status, board) = app.get("/api/v1/exams/3f2a1/scoreboard").await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let rows: Vec<(String, i64, i64)> = board["participants"]
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
    let expected: Vec<(String, i64, i64)> = [
        ("bora", 4, 1),
        ("Hyun", 3, 2),
        ("minji", 3, 2),
        ("member", 1, 4),
        ("ab_member", 0, 5),
    ]
    .into_iter()
    .map(|(n, s, r)| (n.to_owned(), s, r))
    .collect();
    assert_eq!(rows, expected);
    let (_, board) = app.get("/api/v1/exams/abcde/scoreboard").await;
    assert_eq!(board["participants"][0]["username"], "jinsu");
    assert_eq!(board["participants"][0]["score"], 2);

    // Members arrive without a usable password: the old one does not work, nothing errs.
    let (status, _) = login(&app, "jinsu", "1234").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&app, "minji", "password-of-someone").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    ipmat::accounts::reset::reset_password(&app.db, "MINJI", "fresh-password-1")
        .await
        .unwrap();
    let (status, session) = login(&app, "minji", "fresh-password-1").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap();
    let (_, me) = app.get_as(token, "/api/v1/me").await;
    assert_eq!(me["birth_date"], Value::Null, "1997-02-31 does not exist");
    let (_, favorites) = app.get_as(token, "/api/v1/me/favorites").await;
    let mut names: Vec<&str> = favorites
        .as_array()
        .or_else(|| favorites["items"].as_array())
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["경희대 맛집 월드컵", "면 월드컵"]);
    // Her partial-free attempt and its per-question result.
    let (status, result) = app.get_as(token, "/api/v1/exams/3F2A1/attempt").await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        (result["score"].as_i64(), result["total"].as_i64()),
        (Some(3), Some(4))
    );

    ipmat::accounts::reset::reset_password(&app.db, "member", "fresh-password-2")
        .await
        .unwrap();
    let (_, session) = login(&app, "member", "fresh-password-2").await;
    let token = session["token"].as_str().unwrap();
    let (_, me) = app.get_as(token, "/api/v1/me").await;
    // The login name stays the display name (read from the row: `/me` may not show it yet).
    let display: Vec<Value> = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT display_name FROM users WHERE username = 'member'",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| json!(r.try_get_by_index::<String>(0).unwrap()))
        .collect();
    assert_eq!(display, [json!("김철수")]);
    assert_eq!(me["birth_date"], "1999-12-25");
    let (status, result) = app.get_as(token, "/api/v1/exams/3f2a1/attempt").await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["score"], 1);
    let answered = result["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| !q["guess_id"].is_null())
        .count();
    assert_eq!(answered, 2, "a partial attempt keeps only its answers");
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM django_imports WHERE kind = 'attempt' AND note LIKE 'partial%'"
        )
        .await,
        2,
        "partial attempts are flagged"
    );

    // Books: order, play counts, members, covers.
    let (_, books) = app.get("/api/v1/books").await;
    let books = books
        .as_array()
        .or_else(|| books["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(books[0]["name"], "면 월드컵", "by priority");
    assert_eq!(books[0]["play_count"], 7);
    assert_eq!(books[0]["food_count"], 4);
    assert_eq!(books[0]["cover_url"], Value::Null, "the placeholder cover");
    assert_eq!(books[1]["name"], "경희대 맛집 월드컵");
    assert_eq!(books[1]["play_count"], 42);
    assert_eq!(books[1]["food_count"], 8);
    assert_eq!(image_size(&app, &books[1]["cover_url"]).await, (500, 500));

    // Foods: fields, images resized like uploads, missing and broken images left out.
    let jokbal = food_named(&app, "족발").await;
    assert_eq!(jokbal["credit"], "@khu_reviews");
    assert_eq!(jokbal["alt_credit"], "@side_dish");
    assert_eq!(jokbal["description"], "쫄깃한 족발");
    // Cut to 300 characters (less a trailing space).
    let details = jokbal["details"].as_str().unwrap();
    assert!((299..=300).contains(&details.chars().count()), "{details}");
    assert!(details.starts_with("겉은 쫄깃하고"));
    let mut categories: Vec<&str> = jokbal["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    categories.sort();
    assert_eq!(categories, ["경희대맛집", "한식"]);
    assert_eq!(image_size(&app, &jokbal["image_url"]).await, (600, 450));
    assert_eq!(image_size(&app, &jokbal["alt_image_url"]).await, (40, 30));
    assert_eq!(
        image_size(&app, &food_named(&app, "라면").await["image_url"]).await,
        (300, 200)
    );
    for name in ["냉면", "떡볶이", "김밥"] {
        assert_eq!(
            food_named(&app, name).await["image_url"],
            Value::Null,
            "{name}"
        );
    }
    assert_eq!(food_named(&app, "김밥").await["categories"], json!([]));
    assert_eq!(food_named(&app, "짬뽕").await["description"], "얼큰한 짬뽕");
    assert_eq!(food_named(&app, "떡볶이").await["details"], "떡볶이\n맛집");
    assert_eq!(stored_files(&app.media_dir), 5);

    // Visitor counts per day, duplicates summed.
    let admin = app.admin().await;
    let (status, days) = app
        .get_as(
            &admin,
            "/api/v1/stats/visitors?from=2019-03-01&to=2019-03-02",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{days}");
    assert_eq!(
        days,
        json!([{"date": "2019-03-01", "visitors": 7}, {"date": "2019-03-02", "visitors": 3}])
    );

    // New exams still get 6-character codes.
    let (_, pairs) = app.get("/api/v1/quiz/pairs?count=1").await;
    let pair = &pairs
        .as_array()
        .or_else(|| pairs["items"].as_array())
        .unwrap()[0];
    let (status, exam) = app
        .post(
            "/api/v1/exams",
            Some(token),
            json!({"title": "new", "answers": [{"pair_id": pair["id"], "food_id": pair["left"]["id"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{exam}");
    assert_eq!(exam["code"].as_str().unwrap().len(), 6);
}

async fn a_dry_run_writes_nothing_and_a_second_run_adds_nothing(engine: Engine) {
    let original = Original::create().await;
    let app = TestApp::spawn(engine).await;
    let base = serve_bucket(bucket()).await;
    let media = || MediaSource::Url(ipmat::import_django::images::base_url(&base).unwrap());
    let empty = row_counts(&app).await;

    let dry = import(&app, &original, media(), true).await;
    assert!(dry.dry_run);
    assert_eq!(row_counts(&app).await, empty, "a dry run writes no row");
    assert_eq!(stored_files(&app.media_dir), 0, "a dry run stores no image");

    let first = import(&app, &original, media(), false).await;
    // The dry run saw exactly what the real run did.
    assert_eq!(dry.counts, first.counts);
    assert_eq!(dry.images.missing, first.images.missing);
    assert_eq!(dry.images.broken, first.images.broken);
    let after_first = row_counts(&app).await;
    let files = stored_files(&app.media_dir);
    let exams_first = app.scalar("SELECT COUNT(*) FROM exams").await;
    assert_eq!(exams_first, 3);

    let second = import(&app, &original, media(), false).await;
    assert_eq!(
        row_counts(&app).await,
        after_first,
        "a second run adds nothing"
    );
    assert_eq!(stored_files(&app.media_dir), files);
    let c = &second.counts;
    for (kind, count) in [
        ("categories", c.categories),
        ("foods", c.foods),
        ("books", c.books),
        ("book_foods", c.book_foods),
        ("pairs", c.pairs),
        ("members", c.members),
        ("favorites", c.favorites),
        ("exams", c.exams),
        ("questions", c.questions),
        ("attempts", c.attempts),
        ("visitor_days", c.visitor_days),
    ] {
        assert_eq!(count.created, 0, "{kind} created on the second run");
    }
    assert_eq!(c.foods.existing, 8);
    assert_eq!(c.members.existing, 6);
    assert_eq!(c.exams.existing, 3);
    assert_eq!(c.attempts.existing, 7);
    assert_eq!(second.images.stored, 0);
    assert!(second.renamed_members.is_empty() && second.changed_codes.is_empty());
    // The play counts were not added twice.
    let (_, books) = app.get("/api/v1/books").await;
    let books = books
        .as_array()
        .or_else(|| books["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(books[1]["play_count"], 42);

    // A member who deleted their account after the import is not brought back.
    ipmat::accounts::reset::reset_password(&app.db, "bora", "bora-password")
        .await
        .unwrap();
    let (_, session) = login(&app, "bora", "bora-password").await;
    let token = session["token"].as_str().unwrap();
    let (status, _) = app
        .call(reqwest::Method::DELETE, "/api/v1/me", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let third = import(&app, &original, media(), false).await;
    assert_eq!(third.counts.members.created, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM users WHERE username_key = 'bora'")
            .await,
        0
    );
    assert_eq!(third.counts.attempts.created, 0);
}

async fn a_failure_half_way_leaves_whole_stages_and_a_rerun_finishes(engine: Engine) {
    let original = Original::create().await;
    let app = TestApp::spawn(engine).await;
    let media = bucket_dir(&app.database_dir());
    // The storage breaks: a file stands where the image folder belongs.
    std::fs::create_dir_all(&app.media_dir).unwrap();
    let blocker = app.media_dir.join("img");
    std::fs::write(&blocker, b"in the way").unwrap();
    let options = Options {
        from: original.url.clone(),
        media: MediaSource::Dir(media.clone()),
        dry_run: false,
        quiet: true,
    };
    let error = ipmat::import_django::run(&app.db, &storage(&app).await, &options)
        .await
        .expect_err("storing an image fails");
    assert!(format!("{error:#}").contains("foods"), "{error:#}");
    // The categories stage was whole and stays; the foods stage left nothing.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM categories").await, 3);
    for table in [
        "foods",
        "food_categories",
        "books",
        "users",
        "exams",
        "visitors",
    ] {
        assert_eq!(
            app.scalar(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }

    std::fs::remove_file(&blocker).unwrap();
    let report = import(&app, &original, MediaSource::Dir(media), false).await;
    assert_eq!(report.counts.categories.existing, 3);
    assert_eq!(report.counts.foods.created, 8);
    assert_eq!(report.counts.attempts.created, 7);
    assert_eq!(report.images.stored, 5);
    let (status, board) = app.get("/api/v1/exams/3F2A1/scoreboard").await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["participants"].as_array().unwrap().len(), 5);
}

const BIN: &str = env!("CARGO_BIN_EXE_ipmat");

fn ipmat(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(BIN);
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("IPMAT_") {
            command.env_remove(key);
        }
    }
    command.envs(vars.iter().copied());
    command.output().unwrap()
}

async fn the_command_line_imports_from_a_media_folder_and_writes_a_report(engine: Engine) {
    let original = Original::create().await;
    let app = TestApp::spawn(engine).await;
    let dir = app.database_dir();
    let media = bucket_dir(&dir);
    let storage = format!("file://{}", app.media_dir.display());
    let vars = [
        ("IPMAT_DATABASE_URL", app.config.database_url.expose()),
        ("IPMAT_STORAGE", storage.as_str()),
    ];
    let report_file = dir.join("report.json");
    let media_arg = media.to_str().unwrap();
    let report_arg = report_file.to_str().unwrap();

    let dry = ipmat(
        &dir,
        &[
            "import-django",
            "--from",
            &original.url,
            "--media",
            media_arg,
            "--dry-run",
        ],
        &vars,
    );
    let stdout = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(stdout.contains("dry run"), "{stdout}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM foods").await, 0);

    let run = ipmat(
        &dir,
        &[
            "import-django",
            "--from",
            &original.url,
            "--media",
            media_arg,
            "--report",
            report_arg,
        ],
        &vars,
    );
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for words in [
        "members",
        "김철수 -> member",
        "3F2A1",
        "partial attempts",
        "imgs/naengmyeon.jpg",
    ] {
        assert!(stdout.contains(words), "{words:?} missing from\n{stdout}");
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert_eq!(report["counts"]["foods"]["created"], 8, "{report}");
    assert_eq!(report["counts"]["exams"]["created"], 3);
    assert_eq!(report["images"]["stored"], 5);
    assert_eq!(report["images"]["missing"], 1);
    assert!(
        report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "image" && n["reason"].as_str().unwrap().starts_with("broken")),
        "{report}"
    );
    // No password travels: the import never stores the original's.
    assert!(!report.to_string().contains("bora1998"));
    let (_, food) = app.get("/api/v1/foods?q=%EC%A1%B1%EB%B0%9C").await;
    assert_eq!(
        image_size(&app, &food["items"][0]["image_url"]).await,
        (600, 450)
    );

    // An operator hands out a generated password.
    let reset = ipmat(
        &dir,
        &["user", "reset-password", "jinsu", "--generate"],
        &vars,
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let line = String::from_utf8_lossy(&reset.stdout).into_owned();
    let password = line.trim().strip_prefix("jinsu: ").expect("name: password");
    let (status, _) = login(&app, "jinsu", password).await;
    assert_eq!(status, StatusCode::OK);

    let bad = ipmat(&dir, &["import-django", "--from", "postgres://x/y"], &vars);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("mysql://"));
}
