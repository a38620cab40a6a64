package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/handinger/handinger/gen"
)

// Version is the version of this package, sent in the User-Agent header.
const Version = "0.1.0"

// The environment variables New reads, and the defaults of the official
// Handinger libraries.
const (
	// EnvAPIKey names the environment variable holding the API key.
	EnvAPIKey = "HANDINGER_API_KEY"
	// EnvBaseURL names the environment variable overriding the base URL.
	EnvBaseURL = "HANDINGER_BASE_URL"
	// DefaultBaseURL is the hosted service.
	DefaultBaseURL = "https://handinger.com"
	// DefaultTimeout limits each attempt of a call.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxRetries is how many times a failed call is retried.
	DefaultMaxRetries = 2
)

// userAgent names this library, the Go version and the platform, e.g.
// "handinger-go/0.1.0 (go1.26.8; linux/amd64)".
var userAgent = fmt.Sprintf("handinger-go/%s (%s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)

// Client talks to the Handinger Tasks API. It is safe for concurrent use.
type Client struct {
	// Tasks runs and inspects tasks.
	Tasks *TasksService

	cfg config
	gen *gen.ClientWithResponses // on cfg.baseURL
}

// New returns a client configured from the environment (HANDINGER_API_KEY,
// HANDINGER_BASE_URL) and opts, which take precedence. It returns
// ErrNoAPIKey when neither gives an API key, and an error when the base URL
// is not an absolute http or https URL.
func New(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	cfg.apiKey = strings.TrimSpace(os.Getenv(EnvAPIKey))
	if u := strings.TrimSpace(os.Getenv(EnvBaseURL)); u != "" {
		cfg.baseURL = u
	}
	cfg = cfg.with(opts)
	if cfg.apiKey == "" {
		return nil, ErrNoAPIKey
	}
	g, err := newGen(cfg.baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, gen: g}
	c.Tasks = &TasksService{c: c}
	return c, nil
}

// newGen returns a generated client on baseURL that sends through the
// retrying doer and signs requests with the call's settings.
func newGen(baseURL string) (*gen.ClientWithResponses, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("handinger: base URL %q is not an absolute http or https URL", baseURL)
	}
	return gen.NewClientWithResponses(baseURL,
		gen.WithHTTPClient(doer{}),
		gen.WithRequestEditorFn(editRequest))
}

// call is the state of one method call: its settings and, once it came, the
// final answer. The generated code carries it to the doer and the request
// editor in the request's context.
type call struct {
	config

	answered bool // an answer came (the fields below are set)
	status   int
	header   http.Header
	body     []byte
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// begin starts a call: its settings are the client's with opts applied, and
// the returned context carries it through the generated client, which is
// the client's own unless opts change the base URL.
func (c *Client) begin(ctx context.Context, opts []Option) (context.Context, *call, *gen.ClientWithResponses, error) {
	cl := &call{config: c.cfg}
	g := c.gen
	if len(opts) > 0 {
		cl.config = c.cfg.with(opts)
		if cl.baseURL != c.cfg.baseURL {
			var err error
			if g, err = newGen(cl.baseURL); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return context.WithValue(ctx, callKey{}, cl), cl, g, nil
}

// editRequest is the generated client's request editor: it adds the API key,
// the User-Agent and the headers of WithHeader.
func editRequest(ctx context.Context, req *http.Request) error {
	cl := callFrom(ctx)
	if cl == nil {
		return errOutsideCall
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+cl.apiKey)
	h.Set("User-Agent", userAgent)
	for _, kv := range cl.headers {
		h.Set(kv.key, kv.value)
	}
	return nil
}
