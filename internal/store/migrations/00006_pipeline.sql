-- +goose Up
-- Delivery pipeline v2: small deliveries are drained in batches by one ingest
-- workflow per integration (claimed with FOR UPDATE SKIP LOCKED); large ones
-- (manual syncs) run in their own workflow, applied in chunks with progress.
ALTER TABLE deliveries
    ADD COLUMN invitee_ids   text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN large         boolean NOT NULL DEFAULT false,
    ADD COLUMN run_id        text    NOT NULL DEFAULT '',
    ADD COLUMN apply_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN applied_items integer NOT NULL DEFAULT 0,
    ADD COLUMN flags         text[]  NOT NULL DEFAULT '{}';
DROP INDEX IF EXISTS deliveries_undispatched;
-- What the drain claims: an integration's received deliveries in arrival order.
CREATE INDEX deliveries_pending ON deliveries (integration_id, id) WHERE status = 'received';
CREATE INDEX deliveries_invitees ON deliveries USING gin (invitee_ids);

-- Who drains an integration's deliveries right now. The gateway reads it after
-- storing a delivery: a live lease means a drainer will see the delivery, an
-- expired one means the gateway must start the ingest workflow.
CREATE TABLE ingest_leases (
    integration_id text PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    holder         text        NOT NULL,
    expires_at     timestamptz NOT NULL
);

-- +goose Down
DROP TABLE ingest_leases;
DROP INDEX deliveries_invitees;
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_undispatched ON deliveries (id) WHERE status = 'received' AND dispatched_at IS NULL;
ALTER TABLE deliveries DROP COLUMN invitee_ids, DROP COLUMN large, DROP COLUMN run_id, DROP COLUMN apply_count,
    DROP COLUMN applied_items, DROP COLUMN flags;
