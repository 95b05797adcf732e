-- The lossy WebP variant of a stored image (src/media/variants.rs): a row is written once both
-- files are stored, so the API names a variant only when it exists. No foreign key: images are
-- storage objects, not rows; the row is deleted before the files when the image goes.

CREATE TABLE image_variants (
    image_key VARCHAR(200) NOT NULL,
    webp_key VARCHAR(200) NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_image_variants PRIMARY KEY (image_key)
);
