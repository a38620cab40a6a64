package server

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/handinger/handinger"
	"github.com/handinger/handinger/server/internal/docsui"
)

// This file serves the API reference: /docs draws openapi.yaml with Redoc
// (server/internal/docsui) and /openapi.yaml is the contract as written.
// Like /openapi.json they are not in openapi.yaml, so they need no API key
// and the validator lets them through.

// docsPage serves GET /docs, the API reference.
func (s *handler) docsPage(w http.ResponseWriter, r *http.Request) {
	if !pageHeaders(w, r) {
		return
	}
	nonce := rand.Text()
	page, err := docsui.Page(nonce)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("serve /docs: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", docsui.Policy(nonce))
	h.Set("Cache-Control", "no-store") // a nonce is good for one answer
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// docsFile serves GET /docs/{name}: Redoc, the script that starts it, and
// Redoc's licenses.
func (s *handler) docsFile(w http.ResponseWriter, r *http.Request) {
	if !pageHeaders(w, r) {
		return
	}
	f, ok := docsui.Lookup(r.PathValue("name"))
	if !ok {
		notFound(w, r)
		return
	}
	serveAsset(w, r, f.ContentType, f.ETag, f.Body)
}

// serveSpecYAML answers GET /openapi.yaml: the contract byte for byte, as
// /docs reads it; /openapi.json (handler.go) is the same document as JSON.
func serveSpecYAML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(handinger.OpenAPIYAML)))
	_, _ = io.WriteString(w, handinger.OpenAPIYAML)
}
