-- +goose Up
-- Named API keys for the admin API, each with a role and optionally limited
-- to some integrations. The key itself is shown once; only its SHA-256 is
-- kept. A key is looked up by its id (the part before the dot) and its hash
-- compared in constant time, so no lookup depends on secret bytes.
CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('reader', 'operator', 'admin')),
    -- Empty: every integration.
    integration_ids text[]    NOT NULL DEFAULT '{}',
    key_hash      bytea       NOT NULL,
    -- The key's last four characters, to tell keys apart in lists (…abcd).
    hint          text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- +goose Down
DROP TABLE api_keys;
