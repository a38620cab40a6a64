package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// Option configures a Client when given to New, or one call when given to a
// method, where it overrides the client's setting for that call only.
type Option func(*config)

// config is what the options set: a client's defaults, or one call's.
type config struct {
	apiKey         string
	baseURL        string
	httpClient     *http.Client
	timeout        time.Duration
	maxRetries     int
	headers        []header
	idempotencyKey string
	responseBody   *[]byte
	responseInfo   *ResponseInfo

	// Seams for tests (export_test.go): how to wait, draw jitter and read
	// the clock.
	sleep  func(ctx context.Context, d time.Duration) error
	random func(n int64) int64 // uniform in [0, n), n > 0
	now    func() time.Time
}

type header struct{ key, value string }

func defaultConfig() config {
	return config{
		baseURL:    DefaultBaseURL,
		httpClient: &http.Client{},
		timeout:    DefaultTimeout,
		maxRetries: DefaultMaxRetries,
		sleep:      sleepContext,
		random:     rand.Int64N,
		now:        time.Now,
	}
}

// with returns a copy of c with opts applied; c is left unchanged.
func (c config) with(opts []Option) config {
	// Clip so that an option appending a header copies the slice instead of
	// writing into the backing array c shares with the client.
	c.headers = slices.Clip(c.headers)
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithAPIKey sets the API key, sent as "Authorization: Bearer <key>". It
// overrides HANDINGER_API_KEY; an empty key changes nothing.
func WithAPIKey(key string) Option {
	return func(c *config) {
		if key != "" {
			c.apiKey = key
		}
	}
}

// WithBaseURL sets the base URL of the API, such as https://handinger.com or
// http://127.0.0.1:8080. It overrides HANDINGER_BASE_URL; an empty URL
// changes nothing.
func WithBaseURL(u string) Option {
	return func(c *config) {
		if u != "" {
			c.baseURL = u
		}
	}
}

// WithHTTPClient sets the HTTP client that sends the requests (default a new
// http.Client on http.DefaultTransport). The client's own Timeout, if any,
// counts as an attempt timeout. A nil hc changes nothing.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithTimeout limits each attempt of a call, from sending the request to
// reading the whole answer (default 60 s). Zero or less means no limit other
// than the context's.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithMaxRetries sets how many times a call is retried after its first
// attempt (default 2, so at most 3 attempts). Zero or less disables retries.
func WithMaxRetries(n int) Option {
	return func(c *config) { c.maxRetries = max(n, 0) }
}

// WithHeader sets a header on every request, replacing any value the client
// would send (User-Agent, for example).
func WithHeader(key, value string) Option {
	return func(c *config) { c.headers = append(c.headers, header{http.CanonicalHeaderKey(key), value}) }
}

// WithIdempotencyKey makes Create send key as its Idempotency-Key instead of
// a new random one, for example to retry a create across restarts of the
// caller. Use it per call: given to New, every Create would send the same
// key, and the server answers a reused key with the first call's result (or
// 422 when the body differs). An empty key changes nothing.
func WithIdempotencyKey(key string) Option {
	return func(c *config) {
		if key != "" {
			c.idempotencyKey = key
		}
	}
}

// WithResponseBody makes a call store the raw body of its final answer,
// success or error, in *dst (nil when no answer came). List and Wait, which
// make several requests, store the last one. Use it per call: given to New,
// every call writes to the same dst, which is not safe for concurrent calls.
func WithResponseBody(dst *[]byte) Option {
	return func(c *config) { c.responseBody = dst }
}

// ResponseInfo is what WithResponseInfo stores: the final answer's status,
// headers and request id, for a successful call as for a failed one (a
// failed call's *Error carries the same).
type ResponseInfo struct {
	StatusCode int
	Header     http.Header
	// RequestID is the answer's X-Request-Id, which the server logs: the
	// value to quote when asking about a call.
	RequestID string
}

// WithResponseInfo makes a call store its final answer's status, headers
// and request id in *dst (the zero value when no answer came). List and
// Wait, which make several requests, store the last one. Use it per call,
// as WithResponseBody.
func WithResponseInfo(dst *ResponseInfo) Option {
	return func(c *config) { c.responseInfo = dst }
}
