package service

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTitle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	for in, want := range map[string]string{
		"Summarise the report.":     "Summarise the report.",
		"  First line\nsecond line": "First line",
		"":                          "",
		strings.Repeat("é", 100):    strings.Repeat("é", 80) + "…",
		long:                        strings.TrimSpace(long[:79]) + "…",
	} {
		got := Title(in)
		if got != want {
			t.Errorf("Title(%.20q…) = %q, want %q", in, got, want)
		}
		if utf8.RuneCountInString(got) > 81 || !utf8.ValidString(got) {
			t.Errorf("Title(%.20q…) = %q: too long or not UTF-8", in, got)
		}
	}
}

func TestRequestHashTellsRequestsApart(t *testing.T) {
	t.Parallel()
	a := requestHash(CreateParams{Input: "ab", Budget: "c"})
	b := requestHash(CreateParams{Input: "a", Budget: "bc"})
	c := requestHash(CreateParams{Input: "ab", Budget: "c", IdempotencyKey: "other"})
	if bytes.Equal(a, b) {
		t.Error("moving a byte between fields kept the fingerprint")
	}
	if !bytes.Equal(a, c) {
		t.Error("the idempotency key itself changed the fingerprint")
	}
}
