package store

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
)

// OpsSnapshot is what the metrics endpoints read from the database at a
// scrape: every query is served by a partial index or a small table.
type OpsSnapshot struct {
	// Waiting deliveries (status received) and the age of the oldest, in seconds.
	Waiting          int64   `db:"waiting"`
	OldestWaitingAge float64 `db:"oldest_waiting_age"`
	// Failed deliveries (replayable).
	Failed int64 `db:"failed"`
	// ParticipationDue counts check-ins due and not yet written to Cvent.
	ParticipationDue int64 `db:"participation_due"`
	Destinations     []DestinationOps
}

// DestinationOps is one enabled destination's lag behind the change log.
type DestinationOps struct {
	ID            string  `db:"id"`
	IntegrationID string  `db:"integration_id"`
	Status        string  `db:"status"`
	LagChanges    int64   `db:"lag_changes"`
	LagSeconds    float64 `db:"lag_seconds"`
}

// Ops reads the operations snapshot.
func (s *Store) Ops(ctx context.Context) (*OpsSnapshot, error) {
	out := &OpsSnapshot{}
	err := s.db.GetContext(ctx, out, `SELECT
			(SELECT count(*) FROM deliveries WHERE status = 'received') AS waiting,
			COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(received_at)) FROM deliveries WHERE status = 'received'), 0)::float8 AS oldest_waiting_age,
			(SELECT count(*) FROM deliveries WHERE status = 'failed') AS failed,
			(SELECT count(*) FROM participation WHERE status IN ('pending', 'sending') AND due_at <= now()) AS participation_due`)
	if err != nil {
		return nil, fmt.Errorf("operations snapshot: %w", err)
	}
	err = s.db.SelectContext(ctx, &out.Destinations, `SELECT d.id, d.integration_id, d.status,
			GREATEST(COALESCE(cs.last_seq, 0) - d.cursor, 0) AS lag_changes,
			COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(c.at)) FROM changes c
				WHERE c.integration_id = d.integration_id AND c.seq > d.cursor), 0)::float8 AS lag_seconds
		FROM destinations d LEFT JOIN change_seqs cs ON cs.integration_id = d.integration_id
		WHERE d.enabled ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("operations snapshot of destinations: %w", err)
	}
	return out, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// MigrationsPending reports whether the database lacks migrations this
// binary knows. It takes no lock, so it never waits for a running migration.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	provider, err := goose.NewProvider(goose.DialectPostgres, s.db.DB, mustSub(migrations, "migrations"))
	if err != nil {
		return false, fmt.Errorf("migrations: %w", err)
	}
	pending, err := provider.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return pending, nil
}

// InviteeIDsByEmail lists the invitee ids of an integration's attendees
// with the e-mail address (case-insensitive): how operators find a
// person's deliveries.
func (s *Store) InviteeIDsByEmail(ctx context.Context, integrationID, email string) ([]string, error) {
	ids := []string{}
	err := s.db.SelectContext(ctx, &ids, `SELECT invitee_id FROM attendees
		WHERE integration_id = $1 AND lower(email) = lower($2) ORDER BY invitee_id`, integrationID, email)
	if err != nil {
		return nil, fmt.Errorf("find attendees by e-mail: %w", err)
	}
	return ids, nil
}
