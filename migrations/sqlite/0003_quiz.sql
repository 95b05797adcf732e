-- Taste quiz: exams (an author's answers to question pairs), attempts and their guesses.
-- The score is stored on the attempt when it is submitted, so that a scoreboard is one indexed
-- read. Attempts are unique per (exam, user): a retake replaces the row, never adds one.

CREATE TABLE exams (
    id INTEGER NOT NULL,
    code VARCHAR(6) NOT NULL,
    title VARCHAR(30) NOT NULL,
    author_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_exams PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_exams_code UNIQUE (code),
    CONSTRAINT fk_exams_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_exams_author ON exams (author_id, created_at);

CREATE TABLE exam_questions (
    exam_id BIGINT NOT NULL,
    ordinal BIGINT NOT NULL,
    pair_id BIGINT NOT NULL,
    answer_id BIGINT NOT NULL,
    CONSTRAINT pk_exam_questions PRIMARY KEY (exam_id, ordinal),
    CONSTRAINT uq_exam_questions_pair UNIQUE (exam_id, pair_id),
    CONSTRAINT fk_exam_questions_exam FOREIGN KEY (exam_id) REFERENCES exams (id) ON DELETE CASCADE,
    CONSTRAINT fk_exam_questions_pair FOREIGN KEY (pair_id) REFERENCES quiz_pairs (id) ON DELETE CASCADE,
    CONSTRAINT fk_exam_questions_answer FOREIGN KEY (answer_id) REFERENCES foods (id) ON DELETE CASCADE
);
CREATE INDEX ix_exam_questions_pair ON exam_questions (pair_id);
CREATE INDEX ix_exam_questions_answer ON exam_questions (answer_id);

CREATE TABLE exam_attempts (
    id INTEGER NOT NULL,
    exam_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    score BIGINT NOT NULL,
    total BIGINT NOT NULL,
    submitted_at BIGINT NOT NULL,
    CONSTRAINT pk_exam_attempts PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_exam_attempts_exam_user UNIQUE (exam_id, user_id),
    CONSTRAINT fk_exam_attempts_exam FOREIGN KEY (exam_id) REFERENCES exams (id) ON DELETE CASCADE,
    CONSTRAINT fk_exam_attempts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_exam_attempts_scoreboard ON exam_attempts (exam_id, score DESC, user_id);
CREATE INDEX ix_exam_attempts_user ON exam_attempts (user_id, submitted_at);

CREATE TABLE attempt_answers (
    attempt_id BIGINT NOT NULL,
    pair_id BIGINT NOT NULL,
    guess_id BIGINT NOT NULL,
    CONSTRAINT pk_attempt_answers PRIMARY KEY (attempt_id, pair_id),
    CONSTRAINT fk_attempt_answers_attempt FOREIGN KEY (attempt_id) REFERENCES exam_attempts (id) ON DELETE CASCADE,
    CONSTRAINT fk_attempt_answers_pair FOREIGN KEY (pair_id) REFERENCES quiz_pairs (id) ON DELETE CASCADE,
    CONSTRAINT fk_attempt_answers_guess FOREIGN KEY (guess_id) REFERENCES foods (id) ON DELETE CASCADE
);
CREATE INDEX ix_attempt_answers_pair ON attempt_answers (pair_id);
CREATE INDEX ix_attempt_answers_guess ON attempt_answers (guess_id);
