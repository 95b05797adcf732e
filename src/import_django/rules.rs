//! The rules that turn the original's loosely checked values into ipmat's: text limits, login
//! names, birth dates, share codes, visitor days and scores. No I/O here.

use std::collections::{HashMap, HashSet};

use crate::quiz::model::{CODE_ALPHABET, LEGACY_CODE_LEN};

/// A single line as ipmat stores it: control characters (newlines, tabs) become spaces, the
/// ends are trimmed and the text is cut to `max` characters. Answers the text and whether it
/// changed beyond trimming.
pub fn clean_line(value: &str, max: usize) -> (String, bool) {
    let spaced: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = spaced.trim();
    let cut: String = trimmed.chars().take(max).collect();
    let cut = cut.trim_end().to_owned();
    let changed = cut != value.trim();
    (cut, changed)
}

/// A multi-line text as ipmat stores it: `\r\n` becomes `\n`, other control characters are
/// dropped, the ends are trimmed and the text is cut to `max` characters.
pub fn clean_text(value: &str, max: usize) -> (String, bool) {
    let unified = value.replace("\r\n", "\n");
    let kept: String = unified
        .chars()
        .filter(|&c| c == '\n' || !c.is_control())
        .collect();
    let cut: String = kept.trim().chars().take(max).collect();
    let cut = cut.trim_end().to_owned();
    let changed = cut != value.trim();
    (cut, changed)
}

/// Whether a login name already follows ipmat's rules (3..=15 of `[A-Za-z0-9_.-]`).
pub fn is_valid_username(name: &str) -> bool {
    crate::accounts::validate_username(name).is_ok()
}

/// The valid name closest to an original login name: the allowed characters kept, cut to 15,
/// and padded when fewer than 3 remain.
pub fn username_candidate(login: &str) -> String {
    let kept: String = login
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(15)
        .collect();
    match kept.chars().count() {
        0 => "member".to_owned(),
        1 | 2 => format!("{kept}_member"),
        _ => kept,
    }
}

/// `base` with a numeric suffix (`base_2`), cut so the whole stays within 15 characters.
fn with_suffix(base: &str, n: usize) -> String {
    let suffix = format!("_{n}");
    let keep = 15 - suffix.len();
    let stem: String = base.chars().take(keep).collect();
    format!("{stem}{suffix}")
}

/// Why a member's ipmat name differs from their original login name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// The original name breaks ipmat's rules.
    Invalid,
    /// The name is taken (by another member of the original, differing only in case, or by
    /// someone already in ipmat).
    Taken,
}

/// Gives each original login name a valid, unique (case-insensitively) ipmat name.
///
/// `logins` come in the original's order; `taken` holds the lower-case names already in use in
/// ipmat by people this import did not create. Names that are valid as they stand are served
/// first, in order, so a name that had to be changed never takes a valid one's place.
pub fn assign_usernames(
    logins: &[String],
    taken: &HashSet<String>,
) -> Vec<(String, Option<Rename>)> {
    let mut used: HashSet<String> = taken.clone();
    let mut out: Vec<Option<(String, Option<Rename>)>> = vec![None; logins.len()];
    for (i, login) in logins.iter().enumerate() {
        if is_valid_username(login) && used.insert(login.to_lowercase()) {
            out[i] = Some((login.clone(), None));
        }
    }
    for (i, login) in logins.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let valid = is_valid_username(login);
        let base = if valid {
            login.clone()
        } else {
            username_candidate(login)
        };
        let mut name = base.clone();
        let mut n = 1;
        while !used.insert(name.to_lowercase()) {
            n += 1;
            name = with_suffix(&base, n);
        }
        let reason = if valid {
            Rename::Taken
        } else {
            Rename::Invalid
        };
        out[i] = Some((name, Some(reason)));
    }
    out.into_iter()
        .map(|o| o.expect("every login got a name in one of the two passes"))
        .collect()
}

/// A display name from an original login name: control characters dropped, at most 20
/// characters; `None` when nothing is left.
pub fn display_name(login: &str) -> Option<String> {
    let (name, _) = clean_line(login, 20);
    (!name.is_empty()).then_some(name)
}

/// The original's three birth-date integers as `YYYY-MM-DD`, or `None` when they name no real
/// date between 1900-01-01 and `today`.
pub fn birth_date(year: i64, month: i64, day: i64, today: time::Date) -> Option<String> {
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    (date.year() >= 1900 && date <= today).then(|| {
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    })
}

/// An original share code (5 hex characters, any case) in its stored form: upper case.
pub fn legacy_code(hash_id: &str) -> Option<String> {
    let code = hash_id.trim().to_ascii_uppercase();
    (code.len() == LEGACY_CODE_LEN && code.bytes().all(|b| b.is_ascii_hexdigit())).then_some(code)
}

/// Why an exam does not keep its original code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeChange {
    /// The original code is not 5 hex characters.
    Malformed,
    /// An older exam (lower id) of the original has the same code.
    DuplicateOf(i64),
    /// Something already in ipmat uses the code.
    InUse,
}

/// Decides which exams keep their original code: walking them oldest first, each keeps its
/// code unless it is malformed, already claimed by an older exam, or in `in_use`. Answers, per
/// exam, the kept code or the reason it needs a fresh one.
pub fn assign_codes(
    exams: &[(i64, String)],
    in_use: &HashSet<String>,
) -> HashMap<i64, Result<String, CodeChange>> {
    let mut order: Vec<&(i64, String)> = exams.iter().collect();
    order.sort_by_key(|(id, _)| *id);
    let mut claimed: HashMap<String, i64> = HashMap::new();
    let mut out = HashMap::new();
    for (id, hash_id) in order {
        let result = match legacy_code(hash_id) {
            None => Err(CodeChange::Malformed),
            Some(code) if in_use.contains(&code) => Err(CodeChange::InUse),
            Some(code) => match claimed.get(&code) {
                Some(&older) => Err(CodeChange::DuplicateOf(older)),
                None => {
                    claimed.insert(code.clone(), *id);
                    Ok(code)
                }
            },
        };
        out.insert(*id, result);
    }
    out
}

/// Whether a fresh code is well formed (6 characters of the share-code alphabet).
pub fn is_fresh_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// The original's `YYYYMMDD` visitor date as `YYYY-MM-DD`, when it is a real date.
pub fn visitor_day(date: &str) -> Option<String> {
    let date = date.trim();
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (&date[..4], &date[4..6], &date[6..]);
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(format!("{y}-{m}-{d}"))
}

/// Sums visitor rows per day (the original could write two rows for one date). Answers the
/// days in order and how many rows were merged into another.
pub fn merge_visitor_days(rows: &[(String, i64)]) -> (Vec<(String, i64)>, usize) {
    let mut days: std::collections::BTreeMap<String, i64> = Default::default();
    let mut merged = 0;
    for (day, count) in rows {
        let entry = days.entry(day.clone());
        if matches!(entry, std::collections::btree_map::Entry::Occupied(_)) {
            merged += 1;
        }
        *entry.or_insert(0) += (*count).max(0);
    }
    (days.into_iter().collect(), merged)
}

/// The original's score of one participant: how many of their guesses equal the author's
/// answer, over the questions they answered. `answers` maps question → the author's answer,
/// `guesses` question → the guess.
pub fn score(answers: &HashMap<i64, i64>, guesses: &HashMap<i64, i64>) -> i64 {
    guesses
        .iter()
        .filter(|(q, g)| answers.get(q) == Some(g))
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(logins: &[&str], taken: &[&str]) -> Vec<(String, Option<Rename>)> {
        let logins: Vec<String> = logins.iter().map(|s| s.to_string()).collect();
        let taken = taken.iter().map(|s| s.to_string()).collect();
        assign_usernames(&logins, &taken)
    }

    #[test]
    fn valid_login_names_are_kept_and_others_mapped_to_unique_valid_ones() {
        let got = names(
            &[
                "jinsu",
                "김철수",
                "ab",
                "a b c d",
                "Jinsu",
                "member",
                "admin",
            ],
            &["admin"],
        );
        let plain: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            plain,
            [
                "jinsu",
                "member_2",
                "ab_member",
                "abcd",
                "Jinsu_2",
                "member",
                "admin_2"
            ]
        );
        assert_eq!(got[0].1, None);
        assert_eq!(got[1].1, Some(Rename::Invalid));
        assert_eq!(got[4].1, Some(Rename::Taken));
        assert_eq!(got[5].1, None, "a valid name is served before mapped ones");
        assert_eq!(got[6].1, Some(Rename::Taken));
        for (n, _) in &got {
            assert!(is_valid_username(n), "{n}");
        }
    }

    #[test]
    fn suffixes_keep_names_within_fifteen_characters() {
        let got = names(&["abcdefghijklmno", "ABCDEFGHIJKLMNO"], &[]);
        assert_eq!(got[1].0, "ABCDEFGHIJKLM_2");
        assert!(is_valid_username(&got[1].0));
    }

    #[test]
    fn impossible_birth_dates_become_none() {
        let today = time::macros::date!(2026 - 12 - 01);
        assert_eq!(birth_date(1997, 1, 1, today).as_deref(), Some("1997-01-01"));
        assert_eq!(
            birth_date(2000, 2, 29, today).as_deref(),
            Some("2000-02-29")
        );
        for (y, m, d) in [
            (1997, 2, 31),
            (1999, 2, 29),
            (1997, 13, 1),
            (1997, 0, 10),
            (1997, 4, 0),
            (1850, 1, 1),
            (2030, 1, 1),
            (-1, -1, -1),
        ] {
            assert_eq!(birth_date(y, m, d, today), None, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn the_older_exam_keeps_a_duplicate_code() {
        let exams = vec![
            (7, "ab12f".to_owned()),
            (3, "AB12F".to_owned()),
            (5, "zz".to_owned()),
            (9, "0c0c0".to_owned()),
            (11, "77777".to_owned()),
        ];
        let in_use = HashSet::from(["77777".to_owned()]);
        let got = assign_codes(&exams, &in_use);
        assert_eq!(got[&3], Ok("AB12F".to_owned()));
        assert_eq!(got[&7], Err(CodeChange::DuplicateOf(3)));
        assert_eq!(got[&5], Err(CodeChange::Malformed));
        assert_eq!(got[&9], Ok("0C0C0".to_owned()));
        assert_eq!(got[&11], Err(CodeChange::InUse));
    }

    #[test]
    fn legacy_codes_never_look_like_fresh_ones() {
        assert_eq!(legacy_code(" 3f2a1 ").as_deref(), Some("3F2A1"));
        assert_eq!(legacy_code("3f2a1b"), None);
        assert_eq!(legacy_code("3g2a1"), None);
        assert!(!is_fresh_code("3F2A1"));
    }

    #[test]
    fn visitor_days_are_checked_and_duplicates_summed() {
        assert_eq!(visitor_day("20190305").as_deref(), Some("2019-03-05"));
        assert_eq!(visitor_day("20190230"), None);
        assert_eq!(visitor_day("2019-3-5"), None);
        let (days, merged) = merge_visitor_days(&[
            ("2019-03-05".into(), 4),
            ("2019-03-06".into(), 2),
            ("2019-03-05".into(), 3),
        ]);
        assert_eq!(
            days,
            [("2019-03-05".to_owned(), 7), ("2019-03-06".to_owned(), 2)]
        );
        assert_eq!(merged, 1);
    }

    #[test]
    fn text_is_cut_to_the_limits_and_lines_lose_control_characters() {
        assert_eq!(clean_line("  족발 ", 15), ("족발".to_owned(), false));
        assert_eq!(clean_line("a\nb", 15), ("a b".to_owned(), true));
        assert_eq!(clean_line("abcdef", 3), ("abc".to_owned(), true));
        let long = "가".repeat(320);
        let (text, changed) = clean_text(&long, 300);
        assert_eq!(text.chars().count(), 300);
        assert!(changed);
        assert_eq!(clean_text("a\r\nb", 300), ("a\nb".to_owned(), true));
    }

    #[test]
    fn scores_count_the_answered_questions_that_match() {
        let answers = HashMap::from([(1, 10), (2, 20), (3, 30)]);
        let guesses = HashMap::from([(1, 10), (3, 31)]);
        assert_eq!(score(&answers, &guesses), 1);
    }
}
