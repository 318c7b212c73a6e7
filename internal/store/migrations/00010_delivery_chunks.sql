-- +goose Up
-- Large bodies (a 100,000-attendee manual sync is ~190 MB) are stored as they
-- are read, in chunks, never whole in memory; deliveries.body stays empty.
ALTER TABLE deliveries
    ADD COLUMN body_size   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN body_chunks integer NOT NULL DEFAULT 0;
CREATE TABLE delivery_chunks (
    delivery_id bigint  NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    data        bytea   NOT NULL,
    PRIMARY KEY (delivery_id, seq)
);

-- +goose Down
DROP TABLE delivery_chunks;
ALTER TABLE deliveries DROP COLUMN body_size, DROP COLUMN body_chunks;
