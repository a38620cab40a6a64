package runner

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handinger/handinger/internal/store"
)

// Metrics is the Prometheus collector of turns and the queue: turns
// finished by this process, by outcome, and the queue's depth, read from
// the store when scraped. The server registers it beside its HTTP metrics;
// a process that runs no turns registers it too, for the queue's depth.
type Metrics struct {
	turns *prometheus.CounterVec
	queue store.Queue
}

var _ prometheus.Collector = (*Metrics)(nil)

var queueDepthDesc = prometheus.NewDesc("handinger_queue_depth",
	"Turns waiting to run (pending) and running, read from the store at scrape time.",
	[]string{"state"}, nil)

// NewMetrics returns the collector for a pool over q.
func NewMetrics(q store.Queue) *Metrics {
	return &Metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handinger_turns_finished_total",
			Help: "Turns that ended, by outcome (completed, error, aborted).",
		}, []string{"outcome"}),
		queue: q,
	}
}

// finished counts a turn that ended in status; a nil m counts nothing.
func (m *Metrics) finished(status store.Status) {
	if m != nil {
		m.turns.WithLabelValues(string(status)).Inc()
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.turns.Describe(ch)
	ch <- queueDepthDesc
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.turns.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q, err := m.queue.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.Running), "running")
}
