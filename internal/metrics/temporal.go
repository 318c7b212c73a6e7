package metrics

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler returns the Temporal SDK's metrics handler
// (client.Options.MetricsHandler), recording into Registry: counters as
// <name>_total, gauges as <name>, timers as <name>_seconds histograms, with
// the SDK's tags (namespace, task_queue, workflow_type, activity_type,
// operation, ...) as labels. The SDK's tally and OpenTelemetry contrib
// modules would do the same through a second metrics library; this keeps one.
func TemporalHandler() client.MetricsHandler { return sdkHandler{set: sdk} }

var sdk = newSDKSet()

func init() { Registry.MustRegister(sdk) }

// timerBuckets fit the SDK's latencies: poll round trips, schedule-to-start
// and task execution, from a millisecond to a minute.
var timerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

type sdkSet struct {
	series sync.Map // key → *sdkSeries
}

type sdkSeries struct {
	name   string // Prometheus name, with suffix
	kind   prometheus.ValueType
	labels map[string]string
	timer  bool

	value   atomic.Uint64 // float64 bits: counter or gauge
	mu      sync.Mutex    // guards the histogram
	buckets []uint64
	count   uint64
	sum     float64
}

func newSDKSet() *sdkSet { return &sdkSet{} }

func (s *sdkSet) get(name, suffix string, kind prometheus.ValueType, timer bool, tags map[string]string, tagKey string) *sdkSeries {
	key := name + suffix + "|" + tagKey
	if v, ok := s.series.Load(key); ok {
		return v.(*sdkSeries)
	}
	se := &sdkSeries{name: sanitize(name) + suffix, kind: kind, labels: tags, timer: timer}
	if timer {
		se.buckets = make([]uint64, len(timerBuckets))
	}
	v, _ := s.series.LoadOrStore(key, se)
	return v.(*sdkSeries)
}

// Describe sends nothing: the SDK's series appear as it uses them, so the
// collector is unchecked.
func (s *sdkSet) Describe(chan<- *prometheus.Desc) {}

// Collect emits every series. One name may be used with different tag sets;
// Prometheus wants one label set per name, so each series gets the union of
// its name's label names, the missing ones empty.
func (s *sdkSet) Collect(ch chan<- prometheus.Metric) {
	byName := map[string][]*sdkSeries{}
	s.series.Range(func(_, v any) bool {
		se := v.(*sdkSeries)
		byName[se.name] = append(byName[se.name], se)
		return true
	})
	for name, list := range byName {
		keys := map[string]bool{}
		for _, se := range list {
			for k := range se.labels {
				keys[sanitize(k)] = true
			}
		}
		labelNames := slices.Sorted(maps.Keys(keys))
		desc := prometheus.NewDesc(name, "Temporal SDK metric "+name+".", labelNames, nil)
		for _, se := range list {
			values := make([]string, len(labelNames))
			for k, v := range se.labels {
				values[sort.SearchStrings(labelNames, sanitize(k))] = v
			}
			if !se.timer {
				m, err := prometheus.NewConstMetric(desc, se.kind, math.Float64frombits(se.value.Load()), values...)
				if err == nil {
					ch <- m
				}
				continue
			}
			se.mu.Lock()
			buckets := make(map[float64]uint64, len(timerBuckets))
			var cum uint64
			for i, b := range timerBuckets {
				cum += se.buckets[i]
				buckets[b] = cum
			}
			count, sum := se.count, se.sum
			se.mu.Unlock()
			if m, err := prometheus.NewConstHistogram(desc, count, sum, buckets, values...); err == nil {
				ch <- m
			}
		}
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

type sdkHandler struct {
	set    *sdkSet
	tags   map[string]string
	tagKey string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		b.WriteString(k + "=" + merged[k] + ",")
	}
	return sdkHandler{set: h.set, tags: merged, tagKey: b.String()}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	se := h.set.get(name, "_total", prometheus.CounterValue, false, h.tags, h.tagKey)
	return counterFunc(func(d int64) { addFloat(&se.value, float64(d)) })
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	se := h.set.get(name, "", prometheus.GaugeValue, false, h.tags, h.tagKey)
	return gaugeFunc(func(v float64) { se.value.Store(math.Float64bits(v)) })
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	se := h.set.get(name, "_seconds", prometheus.UntypedValue, true, h.tags, h.tagKey)
	return timerFunc(func(d time.Duration) {
		v := d.Seconds()
		i := sort.SearchFloat64s(timerBuckets, v)
		se.mu.Lock()
		if i < len(se.buckets) {
			se.buckets[i]++
		}
		se.count++
		se.sum += v
		se.mu.Unlock()
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

func addFloat(u *atomic.Uint64, d float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}
