-- +goose Up
-- The chunks of a large delivery are applied by transactions that run side
-- by side. Each one appends its change log entries here while it works and
-- numbers them only when it commits (its last statement moves them to
-- changes), so that the integration's change counter is held for that
-- statement and the commit, not for the whole chunk. Rows live as long as
-- their transaction: unlogged, as nothing here outlives a crash.
CREATE UNLOGGED TABLE staged_changes (
    xid            xid8   NOT NULL DEFAULT pg_current_xact_id(),
    stmt           bigint NOT NULL,
    rn             bigint NOT NULL,
    integration_id text   NOT NULL,
    type           text   NOT NULL,
    key            text   NOT NULL,
    changed        jsonb  NOT NULL,
    record         jsonb  NOT NULL
);
CREATE INDEX staged_changes_xid ON staged_changes (xid);
CREATE SEQUENCE staged_changes_stmt;

-- +goose Down
DROP TABLE staged_changes;
DROP SEQUENCE staged_changes_stmt;
