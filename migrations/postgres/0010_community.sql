-- Community books: a member owns a book (owner_id) with a visibility, a description and its
-- own foods (foods.book_id). Names become unique per scope instead of globally: a catalog food
-- or an official book has scope 0, an own food the id of its book, a community book the id of
-- its owner. The listing columns (listed, food_total, finished_week, finished_total) are kept
-- current by the writes, so that the community list reads one index range. Then comments,
-- reports, the per-day finish counts behind "popular", and the fixed-window counters behind
-- quotas and rate limits.

ALTER TABLE foods ADD COLUMN book_id BIGINT NULL CONSTRAINT fk_foods_book REFERENCES books (id) ON DELETE CASCADE;
ALTER TABLE foods ADD COLUMN name_scope BIGINT NOT NULL DEFAULT 0;
ALTER TABLE foods ADD CONSTRAINT uq_foods_scope_name UNIQUE (name_scope, name), DROP CONSTRAINT uq_foods_name;
CREATE INDEX ix_foods_book ON foods (book_id);

ALTER TABLE books ADD COLUMN owner_id BIGINT NULL CONSTRAINT fk_books_owner REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE books ADD COLUMN name_scope BIGINT NOT NULL DEFAULT 0;
ALTER TABLE books ADD COLUMN visibility VARCHAR(10) NOT NULL DEFAULT 'public';
ALTER TABLE books ADD COLUMN description VARCHAR(200) NOT NULL DEFAULT '';
ALTER TABLE books ADD COLUMN hidden_at BIGINT NULL;
ALTER TABLE books ADD COLUMN listed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE books ADD COLUMN food_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE books ADD COLUMN finished_week BIGINT NOT NULL DEFAULT 0;
ALTER TABLE books ADD COLUMN finished_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE books ADD CONSTRAINT uq_books_scope_name UNIQUE (name_scope, name), DROP CONSTRAINT uq_books_name;
CREATE INDEX ix_books_owner ON books (owner_id, created_at);
CREATE INDEX ix_books_popular ON books (listed, finished_week, finished_total, id);
CREATE INDEX ix_books_new ON books (listed, created_at, id);

CREATE TABLE book_finish_days (
    book_id BIGINT NOT NULL,
    day BIGINT NOT NULL,
    finished BIGINT NOT NULL,
    CONSTRAINT pk_book_finish_days PRIMARY KEY (book_id, day),
    CONSTRAINT fk_book_finish_days_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_finish_days_day ON book_finish_days (day);

CREATE TABLE comments (
    id BIGSERIAL NOT NULL,
    book_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    text VARCHAR(300) NOT NULL,
    text_hash CHAR(64) NOT NULL,
    worldcup_id CHAR(32) NULL,
    champion_id BIGINT NULL,
    hidden_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_comments PRIMARY KEY (id),
    CONSTRAINT fk_comments_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE,
    CONSTRAINT fk_comments_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_comments_champion FOREIGN KEY (champion_id) REFERENCES foods (id) ON DELETE SET NULL
);
CREATE INDEX ix_comments_book ON comments (book_id, id);
CREATE INDEX ix_comments_user ON comments (user_id, text_hash, created_at);

CREATE TABLE reports (
    id BIGSERIAL NOT NULL,
    target_kind VARCHAR(10) NOT NULL,
    target_id BIGINT NOT NULL,
    reporter_key CHAR(64) NOT NULL,
    reporter_id BIGINT NULL,
    reason VARCHAR(10) NOT NULL,
    detail VARCHAR(300) NOT NULL,
    is_open BOOLEAN NOT NULL,
    action VARCHAR(10) NULL,
    resolved_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_reports PRIMARY KEY (id),
    CONSTRAINT uq_reports_reporter UNIQUE (target_kind, target_id, reporter_key),
    CONSTRAINT fk_reports_reporter FOREIGN KEY (reporter_id) REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX ix_reports_queue ON reports (is_open, id);
CREATE INDEX ix_reports_target ON reports (target_kind, target_id, is_open);

CREATE TABLE community_limits (
    limit_key CHAR(64) NOT NULL,
    used BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    CONSTRAINT pk_community_limits PRIMARY KEY (limit_key)
);
CREATE INDEX ix_community_limits_end ON community_limits (window_end);
