-- +goose NO TRANSACTION
-- +goose Up
-- Operations: the request that stored a delivery (X-Request-Id), logged by
-- the worker that applies it; indexes for the metrics gauges and the replay
-- of failed deliveries, built without blocking webhooks.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS request_id text NOT NULL DEFAULT '';
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_failed ON deliveries (integration_id, id) WHERE status = 'failed';
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_waiting_since ON deliveries (received_at) WHERE status = 'received';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_waiting_since;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_failed;
ALTER TABLE deliveries DROP COLUMN IF EXISTS request_id;
