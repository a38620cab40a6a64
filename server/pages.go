package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"time"

	"github.com/handinger/handinger/problem"
)

// This file serves the web pages behind the url fields of tasks and workers
// (convert.go). They live outside /api, so they need no API key and the
// validator lets them through. The task page holds no data: its script asks
// for an API key and reads the task from the API in the browser, so the page
// shows nothing the key's owner could not read anyway.

//go:embed pages
var pageFiles embed.FS

// pageIDPattern is the id rule of the API (TaskId and WorkerId in
// openapi.yaml), applied to the pages' path parameters.
var pageIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// pageCSP lets a page load its script, style and data from this server
// only: no inline script or style, no other origin, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

var (
	taskPageHTML   = mustRead("pages/task.html")
	workerPageHTML = template.Must(template.ParseFS(pageFiles, "pages/worker.html"))
	pageAssets     = loadAssets("pages/assets")
)

// asset is one embedded file served under /assets/.
type asset struct {
	contentType string
	etag        string
	body        []byte
}

// pageHeaders sets the security headers of every answer on the page routes,
// problems included, and refuses methods other than GET and HEAD with 405;
// it reports whether the request may go on.
func pageHeaders(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		methodNotAllowed(w, r)
		return false
	}
	return true
}

// taskPage serves GET /tasks/{taskId}, the page a Task's url points at.
func (s *handler) taskPage(w http.ResponseWriter, r *http.Request) {
	if !pageHeaders(w, r) || !validPageID(w, r, "taskId") {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(taskPageHTML)
}

// workerPage serves GET /workers/{workerId}, the page a Worker's url points
// at: what a worker is, and how to list its tasks through the API.
func (s *handler) workerPage(w http.ResponseWriter, r *http.Request) {
	if !pageHeaders(w, r) || !validPageID(w, r, "workerId") {
		return
	}
	id := r.PathValue("workerId")
	list := "/api/tasks?workerId=" + id // the id rule leaves nothing to escape
	var b bytes.Buffer
	err := workerPageHTML.Execute(&b, struct{ ID, ListPath, ListURL string }{id, list, s.publicURL + list})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("render worker page: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// pageAsset serves GET /assets/{name}: the pages' scripts and styles.
func (s *handler) pageAsset(w http.ResponseWriter, r *http.Request) {
	if !pageHeaders(w, r) {
		return
	}
	a, ok := pageAssets[r.PathValue("name")]
	if !ok {
		notFound(w, r)
		return
	}
	serveAsset(w, r, a.contentType, a.etag, a.body)
}

// serveAsset answers a static file of the pages with its validator:
// ServeContent answers a matching If-None-Match with 304.
func serveAsset(w http.ResponseWriter, r *http.Request, contentType, etag string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// validPageID answers 400, as the API does for a bad id, when the path
// parameter name breaks the id rule.
func validPageID(w http.ResponseWriter, r *http.Request, name string) bool {
	if pageIDPattern.MatchString(r.PathValue(name)) {
		return true
	}
	p := problem.New(http.StatusBadRequest, "invalid-request", "Invalid request",
		fmt.Sprintf("The %s in the path must be 1 to 64 letters, digits, '_' or '-'.", name))
	p.Errors = []problem.FieldError{{In: problem.InPath, Pointer: "/" + name,
		Detail: `does not match the pattern "^[A-Za-z0-9_-]{1,64}$"`}}
	problem.Write(w, r, p)
	return false
}

func mustRead(name string) []byte {
	b, err := pageFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	return b
}

// loadAssets reads the files of dir once, by base name, with their content
// types.
func loadAssets(dir string) map[string]asset {
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
	}
	out := map[string]asset{}
	entries, err := pageFiles.ReadDir(dir)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	for _, e := range entries {
		ct, ok := types[path.Ext(e.Name())]
		if e.IsDir() || !ok {
			continue
		}
		body, err := fs.ReadFile(pageFiles, dir+"/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		out[e.Name()] = asset{contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, body: body}
	}
	return out
}
