package apikey

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, b := New(), New()
	if a.Secret == b.Secret || a.ID == b.ID {
		t.Fatal("two keys are the same")
	}
	if !strings.HasPrefix(a.Secret, Prefix) || len(a.Secret) < 40 {
		t.Errorf("key %q is not a long prefixed token", a.Secret)
	}
	if !bytes.Equal(Hash(a.Secret), a.Hash) || strings.Contains(a.ID, a.Secret) {
		t.Error("hash or id is wrong")
	}
}

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"Bearer abc":  "abc",
		"bearer abc ": "abc",
		"Basic abc":   "",
		"Bearer ":     "",
		"Bearer":      "",
		"":            "",
	} {
		got, ok := FromHeader(v)
		if got != want || ok != (want != "") {
			t.Errorf("FromHeader(%q) = %q, %v; want %q", v, got, ok, want)
		}
	}
}
