-- Secrets the replicas share, created once by whichever replica starts first: the key of the
-- keyed hashes (HMAC) behind log-in throttle keys and signed device cookies.
CREATE TABLE server_secrets (
    name VARCHAR(40) NOT NULL,
    secret CHAR(64) NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT pk_server_secrets PRIMARY KEY (name)
);
