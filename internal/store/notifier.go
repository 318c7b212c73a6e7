package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Notifier hears, on one LISTEN connection per process, that deliveries were
// stored (waking the drainers of their integrations) and that changes were
// logged (waking destination deliverers and long-polls of the feed).
type Notifier struct {
	l   *pq.Listener
	log *slog.Logger

	mu sync.Mutex
	// waiters by channel, then integration id.
	waiters map[string]map[string]map[chan struct{}]struct{}
}

// NewNotifier opens the LISTEN connection and returns once it listens.
func (s *Store) NewNotifier(ctx context.Context, log *slog.Logger) (*Notifier, error) {
	n := &Notifier{log: log, waiters: map[string]map[string]map[chan struct{}]struct{}{
		deliveriesChannel: {}, changesChannel: {},
	}}
	n.l = pq.NewListener(s.url, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("delivery listener", "event", ev, "error", err)
		}
	})
	for ch := range n.waiters {
		if err := n.l.Listen(ch); err != nil {
			n.l.Close()
			return nil, fmt.Errorf("listen on %s: %w", ch, err)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if err := n.l.Ping(); err == nil {
			break
		}
		select {
		case <-pingCtx.Done():
			n.l.Close()
			return nil, fmt.Errorf("listen for deliveries: connection not ready: %w", pingCtx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	go n.run()
	return n, nil
}

func (n *Notifier) run() {
	for note := range n.l.NotificationChannel() {
		n.mu.Lock()
		if note == nil {
			// Reconnected: notifications may have been missed; everyone looks again.
			for _, byID := range n.waiters {
				for _, set := range byID {
					wakeAll(set)
				}
			}
		} else if byID := n.waiters[note.Channel]; byID != nil {
			wakeAll(byID[note.Extra])
		}
		n.mu.Unlock()
	}
}

func wakeAll(set map[chan struct{}]struct{}) {
	for ch := range set {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe returns a channel that receives a value whenever a delivery of
// the integration is stored (notifications coalesce), and a cancel function.
func (n *Notifier) Subscribe(integrationID string) (<-chan struct{}, func()) {
	return n.subscribe(deliveriesChannel, integrationID)
}

// SubscribeChanges returns a channel that receives a value whenever changes
// of the integration are logged (notifications coalesce), and a cancel function.
func (n *Notifier) SubscribeChanges(integrationID string) (<-chan struct{}, func()) {
	return n.subscribe(changesChannel, integrationID)
}

func (n *Notifier) subscribe(channel, integrationID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	byID := n.waiters[channel]
	if byID[integrationID] == nil {
		byID[integrationID] = map[chan struct{}]struct{}{}
	}
	byID[integrationID][ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(byID[integrationID], ch)
		if len(byID[integrationID]) == 0 {
			delete(byID, integrationID)
		}
		n.mu.Unlock()
	}
}

// Close ends the LISTEN connection.
func (n *Notifier) Close() error { return n.l.Close() }
