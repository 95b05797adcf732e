-- Columns that several features read: a member's display name and guest flag, the member who
-- started a world cup (its owner) with the hash of its play key, and the retirement time of a
-- food that history still refers to.

ALTER TABLE users ADD COLUMN display_name VARCHAR(20) NOT NULL DEFAULT '';
UPDATE users SET display_name = username WHERE display_name = '';
ALTER TABLE users ADD COLUMN is_guest BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE worldcups ADD COLUMN user_id BIGINT NULL, ADD CONSTRAINT fk_worldcups_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE worldcups ADD COLUMN play_key_hash CHAR(64) NULL;
CREATE INDEX ix_worldcups_user ON worldcups (user_id, created_at);
ALTER TABLE foods ADD COLUMN retired_at BIGINT NULL;
