//! The catalog file format (`docs/catalog-format.md`), its import and export, and the bundled
//! catalog.
//!
//! Everything in a catalog refers to other entries by name (names are unique), so importing
//! the same catalog twice changes nothing the second time, and exporting a database then
//! importing the export into an empty one reproduces it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bytes::Bytes;
use rust_embed::RustEmbed;
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::model::{Checks, limits};
use crate::catalog::queries;
use crate::db::{Db, exec, fetch_all, fetch_i64, insert_ignore_sql, insert_returning_id, now_ms};
use crate::media::Storage;
use crate::vals;

/// The bundled catalog, compiled into the binary.
#[derive(RustEmbed)]
#[folder = "data/seed/"]
#[include = "catalog.json"]
#[include = "images/*"]
struct Bundled;

/// A whole catalog file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub format: String,
    pub version: u32,
    pub categories: Vec<CategoryEntry>,
    pub foods: Vec<FoodEntry>,
    pub books: Vec<BookEntry>,
    pub pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    pub name: String,
    /// English name; empty when not translated.
    #[serde(default)]
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FoodEntry {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub details: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub description_en: String,
    #[serde(default)]
    pub details_en: String,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Path of the image file, relative to the catalog file.
    pub image: Option<String>,
    #[serde(default)]
    pub credit: String,
    pub alt_image: Option<String>,
    pub alt_credit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BookEntry {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description_en: String,
    #[serde(default)]
    pub priority: i64,
    pub cover: Option<String>,
    pub foods: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub categories_created: usize,
    pub categories_updated: usize,
    pub foods_created: usize,
    pub foods_updated: usize,
    pub books_created: usize,
    pub books_updated: usize,
    pub pairs_created: usize,
    pub images_stored: usize,
}

/// Where a catalog's files come from.
pub enum Source {
    /// A folder holding `catalog.json` and the image files it names.
    Dir(PathBuf),
    /// The catalog compiled into the binary.
    Bundled,
}

impl Source {
    fn read(&self, relative: &str) -> anyhow::Result<Vec<u8>> {
        if relative.split('/').any(|s| s == ".." || s.is_empty()) || relative.starts_with('/') {
            bail!("{relative}: paths must stay inside the catalog folder");
        }
        match self {
            Source::Dir(dir) => {
                std::fs::read(dir.join(relative)).with_context(|| format!("reading {relative}"))
            }
            Source::Bundled => Bundled::get(relative)
                .map(|f| f.data.into_owned())
                .with_context(|| format!("{relative} is not in the bundled catalog")),
        }
    }

    /// Reads and parses `catalog.json`.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        let bytes = self.read("catalog.json")?;
        let catalog: Catalog =
            serde_json::from_slice(&bytes).context("catalog.json is not a valid catalog")?;
        if catalog.format != "ipmat-catalog" || catalog.version != 1 {
            bail!("catalog.json: expected format \"ipmat-catalog\" version 1");
        }
        Ok(catalog)
    }
}

/// Reports progress: a bar on a terminal, plain lines otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// Progress for a command run by a person (bar or lines).
    pub fn for_terminal(total: u64, what: &str) -> Progress {
        use std::io::IsTerminal;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(what.to_owned());
            Progress {
                bar: Some(bar),
                quiet: false,
            }
        } else {
            eprintln!("{what}: {total} items");
            Progress {
                bar: None,
                quiet: false,
            }
        }
    }

    /// No output (the server's own seeding logs a summary instead).
    pub fn quiet() -> Progress {
        Progress {
            bar: None,
            quiet: true,
        }
    }

    fn step(&self, label: &str, done: u64, total: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if !self.quiet && (done == total || done.is_multiple_of(25)) => {
                eprintln!("{label}: {done}/{total}")
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// Checks every field and reference of a catalog before anything is written.
pub fn validate(catalog: &Catalog) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut checks = Checks::default();
    let mut category_names = std::collections::HashSet::new();
    for c in &catalog.categories {
        checks.name(
            &format!("category {}", c.name),
            &c.name,
            limits::CATEGORY_NAME,
        );
        checks.line(
            &format!("category {}: name_en", c.name),
            &c.name_en,
            limits::CATEGORY_NAME_EN,
        );
        if !category_names.insert(c.name.trim()) {
            problems.push(format!("category {} is listed twice", c.name));
        }
    }
    let mut food_names = std::collections::HashSet::new();
    for f in &catalog.foods {
        let at = format!("food {}", f.name);
        checks.name(&at, &f.name, limits::FOOD_NAME);
        checks.line(
            &format!("{at}: description"),
            &f.description,
            limits::DESCRIPTION,
        );
        checks.text(&format!("{at}: details"), &f.details, limits::DETAILS);
        checks.line(&format!("{at}: name_en"), &f.name_en, limits::FOOD_NAME_EN);
        checks.line(
            &format!("{at}: description_en"),
            &f.description_en,
            limits::DESCRIPTION_EN,
        );
        checks.text(
            &format!("{at}: details_en"),
            &f.details_en,
            limits::DETAILS_EN,
        );
        checks.line(&format!("{at}: credit"), &f.credit, limits::CREDIT);
        if let Some(c) = &f.alt_credit {
            checks.line(&format!("{at}: alt_credit"), c, limits::CREDIT);
        }
        if !food_names.insert(f.name.trim()) {
            problems.push(format!("{at} is listed twice"));
        }
        for c in &f.categories {
            if !category_names.contains(c.trim()) {
                problems.push(format!("{at}: unknown category {c}"));
            }
        }
    }
    let mut book_names = std::collections::HashSet::new();
    for b in &catalog.books {
        let at = format!("book {}", b.name);
        checks.name(&at, &b.name, limits::BOOK_NAME);
        checks.line(&format!("{at}: name_en"), &b.name_en, limits::BOOK_NAME_EN);
        checks.text(
            &format!("{at}: description"),
            &b.description,
            crate::community::books::DESCRIPTION_MAX,
        );
        checks.text(
            &format!("{at}: description_en"),
            &b.description_en,
            limits::BOOK_DESCRIPTION_EN,
        );
        if !book_names.insert(b.name.trim()) {
            problems.push(format!("book {} is listed twice", b.name));
        }
        for f in &b.foods {
            if !food_names.contains(f.trim()) {
                problems.push(format!("book {}: unknown food {f}", b.name));
            }
        }
    }
    let mut pairs = std::collections::HashSet::new();
    for (l, r) in &catalog.pairs {
        if l == r || !food_names.contains(l.trim()) || !food_names.contains(r.trim()) {
            problems.push(format!("pair {l} / {r}: needs two different known foods"));
        }
        let key = if l < r { (l, r) } else { (r, l) };
        if !pairs.insert(key) {
            problems.push(format!("pair {l} / {r} is listed twice"));
        }
    }
    problems.extend(
        checks
            .0
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message)),
    );
    if !problems.is_empty() {
        bail!(
            "the catalog has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// The storage key of an image file: content-addressed, so changed bytes get a new key.
pub fn image_key(relative: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let file = relative.rsplit('/').next().unwrap_or(relative);
    let (stem, ext) = file
        .rsplit_once('.')
        .context("image files need an extension")?;
    let ext = ext.to_ascii_lowercase();
    if !is_image_extension(&ext) {
        bail!("{relative}: images must be .jpg, .png, .webp or .gif");
    }
    let hash = hex::encode(&Sha256::digest(bytes)[..8]);
    Ok(format!("seed/{hash}-{}.{ext}", normalise_stem(stem)))
}

fn is_image_extension(ext: &str) -> bool {
    matches!(ext, "jpg" | "jpeg" | "png" | "webp" | "gif")
}

/// A file name stem as it appears in keys: lowercase ASCII letters, digits, `-` and `_`.
fn normalise_stem(stem: &str) -> String {
    stem.to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect()
}

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
        let wanted = ExistingFood {
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
                if !wanted.same_as(old) || *old_categories != categories {
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
                let now = now_ms();
                let id = insert_returning_id(
                    &txn,
                    "INSERT INTO foods (name, description, details, name_en, description_en, details_en, \
                     image_key, credit, alt_image_key, alt_credit, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    vals![
                        name.clone(),
                        wanted.description,
                        wanted.details,
                        wanted.name_en,
                        wanted.description_en,
                        wanted.details_en,
                        wanted.image_key,
                        wanted.credit,
                        wanted.alt_image_key,
                        wanted.alt_credit,
                        now,
                        now
                    ],
                )
                .await?;
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

#[derive(Debug, FromQueryResult)]
struct ExistingFood {
    id: i64,
    name: String,
    description: String,
    details: String,
    name_en: String,
    description_en: String,
    details_en: String,
    image_key: Option<String>,
    credit: String,
    alt_image_key: Option<String>,
    alt_credit: Option<String>,
}

impl ExistingFood {
    fn same_as(&self, other: &ExistingFood) -> bool {
        let texts = |f: &ExistingFood| {
            (
                f.description.clone(),
                f.details.clone(),
                f.name_en.clone(),
                f.description_en.clone(),
                f.details_en.clone(),
            )
        };
        texts(self) == texts(other)
            && (
                &self.image_key,
                &self.credit,
                &self.alt_image_key,
                &self.alt_credit,
            ) == (
                &other.image_key,
                &other.credit,
                &other.alt_image_key,
                &other.alt_credit,
            )
    }
}

/// Every food by name with its sorted category names (two queries).
async fn existing_foods(
    c: &impl ConnectionTrait,
) -> anyhow::Result<HashMap<String, (ExistingFood, Vec<String>)>> {
    let foods = fetch_all::<ExistingFood>(
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

/// A catalog read from the database, ready to be written as a catalog folder.
pub struct Export {
    pub catalog: Catalog,
    /// Each image file of the catalog (`images/…`) and the storage key it is read from.
    pub images: Vec<(String, String)>,
}

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub categories: usize,
    pub foods: usize,
    pub books: usize,
    pub pairs: usize,
    pub images: usize,
}

impl Export {
    /// Reads the whole catalog (in a handful of queries) in the format's order: categories and
    /// foods by name, books by priority then name, pairs in the order they were made.
    pub async fn read(c: &impl ConnectionTrait) -> anyhow::Result<Export> {
        #[derive(FromQueryResult)]
        struct NameRow {
            name: String,
            name_en: String,
        }
        let mut categories: Vec<CategoryEntry> =
            fetch_all::<NameRow>(c, "SELECT name, name_en FROM categories", vec![])
                .await?
                .into_iter()
                .map(|r| CategoryEntry {
                    name: r.name,
                    name_en: r.name_en,
                })
                .collect();
        categories.sort_by(|a, b| a.name.cmp(&b.name));

        let mut files = ImageFiles::default();
        let mut foods: Vec<(ExistingFood, Vec<String>)> =
            existing_foods(c).await?.into_values().collect();
        foods.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        let foods: Vec<FoodEntry> = foods
            .into_iter()
            .map(|(f, mut categories)| {
                categories.sort();
                FoodEntry {
                    image: f.image_key.as_deref().map(|k| files.path_of(k)),
                    alt_image: f.alt_image_key.as_deref().map(|k| files.path_of(k)),
                    name: f.name,
                    description: f.description,
                    details: f.details,
                    name_en: f.name_en,
                    description_en: f.description_en,
                    details_en: f.details_en,
                    categories,
                    credit: f.credit,
                    alt_credit: f.alt_credit,
                }
            })
            .collect();

        #[derive(FromQueryResult)]
        struct BookRow {
            id: i64,
            name: String,
            name_en: String,
            description: String,
            description_en: String,
            priority: i64,
            cover_key: Option<String>,
        }
        #[derive(FromQueryResult)]
        struct MemberRow {
            book_id: i64,
            name: String,
        }
        let mut members: HashMap<i64, Vec<String>> = HashMap::new();
        for row in fetch_all::<MemberRow>(
            c,
            "SELECT bf.book_id, f.name FROM book_foods bf JOIN foods f ON f.id = bf.food_id WHERE f.book_id IS NULL",
            vec![],
        )
        .await?
        {
            members.entry(row.book_id).or_default().push(row.name);
        }
        let mut books = fetch_all::<BookRow>(
            c,
            "SELECT id, name, name_en, description, description_en, priority, cover_key \
             FROM books WHERE owner_id IS NULL",
            vec![],
        )
        .await?;
        books.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let books: Vec<BookEntry> = books
            .into_iter()
            .map(|b| {
                let mut foods = members.remove(&b.id).unwrap_or_default();
                foods.sort();
                BookEntry {
                    cover: b.cover_key.as_deref().map(|k| files.path_of(k)),
                    name: b.name,
                    name_en: b.name_en,
                    description: b.description,
                    description_en: b.description_en,
                    priority: b.priority,
                    foods,
                }
            })
            .collect();

        #[derive(FromQueryResult)]
        struct PairRow {
            left_name: String,
            right_name: String,
        }
        let pairs = fetch_all::<PairRow>(
            c,
            "SELECT l.name AS left_name, r.name AS right_name FROM quiz_pairs p \
             JOIN foods l ON l.id = p.left_id JOIN foods r ON r.id = p.right_id ORDER BY p.id",
            vec![],
        )
        .await?
        .into_iter()
        .map(|p| (p.left_name, p.right_name))
        .collect();

        Ok(Export {
            catalog: Catalog {
                format: "ipmat-catalog".to_owned(),
                version: 1,
                categories,
                foods,
                books,
                pairs,
            },
            images: files.files,
        })
    }

    /// Writes `catalog.json` and the images into `dir`, which must be new or empty.
    pub async fn write(
        &self,
        storage: &Storage,
        dir: &Path,
        progress: &Progress,
    ) -> anyhow::Result<ExportReport> {
        match std::fs::read_dir(dir) {
            Ok(mut entries) => anyhow::ensure!(
                entries.next().is_none(),
                "{} is not empty: export into a new or empty folder",
                dir.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        }
        tokio::fs::create_dir_all(dir.join("images"))
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
        let total = self.images.len() as u64;
        for (done, (file, key)) in self.images.iter().enumerate() {
            let bytes = storage
                .get(key)
                .await?
                .with_context(|| format!("image {key} is missing from the storage"))?;
            tokio::fs::write(dir.join(file), &bytes)
                .await
                .with_context(|| format!("writing {file}"))?;
            progress.step("images", done as u64 + 1, total);
        }
        let mut json = serde_json::to_vec_pretty(&self.catalog)?;
        json.push(b'\n');
        tokio::fs::write(dir.join("catalog.json"), json)
            .await
            .context("writing catalog.json")?;
        progress.finish();
        Ok(ExportReport {
            categories: self.catalog.categories.len(),
            foods: self.catalog.foods.len(),
            books: self.catalog.books.len(),
            pairs: self.catalog.pairs.len(),
            images: self.images.len(),
        })
    }
}

/// The file names of exported images, one per storage key.
#[derive(Default)]
struct ImageFiles {
    by_key: HashMap<String, String>,
    taken: std::collections::HashSet<String>,
    files: Vec<(String, String)>,
}

impl ImageFiles {
    /// The catalog path of the image under `key`: `images/<stem>.<ext>`, where the stem is the
    /// key's file name without the content hash that [`image_key`] adds. Importing the file
    /// gives back the same stem, so a second export names every file the same way.
    fn path_of(&mut self, key: &str) -> String {
        if let Some(path) = self.by_key.get(key) {
            return path.clone();
        }
        let (stem, ext) = export_stem(key);
        let mut path = format!("images/{stem}.{ext}");
        let mut n = 1;
        while self.taken.contains(&path) {
            n += 1;
            path = format!("images/{stem}-{n}.{ext}");
        }
        self.taken.insert(path.clone());
        self.by_key.insert(key.to_owned(), path.clone());
        self.files.push((path.clone(), key.to_owned()));
        path
    }
}

/// The normalised stem and extension an exported image file gets from its key.
fn export_stem(key: &str) -> (String, String) {
    let file = key.rsplit('/').next().unwrap_or(key);
    let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
    let ext = ext.to_ascii_lowercase();
    let ext = if is_image_extension(&ext) {
        ext
    } else {
        "jpg".to_owned()
    };
    // `seed/<16 hex>-<stem>.<ext>`: the hash is recomputed on import.
    let stem = match stem.split_once('-') {
        Some((hash, rest))
            if key.starts_with("seed/")
                && hash.len() == 16
                && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            rest
        }
        _ => stem,
    };
    let stem = normalise_stem(stem);
    (
        if stem.is_empty() {
            "image".to_owned()
        } else {
            stem
        },
        ext,
    )
}

/// Loads the bundled catalog when the database has no foods and no books.
pub async fn seed_if_empty(db: &Db, storage: &Storage) -> anyhow::Result<()> {
    let foods = fetch_i64(db, "SELECT COUNT(*) FROM foods", vec![])
        .await?
        .unwrap_or(0);
    let books = fetch_i64(db, "SELECT COUNT(*) FROM books", vec![])
        .await?
        .unwrap_or(0);
    if foods > 0 || books > 0 {
        return Ok(());
    }
    let report = import(db, storage, &Source::Bundled, &Progress::quiet()).await?;
    tracing::info!(
        foods = report.foods_created,
        books = report.books_created,
        pairs = report.pairs_created,
        "loaded the bundled catalog into the empty database"
    );
    Ok(())
}

/// Whether a path looks like a catalog folder.
pub fn is_catalog_dir(path: &Path) -> bool {
    path.join("catalog.json").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_catalog_is_valid_and_big_enough() {
        let catalog = Source::Bundled.catalog().unwrap();
        validate(&catalog).unwrap();
        assert!(catalog.foods.len() >= 100, "{} foods", catalog.foods.len());
        assert!(catalog.categories.len() >= 6);
        assert!(catalog.books.len() >= 8);
        assert!(
            catalog
                .books
                .iter()
                .all(|b| (16..=64).contains(&b.foods.len()))
        );
        assert!(catalog.pairs.len() >= 60);
        for f in &catalog.foods {
            let image = f.image.as_ref().expect("every bundled food has an image");
            assert!(Bundled::get(image).is_some(), "{image} is missing");
        }
    }

    #[test]
    fn the_bundled_catalog_is_written_in_english_too() {
        let catalog = Source::Bundled.catalog().unwrap();
        let blank = |s: &str| s.trim().is_empty();
        for c in &catalog.categories {
            assert!(
                !blank(&c.name_en),
                "category {} has no English name",
                c.name
            );
        }
        for f in &catalog.foods {
            assert!(
                !blank(&f.name_en) && !blank(&f.description_en) && !blank(&f.details_en),
                "food {} lacks English",
                f.name
            );
            let hangul = f.name_en.chars().any(|c| ('가'..='힣').contains(&c));
            assert!(!hangul, "food {}: the English name is romanised", f.name);
        }
        for b in &catalog.books {
            assert!(!blank(&b.name_en), "book {} has no English name", b.name);
        }
        let mut names: Vec<&str> = catalog.foods.iter().map(|f| f.name_en.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            catalog.foods.len(),
            "English food names are distinct"
        );
    }

    #[test]
    fn validation_reports_every_broken_reference() {
        let catalog = Catalog {
            format: "ipmat-catalog".into(),
            version: 1,
            categories: vec![CategoryEntry {
                name: "면".into(),
                name_en: "Noodles".into(),
            }],
            foods: vec![FoodEntry {
                name: "라면".into(),
                description: String::new(),
                details: String::new(),
                name_en: "Ramyeon".into(),
                description_en: String::new(),
                details_en: String::new(),
                categories: vec!["없는분류".into()],
                image: None,
                credit: String::new(),
                alt_image: None,
                alt_credit: None,
            }],
            books: vec![BookEntry {
                name: "b".into(),
                name_en: "x".repeat(limits::BOOK_NAME_EN + 1),
                description: String::new(),
                description_en: String::new(),
                priority: 0,
                cover: None,
                foods: vec!["우동".into()],
            }],
            pairs: vec![("라면".into(), "라면".into())],
        };
        let message = validate(&catalog).unwrap_err().to_string();
        assert!(message.contains("4 problem"), "{message}");
        assert!(message.contains("book b: name_en"), "{message}");
    }

    #[test]
    fn image_keys_are_content_addressed_and_safe() {
        let a = image_key("images/Kimchi Jjigae.JPG", b"one").unwrap();
        assert!(crate::media::is_valid_key(&a), "{a}");
        assert_ne!(a, image_key("images/Kimchi Jjigae.JPG", b"two").unwrap());
        assert!(image_key("images/x.svg", b"").is_err());
    }

    #[test]
    fn exported_file_names_survive_a_round_trip() {
        let mut files = ImageFiles::default();
        let seed = image_key("images/Kimchi Jjigae.JPG", b"one").unwrap();
        let path = files.path_of(&seed);
        assert_eq!(path, "images/kimchi-jjigae.jpg");
        assert_eq!(files.path_of(&seed), path, "one file per key");
        // Another picture with the same name gets its own file.
        let other = image_key("images/kimchi-jjigae.jpg", b"two").unwrap();
        assert_eq!(files.path_of(&other), "images/kimchi-jjigae-2.jpg");
        // Uploads keep their random name.
        let upload = "img/0123456789abcdef0123456789abcdef.png";
        assert_eq!(
            files.path_of(upload),
            "images/0123456789abcdef0123456789abcdef.png"
        );
        // Importing an exported file and exporting it again names it the same way.
        for (path, _) in files.files.clone() {
            let again = image_key(&path, b"any bytes").unwrap();
            let (stem, ext) = export_stem(&again);
            assert_eq!(format!("images/{stem}.{ext}"), path);
        }
    }
}
