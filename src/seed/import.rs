//! Importing a catalog into the database: what is missing is created, what differs updated,
//! matching by name.

use std::collections::HashMap;

use anyhow::Context;
use bytes::Bytes;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::{ImportReport, Progress, Source, image_key, validate};
use crate::catalog::queries::{self, FoodRow};
use crate::db::{Db, exec, fetch_all, fetch_i64, insert_ignore_sql, insert_returning_id, now_ms};
use crate::media::Storage;
use crate::vals;

/// Imports a catalog: creates what is missing and updates what differs, matching by name.
pub async fn import(
    db: &Db,
    storage: &Storage,
    source: &Source,
    progress: &Progress,
) -> anyhow::Result<ImportReport> {
    let catalog = source.catalog()?;
    validate(&catalog)?;
    let mut report = ImportReport::default();

    // Images first: storage is idempotent by key, and the rows must only name stored images.
    let mut keys: HashMap<String, String> = HashMap::new();
    let files: Vec<&String> = catalog
        .foods
        .iter()
        .flat_map(|f| f.image.iter().chain(f.alt_image.iter()))
        .chain(catalog.books.iter().flat_map(|b| b.cover.iter()))
        .collect();
    let total = (files.len() + catalog.foods.len() + catalog.books.len()) as u64;
    let mut done = 0;
    for file in files {
        if !keys.contains_key(file) {
            let bytes = source.read(file)?;
            let key = image_key(file, &bytes)?;
            let bytes = Bytes::from(bytes);
            if !storage.exists(&key).await? {
                storage.put(&key, bytes.clone()).await?;
                report.images_stored += 1;
            }
            crate::media::ensure_variant(db, storage, &key, bytes).await;
            keys.insert(file.clone(), key);
        }
        done += 1;
        progress.step("images", done, total);
    }

    let txn = crate::db::begin(db).await?;
    let backend = txn.get_database_backend();
    for c in &catalog.categories {
        let sql = insert_ignore_sql(backend, "INTO categories (name, name_en) VALUES (?, ?)");
        let (name, name_en) = (c.name.trim(), c.name_en.trim());
        let created = exec(&txn, &sql, vals![name, name_en])
            .await?
            .rows_affected();
        report.categories_created += created as usize;
        if created == 0 {
            let updated = exec(
                &txn,
                "UPDATE categories SET name_en = ? WHERE name = ? AND name_en <> ?",
                vals![name_en, name, name_en],
            )
            .await?;
            report.categories_updated += updated.rows_affected() as usize;
        }
    }

    let existing = existing_foods(&txn).await?;
    let mut food_ids: HashMap<String, i64> = HashMap::new();
    // Keys of images this import replaces; deleted after the commit if nothing else uses them.
    let mut replaced: Vec<String> = Vec::new();
    for f in &catalog.foods {
        let name = f.name.trim().to_owned();
        let image_key = f.image.as_ref().map(|p| keys[p].clone());
        let alt_image_key = f.alt_image.as_ref().map(|p| keys[p].clone());
        let wanted = FoodRow {
            id: 0,
            name: name.clone(),
            description: f.description.trim().to_owned(),
            details: f.details.trim().to_owned(),
            name_en: f.name_en.trim().to_owned(),
            description_en: f.description_en.trim().to_owned(),
            details_en: f.details_en.trim().to_owned(),
            image_key,
            credit: f.credit.trim().to_owned(),
            alt_image_key,
            alt_credit: f.alt_credit.as_deref().map(|c| c.trim().to_owned()),
        };
        let mut categories: Vec<String> =
            f.categories.iter().map(|c| c.trim().to_owned()).collect();
        categories.sort();
        categories.dedup();
        let category_ids = queries::category_ids(&txn, &categories)
            .await?
            .map_err(|missing| anyhow::anyhow!("food {name}: unknown categories {missing:?}"))?;
        let id = match existing.get(&name) {
            Some((old, old_categories)) => {
                if !same_food(&wanted, old) || *old_categories != categories {
                    replaced.extend(old.image_key.iter().chain(&old.alt_image_key).cloned());
                    exec(
                        &txn,
                        "UPDATE foods SET description = ?, details = ?, name_en = ?, \
                         description_en = ?, details_en = ?, image_key = ?, credit = ?, \
                         alt_image_key = ?, alt_credit = ?, updated_at = ? WHERE id = ?",
                        vals![
                            wanted.description.clone(),
                            wanted.details.clone(),
                            wanted.name_en.clone(),
                            wanted.description_en.clone(),
                            wanted.details_en.clone(),
                            wanted.image_key.clone(),
                            wanted.credit.clone(),
                            wanted.alt_image_key.clone(),
                            wanted.alt_credit.clone(),
                            now_ms(),
                            old.id
                        ],
                    )
                    .await?;
                    queries::set_food_categories(&txn, old.id, &category_ids).await?;
                    report.foods_updated += 1;
                }
                old.id
            }
            None => {
                let id = queries::insert_food(&txn, &wanted).await?;
                queries::set_food_categories(&txn, id, &category_ids).await?;
                report.foods_created += 1;
                id
            }
        };
        food_ids.insert(name, id);
        done += 1;
        progress.step("foods", done, total);
    }

    for b in &catalog.books {
        let name = b.name.trim();
        let cover_key = b.cover.as_ref().map(|p| keys[p].clone());
        let mut members: Vec<i64> = b.foods.iter().map(|f| food_ids[f.trim()]).collect();
        members.sort_unstable();
        members.dedup();
        match fetch_i64(
            &txn,
            "SELECT id FROM books WHERE name = ? AND owner_id IS NULL",
            vals![name],
        )
        .await?
        {
            Some(id) => {
                #[derive(FromQueryResult, PartialEq)]
                struct Row {
                    priority: i64,
                    cover_key: Option<String>,
                    name_en: String,
                    description: String,
                    description_en: String,
                }
                let row = crate::db::fetch_optional::<Row>(
                    &txn,
                    "SELECT priority, cover_key, name_en, description, description_en FROM books WHERE id = ?",
                    vals![id],
                )
                .await?
                .context("book vanished during import")?;
                let wanted = Row {
                    priority: b.priority,
                    cover_key: cover_key.clone(),
                    name_en: b.name_en.trim().to_owned(),
                    description: b.description.trim().to_owned(),
                    description_en: b.description_en.trim().to_owned(),
                };
                let current = book_members(&txn, id).await?;
                if row != wanted || current != members {
                    if row.cover_key != wanted.cover_key {
                        replaced.extend(row.cover_key.clone());
                    }
                    exec(
                        &txn,
                        "UPDATE books SET priority = ?, cover_key = ?, name_en = ?, description = ?, \
                         description_en = ?, updated_at = ? WHERE id = ?",
                        vals![
                            wanted.priority,
                            wanted.cover_key,
                            wanted.name_en,
                            wanted.description,
                            wanted.description_en,
                            now_ms(),
                            id
                        ],
                    )
                    .await?;
                    queries::set_book_foods(&txn, id, &members).await?;
                    report.books_updated += 1;
                }
            }
            None => {
                let now = now_ms();
                let id = insert_returning_id(
                    &txn,
                    "INSERT INTO books (name, name_en, description, description_en, cover_key, priority, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    vals![
                        name,
                        b.name_en.trim(),
                        b.description.trim(),
                        b.description_en.trim(),
                        cover_key,
                        b.priority,
                        now,
                        now
                    ],
                )
                .await?;
                queries::set_book_foods(&txn, id, &members).await?;
                report.books_created += 1;
            }
        }
        done += 1;
        progress.step("books", done, total);
    }

    for (left, right) in &catalog.pairs {
        let (l, r) = (food_ids[left.trim()], food_ids[right.trim()]);
        let sql = insert_ignore_sql(
            backend,
            "INTO quiz_pairs (left_id, right_id, low_id, high_id, created_at) VALUES (?, ?, ?, ?, ?)",
        );
        let inserted = exec(&txn, &sql, vals![l, r, l.min(r), l.max(r), now_ms()]).await?;
        report.pairs_created += inserted.rows_affected() as usize;
    }
    txn.commit().await?;
    crate::media::release_unreferenced(db, storage, replaced).await;
    progress.finish();
    Ok(report)
}

/// Whether two rows hold the same food, whatever their ids.
fn same_food(a: &FoodRow, b: &FoodRow) -> bool {
    FoodRow {
        id: b.id,
        ..a.clone()
    } == *b
}

/// Every food by name with its sorted category names (two queries).
pub(super) async fn existing_foods(
    c: &impl ConnectionTrait,
) -> anyhow::Result<HashMap<String, (FoodRow, Vec<String>)>> {
    let foods = fetch_all::<FoodRow>(
        c,
        "SELECT id, name, description, details, name_en, description_en, details_en, \
         image_key, credit, alt_image_key, alt_credit FROM foods WHERE book_id IS NULL",
        vec![],
    )
    .await?;
    #[derive(FromQueryResult)]
    struct Row {
        food_id: i64,
        name: String,
    }
    let mut categories: HashMap<i64, Vec<String>> = HashMap::new();
    for row in fetch_all::<Row>(
        c,
        "SELECT fc.food_id, c.name FROM food_categories fc JOIN categories c ON c.id = fc.category_id ORDER BY c.name",
        vec![],
    )
    .await?
    {
        categories.entry(row.food_id).or_default().push(row.name);
    }
    Ok(foods
        .into_iter()
        .map(|f| {
            let cats = categories.remove(&f.id).unwrap_or_default();
            (f.name.clone(), (f, cats))
        })
        .collect())
}

async fn book_members(c: &impl ConnectionTrait, book_id: i64) -> anyhow::Result<Vec<i64>> {
    #[derive(FromQueryResult)]
    struct Row {
        food_id: i64,
    }
    Ok(fetch_all::<Row>(
        c,
        "SELECT food_id FROM book_foods WHERE book_id = ? ORDER BY food_id",
        vals![book_id],
    )
    .await?
    .into_iter()
    .map(|r| r.food_id)
    .collect())
}
