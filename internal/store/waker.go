package store

import (
	"context"
	"log/slog"
	"sync"

	"github.com/lib/pq"
)

// drainerWaker wakes integrations' drainers after their deliveries are
// stored, outside the transactions that store them. A transaction that
// notifies holds PostgreSQL's notify lock from before its commit until the
// commit is flushed, so notifying in every webhook's insert would make the
// inserts commit one at a time; the waker instead sends one notification
// statement at a time, for every integration woken since the last one
// began. A wake is sent after the call that asked for it (the store has
// committed by then), which is what the drainer's protocol needs; a lost one
// costs at most the drainer's idle poll.
type drainerWaker struct {
	s       *Store
	mu      sync.Mutex
	pending map[string]bool
	running bool
}

// wake asks for a notification to integrationID's drainer.
func (w *drainerWaker) wake(integrationID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending = map[string]bool{}
	}
	w.pending[integrationID] = true
	if !w.running {
		w.running = true
		go w.send()
	}
}

// send notifies what is pending until nothing is.
func (w *drainerWaker) send() {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		ids := make([]string, 0, len(w.pending))
		for id := range w.pending {
			ids = append(ids, id)
		}
		clear(w.pending)
		w.mu.Unlock()
		if _, err := w.s.db.ExecContext(context.Background(),
			`SELECT pg_notify('`+deliveriesChannel+`', id) FROM unnest($1::text[]) AS id`, pq.StringArray(ids)); err != nil {
			slog.Warn("could not wake drainers; they look for work within a second anyway", "integrations", len(ids), "error", err)
		}
	}
}
