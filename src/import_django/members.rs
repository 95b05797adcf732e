//! Members and their favourite books. Passwords are never copied: every imported member gets
//! the hash of a random secret that is thrown away, so nobody can sign in as them until an
//! operator sets a password with `ipmat user reset-password NAME`.

use std::collections::HashSet;

use sea_orm::{DatabaseTransaction, FromQueryResult};

use super::report::{RenamedMember, Report};
use super::rules::{Rename, assign_usernames, birth_date, display_name};
use super::source::Original;
use super::{Ids, ledger};
use crate::db::{exec, fetch_all, insert_ignore_sql, insert_returning_id, now_ms};
use crate::vals;

pub(super) async fn members(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &mut Ids,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    report.counts.members.found = original.members.len();
    let imported = ledger::load(txn, ledger::MEMBER).await?;
    #[derive(FromQueryResult)]
    struct UserRow {
        id: i64,
        username: String,
        username_key: String,
    }
    let users =
        fetch_all::<UserRow>(txn, "SELECT id, username, username_key FROM users", vec![]).await?;
    let ours: HashSet<i64> = imported.values().copied().collect();
    let taken: HashSet<String> = users
        .iter()
        .filter(|u| !ours.contains(&u.id))
        .map(|u| u.username_key.clone())
        .collect();
    let logins: Vec<String> = original.members.iter().map(|m| m.login.clone()).collect();
    let names = assign_usernames(&logins, &taken);
    let today = time::OffsetDateTime::now_utc().date();
    // One unusable hash for all: the secret behind it is never kept.
    let mut locked_hash: Option<String> = None;
    for (m, (username, rename)) in original.members.iter().zip(names) {
        bar.inc(1);
        if let Some(&user_id) = imported.get(&m.login) {
            report.counts.members.existing += 1;
            if let Some(u) = users.iter().find(|u| u.id == user_id) {
                ids.members
                    .insert(m.login.clone(), (user_id, u.username.clone()));
            } else {
                report.skip(
                    "member",
                    &m.login,
                    "imported before, and the account was deleted since",
                );
            }
            continue;
        }
        let birth = birth_date(m.birth_year, m.birth_month, m.birth_day, today);
        if birth.is_none() {
            report.change(
                "member",
                &m.login,
                format!(
                    "birth date {}-{}-{} does not exist; left empty",
                    m.birth_year, m.birth_month, m.birth_day
                ),
            );
        }
        let hash = match &locked_hash {
            Some(h) => h.clone(),
            None => {
                let secret = crate::accounts::auth::new_token();
                let h = crate::accounts::auth::hash_password(secret).await?;
                locked_hash = Some(h.clone());
                h
            }
        };
        let display = display_name(&m.login).unwrap_or_else(|| username.clone());
        let user_id = insert_returning_id(
            txn,
            "INSERT INTO users (username, username_key, display_name, password_hash, birth_date, is_admin, is_guest, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            vals![username.clone(), username.to_lowercase(), display, hash, birth, false, false, now_ms()],
        )
        .await?;
        ledger::record(txn, ledger::MEMBER, &m.login, user_id, None).await?;
        if let Some(reason) = rename {
            report.renamed_members.push(RenamedMember {
                original: m.login.clone(),
                username: username.clone(),
                reason: match reason {
                    Rename::Invalid => "the login name breaks ipmat's rules",
                    Rename::Taken => "the name is taken",
                },
            });
        }
        ids.members.insert(m.login.clone(), (user_id, username));
        report.counts.members.created += 1;
    }
    Ok(())
}

pub(super) async fn favorites(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &Ids,
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(txn);
    report.counts.favorites.found = original.favorites.len();
    let insert = insert_ignore_sql(
        backend,
        "INTO favorites (user_id, book_id, created_at) VALUES (?, ?, ?)",
    );
    for f in &original.favorites {
        let (Some((user_id, _)), Some(&book_id)) =
            (ids.members.get(&f.member), ids.books.get(&f.book_id))
        else {
            report.counts.favorites.skipped += 1;
            report.skip(
                "favorite",
                format!("{} / book #{}", f.member, f.book_id),
                "the member or the book was not imported",
            );
            continue;
        };
        let inserted = exec(txn, &insert, vals![*user_id, book_id, now_ms()])
            .await?
            .rows_affected();
        if inserted > 0 {
            report.counts.favorites.created += 1;
        } else {
            report.counts.favorites.existing += 1;
        }
    }
    Ok(())
}
