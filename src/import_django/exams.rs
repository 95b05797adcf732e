//! Exams with their questions and share codes, then every participant's guesses as attempts
//! scored by the original's rule (a point for each guess equal to the author's answer).

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{DatabaseTransaction, FromQueryResult, Value};

use super::report::{ChangedCode, PartialAttempt, Report};
use super::rules::{self, CodeChange, clean_line};
use super::source::Original;
use super::{ExamIds, Ids, ledger};
use crate::db::{exec, fetch_all, insert_returning_id, now_ms};
use crate::quiz::model::{TITLE_MAX, new_code};
use crate::vals;

/// The title an exam gets when the original's is empty.
const UNTITLED: &str = "제목 없음";

pub(super) async fn exams(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &mut Ids,
    report: &mut Report,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    report.counts.exams.found = original.exams.len();
    report.counts.questions.found = original.questions.len();
    let imported = ledger::load(txn, ledger::EXAM).await?;
    #[derive(FromQueryResult)]
    struct CodeRow {
        id: i64,
        code: String,
    }
    let stored = fetch_all::<CodeRow>(txn, "SELECT id, code FROM exams", vec![]).await?;
    let ours: HashSet<i64> = imported.values().copied().collect();
    let code_of: HashMap<i64, String> = stored.iter().map(|r| (r.id, r.code.clone())).collect();
    let in_use: HashSet<String> = stored
        .iter()
        .filter(|r| !ours.contains(&r.id))
        .map(|r| r.code.clone())
        .collect();
    let mut all_codes: HashSet<String> = stored.into_iter().map(|r| r.code).collect();
    let decided = rules::assign_codes(
        &original
            .exams
            .iter()
            .map(|e| (e.id, e.hash_id.clone()))
            .collect::<Vec<_>>(),
        &in_use,
    );

    let mut questions_of: BTreeMap<i64, Vec<&super::source::Question>> = BTreeMap::new();
    for q in &original.questions {
        questions_of.entry(q.exam_id).or_default().push(q);
    }
    let base = now_ms();
    for (n, e) in original.exams.iter().enumerate() {
        bar.inc(1);
        let qs = questions_of.remove(&e.id).unwrap_or_default();
        let item = format!("#{} {:?}", e.id, e.title);
        let Some((author_id, _)) = ids.members.get(&e.author) else {
            report.counts.exams.skipped += 1;
            report.counts.questions.skipped += qs.len();
            report.skip(
                "exam",
                item,
                format!("its author {:?} was not imported", e.author),
            );
            continue;
        };
        // The questions, in the author's order: each a pair of the bank once, answered with
        // one of its two foods.
        let mut questions: Vec<(i64, i64, i64)> = Vec::new();
        let mut pairs_used = HashSet::new();
        let mut dropped = Vec::new();
        for q in &qs {
            let Some(pair) = ids.pairs.get(&q.pair_id) else {
                dropped.push(format!("question #{}: its pair was not imported", q.id));
                continue;
            };
            let answer = ids.foods.get(&q.answer_id).copied();
            if answer != Some(pair.left) && answer != Some(pair.right) {
                dropped.push(format!(
                    "question #{}: the answer is not one of its pair",
                    q.id
                ));
                continue;
            }
            if !pairs_used.insert(pair.id) {
                dropped.push(format!("question #{}: the pair is asked twice", q.id));
                continue;
            }
            questions.push((q.id, pair.id, answer.unwrap_or_default()));
        }
        let exists = imported.get(&e.id.to_string()).copied();
        let counts = |report: &mut Report, created: bool| {
            let c = &mut report.counts.questions;
            c.skipped += dropped.len();
            if created {
                c.created += questions.len();
            } else {
                c.existing += questions.len();
            }
        };
        if let Some(exam_id) = exists {
            counts(report, false);
            report.counts.exams.existing += 1;
            match code_of.get(&exam_id) {
                Some(code) => {
                    ids.exams.insert(
                        e.id,
                        ExamIds {
                            id: exam_id,
                            code: code.clone(),
                            author: e.author.clone(),
                            questions: questions.iter().map(|&(q, p, a)| (q, (p, a))).collect(),
                        },
                    );
                }
                None => report.skip("exam", item, "imported before, and deleted since"),
            }
            continue;
        }
        if questions.is_empty() {
            report.counts.exams.skipped += 1;
            report.counts.questions.skipped += dropped.len();
            report.skip("exam", item, "no question left to ask");
            continue;
        }
        counts(report, true);
        for d in dropped {
            report.skip("question", format!("exam #{}", e.id), d);
        }
        let (mut title, changed) = clean_line(&e.title, TITLE_MAX);
        if title.is_empty() {
            title = UNTITLED.to_owned();
            report.change("exam", &item, format!("empty title; called {UNTITLED:?}"));
        } else if changed {
            report.change("exam", &item, format!("title cleaned to {title:?}"));
        }
        let code = match decided.get(&e.id) {
            Some(Ok(code)) => code.clone(),
            other => {
                let code = loop {
                    let c = new_code(&mut rand::rng());
                    if !all_codes.contains(&c) {
                        break c;
                    }
                };
                let reason = match other {
                    Some(Err(CodeChange::DuplicateOf(older))) => {
                        format!("exam #{older} is older and keeps the code")
                    }
                    Some(Err(CodeChange::InUse)) => "an exam in ipmat already has it".to_owned(),
                    _ => "not 5 hex characters".to_owned(),
                };
                report.changed_codes.push(ChangedCode {
                    exam: e.id,
                    title: title.clone(),
                    original_code: e.hash_id.clone(),
                    code: code.clone(),
                    reason,
                });
                code
            }
        };
        all_codes.insert(code.clone());
        let exam_id = insert_returning_id(
            txn,
            "INSERT INTO exams (code, title, author_id, created_at) VALUES (?, ?, ?, ?)",
            vals![code.clone(), title, *author_id, base + n as i64],
        )
        .await?;
        let rows = vec!["(?, ?, ?, ?)"; questions.len()].join(", ");
        let values: Vec<Value> = questions
            .iter()
            .enumerate()
            .flat_map(|(i, &(_, pair, answer))| {
                [
                    exam_id.into(),
                    (i as i64).into(),
                    pair.into(),
                    answer.into(),
                ]
            })
            .collect();
        exec(
            txn,
            &format!(
                "INSERT INTO exam_questions (exam_id, ordinal, pair_id, answer_id) VALUES {rows}"
            ),
            values,
        )
        .await?;
        ledger::record(txn, ledger::EXAM, &e.id.to_string(), exam_id, None).await?;
        report.counts.exams.created += 1;
        ids.exams.insert(
            e.id,
            ExamIds {
                id: exam_id,
                code,
                author: e.author.clone(),
                questions: questions.iter().map(|&(q, p, a)| (q, (p, a))).collect(),
            },
        );
    }
    Ok(())
}

pub(super) async fn attempts(
    txn: &DatabaseTransaction,
    original: &Original,
    ids: &Ids,
    report: &mut Report,
) -> anyhow::Result<()> {
    let imported = ledger::load(txn, ledger::ATTEMPT).await?;
    let question_exam: HashMap<i64, i64> = original
        .questions
        .iter()
        .map(|q| (q.id, q.exam_id))
        .collect();
    // (original exam, participant) → question → (guess row id, guessed food)
    let mut groups: BTreeMap<(i64, String), HashMap<i64, (i64, i64)>> = BTreeMap::new();
    let mut stray = 0;
    for g in &original.guesses {
        let Some(&exam) = question_exam.get(&g.question_id) else {
            stray += 1;
            continue;
        };
        if exam != g.exam_id {
            stray += 1;
            continue;
        }
        let entry = groups.entry((exam, g.member.clone())).or_default();
        // A retake replaced earlier guesses: the latest row wins.
        match entry.get(&g.question_id) {
            Some(&(id, _)) if id > g.id => {}
            _ => {
                entry.insert(g.question_id, (g.id, g.answer_id));
            }
        }
    }
    if stray > 0 {
        report.skip(
            "guess",
            format!("{stray} rows"),
            "the question does not exist or belongs to another exam",
        );
    }
    report.counts.attempts.found = groups.len();
    let pair_by_id: HashMap<i64, super::PairIds> = ids.pairs.values().map(|p| (p.id, *p)).collect();
    let base = now_ms();
    for (n, ((exam_old, member), guesses)) in groups.into_iter().enumerate() {
        let item = format!("exam #{exam_old} by {member}");
        let Some(exam) = ids.exams.get(&exam_old) else {
            report.counts.attempts.skipped += 1;
            report.skip("attempt", item, "the exam was not imported");
            continue;
        };
        let Some((user_id, username)) = ids.members.get(&member) else {
            report.counts.attempts.skipped += 1;
            report.skip("attempt", item, "the participant was not imported");
            continue;
        };
        if member == exam.author {
            report.counts.attempts.skipped += 1;
            report.skip(
                "attempt",
                item,
                "authors may not take their own exam in ipmat",
            );
            continue;
        }
        let key = format!("{exam_old}:{member}");
        if imported.contains_key(&key) {
            report.counts.attempts.existing += 1;
            continue;
        }
        // Guesses of imported questions only, and only foods of the question's pair.
        let mut kept: Vec<(i64, i64)> = Vec::new();
        let mut by_question: HashMap<i64, i64> = HashMap::new();
        let answers: HashMap<i64, i64> =
            exam.questions.iter().map(|(&q, &(_, a))| (q, a)).collect();
        let mut odd = 0;
        for (question, (_, guess)) in &guesses {
            let Some(&(pair_id, _)) = exam.questions.get(question) else {
                odd += 1;
                continue;
            };
            let food = ids.foods.get(guess).copied();
            let pair = pair_by_id.get(&pair_id);
            match (food, pair) {
                (Some(food), Some(p)) if food == p.left || food == p.right => {
                    kept.push((pair_id, food));
                    by_question.insert(*question, food);
                }
                _ => odd += 1,
            }
        }
        if odd > 0 {
            report.change(
                "attempt",
                &item,
                format!("{odd} guesses dropped: their question was not imported or the food is not of the pair"),
            );
        }
        if kept.is_empty() {
            report.counts.attempts.skipped += 1;
            report.skip("attempt", item, "no guess left");
            continue;
        }
        // Guesses are compared by ipmat food id, as the author's answers are.
        let score = rules::score(&answers, &by_question);
        let total = exam.questions.len();
        let partial = kept.len() < total;
        let attempt_id = insert_returning_id(
            txn,
            "INSERT INTO exam_attempts (exam_id, user_id, score, total, submitted_at) VALUES (?, ?, ?, ?, ?)",
            vals![exam.id, *user_id, score, total as i64, base + n as i64],
        )
        .await?;
        // The exam's participant counter moves with its attempts, as a submission moves it.
        exec(
            txn,
            "UPDATE exams SET participant_count = participant_count + 1 WHERE id = ?",
            vals![exam.id],
        )
        .await?;
        kept.sort_unstable();
        let rows = vec!["(?, ?, ?)"; kept.len()].join(", ");
        let values: Vec<Value> = kept
            .iter()
            .flat_map(|&(pair, food)| [attempt_id.into(), pair.into(), food.into()])
            .collect();
        exec(
            txn,
            &format!("INSERT INTO attempt_answers (attempt_id, pair_id, guess_id) VALUES {rows}"),
            values,
        )
        .await?;
        let note = partial.then(|| format!("partial: {} of {total} answered", kept.len()));
        ledger::record(txn, ledger::ATTEMPT, &key, attempt_id, note).await?;
        if partial {
            report.partial_attempts.push(PartialAttempt {
                code: exam.code.clone(),
                participant: username.clone(),
                answered: kept.len(),
                total,
                score,
            });
        }
        report.counts.attempts.created += 1;
    }
    Ok(())
}
