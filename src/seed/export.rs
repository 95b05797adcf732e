//! Exporting the database as a catalog folder.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;

use super::import::existing_foods;
use super::{
    BookEntry, Catalog, CategoryEntry, FoodEntry, Progress, is_image_extension, normalise_stem,
};
use crate::catalog::queries::FoodRow;
use crate::db::fetch_all;
use crate::media::Storage;

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
        let mut foods: Vec<(FoodRow, Vec<String>)> =
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::image_key;

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
