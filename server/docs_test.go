package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/handinger/handinger/server/internal/docsui"
)

// summaries reads the summary of every operation of the repository's
// openapi.yaml, by operationId.
func summaries(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"` // operations, and the parameters of a path
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	out := map[string]string{}
	for _, item := range doc.Paths {
		for _, v := range item {
			op, _ := v.(map[string]any)
			if id, ok := op["operationId"].(string); ok {
				out[id], _ = op["summary"].(string)
			}
		}
	}
	if out["createTask"] != "Create a task" {
		t.Fatalf("openapi.yaml: createTask's summary is %q", out["createTask"])
	}
	return out
}

// requests records the address of every request the tab makes from now on,
// WebSockets included. Call the returned func to read them; it sees every
// request the browser reported before the last command the test sent
// returned.
func requests(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	err := chromedp.Listen(tab, func(ev any) {
		var url string
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			url = ev.Request.URL
		case *network.EventWebSocketCreated:
			url = ev.URL
		default:
			return
		}
		mu.Lock()
		seen = append(seen, url)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable the network events: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// TestDocsPage opens /docs in a browser: Redoc draws every operation of
// openapi.yaml, the page reports no problem (a resource its
// Content-Security-Policy blocked would be one), and nothing is asked of any
// origin but the server's.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	want := summaries(t)
	tab := browser(t, 60*time.Second)
	browse(t, tab, "start the browser", chromedp.Navigate("about:blank"))
	sent := requests(t, tab)
	problems := consoleProblems(t, tab)

	browse(t, tab, "open /docs",
		chromedp.Navigate(s.url+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`[id="operation/createTask"] h2`)),
	)
	// The sidebar's logo is drawn after the first render: let it and
	// anything else late run, then ask the tab once more, so that every
	// request it made before that has been recorded.
	browse(t, tab, "settle", chromedp.Sleep(500*time.Millisecond))
	headings, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[id^="operation/"]')]
			.map(e => [e.id.slice('operation/'.length), e.querySelector('h2')?.textContent ?? '']))`))
	if err != nil {
		t.Fatal(err)
	}
	for id, summary := range want {
		if got, ok := headings[id]; !ok || strings.TrimSpace(got) != summary {
			t.Errorf("operation %s: heading %q (drawn: %v), want %q", id, got, ok, summary)
		}
	}
	if len(headings) != len(want) {
		t.Errorf("Redoc drew %d operations, openapi.yaml has %d: %v", len(headings), len(want), headings)
	}

	urls := sent()
	for _, u := range urls {
		// A data: URL (Redoc's CSS has its icons so) is bytes of the page:
		// no request leaves the browser for it.
		if !strings.HasPrefix(u, s.url+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page asked another origin than the server's: %s", u)
		}
	}
	// The recorder hears the page: the page itself, Redoc, and the contract
	// it drew.
	for _, path := range []string{"/docs", "/docs/redoc.standalone.js", "/docs/docs.js", "/openapi.yaml"} {
		if !slices.Contains(urls, s.url+path) {
			t.Errorf("no request for %s among %q", path, urls)
		}
	}
	for _, p := range problems() {
		t.Errorf("the page reported: %s", p)
	}
}

// TestDocsRoutes checks /docs, its files and /openapi.yaml without a
// browser: statuses, no redirects, types, the security headers, and that
// the contract served is the repository's file.
func TestDocsRoutes(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, s.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	expect := func(res *http.Response, body []byte, status int, ctype, cache string) {
		t.Helper()
		if res.StatusCode != status {
			t.Fatalf("%s %s: status %d, want %d: %.300s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, body)
		}
		for h, want := range map[string]string{"Content-Type": ctype, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s %s: %s %q, want %q", res.Request.Method, res.Request.URL.Path, h, got, want)
			}
		}
	}

	// The page: its policy admits this server and the nonce of the answer.
	nonceRule := regexp.MustCompile(`nonce="([^"]+)"`)
	var nonces []string
	for range 2 {
		res, body := get("GET", "/docs")
		expect(res, body, 200, "text/html; charset=utf-8", "no-store")
		m := nonceRule.FindSubmatch(body)
		if m == nil {
			t.Fatalf("the page carries no nonce: %s", body)
		}
		nonce := string(m[1])
		nonces = append(nonces, nonce)
		checkDocsPolicy(t, res.Header.Get("Content-Security-Policy"), nonce)
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q", got)
		}
	}
	if len(nonces[0]) < 22 || nonces[0] == nonces[1] {
		t.Errorf("nonces %q: want a fresh, long one per answer", nonces)
	}
	res, body := get("HEAD", "/docs")
	expect(res, body, 200, "text/html; charset=utf-8", "no-store")
	res, body = get("POST", "/docs")
	expect(res, body, 405, "application/problem+json", "no-cache")
	if res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /docs: Allow %q", res.Header.Get("Allow"))
	}

	// Its files, as /assets/ serves the pages' files.
	bundle, _ := docsui.Lookup("redoc.standalone.js")
	res, body = get("GET", "/docs/redoc.standalone.js")
	expect(res, body, 200, "text/javascript; charset=utf-8", "no-cache")
	if !bytes.Equal(body, bundle.Body) || res.Header.Get("ETag") != bundle.ETag {
		t.Errorf("the bundle: %d bytes, ETag %q; want %d bytes, %q", len(body), res.Header.Get("ETag"), len(bundle.Body), bundle.ETag)
	}
	res, body = get("GET", "/docs/redoc.standalone.js", "If-None-Match", bundle.ETag)
	if res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("the bundle with its ETag: %d, %d bytes; want 304", res.StatusCode, len(body))
	}
	res, body = get("GET", "/docs/docs.js")
	expect(res, body, 200, "text/javascript; charset=utf-8", "no-cache")
	res, body = get("GET", "/docs/redoc.standalone.js.LICENSE.txt")
	expect(res, body, 200, "text/plain; charset=utf-8", "no-cache")
	for _, path := range []string{"/docs/", "/docs/missing.js", "/docs/docs.html", "/docs/a/b"} {
		res, body = get("GET", path)
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: %d %q, want a 404 problem: %.200s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}

	// The contract, byte for byte.
	file, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, body = get("GET", "/openapi.yaml")
	expect(res, body, 200, "application/yaml", "no-store")
	if !bytes.Equal(body, file) {
		t.Errorf("/openapi.yaml (%d bytes) is not the repository's openapi.yaml (%d bytes)", len(body), len(file))
	}
	var doc struct {
		OpenAPI string         `yaml:"openapi"`
		Paths   map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil || doc.OpenAPI != "3.0.3" || doc.Paths["/api/tasks"] == nil {
		t.Errorf("/openapi.yaml does not read as the contract: %v, %q, %d paths", err, doc.OpenAPI, len(doc.Paths))
	}

	// Each route is a label of its own in the metrics.
	_, body = get("GET", "/metrics")
	for _, want := range []string{
		`handinger_http_requests_total{code="200",route="GET /docs"} 2`,
		`handinger_http_requests_total{code="200",route="GET /docs/{name}"} 3`,
		`handinger_http_requests_total{code="304",route="GET /docs/{name}"} 1`,
		`handinger_http_requests_total{code="200",route="GET /openapi.yaml"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
}

// checkDocsPolicy checks the Content-Security-Policy of /docs, directive by
// directive: this server for scripts and data, for styles also the answer's
// nonce and hashes of fixed styles, data: for images, and nothing else.
func checkDocsPolicy(t *testing.T, csp, nonce string) {
	t.Helper()
	got := map[string][]string{}
	for d := range strings.SplitSeq(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			got[f[0]] = f[1:]
		}
	}
	var styles []string
	for _, src := range got["style-src"] {
		if !strings.HasPrefix(src, "'sha256-") {
			styles = append(styles, src)
		}
	}
	got["style-src"] = styles
	want := map[string][]string{
		"default-src":     {"'none'"},
		"script-src":      {"'self'"},
		"style-src":       {"'self'", "'nonce-" + nonce + "'"}, // and hashes
		"img-src":         {"data:"},
		"connect-src":     {"'self'"},
		"form-action":     {"'none'"},
		"base-uri":        {"'none'"},
		"frame-ancestors": {"'none'"},
	}
	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("Content-Security-Policy %s: %q, want %q (policy %q)", name, got[name], w, csp)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("Content-Security-Policy has %s: %q", name, csp)
		}
	}
}
