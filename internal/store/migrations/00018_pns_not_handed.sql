-- +goose NO TRANSACTION
-- +goose Up
-- A PNS notification still 'received' was stored but never handed to its
-- RFP's workflow (the start failed, or the gateway stopped between the store
-- and the start): the maintenance sweep hands it on. This keeps finding them
-- cheap however many notifications are stored; built without blocking the
-- endpoint.
CREATE INDEX CONCURRENTLY IF NOT EXISTS pns_notifications_not_handed ON pns_notifications (received_at)
    WHERE status = 'received';

-- +goose Down
DROP INDEX IF EXISTS pns_notifications_not_handed;
