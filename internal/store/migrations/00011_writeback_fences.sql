-- +goose Up
-- Write-back fences. A claim on a check-in (batch_id) names the activity
-- attempt that owns it; lease_until is when that attempt's Cvent call can no
-- longer act (the call began, plus the client's timeout, plus a margin). A
-- later attempt takes the claim over by writing its own batch_id, so the
-- first call's late outcome can no longer change the row, and asks Cvent what
-- it has only after lease_until.
ALTER TABLE participation ADD COLUMN lease_until timestamptz;
ALTER TABLE session_participation ADD COLUMN lease_until timestamptz;
ALTER TABLE session_participation ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- Two-way sync sends one PATCH per contact at a time. The contact's row holds
-- the attempt sending it (owner) with its lease, and the newest queued update
-- the PATCH carries (covers): when it lands, every pending update of the
-- contact up to that id is done, since the PATCH sent the attendee's values
-- as they were after all of them.
CREATE TABLE contact_pushes (
    integration_id text        NOT NULL,
    contact_id     text        NOT NULL,
    owner          text        NOT NULL DEFAULT '',
    lease_until    timestamptz,
    covers         bigint      NOT NULL DEFAULT 0,
    fields         jsonb       NOT NULL DEFAULT '{}',
    -- unknown: a PATCH ended without an answer; the next attempt reads the
    -- contact before sending anything.
    unknown        boolean     NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, contact_id)
);
CREATE INDEX contact_updates_pending ON contact_updates (integration_id, contact_id, id) WHERE status = 'pending';

-- +goose Down
DROP INDEX contact_updates_pending;
DROP TABLE contact_pushes;
ALTER TABLE session_participation DROP COLUMN attempts;
ALTER TABLE session_participation DROP COLUMN lease_until;
ALTER TABLE participation DROP COLUMN lease_until;
