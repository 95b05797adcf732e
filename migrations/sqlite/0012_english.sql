-- English texts of the catalog beside the Korean ones (docs/catalog-format.md). Empty means
-- "not translated": answers then show the Korean. Older replicas never read these columns,
-- and their inserts get the empty default.

ALTER TABLE categories ADD COLUMN name_en VARCHAR(30) NOT NULL DEFAULT '';
ALTER TABLE foods ADD COLUMN name_en VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE foods ADD COLUMN description_en VARCHAR(60) NOT NULL DEFAULT '';
ALTER TABLE foods ADD COLUMN details_en VARCHAR(600) NOT NULL DEFAULT '';
ALTER TABLE books ADD COLUMN name_en VARCHAR(60) NOT NULL DEFAULT '';
ALTER TABLE books ADD COLUMN description_en VARCHAR(400) NOT NULL DEFAULT '';
