package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/store"
)

// The change feed: the platform pulls the change log with its platform key
// (or an operator with the admin token), long-polling when caught up.

// Feed limits.
const (
	maxFeedLimit     = 1000
	defaultFeedLimit = 100
	maxFeedWait      = 30 * time.Second
	// feedPoll is how often a long-poll looks without a notifier.
	feedPoll = 250 * time.Millisecond
)

// feed serves the change feed. Its notifier (one LISTEN connection) is
// opened at the first long-poll that needs it.
type feed struct {
	s        *Server
	once     sync.Once
	notifier *store.Notifier // nil: poll
}

func newFeed(s *Server) *feed { return &feed{s: s, notifier: s.opts.Notifier} }

func (f *feed) subscribe(integrationID string) (<-chan struct{}, func()) {
	f.once.Do(func() {
		if f.notifier != nil {
			return
		}
		n, err := f.s.opts.Store.NewNotifier(context.Background(), f.s.log)
		if err != nil {
			f.s.log.Warn("change feed: no notifier, long-polls poll instead", "error", err)
			return
		}
		f.notifier = n
	})
	if f.notifier == nil {
		return nil, func() {}
	}
	return f.notifier.SubscribeChanges(integrationID)
}

type feedAnswer struct {
	Changes []store.Change `json:"changes"`
	Next    string         `json:"next"`
}

// listChanges answers GET /integrations/{id}/changes?after=&limit=&wait=&types=.
func (f *feed) listChanges(c *gin.Context) {
	s := f.s
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	after, err := parseCursor(c.DefaultQuery("after", "0"))
	if err != nil {
		abort(c, http.StatusBadRequest, "after must be a cursor: the next of an earlier answer, or changesCursor of the attendee list")
		return
	}
	limit := defaultFeedLimit
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxFeedLimit {
			abort(c, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
	}
	var wait time.Duration
	if v := c.Query("wait"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs < 0 || time.Duration(secs)*time.Second > maxFeedWait {
			abort(c, http.StatusBadRequest, "wait must be a number of seconds from 0 to 30")
			return
		}
		wait = time.Duration(secs) * time.Second
	}
	types, ok := parseTypes(c, c.Query("types"))
	if !ok {
		return
	}
	// Subscribe before reading, so a change logged in between still wakes us.
	wake, cancel := f.subscribe(in.ID)
	defer cancel()
	deadline := time.Now().Add(wait)
	for {
		head, err := s.opts.Store.GetChangeHead(c, in.ID)
		if err != nil {
			s.internalError(c, "read changes", err)
			return
		}
		changes, err := s.opts.Store.ReadChanges(c, in.ID, after, limit, types)
		if errors.Is(err, store.ErrCursorExpired) {
			c.JSON(http.StatusGone, gin.H{
				"error": "cursor " + formatCursor(after) + " expired: the changes after it are no longer kept",
				"details": gin.H{
					"do":          "read the attendee list (GET /api/v1/integrations/" + in.ID + "/attendees, paging with after), then follow this feed from the changesCursor that list answered",
					"oldestAfter": formatCursor(head.PrunedThrough),
				},
			})
			return
		}
		if err != nil {
			s.internalError(c, "read changes", err)
			return
		}
		next := after
		if len(changes) > 0 {
			next = changes[len(changes)-1].Seq
		}
		if len(changes) < limit && head.LastSeq > next {
			// Everything up to the head was read (types filter): skip past it.
			next = head.LastSeq
		}
		left := time.Until(deadline)
		if len(changes) > 0 || left <= 0 {
			c.JSON(http.StatusOK, feedAnswer{Changes: changes, Next: formatCursor(next)})
			return
		}
		timer := time.NewTimer(min(left, pollOr(wake)))
		select {
		case <-wake:
		case <-timer.C:
		case <-c.Request.Context().Done():
			timer.Stop()
			return
		}
		timer.Stop()
		after = next
	}
}

// pollOr is how long a long-poll sleeps between looks: until woken when it
// can be, else feedPoll. With a notifier it still looks every few seconds,
// in case a notification was lost with a reconnect.
func pollOr(wake <-chan struct{}) time.Duration {
	if wake == nil {
		return feedPoll
	}
	return 5 * time.Second
}

func parseCursor(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("bad cursor")
	}
	return n, nil
}

func formatCursor(n int64) string { return strconv.FormatInt(n, 10) }

// parseTypes reads a comma list of change types, answering 400 itself for
// an unknown one.
func parseTypes(c *gin.Context, v string) ([]string, bool) {
	if v == "" {
		return nil, true
	}
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !knownType(t) {
			abort(c, http.StatusBadRequest, "unknown change type "+strconv.Quote(t)+"; known: "+strings.Join(store.ChangeTypes, ", "))
			return nil, false
		}
		out = append(out, t)
	}
	return out, true
}

func knownType(t string) bool {
	for _, k := range store.ChangeTypes {
		if k == t {
			return true
		}
	}
	return false
}

// withChangesCursor adds changesCursor to an answer of next (the attendee
// list): the change log's head, read before the list, so that following
// the feed from it misses nothing the list did not show (it may repeat
// some, which the records make harmless).
func (s *Server) withChangesCursor(next gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		head, err := s.opts.Store.GetChangeHead(c, c.Param("id"))
		if err != nil {
			s.internalError(c, "read change head", err)
			return
		}
		orig := c.Writer
		w := &capture{ResponseWriter: orig}
		c.Writer = w
		next(c)
		c.Writer = orig
		status := w.status
		if status == 0 {
			status = http.StatusOK
		}
		body := w.buf.Bytes()
		if status == http.StatusOK {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err == nil {
				m["changesCursor"], _ = json.Marshal(formatCursor(head.LastSeq))
				if b, err := json.Marshal(m); err == nil {
					body = b
				}
			}
		}
		orig.Header().Set("Content-Type", "application/json; charset=utf-8")
		orig.WriteHeader(status)
		_, _ = orig.Write(body)
	}
}

// capture holds a handler's answer so that it can be amended.
type capture struct {
	gin.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (w *capture) WriteHeader(code int)              { w.status = code }
func (w *capture) WriteHeaderNow()                   {}
func (w *capture) Write(b []byte) (int, error)       { return w.buf.Write(b) }
func (w *capture) WriteString(s string) (int, error) { return w.buf.WriteString(s) }
func (w *capture) Status() int                       { return w.status }
func (w *capture) Written() bool                     { return w.status != 0 || w.buf.Len() > 0 }
func (w *capture) Size() int                         { return w.buf.Len() }
