package docsui

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
)

// npmFiles are the files that come from the redoc package on npm, as `make
// update-redoc` writes them.
var npmFiles = []string{"LICENSE", "redoc.standalone.js", "redoc.standalone.js.LICENSE.txt"}

// TestFilesMatchTheirHashes checks every file from npm against SHA256SUMS,
// and that what is embedded is what is on disk, so that a bundle edited or
// replaced by hand fails here.
func TestFilesMatchTheirHashes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	lines := bufio.NewScanner(bytes.NewReader(raw))
	for lines.Scan() {
		sum, name, ok := strings.Cut(lines.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: line %q is not sha256sum's output", lines.Text())
		}
		sums[name] = sum
	}
	if len(sums) != len(npmFiles) {
		t.Errorf("SHA256SUMS names %d files, want %v", len(sums), npmFiles)
	}
	embedded := map[string][]byte{"LICENSE": bundleLicense, "redoc.standalone.js": bundle, "redoc.standalone.js.LICENSE.txt": bundleNotices}
	for _, name := range npmFiles {
		body, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != sums[name] {
			t.Errorf("%s has SHA-256 %s, SHA256SUMS records %q: run make update-redoc (or make check-redoc)", name, got, sums[name])
		}
		if !bytes.Equal(embedded[name], body) {
			t.Errorf("the embedded %s is not the file", name)
		}
	}
}

// TestVersionIsPinned checks that VERSION is an exact version, that the
// bundle says it is that version, and that INTEGRITY is an npm sha512
// integrity.
func TestVersionIsPinned(t *testing.T) {
	t.Parallel()
	v := Version()
	if !regexp.MustCompile(`^2\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Fatalf("VERSION %q is not an exact Redoc 2 version", v)
	}
	if want := `Version: "` + v + `"`; !bytes.Contains(bundleNotices, []byte(want)) {
		t.Errorf("redoc.standalone.js.LICENSE.txt does not say %s", want)
	}
	raw, err := os.ReadFile("INTEGRITY")
	if err != nil {
		t.Fatal(err)
	}
	digest, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "sha512-")
	if b, err := base64.StdEncoding.DecodeString(digest); !ok || err != nil || len(b) != sha512.Size {
		t.Errorf("INTEGRITY %q is not an npm sha512 integrity", raw)
	}
}

// TestServedBundle checks the one change made to the bundle as served: the
// logo address of another origin emptied, and nothing else.
func TestServedBundle(t *testing.T) {
	t.Parallel()
	if n := bytes.Count(bundle, []byte(foreignLogo)); n != 1 {
		t.Fatalf("the bundle holds %q %d times, want once: see what this Redoc loads from other origins", foreignLogo, n)
	}
	f, ok := Lookup("redoc.standalone.js")
	if !ok {
		t.Fatal("no redoc.standalone.js")
	}
	if bytes.Contains(f.Body, []byte("cdn.redoc.ly")) {
		t.Error("the served bundle still names cdn.redoc.ly")
	}
	if want := bytes.Replace(bundle, []byte(foreignLogo), []byte(`src:""`), 1); !bytes.Equal(f.Body, want) {
		t.Error("the served bundle differs from the committed one by more than the logo's address")
	}
	if f.ContentType != "text/javascript; charset=utf-8" || len(f.ETag) != 18 {
		t.Errorf("content type %q, ETag %q", f.ContentType, f.ETag)
	}
	for _, name := range []string{"docs.js", "LICENSE", "redoc.standalone.js.LICENSE.txt"} {
		if f, ok := Lookup(name); !ok || len(f.Body) == 0 {
			t.Errorf("no %s", name)
		}
	}
	for _, name := range []string{"docs.html", "VERSION", "SHA256SUMS", "", "../openapi.yaml"} {
		if _, ok := Lookup(name); ok {
			t.Errorf("%q is served", name)
		}
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	b, err := Page("N0NCE")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if n := strings.Count(page, `nonce="N0NCE"`); n != 2 {
		t.Errorf("the nonce is on %d elements, want 2 (the style and docs.js)", n)
	}
	for _, want := range []string{`src="docs/redoc.standalone.js"`, `src="docs/docs.js"`, `data-spec-url="openapi.yaml"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}
