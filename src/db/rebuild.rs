//! Rebuilding a SQLite table to change one of its table constraints.
//!
//! SQLite cannot drop or alter a constraint written in `CREATE TABLE`, so a migration that
//! relaxes one (say, a name unique per scope instead of globally) rebuilds the table the way
//! the SQLite manual describes: create the new table, copy the rows, drop the old one. It
//! starts from the table's stored definition, so every column and index that earlier
//! migrations added is kept, whoever added them.
//!
//! Dropping the old table must not cascade into the tables that refer to it, so migrations
//! run on SQLite over a connection of their own with foreign keys off
//! ([`connection_without_foreign_keys`]), and the keys are checked once they are done.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::{Db, exec, fetch_all, fetch_optional};

#[derive(FromQueryResult)]
struct SqlRow {
    sql: String,
}

/// A migration statement of the form
/// `SELECT ipmat_rebuild_table('table', 'old constraint', 'new constraint')`, parsed.
pub fn parse_directive(statement: &str) -> Option<(String, String, String)> {
    let args = statement
        .trim()
        .strip_prefix("SELECT ipmat_rebuild_table(")?
        .strip_suffix(')')?;
    let parts: Vec<&str> = args.split("', '").collect();
    let [table, from, to] = parts.as_slice() else {
        return None;
    };
    Some((
        table.strip_prefix('\'')?.to_owned(),
        (*from).to_owned(),
        to.strip_suffix('\'')?.to_owned(),
    ))
}

/// Rebuilds `table` with the constraint text `from` replaced by `to` in its definition.
pub async fn rebuild_sqlite_table(
    c: &impl ConnectionTrait,
    table: &str,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let definition = fetch_optional::<SqlRow>(
        c,
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
        crate::vals![table],
    )
    .await?
    .ok_or_else(|| DbErr::Migration(format!("no table {table} to rebuild")))?
    .sql;
    if !definition.contains(from) {
        return Err(DbErr::Migration(format!(
            "table {table} has no `{from}` to replace"
        )));
    }
    let new_definition = definition.replacen(from, to, 1);
    let indexes: Vec<String> = fetch_all::<SqlRow>(
        c,
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        crate::vals![table],
    )
    .await?
    .into_iter()
    .map(|r| r.sql)
    .collect();
    let new = format!("{table}_rebuilt");
    let new_definition = new_definition.replacen(
        &definition[..definition.find('(').unwrap_or(0)],
        &format!("CREATE TABLE {new} "),
        1,
    );
    c.execute_unprepared(&new_definition).await?;
    c.execute_unprepared(&format!("INSERT INTO {new} SELECT * FROM {table}"))
        .await?;
    // Keep the AUTOINCREMENT high-water mark, so ids of deleted rows are never reused.
    exec(
        c,
        "DELETE FROM sqlite_sequence WHERE name = ?",
        crate::vals![new.clone()],
    )
    .await?;
    exec(
        c,
        "UPDATE sqlite_sequence SET name = ? WHERE name = ?",
        crate::vals![new.clone(), table],
    )
    .await?;
    c.execute_unprepared(&format!("DROP TABLE {table}")).await?;
    c.execute_unprepared(&format!("ALTER TABLE {new} RENAME TO {table}"))
        .await?;
    for index in indexes {
        c.execute_unprepared(&index).await?;
    }
    Ok(())
}

/// A one-connection pool on the same SQLite database with foreign keys off.
pub async fn connection_without_foreign_keys(db: &Db) -> Result<Db, DbErr> {
    let options = (*db.get_sqlite_connection_pool().connect_options())
        .clone()
        .foreign_keys(false);
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e.into())))?;
    Ok(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// Fails when any row points at a row that does not exist.
pub async fn check_foreign_keys(db: &Db) -> Result<(), DbErr> {
    let broken = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if broken.is_empty() {
        Ok(())
    } else {
        Err(DbErr::Migration(format!(
            "{} rows break a foreign key after migrating",
            broken.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_name_the_table_and_both_constraints() {
        let (t, from, to) = parse_directive(
            "SELECT ipmat_rebuild_table('foods', 'CONSTRAINT a UNIQUE (name)', 'CONSTRAINT b UNIQUE (s, name)')",
        )
        .unwrap();
        assert_eq!(t, "foods");
        assert_eq!(from, "CONSTRAINT a UNIQUE (name)");
        assert_eq!(to, "CONSTRAINT b UNIQUE (s, name)");
        assert!(parse_directive("SELECT 1").is_none());
    }
}
