-- The taste quiz for guests: an exam's mode (guess or 입맛 궁합 match), its participant count
-- kept as a counter (so that reading an exam is one primary-key read), pairs outside the bank
-- (world-cup matches turned into questions), and withdrawals, which end a participant's one
-- attempt for good until the author resets them.

ALTER TABLE exams ADD COLUMN mode VARCHAR(8) NOT NULL DEFAULT 'guess';
ALTER TABLE exams ADD COLUMN participant_count BIGINT NOT NULL DEFAULT 0;
UPDATE exams SET participant_count = (SELECT COUNT(*) FROM exam_attempts a WHERE a.exam_id = exams.id);
ALTER TABLE quiz_pairs ADD COLUMN in_bank BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX ix_quiz_pairs_bank ON quiz_pairs (in_bank, id);
CREATE INDEX ix_users_guest ON users (is_guest, created_at);

CREATE TABLE exam_withdrawals (
    exam_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    withdrawn_at BIGINT NOT NULL,
    CONSTRAINT pk_exam_withdrawals PRIMARY KEY (exam_id, user_id),
    CONSTRAINT fk_exam_withdrawals_exam FOREIGN KEY (exam_id) REFERENCES exams (id) ON DELETE CASCADE,
    CONSTRAINT fk_exam_withdrawals_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_exam_withdrawals_user ON exam_withdrawals (user_id);
