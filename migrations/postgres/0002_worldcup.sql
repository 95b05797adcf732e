-- World cups: one row per tournament, its bracket and picks kept as id lists (a world cup is
-- read and written whole, and `pick_count` guards concurrent picks), plus exact per-book
-- statistics that finished world cups add to, so rankings never scan historical picks, and
-- the play counters.

CREATE TABLE worldcups (
    id CHAR(32) NOT NULL,
    book_id BIGINT NOT NULL,
    size BIGINT NOT NULL,
    entrants VARCHAR(1400) NOT NULL,
    picks VARCHAR(1400) NOT NULL,
    pick_count BIGINT NOT NULL,
    finished BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT pk_worldcups PRIMARY KEY (id),
    CONSTRAINT fk_worldcups_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE
);
CREATE INDEX ix_worldcups_book ON worldcups (book_id);
CREATE INDEX ix_worldcups_unfinished ON worldcups (finished, updated_at);

CREATE TABLE book_food_stats (
    book_id BIGINT NOT NULL,
    food_id BIGINT NOT NULL,
    wins BIGINT NOT NULL,
    matches BIGINT NOT NULL,
    championships BIGINT NOT NULL,
    CONSTRAINT pk_book_food_stats PRIMARY KEY (book_id, food_id),
    CONSTRAINT fk_book_food_stats_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE,
    CONSTRAINT fk_book_food_stats_food FOREIGN KEY (food_id) REFERENCES foods (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_food_stats_food ON book_food_stats (food_id);

-- How often each book was played and finished, spread over a few rows per book (shards)
-- so that concurrent world cups of one book do not queue on a single counter row; a book's
-- figure is the sum of its rows.
CREATE TABLE book_plays (
    book_id BIGINT NOT NULL,
    shard BIGINT NOT NULL,
    plays BIGINT NOT NULL,
    finished BIGINT NOT NULL,
    CONSTRAINT pk_book_plays PRIMARY KEY (book_id, shard),
    CONSTRAINT fk_book_plays_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE
);
