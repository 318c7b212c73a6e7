package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateConsoleSession stores a signed-in console session by the SHA-256 of
// its token, and deletes sessions that have expired.
func (s *Store) CreateConsoleSession(ctx context.Context, tokenHash []byte, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `WITH expired AS (DELETE FROM console_sessions WHERE expires_at <= now())
		INSERT INTO console_sessions (token_hash, expires_at) VALUES ($1, $2)`, tokenHash, expires)
	if err != nil {
		return fmt.Errorf("create console session: %w", err)
	}
	return nil
}

// ConsoleSessionExpiry says until when the session with this token hash is
// valid; ok is false when there is none (signed out, expired, never made).
func (s *Store) ConsoleSessionExpiry(ctx context.Context, tokenHash []byte) (expires time.Time, ok bool, err error) {
	err = s.db.GetContext(ctx, &expires, `SELECT expires_at FROM console_sessions
		WHERE token_hash = $1 AND expires_at > now()`, tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read console session: %w", err)
	}
	return expires, true, nil
}

// DeleteConsoleSession ends a console session (sign-out) for every gateway.
func (s *Store) DeleteConsoleSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("delete console session: %w", err)
	}
	return nil
}
