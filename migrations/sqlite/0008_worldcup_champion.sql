-- The champion of a finished world cup, kept beside its picks so that "how many players ever
-- crowned this food" is one indexed query. Cups finished before this step get it from their
-- last pick.

ALTER TABLE worldcups ADD COLUMN champion_id BIGINT NULL;
CREATE INDEX ix_worldcups_champion ON worldcups (champion_id, user_id);
UPDATE worldcups SET champion_id = CAST(substr(picks, length(rtrim(picks, '0123456789')) + 1) AS INTEGER) WHERE finished = 1 AND champion_id IS NULL AND picks <> '';
