package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DeliveryIntegrationID is the integration a delivery belongs to, without
// loading its body: what an API key limited to some integrations is checked
// against on /deliveries/{id} routes.
func (s *Store) DeliveryIntegrationID(ctx context.Context, id int64) (string, error) {
	var integrationID string
	err := s.db.GetContext(ctx, &integrationID, `SELECT integration_id FROM deliveries WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("delivery %d integration: %w", id, err)
	}
	return integrationID, nil
}
