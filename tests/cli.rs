//! The `ipmat` binary: configuration at start, commands, and the health check.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Engine, TestApp, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_ipmat");

/// Runs the binary in `dir` with only the given `IPMAT_*` variables.
fn ipmat(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("IPMAT_") {
            command.env_remove(key);
        }
    }
    command.envs(vars.iter().copied());
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn bad_configuration_stops_the_start_naming_the_variable() {
    let db = TestDatabase::create(Engine::Sqlite).await;
    let cases = [
        ("IPMAT_MODE", "staging"),
        ("IPMAT_BIND", "nowhere"),
        ("IPMAT_DATABASE_URL", "oracle://db"),
        ("IPMAT_SEED", "sometimes"),
        ("IPMAT_LOG_FORMAT", "yaml"),
        ("IPMAT_DB_PORT", "3306"),
        ("IPMAT_NOTIFY_URL", "not a url"),
    ];
    for (var, value) in cases {
        let output = ipmat(&db.dir, &["migrate"], &[(var, value)]);
        assert!(!output.status.success(), "{var}={value} must fail");
        assert!(stderr(&output).contains(var), "{var}: {}", stderr(&output));
    }
}

#[tokio::test]
async fn the_mode_picks_the_dotenv_file_and_the_environment_wins() {
    let db = TestDatabase::create(Engine::Sqlite).await;
    std::fs::write(db.dir.join(".env"), "IPMAT_DATABASE_URL=sqlite://dev.db\n").unwrap();
    std::fs::write(
        db.dir.join(".production.env"),
        "IPMAT_DATABASE_URL=sqlite://prod.db\nIPMAT_SEED=off\n",
    )
    .unwrap();

    assert!(ipmat(&db.dir, &["migrate"], &[]).status.success());
    assert!(db.dir.join("dev.db").exists(), "development reads .env");
    assert!(
        ipmat(&db.dir, &["migrate"], &[("IPMAT_MODE", "production")])
            .status
            .success()
    );
    assert!(
        db.dir.join("prod.db").exists(),
        "production reads .production.env"
    );
    let output = ipmat(
        &db.dir,
        &["migrate"],
        &[("IPMAT_DATABASE_URL", "sqlite://env.db")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        db.dir.join("env.db").exists(),
        "the real environment wins over the file"
    );

    std::fs::write(db.dir.join(".env"), "IPMAT_DB_PASSWORD=hunter22\nIPMAT_DB_HOST=127.0.0.1\nIPMAT_DB_PORT=1\nIPMAT_DB_NAME=x\nIPMAT_DB_USER=u\n").unwrap();
    let output = ipmat(&db.dir, &["migrate"], &[]);
    assert!(!output.status.success(), "nothing listens on port 1");
    let text = stderr(&output);
    assert!(
        text.contains("mysql://u:***@127.0.0.1:1/x"),
        "the MySQL URL is built and redacted: {text}"
    );
    assert!(
        !text.contains("hunter22"),
        "secrets never reach the logs: {text}"
    );
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDatabase::create(Engine::Sqlite).await;
    let vars = [("IPMAT_DATABASE_URL", db.url.as_str())];
    let first = ipmat(&db.dir, &["migrate"], &vars);
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied 0001_catalog_and_accounts"));
    let second = ipmat(&db.dir, &["migrate"], &vars);
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

async fn users_are_created_from_the_command_line(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let vars = [
        ("IPMAT_DATABASE_URL", app.config.database_url.expose()),
        ("IPMAT_PASSWORD", "from-the-env"),
    ];
    let output = ipmat(
        &app.database_dir(),
        &["user", "create", "boss", "--admin"],
        &vars,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (status, body) = app
        .post(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"username": "boss", "password": "from-the-env"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["is_admin"], true);

    let output = ipmat(&app.database_dir(), &["user", "create", "BOSS"], &vars);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("taken"), "{}", stderr(&output));
    let short = [
        ("IPMAT_DATABASE_URL", app.config.database_url.expose()),
        ("IPMAT_PASSWORD", "short"),
    ];
    let output = ipmat(&app.database_dir(), &["user", "create", "other"], &short);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("password"), "{}", stderr(&output));
}

async fn importing_a_catalog_twice_changes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/seed");
    let vars = [
        ("IPMAT_DATABASE_URL", app.config.database_url.expose()),
        (
            "IPMAT_STORAGE",
            &format!("file://{}", app.media_dir.display()),
        ),
    ];
    let first = ipmat(
        &app.database_dir(),
        &["import", seed.to_str().unwrap()],
        &vars,
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert!(report["foods_created"].as_u64().unwrap() >= 100, "{report}");
    assert!(
        stderr(&first).contains("import"),
        "plain progress lines off a terminal"
    );
    let foods = app.scalar("SELECT COUNT(*) FROM foods").await;
    let links = app.scalar("SELECT COUNT(*) FROM book_foods").await;
    let pairs = app.scalar("SELECT COUNT(*) FROM quiz_pairs").await;

    let second = ipmat(
        &app.database_dir(),
        &["import", seed.to_str().unwrap()],
        &vars,
    );
    assert!(second.status.success(), "{}", stderr(&second));
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    for (key, value) in report.as_object().unwrap() {
        assert_eq!(value, 0, "{key} after a second import");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM foods").await, foods);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM book_foods").await, links);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM quiz_pairs").await, pairs);

    let missing = ipmat(&app.database_dir(), &["import", "/nonexistent"], &vars);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("catalog.json"));
}

on_all_engines!(
    users_are_created_from_the_command_line,
    importing_a_catalog_twice_changes_nothing
);

// The check runs as a blocking child process: the server needs a worker of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_follows_readiness() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let url = app.url("/readyz");
    let ok = ipmat(&app.database_dir(), &["healthcheck", "--url", &url], &[]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    std::fs::remove_dir_all(&app.media_dir).unwrap();
    let unready = ipmat(&app.database_dir(), &["healthcheck", "--url", &url], &[]);
    assert!(!unready.status.success(), "503 fails the check");
    let bind = app.base.trim_start_matches("http://").to_owned();
    std::fs::create_dir_all(&app.media_dir).unwrap();
    let derived = ipmat(
        &app.database_dir(),
        &["healthcheck"],
        &[("IPMAT_BIND", &bind)],
    );
    assert!(
        derived.status.success(),
        "the URL defaults to IPMAT_BIND: {}",
        stderr(&derived)
    );
    let nobody = ipmat(
        &app.database_dir(),
        &["healthcheck", "--url", "http://127.0.0.1:1/readyz"],
        &[],
    );
    assert!(!nobody.status.success());
}
