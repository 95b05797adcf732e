-- Catalog (categories, foods, food books, quiz pairs) and accounts.
-- Every integer is BIGINT and every timestamp is epoch milliseconds, so that the three engines
-- decode the same Rust types. Names compare by code point (COLLATE "C") like SQLite and
-- MariaDB's utf8mb4_bin, so lists and cursors order the same everywhere.

CREATE TABLE categories (
    id INTEGER NOT NULL,
    name VARCHAR(15) NOT NULL,
    CONSTRAINT pk_categories PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_categories_name UNIQUE (name)
);

CREATE TABLE foods (
    id INTEGER NOT NULL,
    name VARCHAR(15) NOT NULL,
    description VARCHAR(30) NOT NULL,
    details VARCHAR(300) NOT NULL,
    image_key VARCHAR(200),
    credit VARCHAR(40) NOT NULL,
    alt_image_key VARCHAR(200),
    alt_credit VARCHAR(40),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT pk_foods PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_foods_name UNIQUE (name)
);

CREATE TABLE food_categories (
    food_id BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    CONSTRAINT pk_food_categories PRIMARY KEY (food_id, category_id),
    CONSTRAINT fk_food_categories_food FOREIGN KEY (food_id) REFERENCES foods (id) ON DELETE CASCADE,
    CONSTRAINT fk_food_categories_category FOREIGN KEY (category_id) REFERENCES categories (id) ON DELETE CASCADE
);
CREATE INDEX ix_food_categories_category ON food_categories (category_id, food_id);

CREATE TABLE books (
    id INTEGER NOT NULL,
    name VARCHAR(30) NOT NULL,
    cover_key VARCHAR(200),
    priority BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT pk_books PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_books_name UNIQUE (name)
);
CREATE INDEX ix_books_priority ON books (priority, id);

CREATE TABLE book_foods (
    book_id BIGINT NOT NULL,
    food_id BIGINT NOT NULL,
    CONSTRAINT pk_book_foods PRIMARY KEY (book_id, food_id),
    CONSTRAINT fk_book_foods_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE,
    CONSTRAINT fk_book_foods_food FOREIGN KEY (food_id) REFERENCES foods (id) ON DELETE CASCADE
);
CREATE INDEX ix_book_foods_food ON book_foods (food_id);

CREATE TABLE quiz_pairs (
    id INTEGER NOT NULL,
    left_id BIGINT NOT NULL,
    right_id BIGINT NOT NULL,
    low_id BIGINT NOT NULL,
    high_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_quiz_pairs PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_quiz_pairs_foods UNIQUE (low_id, high_id),
    CONSTRAINT fk_quiz_pairs_left FOREIGN KEY (left_id) REFERENCES foods (id) ON DELETE CASCADE,
    CONSTRAINT fk_quiz_pairs_right FOREIGN KEY (right_id) REFERENCES foods (id) ON DELETE CASCADE
);
CREATE INDEX ix_quiz_pairs_left ON quiz_pairs (left_id);
CREATE INDEX ix_quiz_pairs_right ON quiz_pairs (right_id);

CREATE TABLE users (
    id INTEGER NOT NULL,
    username VARCHAR(15) NOT NULL,
    username_key VARCHAR(15) NOT NULL,
    password_hash VARCHAR(200) NOT NULL,
    birth_date VARCHAR(10),
    is_admin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id AUTOINCREMENT),
    CONSTRAINT uq_users_username_key UNIQUE (username_key)
);

CREATE TABLE sessions (
    token_hash CHAR(64) NOT NULL,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    CONSTRAINT pk_sessions PRIMARY KEY (token_hash),
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX ix_sessions_user ON sessions (user_id);
CREATE INDEX ix_sessions_last_seen ON sessions (last_seen_at);

CREATE TABLE favorites (
    user_id BIGINT NOT NULL,
    book_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_favorites PRIMARY KEY (user_id, book_id),
    CONSTRAINT fk_favorites_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_favorites_book FOREIGN KEY (book_id) REFERENCES books (id) ON DELETE CASCADE
);
CREATE INDEX ix_favorites_book ON favorites (book_id);

CREATE TABLE login_throttle (
    throttle_key CHAR(64) NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    CONSTRAINT pk_login_throttle PRIMARY KEY (throttle_key)
);

CREATE TABLE visitor_salts (
    day VARCHAR(10) NOT NULL,
    salt CHAR(64) NOT NULL,
    CONSTRAINT pk_visitor_salts PRIMARY KEY (day)
);

CREATE TABLE visitors (
    day VARCHAR(10) NOT NULL,
    visitor_hash CHAR(64) NOT NULL,
    CONSTRAINT pk_visitors PRIMARY KEY (day, visitor_hash)
);
