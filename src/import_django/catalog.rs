//! The catalog stages: categories, foods with their images, books with their members, cover
//! and play count, and the question bank. Matched by name (names are unique in both systems):
//! a name ipmat already has is linked to, never changed.

use std::collections::{HashMap, HashSet};

use sea_orm::{DatabaseTransaction, FromQueryResult};

use super::images::{Images, Outcome};
use super::report::Report;
use super::rules::{clean_line, clean_text};
use super::source::Original;
use super::{Ids, PairIds};
use crate::catalog::model::limits;
use crate::catalog::queries;
use crate::db::{exec, fetch_all, fetch_i64, insert_ignore_sql, insert_returning_id, now_ms};
use crate::vals;

#[derive(FromQueryResult)]
struct NameId {
    id: i64,
    name: String,
}

async fn ids_by_name(
    txn: &DatabaseTransaction,
    table: &str,
) -> anyhow::Result<HashMap<String, i64>> {
    Ok(
        fetch_all::<NameId>(txn, &format!("SELECT id, name FROM {table}"), vec![])
            .await?
            .into_iter()
            .map(|r| (r.name, r.id))
            .collect(),
    )
}

pub(super) async fn categories(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &mut Ids,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut existing = ids_by_name(txn, "categories").await?;
    let count = &mut report.counts.categories;
    count.found = original.categories.len();
    let mut notes = Vec::new();
    for c in &original.categories {
        let (name, changed) = clean_line(&c.name, limits::CATEGORY_NAME);
        if name.is_empty() {
            count.skipped += 1;
            notes.push((true, c.name.clone(), "the name is empty".to_owned()));
            continue;
        }
        if changed {
            notes.push((false, c.name.clone(), format!("name cleaned to {name:?}")));
        }
        let id = match existing.get(&name) {
            Some(&id) => {
                count.existing += 1;
                id
            }
            None => {
                let id = insert_returning_id(
                    txn,
                    "INSERT INTO categories (name) VALUES (?)",
                    vals![name.clone()],
                )
                .await?;
                existing.insert(name, id);
                count.created += 1;
                id
            }
        };
        ids.categories.insert(c.id, id);
    }
    for (skipped, item, reason) in notes {
        if skipped {
            report.skip("category", item, reason);
        } else {
            report.change("category", item, reason);
        }
    }
    Ok(())
}

/// Stores one image and counts it; answers its key when it was stored.
async fn image(
    images: &Images,
    report: &mut Report,
    kind: &'static str,
    item: &str,
    original_key: &str,
    stored: &mut Vec<String>,
) -> anyhow::Result<Option<String>> {
    Ok(match images.import(original_key).await? {
        Outcome::Stored { key, fresh } => {
            if fresh {
                report.images.stored += 1;
                stored.push(key.clone());
            } else {
                report.images.reused += 1;
            }
            Some(key)
        }
        Outcome::Absent => {
            report.images.absent += 1;
            None
        }
        Outcome::Missing(why) => {
            report.images.missing += 1;
            report.skip(
                "image",
                format!("{original_key} ({kind} {item})"),
                format!("missing: {why}"),
            );
            None
        }
        Outcome::Broken(why) => {
            report.images.broken += 1;
            report.skip(
                "image",
                format!("{original_key} ({kind} {item})"),
                format!("broken: {why}"),
            );
            None
        }
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn foods(
    txn: &DatabaseTransaction,
    original: &Original,
    images: &Images,
    ids: &mut Ids,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
    stored: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut existing = ids_by_name(txn, "foods").await?;
    report.counts.foods.found = original.foods.len();
    let mut categories_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in &original.food_categories {
        if let Some(&category) = ids.categories.get(&link.b) {
            categories_of.entry(link.a).or_default().push(category);
        }
    }
    let mut uncategorised = 0;
    for f in &original.foods {
        bar.inc(1);
        let (name, name_changed) = clean_line(&f.name, limits::FOOD_NAME);
        if name.is_empty() {
            report.counts.foods.skipped += 1;
            report.skip("food", format!("#{}", f.id), "the name is empty");
            continue;
        }
        if let Some(&id) = existing.get(&name) {
            report.counts.foods.existing += 1;
            ids.foods.insert(f.id, id);
            continue;
        }
        if name_changed {
            report.change("food", &f.name, format!("name cleaned to {name:?}"));
        }
        let (description, c1) = clean_line(&f.oneline_desc, limits::DESCRIPTION);
        let (details, c2) = clean_text(&f.description, limits::DETAILS);
        let (credit, c3) = clean_line(&f.creator, limits::CREDIT);
        let (alt_credit, c4) = clean_line(&f.sub_creator, limits::CREDIT);
        for (changed, field, limit) in [
            (c1, "one-line description", limits::DESCRIPTION),
            (c2, "description", limits::DETAILS),
            (c3, "credit", limits::CREDIT),
            (c4, "second credit", limits::CREDIT),
        ] {
            if changed {
                report.change(
                    "food",
                    &name,
                    format!("{field} cut to {limit} characters or cleaned of control characters"),
                );
            }
        }
        let image_key = image(images, report, "food", &name, &f.img, stored).await?;
        let alt_image_key = image(images, report, "food", &name, &f.sub_img, stored).await?;
        let alt_credit = (alt_image_key.is_some() && !alt_credit.is_empty()).then_some(alt_credit);
        let now = now_ms();
        let id = insert_returning_id(
            txn,
            "INSERT INTO foods (name, description, details, image_key, credit, alt_image_key, alt_credit, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vals![name.clone(), description, details, image_key, credit, alt_image_key, alt_credit, now, now],
        )
        .await?;
        let mut cats = categories_of.remove(&f.id).unwrap_or_default();
        cats.sort_unstable();
        cats.dedup();
        if cats.is_empty() {
            uncategorised += 1;
        }
        queries::set_food_categories(txn, id, &cats).await?;
        existing.insert(name, id);
        ids.foods.insert(f.id, id);
        report.counts.foods.created += 1;
    }
    if uncategorised > 0 {
        report.change(
            "food",
            format!("{uncategorised} foods"),
            "in no category in the original; imported without one",
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn books(
    txn: &DatabaseTransaction,
    original: &Original,
    images: &Images,
    ids: &mut Ids,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
    stored: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut existing = ids_by_name(txn, "books").await?;
    report.counts.books.found = original.books.len();
    report.counts.book_foods.found = original.book_foods.len();
    let mut members_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in &original.book_foods {
        match ids.foods.get(&link.b) {
            Some(&food) => members_of.entry(link.a).or_default().push(food),
            None => {
                report.counts.book_foods.skipped += 1;
                report.skip(
                    "book food",
                    format!("book #{} food #{}", link.a, link.b),
                    "the food was not imported",
                );
            }
        }
    }
    for b in &original.books {
        bar.inc(1);
        let mut members = members_of.remove(&b.id).unwrap_or_default();
        let (name, changed) = clean_line(&b.name, limits::BOOK_NAME);
        if name.is_empty() {
            report.counts.books.skipped += 1;
            report.counts.book_foods.skipped += members.len();
            report.skip("book", format!("#{}", b.id), "the name is empty");
            continue;
        }
        if let Some(&id) = existing.get(&name) {
            report.counts.books.existing += 1;
            report.counts.book_foods.existing += members.len();
            ids.books.insert(b.id, id);
            continue;
        }
        if changed {
            report.change("book", &b.name, format!("name cleaned to {name:?}"));
        }
        let listed = members.len();
        members.sort_unstable();
        members.dedup();
        if members.len() < listed {
            report.counts.book_foods.skipped += listed - members.len();
            report.change("book", &name, "a food listed twice is kept once");
        }
        let cover_key = image(images, report, "book", &name, &b.image, stored).await?;
        let now = now_ms();
        let id = insert_returning_id(
            txn,
            "INSERT INTO books (name, cover_key, priority, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            vals![name.clone(), cover_key, b.priority, now, now],
        )
        .await?;
        queries::set_book_foods(txn, id, &members).await?;
        report.counts.book_foods.created += members.len();
        if b.play_count > 0 {
            exec(
                txn,
                "INSERT INTO book_plays (book_id, shard, plays, finished) VALUES (?, 0, ?, 0)",
                vals![id, b.play_count],
            )
            .await?;
        } else if b.play_count < 0 {
            report.change(
                "book",
                &name,
                format!("play count {} taken as 0", b.play_count),
            );
        }
        existing.insert(name, id);
        ids.books.insert(b.id, id);
        report.counts.books.created += 1;
    }
    Ok(())
}

pub(super) async fn pairs(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &mut Ids,
    report: &mut Report,
) -> anyhow::Result<()> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(txn);
    report.counts.pairs.found = original.pairs.len();
    let insert = insert_ignore_sql(
        backend,
        "INTO quiz_pairs (left_id, right_id, low_id, high_id, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    for p in &original.pairs {
        let (Some(&left), Some(&right)) = (ids.foods.get(&p.left_id), ids.foods.get(&p.right_id))
        else {
            report.counts.pairs.skipped += 1;
            report.skip(
                "pair",
                format!("#{}", p.id),
                "a food of the pair was not imported",
            );
            continue;
        };
        if left == right {
            report.counts.pairs.skipped += 1;
            report.skip("pair", format!("#{}", p.id), "both sides are the same food");
            continue;
        }
        let (low, high) = (left.min(right), left.max(right));
        let inserted = exec(txn, &insert, vals![left, right, low, high, now_ms()])
            .await?
            .rows_affected();
        let id = fetch_i64(
            txn,
            "SELECT id FROM quiz_pairs WHERE low_id = ? AND high_id = ?",
            vals![low, high],
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("pair {low}/{high} vanished"))?;
        // The stored pair's sides, which an older row may have the other way round.
        #[derive(FromQueryResult)]
        struct Sides {
            left_id: i64,
            right_id: i64,
        }
        let sides = crate::db::fetch_optional::<Sides>(
            txn,
            "SELECT left_id, right_id FROM quiz_pairs WHERE id = ?",
            vals![id],
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("pair {id} vanished"))?;
        if inserted > 0 {
            report.counts.pairs.created += 1;
        } else if seen.contains(&(low, high)) {
            report.change(
                "pair",
                format!("#{}", p.id),
                "the same two foods as an earlier pair; merged",
            );
            report.counts.pairs.existing += 1;
        } else {
            report.counts.pairs.existing += 1;
        }
        seen.insert((low, high));
        ids.pairs.insert(
            p.id,
            PairIds {
                id,
                left: sides.left_id,
                right: sides.right_id,
            },
        );
    }
    Ok(())
}
