#!/usr/bin/env python3
"""Writes the bulk part of the quiz benchmark's data as one SQL file, for sqlite3, mysql or psql.

Usage: quiz-seed.py CODE PARTICIPANTS SUBMITTERS SQL_OUT TOKENS_OUT SUBMITTER_TOKENS_OUT

N participants `bp00001`… with a live session each (their bearer tokens go to TOKENS_OUT, one a
line), and one stored attempt each at the exam CODE (counted in the exam's participant counter,
as submissions through the API count them). M submitters `bs00001`… with a session and no
attempt yet (tokens to SUBMITTER_TOKENS_OUT): the first attempt is final, so the submission
benchmark needs members who have not taken the exam. Scores spread over 0..=questions by a fixed
formula of the user id; the stored guesses agree with the score (the first `score` questions
right, the others wrong), as if each participant had submitted through the API. Users get no
usable password: the benchmark only needs their sessions. Statements are plain SQL that the three
engines accept alike.
"""

import hashlib
import sys
import time

CHUNK = 1000


def main() -> None:
    code, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sql_out, tokens_out, submitter_tokens_out = sys.argv[4], sys.argv[5], sys.argv[6]
    now = int(time.time() * 1000)
    submitters = [f"bs{i:05d}" for i in range(1, m + 1)]
    names = [f"bp{i:05d}" for i in range(1, n + 1)] + submitters
    # 256-bit tokens as the server makes them (64 hex digits), stored as their SHA-256.
    tokens = [hashlib.sha256(f"ipmat-bench-quiz-{name}".encode()).hexdigest() for name in names]
    with open(tokens_out, "w") as f:
        f.write("\n".join(tokens[:n]) + "\n")
    with open(submitter_tokens_out, "w") as f:
        f.write("\n".join(tokens[n:]) + "\n")

    out = []
    for start in range(0, len(names), CHUNK):
        rows = ", ".join(
            f"('{name}', '{name}', '{name}', 'no-password', FALSE, {now})" for name in names[start : start + CHUNK]
        )
        out.append(
            f"INSERT INTO users (username, username_key, display_name, password_hash, is_admin, created_at) VALUES {rows};"
        )
    for start in range(0, len(names), CHUNK):
        rows = ", ".join(
            f"('{hashlib.sha256(token.encode()).hexdigest()}', (SELECT id FROM users WHERE username_key = '{name}'), {now}, {now})"
            for name, token in zip(names[start : start + CHUNK], tokens[start : start + CHUNK])
        )
        out.append(f"INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES {rows};")
    out.append(
        "INSERT INTO exam_attempts (exam_id, user_id, score, total, submitted_at) "
        "SELECT e.id, u.id, (u.id * 7919) % (c.n + 1), c.n, " + str(now) + " "
        "FROM exams e "
        "JOIN (SELECT exam_id, COUNT(*) AS n FROM exam_questions GROUP BY exam_id) c ON c.exam_id = e.id "
        "CROSS JOIN users u "
        f"WHERE e.code = '{code}' AND u.username_key LIKE 'bp%';"
    )
    out.append(
        "UPDATE exams SET participant_count = (SELECT COUNT(*) FROM exam_attempts a WHERE a.exam_id = exams.id) "
        f"WHERE code = '{code}';"
    )
    out.append(
        "INSERT INTO attempt_answers (attempt_id, pair_id, guess_id) "
        "SELECT a.id, q.pair_id, CASE WHEN q.ordinal < a.score THEN q.answer_id "
        "WHEN p.left_id = q.answer_id THEN p.right_id ELSE p.left_id END "
        "FROM exam_attempts a JOIN exam_questions q ON q.exam_id = a.exam_id "
        "JOIN quiz_pairs p ON p.id = q.pair_id "
        f"WHERE a.exam_id = (SELECT id FROM exams WHERE code = '{code}');"
    )
    with open(sql_out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
