//! `ipmat import-django`: moves a database of the original 2019 Django server (MySQL or
//! MariaDB) and its images into ipmat. See `docs/migrate-from-django.md`.
//!
//! The original is read whole first ([`source`]), then written stage by stage, one transaction
//! per kind of data, in dependency order: categories, foods (with their images), books, the
//! question bank, members, favourites, exams, attempts, visitor counts. Every stage finds what
//! an earlier run brought across (by name for the catalog, through the `django_imports` ledger
//! for members, exams and attempts), so a run that failed half-way is simply run again, and a
//! second run creates nothing. A dry run does the same work inside one transaction that is
//! rolled back, and stores no image.

mod catalog;
mod exams;
pub mod images;
mod ledger;
mod members;
pub mod report;
pub mod rules;
pub mod source;
mod visitors;

use std::collections::HashMap;

use anyhow::Context;
use sea_orm::{DatabaseTransaction, TransactionTrait};

use crate::db::Db;
use crate::media::Storage;

pub use images::MediaSource;
pub use report::Report;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// `mysql://USER:PASS@HOST[:PORT]/DB` of the original database.
    pub from: String,
    pub media: MediaSource,
    /// Read and check everything, write nothing.
    pub dry_run: bool,
    /// No progress output (tests, scripts).
    pub quiet: bool,
}

/// The ids the original's rows became, handed from stage to stage.
#[derive(Debug, Default)]
struct Ids {
    /// original category id → ipmat category id
    categories: HashMap<i64, i64>,
    /// original food id → ipmat food id
    foods: HashMap<i64, i64>,
    /// original book id → ipmat book id
    books: HashMap<i64, i64>,
    /// original pair id → ipmat pair
    pairs: HashMap<i64, PairIds>,
    /// original login name → (ipmat user id, username)
    members: HashMap<String, (i64, String)>,
    /// original exam id → ipmat exam
    exams: HashMap<i64, ExamIds>,
}

#[derive(Debug, Clone, Copy)]
struct PairIds {
    id: i64,
    left: i64,
    right: i64,
}

#[derive(Debug, Clone)]
struct ExamIds {
    id: i64,
    code: String,
    author: String,
    /// original question id → (pair id, the author's answer), the questions imported
    questions: HashMap<i64, (i64, i64)>,
}

trait FinishWithPosition {
    /// Fills the bar of a stage that reports no steps of its own, and leaves it shown.
    fn finish_with_position(&self);
}

impl FinishWithPosition for indicatif::ProgressBar {
    fn finish_with_position(&self) {
        if let Some(len) = self.length() {
            self.set_position(len);
        }
        self.finish();
    }
}

/// Progress bars, one per stage, on a terminal; nothing otherwise.
struct Bars {
    visible: bool,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        use std::io::IsTerminal;
        Bars {
            visible: !quiet && std::io::stderr().is_terminal(),
        }
    }

    fn stage(&self, name: &str, len: usize) -> indicatif::ProgressBar {
        if !self.visible {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(name.to_owned());
        bar
    }
}

/// Turns `mariadb://` into the `mysql://` the driver knows, and refuses other engines.
fn source_url(from: &str) -> anyhow::Result<String> {
    let from = from.trim();
    if let Some(rest) = from.strip_prefix("mariadb://") {
        return Ok(format!("mysql://{rest}"));
    }
    anyhow::ensure!(
        from.starts_with("mysql://"),
        "--from must be a mysql:// (or mariadb://) URL of the original database"
    );
    Ok(from.to_owned())
}

/// Runs the import into `target` and `storage` (see the module comment).
pub async fn run(target: &Db, storage: &Storage, options: &Options) -> anyhow::Result<Report> {
    let url = source_url(&options.from)?;
    let bars = Bars::new(options.quiet);
    let original_db = crate::db::connect(&url, 2)
        .await
        .context("cannot connect to the original database (--from)")?;
    let bar = bars.stage("reading", source::TABLE_COUNT as usize);
    let original = source::read(&original_db, |_| bar.inc(1)).await;
    bar.finish();
    original_db.close().await.ok();
    let original = original?;

    let images = images::Images::new(options.media.clone(), storage.clone(), options.dry_run)?;
    let mut report = Report {
        dry_run: options.dry_run,
        ..Report::default()
    };
    let mut ids = Ids::default();

    // A dry run nests every stage in one transaction that is rolled back at the end.
    let outer = if options.dry_run {
        Some(crate::db::begin(target).await?)
    } else {
        None
    };
    async fn open(
        outer: &Option<DatabaseTransaction>,
        db: &Db,
    ) -> anyhow::Result<DatabaseTransaction> {
        Ok(match outer {
            Some(t) => t.begin().await?,
            None => crate::db::begin(db).await?,
        })
    }

    let stage = |name: &str, len: usize| bars.stage(name, len);

    let bar = stage("categories", original.categories.len());
    let txn = open(&outer, target).await?;
    catalog::categories(&txn, &original, &mut ids, &mut report).await?;
    txn.commit().await.context("saving the categories")?;
    bar.finish_with_position();

    let bar = stage("foods", original.foods.len());
    let txn = open(&outer, target).await?;
    let mut stored = Vec::new();
    let result = catalog::foods(
        &txn,
        &original,
        &images,
        &mut ids,
        &mut report,
        &bar,
        &mut stored,
    )
    .await;
    finish_stage(txn, result, "the foods", target, storage, &stored).await?;
    bar.finish();

    let bar = stage("books", original.books.len());
    let txn = open(&outer, target).await?;
    let mut stored = Vec::new();
    let result = catalog::books(
        &txn,
        &original,
        &images,
        &mut ids,
        &mut report,
        &bar,
        &mut stored,
    )
    .await;
    finish_stage(txn, result, "the books", target, storage, &stored).await?;
    bar.finish();

    let bar = stage("pairs", original.pairs.len());
    let txn = open(&outer, target).await?;
    catalog::pairs(&txn, &original, &mut ids, &mut report).await?;
    txn.commit().await.context("saving the question bank")?;
    bar.finish_with_position();

    let bar = stage("members", original.members.len());
    let txn = open(&outer, target).await?;
    members::members(&txn, &original, &mut ids, &mut report, &bar).await?;
    txn.commit().await.context("saving the members")?;
    bar.finish();

    let bar = stage("favorites", original.favorites.len());
    let txn = open(&outer, target).await?;
    members::favorites(&txn, &original, &ids, &mut report).await?;
    txn.commit().await.context("saving the favourites")?;
    bar.finish_with_position();

    let bar = stage("exams", original.exams.len());
    let txn = open(&outer, target).await?;
    exams::exams(&txn, &original, &mut ids, &mut report, &bar).await?;
    txn.commit().await.context("saving the exams")?;
    bar.finish();

    let bar = stage("attempts", original.guesses.len());
    let txn = open(&outer, target).await?;
    exams::attempts(&txn, &original, &ids, &mut report).await?;
    txn.commit().await.context("saving the attempts")?;
    bar.finish_with_position();

    let bar = stage("visitors", original.visitors.len());
    let txn = open(&outer, target).await?;
    visitors::visitors(&txn, &original, &mut report, &bar).await?;
    txn.commit().await.context("saving the visitor counts")?;
    bar.finish();

    if let Some(outer) = outer {
        outer.rollback().await?;
    }
    Ok(report)
}

/// Commits a stage that stored images, or rolls it back and deletes the images it stored
/// (nothing names them), so a failed stage leaves nothing behind.
async fn finish_stage(
    txn: DatabaseTransaction,
    result: anyhow::Result<()>,
    what: &str,
    db: &Db,
    storage: &Storage,
    stored: &[String],
) -> anyhow::Result<()> {
    match result {
        Ok(()) => txn.commit().await.with_context(|| format!("saving {what}")),
        Err(e) => {
            txn.rollback().await.ok();
            crate::media::release_unreferenced(db, storage, stored.to_vec()).await;
            Err(e.context(format!("importing {what}")))
        }
    }
}
