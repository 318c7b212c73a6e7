package simulator

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// PNSSender posts notifications the way Cvent's PNS does: with
// "Authorization: api_key <key>" when a key is set (no header otherwise),
// retrying at growing intervals until it gets a 2xx, holding everything
// during an announced downtime window and flushing afterwards.
type PNSSender struct {
	URL    string
	APIKey string
	Client *http.Client
	// FirstRetry is the first retry interval, doubled each time up to
	// MaxRetry (defaults 200 ms and 5 s; Cvent's are longer).
	FirstRetry, MaxRetry time.Duration
	// Duplicates sends every notification this many extra times.
	Duplicates int
	// Shuffle sends a batch out of order.
	Shuffle bool
	Seed    uint64

	mu            sync.Mutex
	downtimeUntil time.Time
	wg            sync.WaitGroup
	attempts      int
	delivered     int
	statuses      map[int]int
}

// Downtime holds notifications until the given time (an announced
// maintenance window); they are delivered afterwards.
func (p *PNSSender) Downtime(until time.Time) {
	p.mu.Lock()
	p.downtimeUntil = until
	p.mu.Unlock()
}

// Send posts the notifications, each in its own goroutine, retrying until
// it is acknowledged. Wait waits for all of them.
func (p *PNSSender) Send(ns ...Notification) {
	order := make([]Notification, 0, len(ns)*(1+p.Duplicates))
	for _, n := range ns {
		for range 1 + p.Duplicates {
			order = append(order, n)
		}
	}
	if p.Shuffle {
		rng := rand.New(rand.NewPCG(p.Seed, 7))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	for _, n := range order {
		p.wg.Add(1)
		go func(body []byte) {
			defer p.wg.Done()
			p.deliver(body)
		}(n.Body())
	}
}

// SendInOrder posts the notifications one after the other, each retried
// until acknowledged before the next goes.
func (p *PNSSender) SendInOrder(ns ...Notification) {
	for _, n := range ns {
		p.deliver(n.Body())
	}
}

// Wait blocks until every notification sent was acknowledged or ctx ends.
func (p *PNSSender) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats are the attempts made, the notifications acknowledged, and the
// count of each answer status (0: no answer).
func (p *PNSSender) Stats() (attempts, delivered int, statuses map[int]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]int{}
	for k, v := range p.statuses {
		out[k] = v
	}
	return p.attempts, p.delivered, out
}

// PostOnce posts one body once, with the sender's auth, and answers the status.
func (p *PNSSender) PostOnce(body []byte) (int, []byte) {
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, _ := http.NewRequest(http.MethodPost, p.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if p.APIKey != "" {
		req.Header.Set("Authorization", "api_key "+p.APIKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (p *PNSSender) deliver(body []byte) {
	wait := p.FirstRetry
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	maxWait := p.MaxRetry
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	for {
		p.mu.Lock()
		hold := time.Until(p.downtimeUntil)
		p.mu.Unlock()
		if hold > 0 {
			time.Sleep(hold)
			continue
		}
		status, _ := p.PostOnce(body)
		p.mu.Lock()
		p.attempts++
		if p.statuses == nil {
			p.statuses = map[int]int{}
		}
		p.statuses[status]++
		ok := status >= 200 && status < 300
		if ok {
			p.delivered++
		}
		p.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(wait)
		wait = min(wait*2, maxWait)
	}
}
