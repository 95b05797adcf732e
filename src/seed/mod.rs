//! The catalog file format (`docs/catalog-format.md`), its import and export, and the bundled
//! catalog.
//!
//! Everything in a catalog refers to other entries by name (names are unique), so importing
//! the same catalog twice changes nothing the second time, and exporting a database then
//! importing the export into an empty one reproduces it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rust_embed::RustEmbed;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::model::{Checks, limits};
use crate::db::{Db, fetch_i64};
use crate::media::Storage;

mod export;
mod import;

pub use export::{Export, ExportReport};
pub use import::import;

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
}
