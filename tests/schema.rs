//! The migrations give the same schema on every engine: each engine is migrated, its schema
//! read back from its own catalog, normalised (type families and lengths, nullability, keys,
//! foreign keys with their ON DELETE, indexes) and compared with SQLite's.

mod common;

use std::collections::BTreeSet;

use common::{Engine, TestDatabase};
use sea_orm::{ConnectionTrait, Statement};

/// One fact about the schema, as a comparable line.
type Facts = BTreeSet<String>;

/// A foreign key being gathered: referenced table, its columns here, there, and ON DELETE.
type ForeignKey = (String, Vec<String>, Vec<String>, String);

async fn rows(db: &ipmat::db::Db, sql: &str) -> Vec<Vec<String>> {
    let backend = db.get_database_backend();
    let result = db
        .query_all_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    result
        .iter()
        .map(|row| {
            (0..)
                .map_while(|i| match row.try_get_by_index::<Option<String>>(i) {
                    Ok(v) => Some(v.unwrap_or_default()),
                    Err(_) => None,
                })
                .collect()
        })
        .collect()
}

/// Integer, text (with its length), boolean: what a column holds, whatever the engine calls it.
fn family(declared: &str, length: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let n = if length.is_empty() {
        t.split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(n, _)| n.to_owned())
            .unwrap_or_default()
    } else {
        length.to_owned()
    };
    if t.starts_with("tinyint(1)") || t.contains("bool") {
        "boolean".into()
    } else if t.contains("int") || t == "bigserial" {
        "integer".into()
    } else if t.contains("char") || t.contains("text") {
        format!("text({n})")
    } else {
        t
    }
}

fn on_delete(rule: &str) -> String {
    match rule.to_ascii_uppercase().as_str() {
        "CASCADE" | "C" => "cascade",
        "SET NULL" | "N" => "set null",
        "RESTRICT" | "NO ACTION" | "A" | "R" | "" => "no action",
        other => panic!("unexpected ON DELETE rule {other}"),
    }
    .into()
}

async fn sqlite_schema(db: &ipmat::db::Db) -> Facts {
    let mut facts = Facts::new();
    let tables = rows(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .await;
    for table in tables.iter().map(|r| r[0].clone()) {
        let mut pk: Vec<(String, String)> = Vec::new();
        for c in rows(
            db,
            &format!(
                "SELECT name, type, CAST(\"notnull\" AS TEXT), CAST(pk AS TEXT) \
                 FROM pragma_table_info('{table}')"
            ),
        )
        .await
        {
            let nullable = if c[2] == "1" || c[3] != "0" {
                "not null"
            } else {
                "null"
            };
            facts.insert(format!(
                "column {table}.{} {} {nullable}",
                c[0],
                family(&c[1], "")
            ));
            if c[3] != "0" {
                pk.push((c[3].clone(), c[0].clone()));
            }
        }
        pk.sort();
        let pk: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
        facts.insert(format!("primary key {table} ({})", pk.join(",")));
        let mut fks: std::collections::BTreeMap<
            String,
            (String, Vec<String>, Vec<String>, String),
        > = Default::default();
        for f in rows(
            db,
            &format!(
                "SELECT CAST(id AS TEXT), \"table\", \"from\", \"to\", on_delete \
                 FROM pragma_foreign_key_list('{table}') ORDER BY id, seq"
            ),
        )
        .await
        {
            let entry = fks
                .entry(f[0].clone())
                .or_insert_with(|| (f[1].clone(), vec![], vec![], f[4].clone()));
            entry.1.push(f[2].clone());
            entry.2.push(f[3].clone());
        }
        for (_, (to, from_cols, to_cols, rule)) in fks {
            facts.insert(format!(
                "foreign key {table} ({}) -> {to} ({}) on delete {}",
                from_cols.join(","),
                to_cols.join(","),
                on_delete(&rule)
            ));
        }
        for i in rows(
            db,
            &format!(
                "SELECT name, CAST(\"unique\" AS TEXT), origin FROM pragma_index_list('{table}')"
            ),
        )
        .await
        {
            if i[2] == "pk" {
                continue;
            }
            let cols: Vec<String> = rows(
                db,
                &format!(
                    "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                    i[0]
                ),
            )
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
            facts.insert(index_fact(&table, &i[0], i[1] == "1", &cols));
        }
    }
    facts
}

/// Unique indexes compare by their columns (SQLite does not keep constraint names); other
/// indexes by name and columns.
fn index_fact(table: &str, name: &str, unique: bool, cols: &[String]) -> String {
    if unique {
        format!("unique {table} ({})", cols.join(","))
    } else {
        format!("index {table}.{name} ({})", cols.join(","))
    }
}

async fn mysql_schema(db: &ipmat::db::Db) -> Facts {
    let mut facts = Facts::new();
    for c in rows(
        db,
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, \
         COALESCE(CAST(CHARACTER_MAXIMUM_LENGTH AS CHAR), ''), IS_NULLABLE \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    )
    .await
    {
        let nullable = if c[4] == "NO" { "not null" } else { "null" };
        facts.insert(format!(
            "column {}.{} {} {nullable}",
            c[0],
            c[1],
            family(&c[2], &c[3])
        ));
    }
    let mut pks: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for p in rows(
        db,
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = 'PRIMARY' \
         ORDER BY TABLE_NAME, SEQ_IN_INDEX",
    )
    .await
    {
        pks.entry(p[0].clone()).or_default().push(p[1].clone());
    }
    for (table, cols) in pks {
        facts.insert(format!("primary key {table} ({})", cols.join(",")));
    }
    let mut fks: std::collections::BTreeMap<(String, String), ForeignKey> = Default::default();
    for f in rows(
        db,
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, r.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .await
    {
        let entry = fks
            .entry((f[0].clone(), f[1].clone()))
            .or_insert_with(|| (f[3].clone(), vec![], vec![], f[5].clone()));
        entry.1.push(f[2].clone());
        entry.2.push(f[4].clone());
    }
    let fk_names: BTreeSet<String> = fks.keys().map(|(_, n)| n.clone()).collect();
    for ((table, _), (to, from_cols, to_cols, rule)) in fks {
        facts.insert(format!(
            "foreign key {table} ({}) -> {to} ({}) on delete {}",
            from_cols.join(","),
            to_cols.join(","),
            on_delete(&rule)
        ));
    }
    let mut indexes: std::collections::BTreeMap<(String, String), (bool, Vec<String>)> =
        Default::default();
    for i in rows(
        db,
        "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS CHAR), COLUMN_NAME \
         FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY' \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .await
    {
        // InnoDB adds an index named after a foreign key that no index covers: an engine
        // artifact, not part of the schema the migrations state.
        if fk_names.contains(&i[1]) {
            continue;
        }
        let entry = indexes
            .entry((i[0].clone(), i[1].clone()))
            .or_insert_with(|| (i[2] == "0", vec![]));
        entry.1.push(i[3].clone());
    }
    for ((table, name), (unique, cols)) in indexes {
        facts.insert(index_fact(&table, &name, unique, &cols));
    }
    facts
}

async fn postgres_schema(db: &ipmat::db::Db) -> Facts {
    let mut facts = Facts::new();
    for c in rows(
        db,
        "SELECT table_name::text, column_name::text, data_type::text, \
         COALESCE(character_maximum_length::text, ''), is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .await
    {
        let nullable = if c[4] == "NO" { "not null" } else { "null" };
        facts.insert(format!(
            "column {}.{} {} {nullable}",
            c[0],
            c[1],
            family(&c[2], &c[3])
        ));
    }
    let columns = |key: &str, rel: &str| {
        format!(
            "(SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
             FROM unnest({key}) WITH ORDINALITY k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum)"
        )
    };
    for p in rows(
        db,
        &format!(
            "SELECT conrelid::regclass::text, {} FROM pg_constraint \
             WHERE contype = 'p' AND connamespace = 'public'::regnamespace",
            columns("conkey", "conrelid")
        ),
    )
    .await
    {
        facts.insert(format!("primary key {} ({})", p[0], p[1]));
    }
    for f in rows(
        db,
        &format!(
            "SELECT conrelid::regclass::text, {}, confrelid::regclass::text, {}, confdeltype::text \
             FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
            columns("conkey", "conrelid"),
            columns("confkey", "confrelid")
        ),
    )
    .await
    {
        facts.insert(format!(
            "foreign key {} ({}) -> {} ({}) on delete {}",
            f[0],
            f[1],
            f[2],
            f[3],
            on_delete(&f[4])
        ));
    }
    for i in rows(
        db,
        &format!(
            "SELECT t.relname::text, c.relname::text, ix.indisunique::text, {} \
             FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_class c ON c.oid = ix.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = 'public' AND NOT ix.indisprimary",
            columns("ix.indkey::int2[]", "t.oid")
        ),
    )
    .await
    {
        let cols: Vec<String> = i[3].split(',').map(str::to_owned).collect();
        facts.insert(index_fact(&i[0], &i[1], i[2] == "true", &cols));
    }
    facts
}

async fn schema_of(engine: Engine) -> Facts {
    let database = TestDatabase::create(engine).await;
    let db = ipmat::db::connect(&database.url, 2).await.unwrap();
    ipmat::db::migrate(&db).await.unwrap();
    let facts = match engine {
        Engine::Sqlite => sqlite_schema(&db).await,
        Engine::MySql => mysql_schema(&db).await,
        Engine::Postgres => postgres_schema(&db).await,
    };
    db.close().await.ok();
    facts
}

fn assert_same(engine: &str, reference: &Facts, other: &Facts) {
    let missing: Vec<&String> = reference.difference(other).collect();
    let extra: Vec<&String> = other.difference(reference).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{engine} differs from SQLite.\nonly on SQLite:\n  {}\nonly on {engine}:\n  {}",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  "),
        extra
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(ipmat_skip_mariadb, ignore = "IPMAT_TEST_ENGINES leaves MariaDB out")]
async fn mariadb_has_the_schema_of_sqlite() {
    let sqlite = schema_of(Engine::Sqlite).await;
    assert!(sqlite.len() > 50, "the schema was read: {sqlite:?}");
    if std::env::var_os("IPMAT_SHOW_SCHEMA").is_some() {
        println!("{}", sqlite.iter().cloned().collect::<Vec<_>>().join("\n"));
    }
    assert_same("MariaDB", &sqlite, &schema_of(Engine::MySql).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    ipmat_skip_postgres,
    ignore = "IPMAT_TEST_ENGINES leaves PostgreSQL out"
)]
async fn postgres_has_the_schema_of_sqlite() {
    let sqlite = schema_of(Engine::Sqlite).await;
    assert_same("PostgreSQL", &sqlite, &schema_of(Engine::Postgres).await);
}
