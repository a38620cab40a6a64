package validation

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUnsupportedProperty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason, name string
		ok           bool
	}{
		{`property "extra" is unsupported`, "extra", true},
		{`property "a\"b/c" is unsupported`, `a"b/c`, true},
		{`property "input" is missing`, "", false},
		{`property extra is unsupported`, "", false},
	} {
		name, ok := unsupportedProperty(tc.reason)
		if name != tc.name || ok != tc.ok {
			t.Errorf("unsupportedProperty(%q) = %q, %v", tc.reason, name, ok)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	if got := truncate("short", 10); got != "short" {
		t.Errorf("truncate = %q", got)
	}
	s := strings.Repeat("é", 10) // 2 bytes each
	got := truncate(s, 5)
	if !utf8.ValidString(got) || got != "éé…" {
		t.Errorf("truncate(%q, 5) = %q", s, got)
	}
}
