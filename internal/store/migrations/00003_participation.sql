-- +goose Up
-- Per-integration secret for the platform's activity API, stored hashed.
ALTER TABLE integrations ADD COLUMN platform_key_hash bytea;

-- Participation tracking: platform activity accumulated per attendee, and
-- the state of its write-back to Cvent ("Event Participant – Yes").
CREATE TABLE participation (
    integration_id  text        NOT NULL,
    invitee_id      text        NOT NULL,
    first_login_at  timestamptz,
    last_seen_at    timestamptz,
    watched_seconds integer     NOT NULL DEFAULT 0,
    -- When the attendee meets (or will meet) the integration's criterion.
    due_at          timestamptz,
    -- pending → sending → written | failed
    status          text        NOT NULL DEFAULT 'pending',
    batch_id        text        NOT NULL DEFAULT '',
    attempts        integer     NOT NULL DEFAULT 0,
    written_at      timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, invitee_id),
    FOREIGN KEY (integration_id, invitee_id) REFERENCES attendees (integration_id, invitee_id) ON DELETE CASCADE
);
CREATE INDEX participation_due ON participation (integration_id, due_at) WHERE status IN ('pending', 'sending');

-- Session participation: watch time per attendee and session.
CREATE TABLE session_participation (
    integration_id  text        NOT NULL,
    invitee_id      text        NOT NULL,
    session_id      text        NOT NULL,
    watched_seconds integer     NOT NULL DEFAULT 0,
    due_at          timestamptz,
    status          text        NOT NULL DEFAULT 'pending',
    batch_id        text        NOT NULL DEFAULT '',
    written_at      timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, invitee_id, session_id)
);
CREATE INDEX session_participation_due ON session_participation (integration_id, due_at) WHERE status IN ('pending', 'sending');

-- Two-way sync: platform edits waiting to reach the Cvent contact.
CREATE TABLE contact_updates (
    id             bigserial PRIMARY KEY,
    integration_id text        NOT NULL,
    invitee_id     text        NOT NULL,
    contact_id     text        NOT NULL,
    fields         jsonb       NOT NULL,
    status         text        NOT NULL DEFAULT 'pending', -- pending | written | failed
    last_error     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    written_at     timestamptz
);

-- +goose Down
DROP TABLE contact_updates;
DROP TABLE session_participation;
DROP TABLE participation;
ALTER TABLE integrations DROP COLUMN platform_key_hash;
