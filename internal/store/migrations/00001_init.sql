-- +goose Up
CREATE TABLE integrations (
    id                 text PRIMARY KEY,
    name               text        NOT NULL,
    cvent_event_id     text        NOT NULL,
    environment        text        NOT NULL,
    region             text        NOT NULL,
    webhook_token_hash bytea       NOT NULL,
    settings           jsonb       NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Every POST Cvent makes, stored before it is acknowledged.
CREATE TABLE deliveries (
    id             bigserial PRIMARY KEY,
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    event_type     text        NOT NULL DEFAULT '',
    message_stub   text,
    message_time   timestamptz,
    item_count     integer     NOT NULL DEFAULT 0,
    body           bytea       NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    -- received → (dispatched) → processed | failed; or ignored | rejected on arrival.
    status         text        NOT NULL,
    error          text        NOT NULL DEFAULT '',
    workflow_id    text        NOT NULL DEFAULT '',
    dispatched_at  timestamptz,
    processed_at   timestamptz,
    result         jsonb
);
-- The idempotency key: one delivery per messageStub and integration.
CREATE UNIQUE INDEX deliveries_stub ON deliveries (integration_id, message_stub) WHERE message_stub IS NOT NULL;
CREATE INDEX deliveries_by_integration ON deliveries (integration_id, id DESC);
-- The outbox: deliveries stored but not yet handed to Temporal.
CREATE INDEX deliveries_undispatched ON deliveries (id) WHERE status = 'received' AND dispatched_at IS NULL;

-- The synced attendee directory.
CREATE TABLE attendees (
    integration_id    text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    invitee_id        text        NOT NULL,
    contact_id        text        NOT NULL DEFAULT '',
    email             text        NOT NULL DEFAULT '',
    first_name        text        NOT NULL DEFAULT '',
    last_name         text        NOT NULL DEFAULT '',
    company           text        NOT NULL DEFAULT '',
    title             text        NOT NULL DEFAULT '',
    profile_image_url text        NOT NULL DEFAULT '',
    registration_type text        NOT NULL DEFAULT '',
    cvent_status      text        NOT NULL DEFAULT '',
    access            boolean     NOT NULL DEFAULT false,
    is_guest          boolean     NOT NULL DEFAULT false,
    primary_invitee_id text       NOT NULL DEFAULT '',
    -- Platform access groups (issue: registration type → groups).
    access_groups     text[]      NOT NULL DEFAULT '{}',
    -- Mapped additional and custom fields, by platform field name.
    profile           jsonb       NOT NULL DEFAULT '{}',
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    -- When Cvent produced the state we hold: an older message never overwrites it.
    source_time       timestamptz NOT NULL,
    last_delivery_id  bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, invitee_id)
);
CREATE INDEX attendees_email ON attendees (integration_id, lower(email));

CREATE TABLE sessions (
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    session_id     text        NOT NULL,
    name           text        NOT NULL DEFAULT '',
    code           text        NOT NULL DEFAULT '',
    description    text        NOT NULL DEFAULT '',
    starts_at      timestamptz,
    ends_at        timestamptz,
    timezone       text        NOT NULL DEFAULT '',
    deleted        boolean     NOT NULL DEFAULT false,
    source_time    timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, session_id)
);

-- +goose Down
DROP TABLE sessions;
DROP TABLE attendees;
DROP TABLE deliveries;
DROP TABLE integrations;
