package fastpath

import (
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

var dateTimeSeeds = []string{
	"", "2026-05-14T09:30:00Z", "2026-05-14T09:30:00.5+05:30", "2026-05-14T09:30:00.-05:30",
	"2026-02-28T00:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-06-31T00:00:00Z",
	"2026-12-31T23:59:60Z", "2026-12-31T23:59:61Z", "2026-00-10T00:00:00Z", "2026-10-00T00:00:00Z",
	"2026-10-32T00:00:00Z", "2026-10-10T20:00:00Z", "2026-10-10T19:60:00Z", "2026-10-10T10:10:10+24:00",
	"2026-10-10T10:10:10+23:60", "2026-10-10T10:10:10+23:59x", "2026-10-10T10:10:10Zx", "２026-10-10T10:10:10Z",
	"2026-10-10T10:10:10.123", "2026-10-10T10:10:10Z\n",
}

func kinDateTime(s string) bool {
	return openapi3.SchemaStringFormats["date-time"].Validate(s) == nil
}

func TestDateTime(t *testing.T) {
	t.Parallel()
	for _, s := range append(dateTimeSeeds, dateTimeProbes...) {
		if got, want := isDateTime(s), kinDateTime(s); got != want {
			t.Errorf("isDateTime(%q) = %v, kin-openapi says %v", s, got, want)
		}
	}
	for _, y := range []int{0, 1900, 2000, 2023, 2024, 2100, 9999} {
		for m := 1; m <= 12; m++ {
			for d := 28; d <= 31; d++ {
				s := fmt.Sprintf("%04d-%02d-%02dT00:00:00Z", y, m, d)
				if got, want := isDateTime(s), kinDateTime(s); got != want {
					t.Errorf("isDateTime(%q) = %v, kin-openapi says %v", s, got, want)
				}
			}
		}
	}
	formats := Formats()
	if formats == nil {
		t.Fatal("kin-openapi's date-time validator was not recognised")
	}
	// A refusal carries kin-openapi's own message.
	err := formats["date-time"].Validate("yesterday")
	if want := openapi3.SchemaStringFormats["date-time"].Validate("yesterday"); err == nil || err.Error() != want.Error() {
		t.Errorf("refusal = %v, want kin-openapi's %v", err, want)
	}
}

func TestDateTimeMutations(t *testing.T) {
	t.Parallel()
	bases := []string{"2024-02-29T23:59:60.5+23:59", "2026-12-31T00:00:00Z", "1999-09-09T19:09:09-09:09", "2000-01-10T10:10:10.000Z"}
	const chars = "0123456789:-+.TZtz x\x00"
	n := 0
	for _, base := range bases {
		for i := 0; i <= len(base); i++ {
			for _, c := range chars {
				variants := []string{base[:i] + string(c) + base[i:]}
				if i < len(base) {
					variants = append(variants, base[:i]+string(c)+base[i+1:], base[:i]+base[i+1:], base[:i])
				}
				for _, s := range variants {
					n++
					if got, want := isDateTime(s), kinDateTime(s); got != want {
						t.Errorf("isDateTime(%q) = %v, kin-openapi says %v", s, got, want)
					}
				}
			}
		}
	}
	t.Logf("%d variants agree", n)
}

func TestFastFormatsStepAsideForACustomValidator(t *testing.T) {
	// Not parallel: it swaps kin-openapi's global validator for a moment.
	kin := openapi3.SchemaStringFormats["date-time"]
	defer openapi3.DefineStringFormatValidator("date-time", kin)
	openapi3.DefineStringFormatValidator("date-time", openapi3.NewCallbackValidator(func(s string) error {
		if strings.Contains(s, ":60") {
			return errLeap
		}
		return kin.Validate(s)
	}))
	if Formats() != nil {
		t.Error("Formats replaced an application's own date-time validator")
	}
}

var errLeap = &syntaxError{msg: "no leap seconds"}

func FuzzDateTime(f *testing.F) {
	for _, s := range append(dateTimeSeeds, dateTimeProbes...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDateTime(s), kinDateTime(s); got != want {
			t.Fatalf("isDateTime(%q) = %v, kin-openapi says %v", s, got, want)
		}
	})
}
