-- +goose Up
-- Cvent calls used of each account's daily quota. Cvent counts calls per
-- account and resets at 00:00 UTC; cventsync knows an account by its client
-- id, so integrations sharing credentials share a row. Every gateway and
-- worker adds what it counted in memory about once a second (one upsert per
-- account and day), so the rows hold the calls of every process together.
CREATE TABLE cvent_calls (
    account text   NOT NULL, -- client id
    day     date   NOT NULL, -- UTC
    calls   bigint NOT NULL CHECK (calls >= 0),
    PRIMARY KEY (account, day)
);

-- The account's usage tier as GET /usage/tier last answered it.
CREATE TABLE cvent_tiers (
    account     text PRIMARY KEY, -- client id
    name        text             NOT NULL,
    -- Calls per day; NULL: unlimited (Cvent answers a null quota).
    quota       bigint,
    rate_limit  double precision NOT NULL,
    burst_limit double precision NOT NULL,
    read_at     timestamptz      NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE cvent_tiers;
DROP TABLE cvent_calls;
