//! What an import did: counts per kind of data, and every row skipped or changed and why.

use std::fmt::Write as _;

use serde::Serialize;

/// Rows of one kind: read from the original, created now, there already (a second run, or a
/// name ipmat already had), and skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    pub found: usize,
    pub created: usize,
    pub existing: usize,
    pub skipped: usize,
}

/// Counts per kind of data, in the order of the stages.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub categories: Count,
    pub foods: Count,
    pub books: Count,
    pub book_foods: Count,
    pub pairs: Count,
    pub members: Count,
    pub favorites: Count,
    pub exams: Count,
    pub questions: Count,
    pub attempts: Count,
    pub visitor_days: Count,
}

/// Images of foods (main and second photo) and book covers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCounts {
    /// Processed and stored now.
    pub stored: usize,
    /// Processed, and found stored already (the same picture used twice, or a second run).
    pub reused: usize,
    /// No image, or the original's placeholder.
    pub absent: usize,
    /// Not found in the media source; the food or book came without it.
    pub missing: usize,
    /// Found but refused by the upload rules; the food or book came without it.
    pub broken: usize,
}

/// One row skipped or changed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: &'static str,
    pub item: String,
    pub reason: String,
}

/// A member whose ipmat username differs from their original login name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenamedMember {
    pub original: String,
    pub username: String,
    pub reason: &'static str,
}

/// An exam that could not keep its original share code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedCode {
    pub exam: i64,
    pub title: String,
    pub original_code: String,
    pub code: String,
    pub reason: String,
}

/// An attempt that answered only some questions: imported with the score it had over the
/// questions it answered, and flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartialAttempt {
    pub code: String,
    pub participant: String,
    pub answered: usize,
    pub total: usize,
    pub score: i64,
}

/// The whole report, printed as text and written as JSON with `--report FILE`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub counts: Counts,
    pub images: ImageCounts,
    /// Members created now under another name than their login name.
    pub renamed_members: Vec<RenamedMember>,
    /// Exams created now under a fresh code.
    pub changed_codes: Vec<ChangedCode>,
    /// Partial attempts created now.
    pub partial_attempts: Vec<PartialAttempt>,
    pub skipped: Vec<Note>,
    pub changed: Vec<Note>,
}

impl Report {
    pub(super) fn skip(
        &mut self,
        kind: &'static str,
        item: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Note {
            kind,
            item: item.into(),
            reason: reason.into(),
        });
    }

    pub(super) fn change(
        &mut self,
        kind: &'static str,
        item: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.changed.push(Note {
            kind,
            item: item.into(),
            reason: reason.into(),
        });
    }

    /// The report for a person: a table of counts, then every list that is not empty.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.dry_run {
            out.push_str("dry run: nothing was written\n");
        }
        let _ = writeln!(
            out,
            "{:<14}{:>8}{:>9}{:>10}{:>9}",
            "kind", "found", "created", "existing", "skipped"
        );
        let c = &self.counts;
        for (name, n) in [
            ("categories", c.categories),
            ("foods", c.foods),
            ("books", c.books),
            ("book foods", c.book_foods),
            ("pairs", c.pairs),
            ("members", c.members),
            ("favorites", c.favorites),
            ("exams", c.exams),
            ("questions", c.questions),
            ("attempts", c.attempts),
            ("visitor days", c.visitor_days),
        ] {
            let _ = writeln!(
                out,
                "{name:<14}{:>8}{:>9}{:>10}{:>9}",
                n.found, n.created, n.existing, n.skipped
            );
        }
        let i = &self.images;
        let _ = writeln!(
            out,
            "images: {} stored, {} already stored, {} none or placeholder, {} missing, {} broken",
            i.stored, i.reused, i.absent, i.missing, i.broken
        );
        if !self.renamed_members.is_empty() {
            out.push_str("\nmembers under a new username:\n");
            for r in &self.renamed_members {
                let _ = writeln!(out, "  {} -> {} ({})", r.original, r.username, r.reason);
            }
        }
        if !self.changed_codes.is_empty() {
            out.push_str("\nexams under a fresh share code:\n");
            for c in &self.changed_codes {
                let _ = writeln!(
                    out,
                    "  #{} {}: {:?} -> {} ({})",
                    c.exam, c.title, c.original_code, c.code, c.reason
                );
            }
        }
        if !self.partial_attempts.is_empty() {
            let _ = writeln!(
                out,
                "\n{} partial attempts imported (score over the answered questions):",
                self.partial_attempts.len()
            );
            for p in &self.partial_attempts {
                let _ = writeln!(
                    out,
                    "  {} by {}: {} of {} answered, score {}",
                    p.code, p.participant, p.answered, p.total, p.score
                );
            }
        }
        for (title, notes) in [("skipped", &self.skipped), ("changed", &self.changed)] {
            if !notes.is_empty() {
                let _ = writeln!(out, "\n{title}:");
                for n in notes {
                    let _ = writeln!(out, "  {} {}: {}", n.kind, n.item, n.reason);
                }
            }
        }
        out
    }
}
