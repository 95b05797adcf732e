//! The `django_imports` ledger: which original member, exam or attempt became which row.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::db::{exec, fetch_all, now_ms};
use crate::vals;

pub const MEMBER: &str = "member";
pub const EXAM: &str = "exam";
pub const ATTEMPT: &str = "attempt";

/// Every entry of one kind: original id → new id.
pub async fn load(c: &impl ConnectionTrait, kind: &str) -> Result<HashMap<String, i64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        old_id: String,
        new_id: i64,
    }
    Ok(fetch_all::<Row>(
        c,
        "SELECT old_id, new_id FROM django_imports WHERE kind = ?",
        vals![kind],
    )
    .await?
    .into_iter()
    .map(|r| (r.old_id, r.new_id))
    .collect())
}

/// Notes that the original `old_id` became `new_id`.
pub async fn record(
    c: &impl ConnectionTrait,
    kind: &str,
    old_id: &str,
    new_id: i64,
    note: Option<String>,
) -> Result<(), DbErr> {
    exec(
        c,
        "INSERT INTO django_imports (kind, old_id, new_id, note, imported_at) VALUES (?, ?, ?, ?, ?)",
        vals![kind, old_id, new_id, note, now_ms()],
    )
    .await
    .map(|_| ())
}
