package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Integration connects one Cvent event to the platform.
type Integration struct {
	ID               string          `db:"id"`
	Name             string          `db:"name"`
	CventEventID     string          `db:"cvent_event_id"`
	Environment      string          `db:"environment"`
	Region           string          `db:"region"`
	WebhookTokenHash []byte          `db:"webhook_token_hash"`
	PlatformKeyHash  []byte          `db:"platform_key_hash"`
	Settings         json.RawMessage `db:"settings"`
	CreatedAt        time.Time       `db:"created_at"`
	UpdatedAt        time.Time       `db:"updated_at"`
}

const integrationColumns = `id, name, cvent_event_id, environment, region, webhook_token_hash, platform_key_hash, settings, created_at, updated_at`

// CreateIntegration inserts a new integration.
func (s *Store) CreateIntegration(ctx context.Context, in *Integration) error {
	if len(in.Settings) == 0 {
		in.Settings = json.RawMessage(`{}`)
	}
	err := s.db.QueryRowxContext(ctx, `
		INSERT INTO integrations (id, name, cvent_event_id, environment, region, webhook_token_hash, platform_key_hash, settings)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING created_at, updated_at`,
		in.ID, in.Name, in.CventEventID, in.Environment, in.Region, in.WebhookTokenHash, in.PlatformKeyHash, string(in.Settings),
	).Scan(&in.CreatedAt, &in.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert integration: %w", err)
	}
	return nil
}

// GetIntegration loads one integration; ErrNotFound when it does not exist.
func (s *Store) GetIntegration(ctx context.Context, id string) (*Integration, error) {
	var in Integration
	err := s.db.GetContext(ctx, &in, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get integration %s: %w", id, err)
	}
	return &in, nil
}

// ListIntegrations returns every integration, newest first.
func (s *Store) ListIntegrations(ctx context.Context) ([]Integration, error) {
	var out []Integration
	if err := s.db.SelectContext(ctx, &out, `SELECT `+integrationColumns+` FROM integrations ORDER BY created_at DESC`); err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	return out, nil
}

// UpdateIntegrationSettings replaces an integration's settings document.
func (s *Store) UpdateIntegrationSettings(ctx context.Context, id string, settings json.RawMessage) error {
	res, err := s.db.ExecContext(ctx, `UPDATE integrations SET settings = $2, updated_at = now() WHERE id = $1`, id, string(settings))
	if err != nil {
		return fmt.Errorf("update integration %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPlatformKeyHash replaces the hash of an integration's platform key.
func (s *Store) SetPlatformKeyHash(ctx context.Context, id string, hash []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE integrations SET platform_key_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
	if err != nil {
		return fmt.Errorf("set platform key of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
