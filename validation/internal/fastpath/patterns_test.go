package fastpath

import (
	"regexp"
	"strings"
	"testing"
)

// classPatterns are patterns parseClassPattern takes, with the regexp they
// must behave like.
var classPatterns = []string{
	`^[A-Za-z0-9_-]{1,64}$`, `^[\x21-\x7E]+$`, `^[a-z]*$`, `^[-a]{3}$`, `^[a-]{0,}$`, `^[\w.-]{2,5}$`,
	`^[\d]{4}$`, `^[\s]+$`, `^[a-z-0]+$`, `^[%--]+$`, `^[\]\[\\\/]+$`, `^[ -~]{0,1000}$`, `^[a\-z]+$`,
	`^[0-9A-F]{8}$`, `^[a-zA-Z]{1,}$`,
}

// otherPatterns go to Go's regexp.
var otherPatterns = []string{
	`^[^a]+$`, `[a-z]+`, `^[a-z]+`, `[a-z]+$`, `^[a-z]$`, `^[a-z]{,5}$`, `^[a-z]{01}$`, `^[a-z]{1001}$`,
	`^[a-z]{2,1}$`, `^[a-z]+?$`, `^[]a]+$`, `^[[:alpha:]]+$`, `^[é]+$`, `^[\x80-\xff]+$`, `^[a-\d]+$`,
	`^[\D]+$`, `^[a-z]+$|^b$`, `^(?i)[a-z]+$`, `^[\x{41}]+$`, `^[a-z]{1,2,3}$`, `^[\u0041]+$`, `^[z-a]+$`,
	`^[a-z]+$\n`, `^[a\`, `^[`, `^[a-z]{+1}$`,
}

func TestParseClassPattern(t *testing.T) {
	t.Parallel()
	for _, p := range classPatterns {
		m, ok := parseClassPattern(p)
		if !ok {
			t.Errorf("parseClassPattern(%q) refused it", p)
			continue
		}
		re := regexp.MustCompile(p)
		for _, s := range patternInputs() {
			if got, want := m.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%q on %q = %v, regexp says %v", p, s, got, want)
			}
		}
	}
	for _, p := range otherPatterns {
		if _, ok := parseClassPattern(p); ok {
			t.Errorf("parseClassPattern(%q) took it", p)
		}
		m, err := CompilePattern(p)
		re, reErr := regexp.Compile(kinGoRegexp(p))
		if (err == nil) != (reErr == nil) {
			t.Errorf("CompilePattern(%q) error %v, regexp error %v", p, err, reErr)
		}
		if err == nil && m.(*regexp.Regexp).String() != re.String() {
			t.Errorf("CompilePattern(%q) = %v", p, m)
		}
	}
	if m, _ := CompilePattern(`^\u0041+$`); m == nil || !m.MatchString("AA") {
		t.Error(`CompilePattern does not rewrite \u escapes as kin-openapi does`)
	}
}

// patternInputs are every string of up to two bytes from a set of
// interesting bytes, and some longer ones.
func patternInputs() []string {
	chars := []byte("aAzZ09_-.~ !/\\[]%\t\n\x00\x7f\x80\xff")
	out := []string{"", strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("~", 1000), strings.Repeat("~", 1001),
		"tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", "bad id", "é", "\xed\xa0\x80", "a\n", "1234", "12345"}
	for _, a := range chars {
		out = append(out, string([]byte{a}))
		for _, b := range chars {
			out = append(out, string([]byte{a, b}))
		}
	}
	return out
}

func FuzzPattern(f *testing.F) {
	for i, s := range patternInputs() {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, i uint8, s string) {
		p := classPatterns[int(i)%len(classPatterns)]
		m, _ := parseClassPattern(p)
		if got, want := m.MatchString(s), regexp.MustCompile(p).MatchString(s); got != want {
			t.Fatalf("%q on %q = %v, regexp says %v", p, s, got, want)
		}
	})
}
