package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handinger/handinger/internal/runner"
)

// metrics are the server's HTTP collectors, served on /metrics beside the
// runner's (runner.Metrics: turns finished, queue depth).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
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

// newMetrics registers the HTTP metrics and the runner's collector turns
// in reg.
func newMetrics(reg *prometheus.Registry, turns *runner.Metrics) (*metrics, error) {
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
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, turns} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
