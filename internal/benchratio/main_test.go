package main

import (
	"strings"
	"testing"
)

func TestRatios(t *testing.T) {
	in := `goos: linux
BenchmarkRetrieveHTTP/bare-2   100   1000 ns/op   10 B/op
BenchmarkRetrieveHTTP/off-2    100   2000 ns/op
BenchmarkRetrieveHTTP/full-2   100   4000 ns/op
BenchmarkRetrieveHTTP/full-2   100   4000 ns/op
BenchmarkAlone-2               100   5 ns/op
PASS
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out, []string{"bare", "off"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.HasPrefix(got, in) {
		t.Error("input not copied through")
	}
	for _, want := range []string{
		"BenchmarkRetrieveHTTP: throughput relative to bare and off",
		"off                    2000       0.50       1.00",
		"full                   4000       0.25       0.50",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "BenchmarkAlone:") {
		t.Error("a benchmark without variants got a table")
	}
}
