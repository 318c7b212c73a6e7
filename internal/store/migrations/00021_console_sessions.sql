-- +goose Up
-- Operators' console sessions, where every gateway sees them: signing out
-- on one gateway deletes the row and the cookie stops working on all. Only
-- the SHA-256 of the session token is kept; the token is in the cookie.
CREATE TABLE console_sessions (
    token_hash bytea       PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
