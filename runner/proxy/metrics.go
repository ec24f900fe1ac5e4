package proxy

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Error reasons counted in wasmkube_proxy_errors_total.
const (
	// reasonNoEndpoints: the Service had no ready endpoint left to try (503).
	reasonNoEndpoints = "no_endpoints"
	// reasonPodGone: an endpoint's pod was not there (here or on its peer); retried.
	reasonPodGone = "pod_gone"
	// reasonPeerUnreachable: the request never reached the endpoint's peer; retried.
	reasonPeerUnreachable = "peer_unreachable"
	// reasonUpstream: the request failed after it may have reached the pod.
	reasonUpstream = "upstream"
)

// metrics are the proxy's collectors, on a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	endpoints *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmkube_proxy_requests_total",
			Help: "Requests to Services through this proxy's front doors and guests' calls, by status code.",
		}, []string{"namespace", "service", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmkube_proxy_errors_total",
			Help: "Failed attempts to reach a Service's endpoints, by reason (retried ones included).",
		}, []string{"namespace", "service", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wasmkube_proxy_request_duration_seconds",
			Help:    "Time from a request's arrival at the proxy to the end of its response.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"namespace", "service"}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wasmkube_proxy_endpoints",
			Help: "Ready endpoints of each Service (over all its ports) in this proxy's table.",
		}, []string{"namespace", "service"}),
	}
	m.reg.MustRegister(m.requests, m.errors, m.duration, m.endpoints)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// serviceMetrics are one Service's series, resolved once so that a request does not hash
// label values.
type serviceMetrics struct {
	m         *metrics
	namespace string
	service   string
	duration  prometheus.Observer
	codes     sync.Map // int -> prometheus.Counter
}

func (m *metrics) service(namespace, name string) *serviceMetrics {
	return &serviceMetrics{m: m, namespace: namespace, service: name,
		duration: m.duration.WithLabelValues(namespace, name)}
}

func (s *serviceMetrics) request(code int) {
	c, ok := s.codes.Load(code)
	if !ok {
		c, _ = s.codes.LoadOrStore(code, s.m.requests.WithLabelValues(s.namespace, s.service, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
}

func (s *serviceMetrics) error(reason string) {
	s.m.errors.WithLabelValues(s.namespace, s.service, reason).Inc()
}

// forget drops the series of a deleted Service.
func (m *metrics) forget(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "service": name}
	m.requests.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.endpoints.DeletePartialMatch(l)
}
