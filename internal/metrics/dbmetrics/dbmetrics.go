// Package dbmetrics reads cventsync's database gauges for /metrics: the
// outbox of waiting deliveries, failed deliveries, the participation backlog,
// each platform destination's lag and each Cvent account's calls today
// against its daily quota. It is apart from internal/metrics so
// that packages the store depends on (the Cvent client) can record metrics.
package dbmetrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cventsync/cventsync/internal/store"
)

// OpsReader reads the database's operations snapshot and the Cvent
// accounts' usage (*store.Store).
type OpsReader interface {
	Ops(ctx context.Context) (*store.OpsSnapshot, error)
	CventUsageOn(ctx context.Context, day time.Time, accounts ...string) ([]store.CventUsage, error)
}

var (
	descWaiting = prometheus.NewDesc("cventsync_outbox_depth",
		"Deliveries stored and waiting to be applied (status received).", nil, nil)
	descOldest = prometheus.NewDesc("cventsync_outbox_oldest_age_seconds",
		"Age of the oldest delivery waiting to be applied; 0 when none waits.", nil, nil)
	descDeliveries = prometheus.NewDesc("cventsync_deliveries",
		"Deliveries by status, for the statuses that need attention (received, failed).", []string{"status"}, nil)
	descParticipation = prometheus.NewDesc("cventsync_participation_backlog",
		"Participation check-ins due and not yet written to Cvent.", nil, nil)
	descLagChanges = prometheus.NewDesc("cventsync_destination_lag_changes",
		"Changes a platform destination is behind the change log.", []string{"destination", "integration", "status"}, nil)
	descLagSeconds = prometheus.NewDesc("cventsync_destination_lag_seconds",
		"Age of the oldest change a platform destination has not acknowledged.", []string{"destination", "integration", "status"}, nil)
	descQuotaUsed = prometheus.NewDesc("cventsync_cvent_quota_used",
		"Cvent calls made today (UTC) to the account (client id) by every gateway and worker together, as counted in the database (up to a second behind).", []string{"account"}, nil)
	descQuotaLimit = prometheus.NewDesc("cventsync_cvent_quota_limit",
		"The account's daily Cvent call quota from its usage tier (absent while the tier is unknown or unlimited).", []string{"account"}, nil)
	descScrapeErr = prometheus.NewDesc("cventsync_ops_query_errors_total",
		"Failed reads of the database gauges above (their last values are not shown then).", nil, nil)
)

// NewCollector reads the database gauges (outbox, failed deliveries,
// participation backlog, destination lag) at most every few seconds, however
// often /metrics is scraped.
func NewCollector(r OpsReader) prometheus.Collector {
	return &storeCollector{r: r, every: 5 * time.Second}
}

type storeCollector struct {
	r     OpsReader
	every time.Duration

	mu     sync.Mutex
	at     time.Time
	last   *store.OpsSnapshot
	usage  []store.CventUsage
	errors float64
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWaiting, descOldest, descDeliveries, descParticipation, descLagChanges, descLagSeconds,
		descQuotaUsed, descQuotaLimit, descScrapeErr} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || time.Since(c.at) >= c.every {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		snap, err := c.r.Ops(ctx)
		var usage []store.CventUsage
		if err == nil {
			usage, err = c.r.CventUsageOn(ctx, time.Now().UTC())
		}
		cancel()
		if err != nil {
			c.errors++
			c.last, c.usage = nil, nil
		} else {
			c.last, c.usage, c.at = snap, usage, time.Now()
		}
	}
	ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.CounterValue, c.errors)
	s := c.last
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(s.Waiting))
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, s.OldestWaitingAge)
	ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.GaugeValue, float64(s.Waiting), "received")
	ch <- prometheus.MustNewConstMetric(descDeliveries, prometheus.GaugeValue, float64(s.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(descParticipation, prometheus.GaugeValue, float64(s.ParticipationDue))
	for _, d := range s.Destinations {
		ch <- prometheus.MustNewConstMetric(descLagChanges, prometheus.GaugeValue, float64(d.LagChanges), d.ID, d.IntegrationID, d.Status)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, d.LagSeconds, d.ID, d.IntegrationID, d.Status)
	}
	for _, u := range c.usage {
		ch <- prometheus.MustNewConstMetric(descQuotaUsed, prometheus.GaugeValue, float64(u.Calls), u.Account)
		if u.Quota.Valid {
			ch <- prometheus.MustNewConstMetric(descQuotaLimit, prometheus.GaugeValue, float64(u.Quota.Int64), u.Account)
		}
	}
}
