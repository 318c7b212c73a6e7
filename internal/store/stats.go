package store

import (
	"context"
	"fmt"
)

// Stats summarises an integration for operators and benchmarks.
type Stats struct {
	Attendees     int            `json:"attendees"`
	WithAccess    int            `json:"withAccess"`
	Deliveries    map[string]int `json:"deliveries"`
	Participation map[string]int `json:"participation"`
}

// IntegrationStats counts attendees, deliveries by status and participation by status.
func (s *Store) IntegrationStats(ctx context.Context, integrationID string) (*Stats, error) {
	st := &Stats{Deliveries: map[string]int{}, Participation: map[string]int{}}
	var err error
	if st.Attendees, st.WithAccess, err = s.CountAttendees(ctx, integrationID); err != nil {
		return nil, err
	}
	for table, into := range map[string]map[string]int{"deliveries": st.Deliveries, "participation": st.Participation} {
		rows, err := s.db.QueryxContext(ctx, `SELECT status, count(*) FROM `+table+` WHERE integration_id = $1 GROUP BY status`, integrationID)
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", table, err)
		}
		for rows.Next() {
			var status string
			var n int
			if err := rows.Scan(&status, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count %s: %w", table, err)
			}
			into[status] = n
		}
		rows.Close()
	}
	return st, nil
}
