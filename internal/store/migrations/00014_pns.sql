-- +goose Up
-- Cvent Supplier Network (PNS) integrations: an integrations row (kind pns)
-- plus how Cvent authenticates to us and how we pull RFPs.
CREATE TABLE pns_integrations (
    integration_id   text PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    supplier_ids     text[]           NOT NULL,
    -- The hash of the api_key Cvent sends; NULL: no Authorization expected.
    api_key_hash     bytea,
    -- rest (OAuth2 client credentials) | legacy (CSN API key).
    flavour          text             NOT NULL,
    base_url         text             NOT NULL DEFAULT '',
    client_id        text             NOT NULL DEFAULT '',
    -- The REST client secret or the legacy API key, sealed.
    secret_sealed    text             NOT NULL DEFAULT '',
    calls_per_second double precision NOT NULL DEFAULT 10,
    burst            integer          NOT NULL DEFAULT 10
);

-- Every notification PNS posts, stored before it is acknowledged.
CREATE TABLE pns_notifications (
    id             bigserial PRIMARY KEY,
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- One row per notification: a repeat (Cvent retries) has one effect.
    idem_key       text        NOT NULL,
    event_type     text        NOT NULL DEFAULT '',
    rfp_id         text        NOT NULL DEFAULT '',
    supplier_id    text        NOT NULL DEFAULT '',
    notified_at    timestamptz,
    body           bytea       NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    -- received → handed (to the RFP workflow) → processed (a pull saw it);
    -- or ignored on arrival (unknown type, no RFP id, not JSON).
    status         text        NOT NULL,
    error          text        NOT NULL DEFAULT '',
    workflow_id    text        NOT NULL DEFAULT '',
    processed_at   timestamptz,
    UNIQUE (integration_id, idem_key)
);
CREATE INDEX pns_notifications_by_rfp ON pns_notifications (integration_id, rfp_id, id);

-- The RFPs the integration's suppliers received, as last pulled.
CREATE TABLE rfps (
    integration_id   text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    rfp_id           text        NOT NULL,
    status           text        NOT NULL DEFAULT '',
    supplier_id      text        NOT NULL DEFAULT '',
    supplier_status  text        NOT NULL DEFAULT '',
    closed           boolean     NOT NULL DEFAULT false,
    response_due     timestamptz,
    decision_date    timestamptz,
    -- The whole state (pns.State).
    record           jsonb       NOT NULL,
    pulls            integer     NOT NULL DEFAULT 0,
    last_pulled_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, rfp_id)
);
CREATE INDEX rfps_updated ON rfps (integration_id, updated_at);

-- Every pull of an RFP and what it changed (notifications are in
-- pns_notifications); together the RFP's timeline.
CREATE TABLE rfp_pulls (
    id             bigserial PRIMARY KEY,
    integration_id text        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    rfp_id         text        NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    -- ok | failed
    outcome        text        NOT NULL,
    change_type    text        NOT NULL DEFAULT '',
    changed        jsonb       NOT NULL DEFAULT '{}',
    error          text        NOT NULL DEFAULT '',
    notifications  bigint[]    NOT NULL DEFAULT '{}'
);
CREATE INDEX rfp_pulls_by_rfp ON rfp_pulls (integration_id, rfp_id, id);

-- +goose Down
DROP TABLE rfp_pulls;
DROP TABLE rfps;
DROP TABLE pns_notifications;
DROP TABLE pns_integrations;
