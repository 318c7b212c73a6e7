package gateway

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/cventsync/cventsync/internal/store"
)

// integrationCache keeps integrations the webhook path looked up for a
// short while: a burst of Cvent deliveries then costs one query per
// delivery (the insert) instead of two. Admin changes show up within ttl.
type integrationCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedIntegration
	// flight joins concurrent misses of one integration: a burst's first
	// webhooks make one query, not one each.
	flight singleflight.Group
}

type cachedIntegration struct {
	in      *store.Integration
	expires time.Time
}

func (c *integrationCache) get(ctx context.Context, st *store.Store, id string) (*store.Integration, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.in, nil
	}
	v, err, _ := c.flight.Do(id, func() (any, error) { return st.GetIntegration(context.WithoutCancel(ctx), id) })
	if err != nil {
		return nil, err // misses are not cached: a new integration works at once
	}
	in := v.(*store.Integration)
	c.mu.Lock()
	if len(c.entries) > 10000 {
		c.entries = map[string]cachedIntegration{}
	}
	c.entries[id] = cachedIntegration{in: in, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return in, nil
}
