// Package metrics owns cventsync's Prometheus metrics: their names, labels
// and buckets, the Temporal SDK's metrics in the same registry, and the
// /metrics handler that gateway and worker serve. Code elsewhere records
// through the small functions here, so every metric is defined in one place
// and listed in the README's Operations section.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cventsync/cventsync/internal/cventpush"
)

// Registry holds every metric of the process: ours, the Temporal SDK's (see
// TemporalHandler) and Go's runtime and process metrics.
var Registry = prometheus.NewRegistry()

var (
	webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_webhooks_total",
		Help: "Cvent webhooks answered, by event kind (attendee, session, ..., ignored, unknown) and HTTP status code.",
	}, []string{"kind", "code"})

	deliveriesSettled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_deliveries_settled_total",
		Help: "Deliveries applied (processed) or given up (failed) by this process's workers.",
	}, []string{"status"})

	applyLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cventsync_delivery_apply_latency_seconds",
		Help:    "Time from a delivery's receipt by the gateway to its commit in the directory, by size (small: drained, large: chunked).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"size"})

	cventCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_cvent_calls_total",
		Help: "Calls to Cvent's REST API, by endpoint (ids replaced by {id}) and HTTP status (0: no answer).",
	}, []string{"endpoint", "status"})

	cventRateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_cvent_rate_limited_total",
		Help: "Cvent 429 answers by kind: per_second (Too Many Requests) or daily (Limit Exceeded, the quota is spent until 00:00 UTC).",
	}, []string{"kind"})

	outbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_outbound_attempts_total",
		Help: "POSTs to platform destinations, by outcome (delivered, failed, gone).",
	}, []string{"outcome"})

	outboundLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "cventsync_outbound_attempt_duration_seconds",
		Help:    "Duration of POSTs to platform destinations.",
		Buckets: prometheus.DefBuckets,
	})

	rfpPulls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cventsync_rfp_pulls_total",
		Help: "PNS RFP pulls by path (inline: a local activity in the RFP workflow's task; activity: the retried activity) and outcome (applied, refused, would_wait: no room in the account's pace, failed).",
	}, []string{"path", "outcome"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		webhooks, deliveriesSettled, applyLatency, cventCalls, cventRateLimited,
		outbound, outboundLatency, rfpPulls)
}

// Handler serves the process's metrics in Prometheus's text format, with
// extra collectors (e.g. the database gauges of dbmetrics.NewCollector) gathered
// at each scrape.
func Handler(extra ...prometheus.Collector) http.Handler {
	gatherers := prometheus.Gatherers{Registry}
	if len(extra) > 0 {
		r := prometheus.NewRegistry()
		for _, c := range extra {
			r.MustRegister(c)
		}
		gatherers = append(gatherers, r)
	}
	return promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Webhook counts one answered webhook. eventType is empty when the body
// could not be read.
func Webhook(eventType string, code int) {
	webhooks.WithLabelValues(KindName(eventType), strconv.Itoa(code)).Inc()
}

// KindName is the label of an event type's kind: a bounded set, whatever
// a sender puts in eventType.
func KindName(eventType string) string {
	if eventType == "" {
		return "unknown"
	}
	switch cventpush.KindOf(eventType) {
	case cventpush.KindAttendee:
		return "attendee"
	case cventpush.KindSubstitution:
		return "substitution"
	case cventpush.KindSession:
		return "session"
	case cventpush.KindSessionDeleted:
		return "session_deleted"
	case cventpush.KindSessionRegistration:
		return "session_registration"
	case cventpush.KindSpeaker:
		return "speaker"
	}
	return "ignored"
}

// DeliveryApplied records a delivery committed to the directory, received
// at receivedAt.
func DeliveryApplied(receivedAt time.Time, large bool) {
	deliveriesSettled.WithLabelValues("processed").Inc()
	size := "small"
	if large {
		size = "large"
	}
	if !receivedAt.IsZero() {
		applyLatency.WithLabelValues(size).Observe(time.Since(receivedAt).Seconds())
	}
}

// DeliveryFailed records a delivery given up with a reason.
func DeliveryFailed() { deliveriesSettled.WithLabelValues("failed").Inc() }

// CventCall records one answered (or unanswered: status 0) Cvent call.
// dailyLimit tells the daily quota's 429 from the per-second one. The calls
// used of each account's daily quota are counted in the database by every
// process together (internal/cventusage) and shown by dbmetrics.
func CventCall(method, path string, status int, dailyLimit bool) {
	cventCalls.WithLabelValues(method+" "+Endpoint(path), strconv.Itoa(status)).Inc()
	if status == http.StatusTooManyRequests {
		kind := "per_second"
		if dailyLimit {
			kind = "daily"
		}
		cventRateLimited.WithLabelValues(kind).Inc()
	}
}

// OutboundAttempt records one POST to a platform destination.
func OutboundAttempt(outcome string, took time.Duration) {
	outbound.WithLabelValues(outcome).Inc()
	outboundLatency.Observe(took.Seconds())
}

// RFPPull records one RFP pull attempt.
func RFPPull(path, outcome string) { rfpPulls.WithLabelValues(path, outcome).Inc() }

// Endpoint turns a request path into a bounded label: segments that are
// ids (GUIDs, numbers, long tokens) become {id}.
func Endpoint(path string) string {
	path, _, _ = strings.Cut(path, "?")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if isID(p) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func isID(seg string) bool {
	if seg == "" {
		return false
	}
	digits := 0
	for _, r := range seg {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits == len(seg) || (digits > 0 && len(seg) >= 8) || len(seg) >= 32
}

// RequireToken guards h with a bearer token when token is set: the
// gateway's address is public (Cvent reaches it), and the metrics name
// integrations, destinations and Cvent accounts. An empty token leaves h open.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := "Bearer " + token
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <CVENTSYNC_METRICS_TOKEN>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
