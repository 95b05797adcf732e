//! Embedded migrations, one SQL file per engine per step, applied in order under a lock.
//!
//! Each step must keep the previous release working (add tables and columns, never drop or
//! rename in the same release), because during a rolling deploy old and new replicas share
//! the database.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::{Db, exec, fetch_i64};

/// One migration: its name and its SQL for SQLite, MySQL/MariaDB and PostgreSQL.
pub struct Migration {
    pub name: &'static str,
    sqlite: &'static str,
    mysql: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($name:literal) => {
        Migration {
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            mysql: include_str!(concat!("../../migrations/mysql/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }
    };
}

/// Every migration, oldest first. Add new ones at the end; never edit an applied one.
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001_catalog_and_accounts"),
    migration!("0002_worldcup"),
    migration!("0003_quiz"),
    migration!("0004_shared_columns"),
    migration!("0005_server_secrets"),
    migration!("0007_quiz_guests_and_modes"),
    migration!("0008_worldcup_champion"),
    migration!("0010_community"),
    migration!("0011_django_imports"),
    migration!("0012_english"),
    migration!("0013_image_variants"),
];

impl Migration {
    fn sql(&self, backend: DbBackend) -> &'static str {
        match backend {
            DbBackend::MySql => self.mysql,
            DbBackend::Postgres => self.postgres,
            _ => self.sqlite,
        }
    }
}

/// The statements of a migration file: split at `;` ending a line, comments dropped.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// Applies every pending migration and answers the names applied now.
///
/// Several replicas may start at once: a database-wide lock (an advisory lock on PostgreSQL,
/// `GET_LOCK` on a name holding the database's on MariaDB, whose named locks are server-wide;
/// the write lock on SQLite) lets one of them migrate while the others
/// wait and then find nothing left to do.
pub async fn migrate(db: &Db) -> Result<Vec<&'static str>, DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return migrate_on(db).await;
    }
    // SQLite: on a connection of its own with foreign keys off, so that a table rebuild
    // (see `rebuild.rs`) does not cascade; the keys are checked before it is closed.
    let own = super::rebuild::connection_without_foreign_keys(db).await?;
    let applied = migrate_on(&own).await;
    let checked = super::rebuild::check_foreign_keys(&own).await;
    own.close().await?;
    let applied = applied?;
    checked?;
    Ok(applied)
}

async fn migrate_on(db: &Db) -> Result<Vec<&'static str>, DbErr> {
    let backend = db.get_database_backend();
    let create = "CREATE TABLE IF NOT EXISTS schema_migrations (\
        name VARCHAR(100) NOT NULL, applied_at BIGINT NOT NULL, \
        CONSTRAINT pk_schema_migrations PRIMARY KEY (name))";
    db.execute_unprepared(create).await?;

    let txn = super::begin(db).await?;
    match backend {
        // Waiting for the lock and long DDL are exempt from the statement timeout (and the
        // lock statement from the client-side bound) while migrating.
        DbBackend::Postgres => {
            txn.execute_unprepared("SET LOCAL statement_timeout = 0")
                .await?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(4627001)")
                .await?;
        }
        DbBackend::MySql => {
            let _ = txn
                .execute_unprepared("SET SESSION max_statement_time = 0")
                .await;
            let row = txn
                .query_one_raw(sea_orm::Statement::from_string(
                    backend,
                    "SELECT GET_LOCK(CONCAT('ipmat_migrate:', DATABASE()), 120)",
                ))
                .await?;
            let got = row
                .map(|r| r.try_get_by_index::<Option<i64>>(0))
                .transpose()?
                .flatten();
            if got != Some(1) {
                return Err(DbErr::Migration(
                    "could not take the migration lock within 120 s".into(),
                ));
            }
        }
        _ => {
            // Taking the write lock now makes concurrent SQLite migrators wait here.
            txn.execute_unprepared("DELETE FROM schema_migrations WHERE 1 = 0")
                .await?;
        }
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let done = fetch_i64(
            &txn,
            "SELECT COUNT(*) FROM schema_migrations WHERE name = ?",
            crate::vals![m.name],
        )
        .await?;
        if done.unwrap_or(0) > 0 {
            continue;
        }
        for statement in statements(m.sql(backend)) {
            if let Some((table, from, to)) = super::rebuild::parse_directive(&statement) {
                super::rebuild::rebuild_sqlite_table(&txn, &table, &from, &to)
                    .await
                    .map_err(|e| DbErr::Migration(format!("{}: {e}\n{statement}", m.name)))?;
                continue;
            }
            txn.execute_unprepared(&statement)
                .await
                .map_err(|e| DbErr::Migration(format!("{}: {e}\n{statement}", m.name)))?;
        }
        exec(
            &txn,
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            crate::vals![m.name, super::now_ms()],
        )
        .await?;
        applied.push(m.name);
    }
    if backend == DbBackend::MySql {
        txn.execute_unprepared("DO RELEASE_LOCK(CONCAT('ipmat_migrate:', DATABASE()))")
            .await?;
        let _ = txn
            .execute_unprepared(&format!(
                "SET SESSION max_statement_time = {}",
                super::STATEMENT_TIMEOUT.as_secs()
            ))
            .await;
    }
    txn.commit().await?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_at_line_ending_semicolons() {
        let sql = "-- a comment\nCREATE TABLE a (\n  x INT\n);\n\nCREATE INDEX i ON a (x);\n";
        assert_eq!(
            statements(sql),
            vec!["CREATE TABLE a (\n  x INT\n)", "CREATE INDEX i ON a (x)"]
        );
    }

    #[test]
    fn every_engine_has_the_same_number_of_statements() {
        for m in MIGRATIONS {
            let n = statements(m.sqlite).len();
            assert_eq!(statements(m.mysql).len(), n, "{}", m.name);
            assert_eq!(statements(m.postgres).len(), n, "{}", m.name);
        }
    }
}
