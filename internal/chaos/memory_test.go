package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Sixteen 30 MiB bodies at once (streamed to PostgreSQL), a hundred clients trickling a byte a
// second, and ordinary registrations in between: the gateway stays within
// 300 MB, answers the registrations quickly, and cuts the tricklers off with
// 408.
func TestGatewayMemoryUnderLargeAndSlowBodies(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// A gateway of its own, so its memory is this test's alone.
	gw, err := h.c.StartGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Stop)
	in := h.createIntegration(gw, "", "")
	s := h.newSender()

	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if rss, err := gw.RSS(); err == nil && rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// The tricklers: a declared body that arrives a byte a second.
	u, _ := url.Parse(gw.URL)
	var cut, notCut atomic.Int64
	var trickle sync.WaitGroup
	for i := 0; i < 100; i++ {
		trickle.Add(1)
		go func() {
			defer trickle.Done()
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				notCut.Add(1)
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /webhooks/cvent/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
				in.ID, u.Host, in.WebhookToken)
			answer := make(chan *http.Response, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					resp = nil
				}
				answer <- resp
			}()
			for sent := 0; sent < 60; sent++ {
				select {
				case resp := <-answer:
					if resp != nil && resp.StatusCode == http.StatusRequestTimeout {
						cut.Add(1)
					} else {
						notCut.Add(1)
					}
					return
				case <-time.After(time.Second):
					if _, err := conn.Write([]byte("{")); err != nil {
						cut.Add(1) // closed on us
						return
					}
				}
			}
			notCut.Add(1)
		}()
	}

	// The large bodies: 30 MiB envelopes of ~2 KB items, as a manual sync
	// has, of an event type cventsync stores but ignores.
	item := fmt.Sprintf(`{"inviteeStub":"%s","note":%q}`, uuid.NewString(), strings.Repeat("x", 1900))
	items := []byte(strings.Repeat(item+",", (30<<20)/(len(item)+1)-1) + item)
	var big sync.WaitGroup
	bigStatus := make([]int, 16)
	for i := range bigStatus {
		big.Add(1)
		go func(i int) {
			defer big.Done()
			head := []byte(fmt.Sprintf(`{"eventType":"BulkTestPayload","messageStub":"big-%d","message":[`, i))
			tail := []byte(`]}`)
			body := io.MultiReader(bytes.NewReader(head), bytes.NewReader(items), bytes.NewReader(tail))
			bigStatus[i] = h.postReader(gw, in, body, int64(len(head)+len(items)+len(tail)))
		}(i)
	}

	// Ordinary registrations, every 100 ms, while all that goes on.
	var latencies []time.Duration
	done := make(chan struct{})
	go func() { big.Wait(); trickle.Wait(); close(done) }()
	for i := 0; ; i++ {
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond):
			began := time.Now()
			if status := h.post(gw, in, s.registration(in).body); status != http.StatusOK {
				t.Errorf("ordinary webhook %d answered %d", i, status)
			}
			latencies = append(latencies, time.Since(began))
			continue
		}
		break
	}
	close(stopSampling)
	<-sampled

	for i, status := range bigStatus {
		if status != http.StatusOK {
			t.Errorf("30 MiB body %d answered %d", i, status)
		}
	}
	var stored int
	_ = h.store.DB().Get(&stored, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND message_stub LIKE 'big-%'`, in.ID)
	if stored != 16 {
		t.Errorf("%d large bodies stored, want 16", stored)
	}
	if cut.Load() != 100 {
		t.Errorf("%d of 100 trickling clients cut off with 408 (%d not)", cut.Load(), notCut.Load())
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	p90 := latencies[len(latencies)*9/10]
	t.Logf("peak RSS %d MB; %d ordinary webhooks, p90 %v, max %v", peak.Load()>>20, len(latencies), p90, latencies[len(latencies)-1])
	if p90 > 100*time.Millisecond {
		t.Errorf("ordinary webhooks p90 %v, want < 100 ms", p90)
	}
	if peak.Load() > 300<<20 {
		t.Errorf("gateway peak RSS %d MB, want ≤ 300 MB", peak.Load()>>20)
	}
}
