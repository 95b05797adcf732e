-- What `ipmat import-django` brought across: one row per imported member, exam and attempt of
-- the original server, naming the row it became (no foreign key: a member who later deletes
-- their account is not brought back by a second run). The note flags partial attempts.

CREATE TABLE django_imports (
    kind VARCHAR(16) NOT NULL,
    old_id VARCHAR(64) COLLATE "C" NOT NULL,
    new_id BIGINT NOT NULL,
    note VARCHAR(100),
    imported_at BIGINT NOT NULL,
    CONSTRAINT pk_django_imports PRIMARY KEY (kind, old_id)
);
