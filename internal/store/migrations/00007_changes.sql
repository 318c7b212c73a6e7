-- +goose Up
-- The change log: every change to the directory, appended in the transaction
-- that makes it, numbered per integration. Destinations and the pull feed
-- follow it by seq.
CREATE TABLE change_seqs (
    integration_id text PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    -- The last seq handed out. Its row lock is held until the writing
    -- transaction commits, so seqs become visible in order, without gaps
    -- that fill later: a reader past seq n never misses a smaller one.
    last_seq       bigint NOT NULL DEFAULT 0,
    -- Entries up to this seq were pruned: a cursor below it has expired.
    pruned_through bigint NOT NULL DEFAULT 0
);

CREATE TABLE changes (
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    seq            bigint      NOT NULL,
    type           text        NOT NULL,
    -- What the change is about: attendee:<inviteeId>, agenda:<inviteeId>,
    -- session:<sessionId>, speaker:<speakerId>, participation:<inviteeId>.
    key            text        NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    -- Changed fields, {"field": {"old": ..., "new": ...}}; {} when created.
    changed        jsonb       NOT NULL DEFAULT '{}',
    -- The key's whole record after the change (before it, for a removal).
    record         jsonb       NOT NULL,
    PRIMARY KEY (integration_id, seq)
);
CREATE INDEX changes_at ON changes (integration_id, at);

-- Platform endpoints that receive the change log as signed webhooks.
CREATE TABLE destinations (
    id                    text PRIMARY KEY,
    integration_id        text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    url                   text        NOT NULL,
    types                 text[]      NOT NULL DEFAULT '{}', -- empty: every type
    batch_size            integer     NOT NULL DEFAULT 1,
    enabled               boolean     NOT NULL DEFAULT true,
    -- active | failing | disabled, and why, in words.
    status                text        NOT NULL DEFAULT 'active',
    status_reason         text        NOT NULL DEFAULT '',
    -- Signing secrets, sealed with CVENTSYNC_SECRET_KEY when one is configured.
    secret                text        NOT NULL,
    old_secret            text        NOT NULL DEFAULT '',
    old_secret_until      timestamptz,
    -- The last seq the destination acknowledged (or skipped by its type filter).
    cursor                bigint      NOT NULL DEFAULT 0,
    -- The last seq of the message being sent: a retry resends exactly it,
    -- under the same webhook-id.
    inflight_last         bigint      NOT NULL DEFAULT 0,
    failing_since         timestamptz,
    last_success_at       timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX destinations_by_integration ON destinations (integration_id);

-- Every POST to a destination, and what came back.
CREATE TABLE destination_attempts (
    id             bigserial PRIMARY KEY,
    destination_id text        NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    webhook_id     text        NOT NULL,
    first_seq      bigint      NOT NULL,
    last_seq       bigint      NOT NULL,
    changes        integer     NOT NULL,
    status         integer     NOT NULL DEFAULT 0, -- HTTP status; 0 when no answer came
    error          text        NOT NULL DEFAULT '',
    latency_ms     integer     NOT NULL DEFAULT 0,
    response       text        NOT NULL DEFAULT '', -- the first 1 KiB of the answer
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX destination_attempts_by_destination ON destination_attempts (destination_id, id DESC);

-- +goose Down
DROP TABLE destination_attempts;
DROP TABLE destinations;
DROP TABLE changes;
DROP TABLE change_seqs;
