-- +goose Up
-- REST polling: how far an integration has read Cvent's attendee changes.
CREATE TABLE poll_state (
    integration_id text PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    watermark      timestamptz,
    last_run_at    timestamptz,
    last_error     text NOT NULL DEFAULT '',
    fetched_total  bigint NOT NULL DEFAULT 0
);

-- Full re-syncs and their progress.
CREATE TABLE resyncs (
    id             bigserial PRIMARY KEY,
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    status         text        NOT NULL DEFAULT 'running', -- running | done | failed
    total          integer     NOT NULL DEFAULT 0,
    done           integer     NOT NULL DEFAULT 0,
    written        integer     NOT NULL DEFAULT 0,
    error          text        NOT NULL DEFAULT '',
    workflow_id    text        NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);

-- +goose Down
DROP TABLE resyncs;
DROP TABLE poll_state;
