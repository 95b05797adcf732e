//! The original's visitor counts (logins per day) as ipmat's daily visitors.
//!
//! ipmat counts distinct visitors per day as rows of salted hashes; an imported day of `n`
//! visitors becomes `n` rows whose hashes are derived from the day and a running number, so
//! `GET /stats/visitors` shows the original's figure and a second run adds nothing. They can
//! never equal a real visitor's hash, whose salt is random.

use sea_orm::{DatabaseTransaction, Value};
use sha2::{Digest, Sha256};

use super::report::Report;
use super::rules::{merge_visitor_days, visitor_day};
use super::source::Original;
use crate::db::{exec, insert_ignore_sql};

/// Rows written per statement.
const CHUNK: usize = 200;

/// The stored hash of the `n`-th imported visitor of `day`.
fn imported_visitor(day: &str, n: i64) -> String {
    hex::encode(Sha256::digest(format!("ipmat import-django {day} {n}")))
}

pub(super) async fn visitors(
    txn: &DatabaseTransaction,
    original: &Original,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(txn);
    let mut rows = Vec::new();
    for v in &original.visitors {
        match visitor_day(&v.date) {
            Some(day) => rows.push((day, v.count)),
            None => {
                report.counts.visitor_days.skipped += 1;
                report.skip("visitor day", &v.date, "not a date of the form YYYYMMDD");
            }
        }
    }
    let (days, merged) = merge_visitor_days(&rows);
    if merged > 0 {
        report.change(
            "visitor day",
            format!("{merged} rows"),
            "a second row for the same date; the counts were summed",
        );
    }
    report.counts.visitor_days.found = days.len();
    for (day, count) in days {
        bar.inc(1);
        if count == 0 {
            report.counts.visitor_days.skipped += 1;
            continue;
        }
        let mut inserted = 0;
        let numbers: Vec<i64> = (0..count).collect();
        for chunk in numbers.chunks(CHUNK) {
            let sql = insert_ignore_sql(
                backend,
                &format!(
                    "INTO visitors (day, visitor_hash) VALUES {}",
                    vec!["(?, ?)"; chunk.len()].join(", ")
                ),
            );
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|&n| [day.clone().into(), imported_visitor(&day, n).into()])
                .collect();
            inserted += exec(txn, &sql, values).await?.rows_affected();
        }
        if inserted > 0 {
            report.counts.visitor_days.created += 1;
        } else {
            report.counts.visitor_days.existing += 1;
        }
    }
    Ok(())
}
