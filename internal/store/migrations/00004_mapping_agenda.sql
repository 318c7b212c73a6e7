-- +goose Up
-- Speakers as Cvent's speaker events describe them.
CREATE TABLE speakers (
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    speaker_id     text        NOT NULL,
    first_name     text        NOT NULL DEFAULT '',
    last_name      text        NOT NULL DEFAULT '',
    display_name   text        NOT NULL DEFAULT '',
    title          text        NOT NULL DEFAULT '',
    company        text        NOT NULL DEFAULT '',
    biography      text        NOT NULL DEFAULT '',
    session_ids    text[]      NOT NULL DEFAULT '{}',
    deleted        boolean     NOT NULL DEFAULT false,
    source_time    timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, speaker_id)
);

-- The speakers a session item lists.
ALTER TABLE sessions ADD COLUMN speaker_ids text[] NOT NULL DEFAULT '{}';

-- Personal agendas: which attendee registered for which session. A row with
-- registered = false is a tombstone so an older "registered" cannot revive it.
-- No foreign keys: a registration may arrive before its session or attendee.
CREATE TABLE agenda (
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    invitee_id     text        NOT NULL,
    session_id     text        NOT NULL,
    registered     boolean     NOT NULL,
    source_time    timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, invitee_id, session_id)
);

-- +goose Down
DROP TABLE agenda;
ALTER TABLE sessions DROP COLUMN speaker_ids;
DROP TABLE speakers;
