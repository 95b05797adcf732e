//! The data layer: one connection type for SQLite, MySQL/MariaDB and PostgreSQL.
//!
//! Queries are plain SQL written once with `?` placeholders; [`stmt`] rewrites them to `$n` for
//! PostgreSQL. The few statements whose syntax differs between engines are built by the small
//! helpers here, so resource modules never branch on the engine themselves.

pub mod health;
mod migrate;
mod rebuild;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult,
    FromQueryResult, Statement, Value,
};

pub use migrate::{MIGRATIONS, migrate};

/// The pool every handler shares.
pub type Db = DatabaseConnection;

/// Builds a list of bind values: `vals![id, name]`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(sea_orm::Value::from($v)),*] };
}

/// The server-side limit on one statement (PostgreSQL `statement_timeout`, MariaDB
/// `max_statement_time`; SQLite waits at most this long for a lock).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(8);
/// The client-side limit on one statement, a little longer than the server's: it ends the
/// wait when the server itself hangs (a frozen process, a dead link that TCP has not noticed).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(9);

/// Runs one database call under [`CLIENT_TIMEOUT`]; running out counts as the database being
/// out of reach.
pub async fn bounded<T>(call: impl Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
    match tokio::time::timeout(CLIENT_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
    }
}

/// Opens the pool. A SQLite file and its directory are created when missing.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbErr> {
    let mut url = url.to_owned();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        let dir = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty());
        if path != ":memory:"
            && let Some(dir) = dir
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        }
        if !url.contains('?') {
            url.push_str("?mode=rwc");
        }
    }
    // A database server's pool is opened whole before `connect` returns (sqlx opens
    // `min_connections` at once, within the 5 s connect limit, or fails) and kept whole: a
    // replica that reports healthy never makes a request wait while it opens a connection,
    // whose set-up took over 5 s on a loaded host in deploy/test-image.sh (docs/deploy.md,
    // "Database connections"). SQLite's connections are local and cheap.
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(if sqlite { 1 } else { max_connections })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(STATEMENT_TIMEOUT)
                .foreign_keys(true)
        })
        .map_sqlx_mysql_opts(|o| {
            o.charset("utf8mb4")
                .collation("utf8mb4_bin")
                .timezone(Some("+00:00".to_owned()))
        })
        .map_sqlx_mysql_pool_opts(|o| {
            o.after_connect(|conn, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Executor;
                    // MariaDB counts seconds; MySQL has only a SELECT limit in milliseconds.
                    let mariadb = format!(
                        "SET SESSION max_statement_time = {}",
                        STATEMENT_TIMEOUT.as_secs()
                    );
                    if conn
                        .execute(sea_orm::sqlx::AssertSqlSafe(mariadb))
                        .await
                        .is_err()
                    {
                        let mysql = format!(
                            "SET SESSION max_execution_time = {}",
                            STATEMENT_TIMEOUT.as_millis()
                        );
                        conn.execute(sea_orm::sqlx::AssertSqlSafe(mysql)).await?;
                    }
                    Ok(())
                })
            })
        })
        .map_sqlx_postgres_opts(|o| {
            let ms = STATEMENT_TIMEOUT.as_millis().to_string();
            o.options([
                ("statement_timeout", ms.as_str()),
                ("idle_in_transaction_session_timeout", "30000"),
            ])
        });
    Database::connect(options).await
}

/// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// transaction that reads first and writes later would otherwise fail, without waiting, when
/// another connection committed a write in between.
pub async fn begin(db: &Db) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    bounded(db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    }))
    .await
}

/// A statement for this connection's engine from SQL written with `?` placeholders.
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => numbered_placeholders(sql),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `a = ? AND b = ?` → `a = $1 AND b = $2`. Placeholders never appear inside literals here.
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs a statement that returns no rows.
pub async fn exec(
    c: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<ExecResult, DbErr> {
    bounded(c.execute_raw(stmt(c.get_database_backend(), sql, values))).await
}

/// Runs a query and maps every row.
pub async fn fetch_all<T: FromQueryResult>(
    c: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<T>, DbErr> {
    let rows = bounded(c.query_all_raw(stmt(c.get_database_backend(), sql, values))).await?;
    rows.iter().map(|r| T::from_query_result(r, "")).collect()
}

/// Runs a query and maps its first row, if any.
pub async fn fetch_optional<T: FromQueryResult>(
    c: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<T>, DbErr> {
    let row = bounded(c.query_one_raw(stmt(c.get_database_backend(), sql, values))).await?;
    row.map(|r| T::from_query_result(&r, "")).transpose()
}

/// Runs a query returning one integer (a count, an id).
pub async fn fetch_i64(
    c: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<i64>, DbErr> {
    let row = bounded(c.query_one_raw(stmt(c.get_database_backend(), sql, values))).await?;
    row.map(|r| r.try_get_by_index::<i64>(0)).transpose()
}

/// Runs an `INSERT` into a table with an `id` column and answers the new id.
pub async fn insert_returning_id(
    c: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<i64, DbErr> {
    let backend = c.get_database_backend();
    match backend {
        DbBackend::Postgres | DbBackend::Sqlite => {
            let sql = format!("{sql} RETURNING id");
            let row = bounded(c.query_one_raw(stmt(backend, &sql, values)))
                .await?
                .ok_or_else(|| DbErr::Custom("INSERT … RETURNING gave no row".to_owned()))?;
            row.try_get_by_index::<i64>(0)
        }
        _ => {
            let result = bounded(c.execute_raw(stmt(backend, sql, values))).await?;
            i64::try_from(result.last_insert_id()).map_err(|_| DbErr::ConvertFromU64("i64"))
        }
    }
}

/// `INSERT … ` that silently skips rows whose key already exists. `sql` starts after `INSERT`.
pub fn insert_ignore_sql(backend: DbBackend, rest: &str) -> String {
    match backend {
        DbBackend::MySql => format!("INSERT IGNORE {rest}"),
        _ => format!("INSERT {rest} ON CONFLICT DO NOTHING"),
    }
}

/// `?, ?, ?` for an `IN (…)` list of `n` values.
pub fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// Whether the error says that a unique constraint or key was violated.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether the error says that a foreign key points nowhere.
pub fn is_foreign_key_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// Whether the error means the database is out of reach (rather than a bad query).
pub fn is_connection_error(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            **e,
            SqlxError::Io(_)
                | SqlxError::PoolTimedOut
                | SqlxError::PoolClosed
                | SqlxError::WorkerCrashed
                | SqlxError::Tls(_)
        ),
        _ => false,
    }
}

/// Whether the transaction lost a race (deadlock, serialization failure, SQLite busy) and can
/// simply be retried.
pub fn is_retryable(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = e else {
        return false;
    };
    let SqlxError::Database(db) = &**e else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    // MySQL 1213 deadlock / 1205 lock wait timeout (sqlx reports the SQLSTATE 40001 / HY000),
    // PostgreSQL 40001 serialization failure / 40P01 deadlock, SQLite 5 busy / 6 locked.
    matches!(code.as_ref(), "40001" | "40P01" | "5" | "6" | "517" | "261")
        || db.message().contains("Deadlock found")
        || db.message().contains("Lock wait timeout")
        || db.message().contains("database is locked")
}

/// Runs a transaction again (up to 5 times, with a short random back-off) when it fails
/// because it lost a race with another transaction.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if tries < 5 && is_retryable(&e) => {
                tries += 1;
                let pause = rand::random_range(1..=10u64) * tries;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}

/// Milliseconds since the Unix epoch, the one timestamp format of the schema.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// An epoch-millisecond timestamp as an RFC 3339 UTC string.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Answers whether the database responds.
pub async fn ping(db: &Db) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered_placeholders("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(placeholders(3), "?, ?, ?");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
