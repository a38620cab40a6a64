// Package docsui holds what a browser gets for the API reference on /docs:
// the page, the script that starts Redoc on it, and Redoc itself.
//
// Redoc is the standalone bundle of the npm package redoc, committed as npm
// publishes it (redoc.standalone.js, its LICENSE and the notices of what it
// bundles) beside its version (VERSION), the npm integrity of the tarball it
// came from (INTEGRITY) and the SHA-256 of each of those files
// (SHA256SUMS), which this package's tests check. `make update-redoc`
// refreshes the files from npm; `make check-redoc` compares them with npm's.
// The bundle is served as committed but for one address of another origin,
// emptied (foreignLogo), so that the page asks nothing of any origin but its
// own; Policy is the Content-Security-Policy that holds it to that. docs.html
// and docs.js are this repository's own.
package docsui

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"strings"
	"sync"
)

var (
	//go:embed redoc.standalone.js
	bundle []byte
	//go:embed redoc.standalone.js.LICENSE.txt
	bundleNotices []byte
	//go:embed LICENSE
	bundleLicense []byte
	//go:embed VERSION
	version string

	//go:embed docs.js
	startScript []byte
	//go:embed docs.html
	pageHTML string
)

var page = template.Must(template.New("docs.html").Parse(pageHTML))

// foreignLogo is the one address of another origin the bundle asks for by
// itself: the Redocly logo in the sidebar's "API docs by Redocly" link,
// which no option of Redoc 2 turns off. The bundle is served with the
// address emptied: an <img src=""> loads nothing, and Redoc drops the image
// on the error event it fires (the link's text stays).
const foreignLogo = `src:"https://cdn.redoc.ly/redoc/logo-mini.svg"`

// File is one file served under /docs/.
type File struct {
	// ContentType is the value of the Content-Type header to send with Body.
	ContentType string
	// ETag is a strong entity tag of Body, quotes included.
	ETag string
	// Body is the file as served; it is shared, so never modify it.
	Body []byte
}

// files are the files under /docs/, by name, made on first use: the bundle
// is a megabyte, and most runs of the binary never serve it.
var files = sync.OnceValue(func() map[string]File {
	const js, text = "text/javascript; charset=utf-8", "text/plain; charset=utf-8"
	out := map[string]File{}
	for name, f := range map[string]struct {
		ctype string
		body  []byte
	}{
		"redoc.standalone.js":             {js, servedBundle(bundle)},
		"redoc.standalone.js.LICENSE.txt": {text, bundleNotices}, // the bundle's first line points here
		"LICENSE":                         {text, bundleLicense},
		"docs.js":                         {js, startScript},
	} {
		sum := sha256.Sum256(f.body)
		out[name] = File{ContentType: f.ctype, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`, Body: f.body}
	}
	return out
})

// servedBundle is b, the bundle as committed, with the address of
// foreignLogo emptied.
func servedBundle(b []byte) []byte {
	return bytes.Replace(b, []byte(foreignLogo), []byte(`src:""`), 1)
}

// Lookup returns the file served as /docs/name, and whether there is one.
func Lookup(name string) (File, bool) {
	f, ok := files()[name]
	return f, ok
}

// Page returns the HTML of /docs. Its inline style and the script that
// starts Redoc carry nonce, which the answer's Content-Security-Policy must
// name as the one inline style source it admits ('nonce-…'); nonce must be
// fresh for each answer. The page loads docs/… and openapi.yaml relative to
// its own address.
func Page(nonce string) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, struct{ Nonce string }{nonce}); err != nil {
		return nil, fmt.Errorf("render docs.html: %w", err)
	}
	return b.Bytes(), nil
}

// bundleStyles are the hashes of the one <style> element the bundle makes
// as it loads, before Redoc.init can hand it a nonce (perfect-scrollbar's
// CSS, from webpack's style-loader): the element is checked empty, when it is
// inserted, and then with its CSS. A new bundle with other CSS there makes
// the browser test fail with Chromium naming the hash it wants.
var bundleStyles = []string{
	"'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='", // the empty string
	"'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='", // perfect-scrollbar.css, with its source map
}

// Policy returns the Content-Security-Policy of the page Page(nonce)
// returns. Scripts and data come from this server only; styles from this
// server, from the <style> elements of the nonce (the page's own and those
// Redoc makes for its styled components) and from bundleStyles; images only
// from data: URLs, which Redoc's CSS uses for its icons and which no request
// leaves the browser for. Nothing else: no fonts, workers (see disableSearch
// in docs.js), frames or forms.
func Policy(nonce string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-" + nonce + "' " + strings.Join(bundleStyles, " ") + "; " +
		"img-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
}

// Version returns the npm version of the embedded Redoc, such as "2.5.4".
func Version() string { return strings.TrimSpace(version) }
