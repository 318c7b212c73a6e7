package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// APIKey is a named key for the admin API. Its secret is never stored, only
// KeyHash; IntegrationIDs empty means every integration.
type APIKey struct {
	ID             string         `db:"id"`
	Name           string         `db:"name"`
	Role           string         `db:"role"`
	IntegrationIDs pq.StringArray `db:"integration_ids"`
	KeyHash        []byte         `db:"key_hash"`
	Hint           string         `db:"hint"`
	CreatedAt      time.Time      `db:"created_at"`
	LastUsedAt     sql.NullTime   `db:"last_used_at"`
	RevokedAt      sql.NullTime   `db:"revoked_at"`
}

const apiKeyColumns = `id, name, role, integration_ids, key_hash, hint, created_at, last_used_at, revoked_at`

// CreateAPIKey stores a new key (its hash).
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	if k.IntegrationIDs == nil {
		k.IntegrationIDs = pq.StringArray{}
	}
	err := s.db.QueryRowxContext(ctx, `
		INSERT INTO api_keys (id, name, role, integration_ids, key_hash, hint)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
		k.ID, k.Name, k.Role, k.IntegrationIDs, k.KeyHash, k.Hint).Scan(&k.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// GetAPIKey loads a key by id, revoked or not; ErrNotFound when there is none.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	err := s.db.GetContext(ctx, &k, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return &k, nil
}

// ListAPIKeys returns every key, revoked ones too, newest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	out := []APIKey{}
	if err := s.db.SelectContext(ctx, &out, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at DESC, id`); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey marks a key revoked; it stops working at the next request.
// Revoking a revoked key keeps its first revocation time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	err := s.db.GetContext(ctx, &k, `
		UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
		RETURNING `+apiKeyColumns, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("revoke api key: %w", err)
	}
	return &k, nil
}

// TouchAPIKey records that a key was used. Callers throttle it; the WHERE
// clause keeps concurrent gateways from rewriting the row within a minute.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE api_keys SET last_used_at = $2::timestamptz
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`, id, at)
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}
