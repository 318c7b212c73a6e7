-- +goose NO TRANSACTION
-- +goose Up
-- Personal data: the stored bodies of applied deliveries are removed after
-- the retention time (body_purged_at), failed ones can be dismissed, and an
-- erased person leaves a tombstone that keeps replays and polls from
-- bringing them back. The index is built without blocking webhooks.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS body_purged_at timestamptz;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS dismissed_at timestamptz;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_body_retention ON deliveries (received_at)
    WHERE body_purged_at IS NULL AND status IN ('processed', 'ignored', 'dismissed');

CREATE TABLE IF NOT EXISTS erased_people (
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    invitee_id     text        NOT NULL,
    -- SHA-256 of the lower-case e-mail, hex; '' when it was not known.
    email_hash     text        NOT NULL DEFAULT '',
    erased_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, invitee_id)
);
CREATE INDEX IF NOT EXISTS erased_people_email ON erased_people (email_hash);

-- +goose Down
DROP TABLE IF EXISTS erased_people;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_body_retention;
ALTER TABLE deliveries DROP COLUMN IF EXISTS dismissed_at;
ALTER TABLE deliveries DROP COLUMN IF EXISTS body_purged_at;
