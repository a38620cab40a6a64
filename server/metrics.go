package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handinger/handinger/internal/store"
)

// metrics are the server's Prometheus collectors, served on /metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	turns    *prometheus.CounterVec
	// perRoute caches the children of requests and duration: looking a
	// child up by label values hashes them on every request.
	perRoute sync.Map // routeKey → routeMetrics
}

type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one answered request.
func (m *metrics) observe(method, route string, code int, seconds float64) {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodPatch, http.MethodHead, http.MethodOptions:
	default:
		method, route = "", "other" // clients choose methods: keep the label values few
	}
	key := routeKey{method, route, code}
	rm, ok := m.perRoute.Load(key)
	if !ok {
		label := "other"
		if route != "other" {
			label = method + " " + route
		}
		rm, _ = m.perRoute.LoadOrStore(key, routeMetrics{
			requests: m.requests.WithLabelValues(label, strconv.Itoa(code)),
			duration: m.duration.WithLabelValues(label),
		})
	}
	r := rm.(routeMetrics)
	r.requests.Inc()
	r.duration.Observe(seconds)
}

type routeKey struct {
	method, route string
	code          int
}

func newMetrics(reg *prometheus.Registry, st store.Store) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handinger_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handinger_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handinger_turns_finished_total",
			Help: "Turns that ended, by outcome (completed, error, aborted).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.turns, queueCollector{st}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

var queueDepthDesc = prometheus.NewDesc("handinger_queue_depth",
	"Turns waiting to run (pending) and running, read from the store at scrape time.",
	[]string{"state"}, nil)

// queueCollector reads the queue depth from the store when scraped.
type queueCollector struct{ st store.Store }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	q, err := c.st.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.Pending), "pending")
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(q.Running), "running")
}
