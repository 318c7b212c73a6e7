package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/pns"
)

// Cvent Supplier Network (PNS): integrations of kind pns, the notifications
// PNS posts, the RFPs pulled after them and the timeline of pulls. RFP
// changes go to the change log like directory changes (rfp.* types).

func init() { ChangeTypes = append(ChangeTypes, pns.ChangeTypes...) }

// Notification statuses.
const (
	PNSReceived  = "received"
	PNSHanded    = "handed"
	PNSProcessed = "processed"
	PNSIgnored   = "ignored"
)

// PNSIntegration is what a pns integration adds to its integrations row.
type PNSIntegration struct {
	IntegrationID  string         `db:"integration_id"`
	SupplierIDs    pq.StringArray `db:"supplier_ids"`
	APIKeyHash     []byte         `db:"api_key_hash"`
	Flavour        string         `db:"flavour"`
	BaseURL        string         `db:"base_url"`
	ClientID       string         `db:"client_id"`
	SecretSealed   string         `db:"secret_sealed"`
	CallsPerSecond float64        `db:"calls_per_second"`
	Burst          int            `db:"burst"`
}

// CreatePNSIntegration inserts the integration and its pns row together.
func (s *Store) CreatePNSIntegration(ctx context.Context, in *Integration, p *PNSIntegration) error {
	if len(in.Settings) == 0 {
		in.Settings = json.RawMessage(`{}`)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO integrations (id, name, cvent_event_id, environment, region, webhook_token_hash, platform_key_hash, settings)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at, updated_at`,
			in.ID, in.Name, in.CventEventID, in.Environment, in.Region, in.WebhookTokenHash, in.PlatformKeyHash, string(in.Settings),
		).Scan(&in.CreatedAt, &in.UpdatedAt)
		if err != nil {
			return fmt.Errorf("insert integration: %w", err)
		}
		p.IntegrationID = in.ID
		_, err = tx.NamedExecContext(ctx, `INSERT INTO pns_integrations
			(integration_id, supplier_ids, api_key_hash, flavour, base_url, client_id, secret_sealed, calls_per_second, burst)
			VALUES (:integration_id, :supplier_ids, :api_key_hash, :flavour, :base_url, :client_id, :secret_sealed, :calls_per_second, :burst)`, p)
		return wrap("insert pns integration", err)
	})
}

// GetPNSIntegration loads a pns integration's row; ErrNotFound when the
// integration does not exist or is not of kind pns.
func (s *Store) GetPNSIntegration(ctx context.Context, id string) (*PNSIntegration, error) {
	var p PNSIntegration
	err := s.db.GetContext(ctx, &p, `SELECT integration_id, supplier_ids, api_key_hash, flavour, base_url, client_id,
		secret_sealed, calls_per_second, burst FROM pns_integrations WHERE integration_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get pns integration %s: %w", id, err)
	}
	return &p, nil
}

// PNSNotification is one stored notification.
type PNSNotification struct {
	ID            int64        `db:"id" json:"id"`
	IntegrationID string       `db:"integration_id" json:"-"`
	IdemKey       string       `db:"idem_key" json:"-"`
	EventType     string       `db:"event_type" json:"eventType"`
	RFPID         string       `db:"rfp_id" json:"rfpId"`
	SupplierID    string       `db:"supplier_id" json:"supplierId"`
	NotifiedAt    sql.NullTime `db:"notified_at" json:"-"`
	Body          []byte       `db:"body" json:"-"`
	ReceivedAt    time.Time    `db:"received_at" json:"receivedAt"`
	Status        string       `db:"status" json:"status"`
	Error         string       `db:"error" json:"error,omitempty"`
	WorkflowID    string       `db:"workflow_id" json:"workflowId,omitempty"`
	ProcessedAt   sql.NullTime `db:"processed_at" json:"-"`
}

// InsertPNSNotification stores a notification unless one with its
// idempotency key is stored already; then it loads that one into n and
// answers duplicate.
func (s *Store) InsertPNSNotification(ctx context.Context, n *PNSNotification) (duplicate bool, err error) {
	rows, err := s.db.NamedQueryContext(ctx, `INSERT INTO pns_notifications
		(integration_id, idem_key, event_type, rfp_id, supplier_id, notified_at, body, status, error, workflow_id)
		VALUES (:integration_id, :idem_key, :event_type, :rfp_id, :supplier_id, :notified_at, :body, :status, :error, :workflow_id)
		ON CONFLICT (integration_id, idem_key) DO NOTHING RETURNING id, received_at`, n)
	if err != nil {
		return false, fmt.Errorf("insert pns notification: %w", err)
	}
	inserted := rows.Next()
	if inserted {
		err = rows.Scan(&n.ID, &n.ReceivedAt)
	}
	rows.Close()
	if err != nil {
		return false, fmt.Errorf("insert pns notification: %w", err)
	}
	if inserted {
		return false, nil
	}
	err = s.db.GetContext(ctx, n, `SELECT * FROM pns_notifications WHERE integration_id = $1 AND idem_key = $2`, n.IntegrationID, n.IdemKey)
	return true, wrap("load duplicate pns notification", err)
}

// MarkPNSHanded records that the notifications reached their RFP's
// workflow (one a pull already answered stays processed). The mark is not
// waited to disk: lost in a crash, it costs the maintenance sweep one more
// signal, which the workflow ignores once a pull answered them.
func (s *Store) MarkPNSHanded(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("mark pns notifications handed: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE pns_notifications SET status = 'handed' WHERE id = ANY($1) AND status = 'received'`,
			pq.Int64Array(ids))
		return wrap("mark pns notifications handed", err)
	})
}

// PNSProcessed tells whether a pull has answered every one of the
// notifications.
func (s *Store) PNSProcessed(ctx context.Context, ids ...int64) (bool, error) {
	var waiting int
	err := s.db.GetContext(ctx, &waiting, `SELECT count(*) FROM pns_notifications WHERE id = ANY($1) AND status <> 'processed'`,
		pq.Int64Array(ids))
	if err != nil {
		return false, fmt.Errorf("pns notifications processed: %w", err)
	}
	return waiting == 0, nil
}

// UnhandedPNS is a stored notification its RFP's workflow never got.
type UnhandedPNS struct {
	ID            int64  `db:"id"`
	IntegrationID string `db:"integration_id"`
	RFPID         string `db:"rfp_id"`
	EventType     string `db:"event_type"`
	SupplierID    string `db:"supplier_id"`
}

// PNSNotHanded lists notifications stored before cutoff and still waiting
// to be handed to their RFP's workflow, oldest first.
func (s *Store) PNSNotHanded(ctx context.Context, cutoff time.Time, limit int) ([]UnhandedPNS, error) {
	var out []UnhandedPNS
	err := s.db.SelectContext(ctx, &out, `SELECT id, integration_id, rfp_id, event_type, supplier_id FROM pns_notifications
		WHERE status = 'received' AND received_at < $1 ORDER BY received_at, id LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, fmt.Errorf("pns notifications not handed: %w", err)
	}
	return out, nil
}

// CountPNSNotifications counts an integration's notifications by status.
func (s *Store) CountPNSNotifications(ctx context.Context, integrationID string) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM pns_notifications WHERE integration_id = $1 GROUP BY status`, integrationID); err != nil {
		return nil, fmt.Errorf("count pns notifications: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// RFPRow is a stored RFP.
type RFPRow struct {
	IntegrationID string          `db:"integration_id"`
	RFPID         string          `db:"rfp_id"`
	Status        string          `db:"status"`
	SupplierID    string          `db:"supplier_id"`
	SuppStatus    string          `db:"supplier_status"`
	Closed        bool            `db:"closed"`
	ResponseDue   sql.NullTime    `db:"response_due"`
	DecisionDate  sql.NullTime    `db:"decision_date"`
	Record        json.RawMessage `db:"record"`
	Pulls         int             `db:"pulls"`
	LastPulledAt  sql.NullTime    `db:"last_pulled_at"`
	CreatedAt     time.Time       `db:"created_at"`
	UpdatedAt     time.Time       `db:"updated_at"`
}

// State decodes the stored record.
func (r *RFPRow) State() (pns.State, error) {
	var st pns.State
	err := json.Unmarshal(r.Record, &st)
	return st, err
}

// RFPApplied is what a pull did.
type RFPApplied struct {
	ChangeType string
	Closed     bool
	Pulls      int
}

// ApplyRFPPull stores a pulled state: it compares it with the stored one,
// writes the row, appends the rfp.* change (when something changed) to the
// change log, records the pull in the timeline and marks the notifications
// the pull answered processed — all in one transaction.
//
// upTo is the last notification of the RFP stored before the pull began
// (LastPNSNotificationID): the pull answers every one up to it, however it
// reached the workflow; later ones wait for the next pull.
func (s *Store) ApplyRFPPull(ctx context.Context, integrationID string, st pns.State, upTo int64) (RFPApplied, error) {
	var out RFPApplied
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockChangeLog(ctx, tx, integrationID); err != nil {
			return err
		}
		var old *pns.State
		var rec json.RawMessage
		err := tx.GetContext(ctx, &rec, `SELECT record FROM rfps WHERE integration_id = $1 AND rfp_id = $2 FOR UPDATE`, integrationID, st.RFPID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read rfp: %w", err)
		default:
			var o pns.State
			if err := json.Unmarshal(rec, &o); err != nil {
				return fmt.Errorf("decode stored rfp: %w", err)
			}
			old = &o
		}
		typ, diff := pns.ChangeOf(old, st)
		record, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode rfp: %w", err)
		}
		err = tx.GetContext(ctx, &out.Pulls, `INSERT INTO rfps AS r (integration_id, rfp_id, status, supplier_id, supplier_status, closed,
				response_due, decision_date, record, pulls, last_pulled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, now())
			ON CONFLICT (integration_id, rfp_id) DO UPDATE SET status = EXCLUDED.status, supplier_id = EXCLUDED.supplier_id,
				supplier_status = EXCLUDED.supplier_status, closed = EXCLUDED.closed, response_due = EXCLUDED.response_due,
				decision_date = EXCLUDED.decision_date, record = EXCLUDED.record, pulls = r.pulls + 1, last_pulled_at = now(),
				updated_at = CASE WHEN $10 THEN now() ELSE r.updated_at END
			RETURNING pulls`,
			integrationID, st.RFPID, st.Status, st.SupplierID, st.SupplierStatus, st.Closed, st.ResponseDueDate, st.DecisionDate,
			string(record), typ != "")
		if err != nil {
			return fmt.Errorf("write rfp: %w", err)
		}
		changed := map[string]map[string]any{}
		for k, v := range diff {
			changed[k] = map[string]any{"old": v[0], "new": v[1]}
		}
		changedBytes, _ := json.Marshal(changed)
		changedJSON := string(changedBytes) // a string: []byte parameters go to bytea only (withOneRoundTrip)
		if typ != "" {
			if _, err := tx.ExecContext(ctx, `WITH s AS (
					INSERT INTO change_seqs AS s (integration_id, last_seq) VALUES ($1, 1)
					ON CONFLICT (integration_id) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq)
				INSERT INTO changes (integration_id, seq, type, key, changed, record)
				SELECT $1, last_seq, $2, $3, $4, $5 FROM s`,
				integrationID, typ, "rfp:"+st.RFPID, changedJSON, string(record)); err != nil {
				return fmt.Errorf("append rfp change: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+changesChannel+`', $1)`, integrationID); err != nil {
				return fmt.Errorf("notify changes: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `WITH done AS (
				UPDATE pns_notifications SET status = 'processed', processed_at = now()
				WHERE integration_id = $1 AND rfp_id = $2 AND id <= $5 AND status IN ('received', 'handed')
				RETURNING id)
			INSERT INTO rfp_pulls (integration_id, rfp_id, outcome, change_type, changed, notifications)
			SELECT $1, $2, 'ok', $3, $4, COALESCE((SELECT array_agg(id ORDER BY id) FROM done), '{}')`,
			integrationID, st.RFPID, typ, changedJSON, upTo); err != nil {
			return fmt.Errorf("record pull: %w", err)
		}
		out.ChangeType, out.Closed = typ, st.Closed
		return nil
	})
	return out, err
}

// LastPNSNotificationID is the newest stored notification about an RFP (0: none).
func (s *Store) LastPNSNotificationID(ctx context.Context, integrationID, rfpID string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT COALESCE(max(id), 0) FROM pns_notifications WHERE integration_id = $1 AND rfp_id = $2`,
		integrationID, rfpID)
	return id, wrap("last pns notification", err)
}

// PNSNotifiedSuppliers lists the suppliers the RFP's notifications named.
func (s *Store) PNSNotifiedSuppliers(ctx context.Context, integrationID, rfpID string) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT supplier_id FROM pns_notifications
		WHERE integration_id = $1 AND rfp_id = $2 AND supplier_id <> '' ORDER BY supplier_id`, integrationID, rfpID)
	if err != nil {
		return nil, fmt.Errorf("pns notified suppliers: %w", err)
	}
	return out, nil
}

// RecordRFPPullFailure notes a pull that Cvent refused (it is not retried).
func (s *Store) RecordRFPPullFailure(ctx context.Context, integrationID, rfpID, reason string, notificationIDs []int64) error {
	if notificationIDs == nil {
		notificationIDs = []int64{}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO rfp_pulls (integration_id, rfp_id, outcome, error, notifications)
		VALUES ($1, $2, 'failed', $3, $4)`, integrationID, rfpID, reason, pq.Int64Array(notificationIDs))
	return wrap("record failed pull", err)
}

// RFPFilter narrows ListRFPs.
type RFPFilter struct {
	Status       string // RFP status or supplier status
	DueBefore    time.Time
	UpdatedAfter time.Time
	Limit        int
}

// ListRFPs lists an integration's RFPs, most recently updated first.
func (s *Store) ListRFPs(ctx context.Context, integrationID string, f RFPFilter) ([]RFPRow, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	var due, upd *time.Time
	if !f.DueBefore.IsZero() {
		due = &f.DueBefore
	}
	if !f.UpdatedAfter.IsZero() {
		upd = &f.UpdatedAfter
	}
	out := []RFPRow{}
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM rfps WHERE integration_id = $1
		AND ($2 = '' OR upper(status) = upper($2) OR upper(supplier_status) = upper($2))
		AND ($3::timestamptz IS NULL OR response_due < $3)
		AND ($4::timestamptz IS NULL OR updated_at > $4)
		ORDER BY updated_at DESC, rfp_id LIMIT $5`, integrationID, f.Status, due, upd, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list rfps: %w", err)
	}
	return out, nil
}

// GetRFP loads one RFP; ErrNotFound when it was never pulled.
func (s *Store) GetRFP(ctx context.Context, integrationID, rfpID string) (*RFPRow, error) {
	var r RFPRow
	err := s.db.GetContext(ctx, &r, `SELECT * FROM rfps WHERE integration_id = $1 AND rfp_id = $2`, integrationID, rfpID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get rfp: %w", err)
	}
	return &r, nil
}

// TimelineEntry is one notification or pull of an RFP.
type TimelineEntry struct {
	At   time.Time `db:"at" json:"at"`
	Kind string    `db:"kind" json:"kind"` // notification | pull
	ID   int64     `db:"id" json:"id"`
	// Type is the notification's event type, or the pull's change type.
	Type       string          `db:"type" json:"type,omitempty"`
	SupplierID string          `db:"supplier_id" json:"supplierId,omitempty"`
	Status     string          `db:"status" json:"status"` // notification status or pull outcome
	Error      string          `db:"error" json:"error,omitempty"`
	Changed    json.RawMessage `db:"-" json:"changed,omitempty"`
}

// RFPTimeline lists an RFP's notifications and pulls in time order.
func (s *Store) RFPTimeline(ctx context.Context, integrationID, rfpID string) ([]TimelineEntry, error) {
	var rows []struct {
		TimelineEntry
		Changed []byte `db:"changed"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT received_at AS at, 'notification' AS kind, id, event_type AS type, supplier_id, status, error, NULL::jsonb AS changed
		FROM pns_notifications WHERE integration_id = $1 AND rfp_id = $2
		UNION ALL
		SELECT at, 'pull', id, change_type, '', outcome, error, changed FROM rfp_pulls WHERE integration_id = $1 AND rfp_id = $2
		ORDER BY at, kind DESC, id`, integrationID, rfpID)
	if err != nil {
		return nil, fmt.Errorf("rfp timeline: %w", err)
	}
	out := make([]TimelineEntry, len(rows))
	for i, r := range rows {
		out[i] = r.TimelineEntry
		if len(r.Changed) > 0 && string(r.Changed) != "{}" {
			out[i].Changed = r.Changed
		}
	}
	return out, nil
}
