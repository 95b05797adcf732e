//! Catalog queries. Lists are read with a fixed number of statements, never one per row.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::model::{Book, BookTexts, Category, Food, FoodTexts, Localized};
use crate::db::{exec, fetch_all, fetch_i64, placeholders};
use crate::media::Storage;
use crate::vals;

/// A row of `foods`.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct FoodRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub details: String,
    pub name_en: String,
    pub description_en: String,
    pub details_en: String,
    pub image_key: Option<String>,
    pub credit: String,
    pub alt_image_key: Option<String>,
    pub alt_credit: Option<String>,
}

/// Inserts a catalog food (its `id` is ignored) and answers the new id; categories are set
/// apart, with [`set_food_categories`]. The admin's create and the catalog import share it.
pub async fn insert_food(c: &impl ConnectionTrait, food: &FoodRow) -> Result<i64, DbErr> {
    let now = crate::db::now_ms();
    crate::db::insert_returning_id(
        c,
        "INSERT INTO foods (name, description, details, name_en, description_en, details_en, \
         image_key, credit, alt_image_key, alt_credit, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vals![
            food.name.clone(),
            food.description.clone(),
            food.details.clone(),
            food.name_en.clone(),
            food.description_en.clone(),
            food.details_en.clone(),
            food.image_key.clone(),
            food.credit.clone(),
            food.alt_image_key.clone(),
            food.alt_credit.clone(),
            now,
            now
        ],
    )
    .await
}

pub const FOOD_COLUMNS: &str = "f.id, f.name, f.description, f.details, \
     f.name_en, f.description_en, f.details_en, \
     f.image_key, f.credit, f.alt_image_key, f.alt_credit";

#[derive(FromQueryResult)]
struct FoodCategoryRow {
    food_id: i64,
    name: String,
    name_en: String,
}

/// Turns rows into API foods, loading all their categories with one query.
pub async fn foods_with_categories(
    c: &impl ConnectionTrait,
    storage: &Storage,
    rows: Vec<FoodRow>,
) -> Result<Vec<Food>, DbErr> {
    let mut categories: HashMap<i64, Vec<String>> = HashMap::new();
    if !rows.is_empty() {
        let ids: Vec<Value> = rows.iter().map(|r| r.id.into()).collect();
        let sql = format!(
            "SELECT fc.food_id, c.name, c.name_en FROM food_categories fc \
             JOIN categories c ON c.id = fc.category_id \
             WHERE fc.food_id IN ({}) ORDER BY c.name",
            placeholders(ids.len())
        );
        let lang = crate::lang::current().lang;
        for row in fetch_all::<FoodCategoryRow>(c, &sql, ids).await? {
            let name = lang.pick(&row.name, &row.name_en).to_owned();
            categories.entry(row.food_id).or_default().push(name);
        }
    }
    let keys: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.image_key.iter().chain(r.alt_image_key.iter()))
        .map(String::as_str)
        .collect();
    let webp = crate::media::webp_keys(c, &keys).await?;
    let webp_url = |key: &Option<String>| {
        key.as_deref()
            .and_then(|k| webp.get(k))
            .map(|w| storage.url(w))
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = Localized::new(r.name, r.name_en);
            let description = Localized::new(r.description, r.description_en);
            let details = Localized::new(r.details, r.details_en);
            Food {
                id: r.id,
                categories: categories.remove(&r.id).unwrap_or_default(),
                image_url: r.image_key.as_deref().map(|k| storage.url(k)),
                alt_image_url: r.alt_image_key.as_deref().map(|k| storage.url(k)),
                image_webp_url: webp_url(&r.image_key),
                alt_image_webp_url: webp_url(&r.alt_image_key),
                name: name.chosen,
                description: description.chosen,
                details: details.chosen,
                texts: FoodTexts {
                    name_ko: name.ko,
                    name_en: name.en,
                    description_ko: description.ko,
                    description_en: description.en,
                    details_ko: details.ko,
                    details_en: details.en,
                },
                credit: r.credit,
                alt_credit: r.alt_credit,
            }
        })
        .collect())
}

/// Foods by id, in the order of `ids` (unknown ids are skipped).
pub async fn foods_by_ids(
    c: &impl ConnectionTrait,
    storage: &Storage,
    ids: &[i64],
) -> Result<Vec<Food>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {FOOD_COLUMNS} FROM foods f WHERE f.id IN ({})",
        placeholders(ids.len())
    );
    let rows = fetch_all::<FoodRow>(c, &sql, ids.iter().map(|&i| i.into()).collect()).await?;
    let mut by_id: HashMap<i64, Food> = foods_with_categories(c, storage, rows)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// One food.
pub async fn food(
    c: &impl ConnectionTrait,
    storage: &Storage,
    id: i64,
) -> Result<Option<Food>, DbErr> {
    Ok(foods_by_ids(c, storage, &[id]).await?.pop())
}

/// All categories by name, with their food counts.
pub async fn categories(c: &impl ConnectionTrait) -> Result<Vec<Category>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        name: String,
        name_en: String,
        food_count: i64,
    }
    let rows = fetch_all::<Row>(
        c,
        "SELECT c.id, c.name, c.name_en, COUNT(f.id) AS food_count FROM categories c \
         LEFT JOIN food_categories fc ON fc.category_id = c.id \
         LEFT JOIN foods f ON f.id = fc.food_id AND f.retired_at IS NULL \
         GROUP BY c.id, c.name, c.name_en ORDER BY c.name",
        vec![],
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| category(r.id, r.name, r.name_en, r.food_count))
        .collect())
}

/// A category as the API shows it, in the request's language.
pub fn category(id: i64, name: String, name_en: String, food_count: i64) -> Category {
    let name = Localized::new(name, name_en);
    Category {
        id,
        name: name.chosen,
        name_ko: name.ko,
        name_en: name.en,
        food_count,
    }
}

/// A category filter: by id when numeric, else by name.
pub async fn category_id(c: &impl ConnectionTrait, category: &str) -> Result<Option<i64>, DbErr> {
    match category.parse::<i64>() {
        Ok(id) => fetch_i64(c, "SELECT id FROM categories WHERE id = ?", vals![id]).await,
        Err(_) => {
            // The Korean name first: English names are not unique.
            fetch_i64(
                c,
                "SELECT id FROM categories WHERE name = ? OR name_en = ? \
                 ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END, id LIMIT 1",
                vals![category.trim(), category.trim(), category.trim()],
            )
            .await
        }
    }
}

/// One page of foods by name, optionally in one category and matching a name pattern.
pub async fn food_page(
    c: &impl ConnectionTrait,
    category_id: Option<i64>,
    like: Option<&str>,
    after_name: Option<&str>,
    limit: u64,
) -> Result<Vec<FoodRow>, DbErr> {
    let mut sql = format!("SELECT {FOOD_COLUMNS} FROM foods f");
    // Retired foods are kept for history only.
    let mut conditions = vec!["f.retired_at IS NULL"];
    let mut values: Vec<Value> = Vec::new();
    if let Some(id) = category_id {
        sql.push_str(" JOIN food_categories fc ON fc.food_id = f.id AND fc.category_id = ?");
        values.push(id.into());
    }
    // A community book's own foods belong to that book alone.
    conditions.push("f.book_id IS NULL");
    if let Some(like) = like {
        conditions.push("LOWER(f.name) LIKE ? ESCAPE '!'");
        values.push(like.into());
    }
    if let Some(after) = after_name {
        conditions.push("f.name > ?");
        values.push(after.into());
    }
    sql.push_str(" WHERE ");
    sql.push_str(&conditions.join(" AND "));
    sql.push_str(" ORDER BY f.name LIMIT ?");
    values.push((limit as i64).into());
    fetch_all(c, &sql, values).await
}

#[derive(FromQueryResult)]
struct BookRow {
    id: i64,
    name: String,
    cover_key: Option<String>,
    priority: i64,
    food_count: i64,
    owner_id: Option<i64>,
    visibility: String,
    description: String,
    name_en: String,
    description_en: String,
    hidden_at: Option<i64>,
}

const BOOK_SELECT: &str = "SELECT b.id, b.name, b.cover_key, b.priority, \
     b.owner_id, b.visibility, b.description, b.name_en, b.description_en, b.hidden_at, \
     (SELECT COUNT(*) FROM book_foods bf JOIN foods f ON f.id = bf.food_id \
     WHERE bf.book_id = b.id AND f.retired_at IS NULL) AS food_count FROM books b";

/// Reads books and adds their play counts (two queries whatever the number of books).
async fn load_books(
    c: &impl ConnectionTrait,
    storage: &Storage,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<Book>, DbErr> {
    let rows = fetch_all::<BookRow>(c, sql, values).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut plays = play_counts(c, &ids).await?;
    let owner_ids: Vec<i64> = rows.iter().filter_map(|r| r.owner_id).collect();
    let owners = book_owners(c, &owner_ids).await?;
    let covers: Vec<&str> = rows.iter().filter_map(|r| r.cover_key.as_deref()).collect();
    let webp = crate::media::webp_keys(c, &covers).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (play_count, finished_count) = plays.remove(&row.id).unwrap_or((0, 0));
            let name = Localized::new(row.name, row.name_en);
            let description = Localized::new(row.description, row.description_en);
            Book {
                kind: if row.owner_id.is_some() {
                    "community"
                } else {
                    "official"
                }
                .to_owned(),
                owner: row.owner_id.and_then(|o| owners.get(&o).cloned()),
                visibility: row.visibility,
                description: description.chosen,
                texts: BookTexts {
                    name_ko: name.ko,
                    name_en: name.en,
                    description_ko: description.ko,
                    description_en: description.en,
                },
                hidden: row.hidden_at.is_some(),
                id: row.id,
                cover_url: row.cover_key.as_deref().map(|k| storage.url(k)),
                cover_webp_url: row
                    .cover_key
                    .as_deref()
                    .and_then(|k| webp.get(k))
                    .map(|w| storage.url(w)),
                name: name.chosen,
                priority: row.priority,
                play_count,
                finished_count,
                food_count: row.food_count,
            }
        })
        .collect())
}

/// The owners of community books by user id (one query).
async fn book_owners(
    c: &impl ConnectionTrait,
    user_ids: &[i64],
) -> Result<HashMap<i64, super::model::BookOwner>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        username: String,
        display_name: String,
    }
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, username, display_name FROM users WHERE id IN ({})",
        placeholders(user_ids.len())
    );
    let rows = fetch_all::<Row>(c, &sql, user_ids.iter().map(|&i| i.into()).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let owner = super::model::BookOwner {
                username: r.username,
                display_name: r.display_name,
            };
            (r.id, owner)
        })
        .collect())
}

/// (plays, finished world cups) per book, summed over the book's counter shards.
pub async fn play_counts(
    c: &impl ConnectionTrait,
    book_ids: &[i64],
) -> Result<HashMap<i64, (i64, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        book_id: i64,
        plays: i64,
        finished: i64,
    }
    let mut out: HashMap<i64, (i64, i64)> = HashMap::new();
    if book_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT book_id, plays, finished FROM book_plays WHERE book_id IN ({})",
        placeholders(book_ids.len())
    );
    for row in fetch_all::<Row>(c, &sql, book_ids.iter().map(|&i| i.into()).collect()).await? {
        let entry = out.entry(row.book_id).or_default();
        entry.0 += row.plays;
        entry.1 += row.finished;
    }
    Ok(out)
}

/// All official books by priority, then id.
pub async fn books(c: &impl ConnectionTrait, storage: &Storage) -> Result<Vec<Book>, DbErr> {
    load_books(
        c,
        storage,
        &format!("{BOOK_SELECT} WHERE b.owner_id IS NULL ORDER BY b.priority, b.id"),
        vec![],
    )
    .await
}

/// Books by id, in priority order (a user's favourites).
pub async fn books_by_ids(
    c: &impl ConnectionTrait,
    storage: &Storage,
    ids: &[i64],
) -> Result<Vec<Book>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{BOOK_SELECT} WHERE b.id IN ({}) ORDER BY b.priority, b.id",
        placeholders(ids.len())
    );
    load_books(c, storage, &sql, ids.iter().map(|&i| i.into()).collect()).await
}

/// One book without its foods.
pub async fn book(
    c: &impl ConnectionTrait,
    storage: &Storage,
    id: i64,
) -> Result<Option<Book>, DbErr> {
    let sql = format!("{BOOK_SELECT} WHERE b.id = ?");
    Ok(load_books(c, storage, &sql, vals![id]).await?.pop())
}

/// The foods of a book, by name (retired foods are no longer members).
pub async fn book_foods(
    c: &impl ConnectionTrait,
    storage: &Storage,
    book_id: i64,
) -> Result<Vec<Food>, DbErr> {
    let sql = format!(
        "SELECT {FOOD_COLUMNS} FROM foods f JOIN book_foods bf ON bf.food_id = f.id \
         WHERE bf.book_id = ? AND f.retired_at IS NULL ORDER BY f.name"
    );
    let rows = fetch_all::<FoodRow>(c, &sql, vals![book_id]).await?;
    foods_with_categories(c, storage, rows).await
}

/// Ids among `ids` that name no catalog food (retired foods and books' own foods count as
/// missing).
pub async fn missing_food_ids(c: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<i64>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
    }
    // Only catalog foods: a book's own foods never join another book.
    let sql = format!(
        "SELECT id FROM foods WHERE id IN ({}) AND retired_at IS NULL AND book_id IS NULL",
        placeholders(ids.len())
    );
    let found: std::collections::HashSet<i64> =
        fetch_all::<Row>(c, &sql, ids.iter().map(|&i| i.into()).collect())
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect())
}

/// Category ids by name (Korean, or English when no Korean name matches), without repeats;
/// answers the names that match no category as the error.
pub async fn category_ids(
    c: &impl ConnectionTrait,
    names: &[String],
) -> Result<Result<Vec<i64>, Vec<String>>, DbErr> {
    if names.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        name: String,
        name_en: String,
    }
    let sql = format!(
        "SELECT id, name, name_en FROM categories WHERE name IN ({0}) OR name_en IN ({0}) ORDER BY id",
        placeholders(names.len())
    );
    let values: Vec<Value> = names
        .iter()
        .chain(names)
        .map(|n| n.as_str().into())
        .collect();
    let rows = fetch_all::<Row>(c, &sql, values).await?;
    let mut by_name: HashMap<&str, i64> = HashMap::new();
    for r in &rows {
        by_name.entry(r.name_en.as_str()).or_insert(r.id);
    }
    for r in &rows {
        by_name.insert(r.name.as_str(), r.id);
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !by_name.contains_key(n.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    let mut ids: Vec<i64> = Vec::new();
    for n in names {
        let id = by_name[n.as_str()];
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Ok(ids))
}

/// Whether any exam (question, pair or answer) or world cup (drawn or counted) uses a food:
/// such a food is retired instead of deleted, so history never changes.
pub async fn food_is_used(c: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let text = id.to_string();
    let used = fetch_i64(
        c,
        // BIGINT columns (not a literal 1) so that every engine answers the same type.
        "SELECT q.exam_id FROM exam_questions q JOIN quiz_pairs p ON p.id = q.pair_id \
         WHERE q.answer_id = ? OR p.left_id = ? OR p.right_id = ? \
         UNION ALL SELECT guess_id FROM attempt_answers WHERE guess_id = ? \
         UNION ALL SELECT food_id FROM book_food_stats WHERE food_id = ? \
         UNION ALL SELECT size FROM worldcups WHERE entrants = ? OR entrants LIKE ? \
         OR entrants LIKE ? OR entrants LIKE ? \
         LIMIT 1",
        vals![
            id,
            id,
            id,
            id,
            id,
            text.clone(),
            format!("{text},%"),
            format!("%,{text}"),
            format!("%,{text},%")
        ],
    )
    .await?;
    Ok(used.is_some())
}

/// Replaces a food's categories.
pub async fn set_food_categories(
    c: &impl ConnectionTrait,
    food_id: i64,
    category_ids: &[i64],
) -> Result<(), DbErr> {
    exec(
        c,
        "DELETE FROM food_categories WHERE food_id = ?",
        vals![food_id],
    )
    .await?;
    for &category_id in category_ids {
        exec(
            c,
            "INSERT INTO food_categories (food_id, category_id) VALUES (?, ?)",
            vals![food_id, category_id],
        )
        .await?;
    }
    Ok(())
}

/// Replaces a book's member foods.
pub async fn set_book_foods(
    c: &impl ConnectionTrait,
    book_id: i64,
    food_ids: &[i64],
) -> Result<(), DbErr> {
    exec(
        c,
        "DELETE FROM book_foods WHERE book_id = ?",
        vals![book_id],
    )
    .await?;
    for chunk in food_ids.chunks(200) {
        let rows = vec!["(?, ?)"; chunk.len()].join(", ");
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|&f| [book_id.into(), f.into()])
            .collect();
        exec(
            c,
            &format!("INSERT INTO book_foods (book_id, food_id) VALUES {rows}"),
            values,
        )
        .await?;
    }
    Ok(())
}
