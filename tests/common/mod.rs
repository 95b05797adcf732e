//! The test harness: a real server on port 0 over a fresh database of the chosen engine.
//!
//! SQLite gets a file in a temporary folder; MariaDB and PostgreSQL get a new database on the
//! local servers (`IPMAT_TEST_MYSQL_URL`, `IPMAT_TEST_POSTGRES_URL`, defaulting to the
//! services of the development machine), dropped when the test ends. An unreachable server
//! fails the test: nothing is skipped silently. Leave engines out with `IPMAT_TEST_ENGINES=sqlite cargo test`: their tests are then
//! reported as ignored.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

pub use ipmat::db::Db;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    MySql,
    Postgres,
}

/// Declares a test once and runs it on every engine: `on_all_engines!(name_of_async_fn);`
/// produces `name_of_async_fn::sqlite`, `::mariadb` and `::postgres`.
#[macro_export]
macro_rules! on_all_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::common::Engine;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(ipmat_skip_sqlite, ignore = "IPMAT_TEST_ENGINES leaves SQLite out")]
            async fn sqlite() { super::$name(Engine::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(ipmat_skip_mariadb, ignore = "IPMAT_TEST_ENGINES leaves MariaDB out")]
            async fn mariadb() { super::$name(Engine::MySql).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(ipmat_skip_postgres, ignore = "IPMAT_TEST_ENGINES leaves PostgreSQL out")]
            async fn postgres() { super::$name(Engine::Postgres).await }
        }
    )*};
}

fn server_url(engine: Engine) -> String {
    match engine {
        Engine::MySql => std::env::var("IPMAT_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
        Engine::Postgres => std::env::var("IPMAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
        Engine::Sqlite => unreachable!("SQLite needs no server"),
    }
}

/// A fresh, empty database for one test; dropped with this value.
pub struct TestDatabase {
    pub url: String,
    engine: Engine,
    name: String,
    pub dir: PathBuf,
}

impl TestDatabase {
    pub async fn create(engine: Engine) -> TestDatabase {
        let name = format!("ipmat_t_{}", &ipmat::accounts::auth::new_token()[..16]);
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}/ipmat.db", dir.display()),
            Engine::MySql | Engine::Postgres => {
                let server = server_url(engine);
                let admin_url = match engine {
                    Engine::Postgres => format!("{server}/postgres"),
                    _ => format!("{server}/"),
                };
                let admin = ipmat::db::connect(&admin_url, 1).await.unwrap_or_else(|e| {
                    panic!(
                        "the {engine:?} test server at {server} is unreachable: {e}\n\
                         start it (or point IPMAT_TEST_MYSQL_URL / IPMAT_TEST_POSTGRES_URL at one), \
                         or test SQLite only: IPMAT_TEST_ENGINES=sqlite cargo test"
                    )
                });
                let create = match engine {
                    Engine::MySql => {
                        format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                    }
                    _ => format!("CREATE DATABASE {name}"),
                };
                admin.execute_unprepared(&create).await.unwrap();
                admin.close().await.ok();
                format!("{server}/{name}")
            }
        };
        TestDatabase {
            url,
            engine,
            name,
            dir,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.engine == Engine::Sqlite {
            return;
        }
        let (engine, name) = (self.engine, self.name.clone());
        // Drop runs outside async code; a small runtime of its own drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = server_url(engine);
                let admin_url = match engine {
                    Engine::Postgres => format!("{server}/postgres"),
                    _ => format!("{server}/"),
                };
                if let Ok(admin) = ipmat::db::connect(&admin_url, 1).await {
                    let drop = match engine {
                        Engine::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        _ => format!("DROP DATABASE IF EXISTS {name}"),
                    };
                    let _ = admin.execute_unprepared(&drop).await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub engine: Engine,
    pub media_dir: PathBuf,
    pub config: ipmat::Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database: Option<TestDatabase>,
}

impl TestApp {
    /// A server over an empty catalog.
    pub async fn spawn(engine: Engine) -> TestApp {
        TestApp::spawn_with(engine, &[("IPMAT_SEED", "off")]).await
    }

    /// A server with the bundled catalog loaded.
    pub async fn spawn_seeded(engine: Engine) -> TestApp {
        TestApp::spawn_with(engine, &[("IPMAT_SEED", "auto")]).await
    }

    /// A server with extra configuration variables.
    pub async fn spawn_with(engine: Engine, vars: &[(&str, &str)]) -> TestApp {
        let database = TestDatabase::create(engine).await;
        TestApp::spawn_on(database, vars).await
    }

    /// A server over an existing test database.
    pub async fn spawn_on(database: TestDatabase, vars: &[(&str, &str)]) -> TestApp {
        // reqwest is built without a TLS provider of its own; ring is the process's.
        ipmat::install_crypto_provider();
        let media_dir = database.dir.join("media");
        let mut map: HashMap<String, String> = HashMap::from([
            ("IPMAT_BIND".to_owned(), "127.0.0.1:0".to_owned()),
            ("IPMAT_DATABASE_URL".to_owned(), database.url.clone()),
            (
                "IPMAT_STORAGE".to_owned(),
                format!("file://{}", media_dir.display()),
            ),
            ("IPMAT_DB_MAX_CONNECTIONS".to_owned(), "8".to_owned()),
        ]);
        for (k, v) in vars {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = ipmat::Config::from_vars(&map).expect("test configuration is valid");
        let app = ipmat::App::build(config.clone())
            .await
            .expect("the app builds");
        let base = format!("http://{}", app.local_addr());
        let db = app.state.db.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        // No cookie store: each call authenticates with exactly the token it is given.
        let client = reqwest::Client::new();
        TestApp {
            base,
            client,
            db,
            engine: database.engine,
            media_dir,
            config,
            shutdown: Some(tx),
            server: Some(server),
            database: Some(database),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        // A fresh client drops the old one's idle keep-alive connections: the server would
        // otherwise keep them for its shutdown linger, as it does for a proxy.
        self.client = reqwest::Client::new();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Stops the server and starts a new one over the same database and storage.
    pub async fn restart(mut self, vars: &[(&str, &str)]) -> TestApp {
        self.stop().await;
        let database = self
            .database
            .take()
            .expect("a running app has its database");
        TestApp::spawn_on(database, vars).await
    }

    /// The test's temporary folder (holds the SQLite file and media).
    pub fn database_dir(&self) -> PathBuf {
        self.database
            .as_ref()
            .expect("a running app has its database")
            .dir
            .clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional bearer token and JSON body; answers status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
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
            assert_eq!(
                content_type, "application/problem+json",
                "{path} {status}: {text}"
            );
        }
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Signs up a member and answers their token.
    pub async fn signup(&self, username: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"username": username, "password": "password123"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Creates an administrator the way `ipmat user create --admin` does and logs them in.
    pub async fn admin(&self) -> String {
        ipmat::accounts::create_user(&self.db, "admin", "admin-password", None, true)
            .await
            .unwrap();
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "admin", "password": "admin-password"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Creates `n` foods named `음식1`… and a book holding them; answers (book id, food ids).
    pub async fn book_with_foods(&self, admin: &str, name: &str, n: usize) -> (i64, Vec<i64>) {
        let mut ids = Vec::new();
        for i in 1..=n {
            let (status, food) = self
                .post(
                    "/api/v1/foods",
                    Some(admin),
                    json!({"name": format!("{name}{i}"), "description": format!("맛있는 {i}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{food}");
            ids.push(food["id"].as_i64().unwrap());
        }
        let (status, book) = self
            .post(
                "/api/v1/books",
                Some(admin),
                json!({"name": format!("{name} 월드컵"), "food_ids": ids}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{book}");
        (book["id"].as_i64().unwrap(), ids)
    }

    /// One integer from the database (a count, an id), for checking side effects.
    pub async fn scalar(&self, sql: &str) -> i64 {
        ipmat::db::fetch_i64(&self.db, sql, vec![])
            .await
            .unwrap()
            .unwrap_or(0)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
