package fastpath

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// CompilePattern is the regular-expression compiler New hands kin-openapi
// (openapi3.SetRegexCompiler) when it validates the document. kin-openapi
// keeps what it returns, by pattern, in its process-wide cache of compiled
// patterns, and matches every string against it.
//
// Patterns that only bound the length of a string of ASCII characters from
// one class, such as ^[A-Za-z0-9_-]{1,64}$, the shape of most id patterns,
// get a byte-table matcher that accepts exactly what Go's regexp accepts
// (FuzzPattern proves it) ten times faster: the regexp costs about a
// microsecond per id, the largest part of validating a GET. Every other
// pattern is compiled as kin-openapi compiles it by default.
func CompilePattern(expr string) (openapi3.RegexMatcher, error) {
	if m, ok := parseClassPattern(expr); ok {
		return m, nil
	}
	return KinPattern(expr)
}

// KinPattern compiles expr as kin-openapi compiles a pattern by default:
// what CompilePattern does for the patterns it has no matcher of its own
// for, and what the benchmarks compare it with.
func KinPattern(expr string) (openapi3.RegexMatcher, error) {
	return regexp.Compile(kinGoRegexp(expr))
}

// codepoint is kin-openapi's rewriting of ECMA-262 "\uXXXX" escapes into
// Go's "\x{XXXX}" (openapi3.intoGoRegexp).
var codepoint = regexp.MustCompile(`(?P<replaced_with_slash_x>\\u)(?P<code>[0-9A-F]{4})`)

func kinGoRegexp(expr string) string {
	return codepoint.ReplaceAllString(expr, `\x{${code}}`)
}

// classMatcher matches ^[class]{min,max}$ for an ASCII class.
type classMatcher struct {
	in       [256]bool
	min, max int // max < 0: no bound
	expr     string
}

// MatchString reports whether every byte of s is in the class and s has an
// allowed length. A byte outside ASCII never is: the regexp would see a rune
// outside the class (or U+FFFD) there.
func (m *classMatcher) MatchString(s string) bool {
	if len(s) < m.min || (m.max >= 0 && len(s) > m.max) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !m.in[s[i]] {
			return false
		}
	}
	return true
}

// String returns the pattern.
func (m *classMatcher) String() string { return m.expr }

// maxRepeat is the largest count Go's regexp accepts in {n,m}.
const maxRepeat = 1000

// parseClassPattern recognises ^[class]quantifier$, where the class lists
// ASCII characters, ranges of them, \d, \w, \s, \xHH or escaped
// punctuation, and the quantifier is +, *, {n}, {n,} or {n,m}. It reports
// false for anything else, which then goes to Go's regexp.
func parseClassPattern(expr string) (*classMatcher, bool) {
	rest, ok := strings.CutPrefix(expr, "^[")
	if !ok || strings.HasPrefix(rest, "^") {
		return nil, false
	}
	m := &classMatcher{expr: expr}
	// The class, up to its closing bracket.
	var prev = -1 // the last single character, which a '-' may extend into a range
	first := true
	for {
		if rest == "" {
			return nil, false
		}
		c := rest[0]
		if c == ']' && !first {
			rest = rest[1:]
			break
		}
		first = false
		if c == '-' && prev >= 0 && len(rest) > 1 && rest[1] != ']' {
			// A range prev-hi.
			hi, n, ok := classChar(rest[1:])
			if !ok || hi < 0 || hi < prev {
				return nil, false
			}
			for x := prev; x <= hi; x++ {
				m.in[x] = true
			}
			rest = rest[1+n:]
			prev = -1
			continue
		}
		if c == '\\' && len(rest) > 1 {
			var set string
			switch rest[1] {
			case 'd':
				set = "0123456789"
			case 'w':
				set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
			case 's':
				set = "\t\n\f\r "
			}
			if set != "" {
				for i := 0; i < len(set); i++ {
					m.in[set[i]] = true
				}
				rest = rest[2:]
				prev = -1
				continue
			}
		}
		x, n, ok := classChar(rest)
		if !ok {
			return nil, false
		}
		m.in[x] = true
		prev = x
		rest = rest[n:]
	}
	// The quantifier, then the end.
	quant, ok := strings.CutSuffix(rest, "$")
	if !ok {
		return nil, false
	}
	switch {
	case quant == "+":
		m.min, m.max = 1, -1
	case quant == "*":
		m.min, m.max = 0, -1
	case strings.HasPrefix(quant, "{") && strings.HasSuffix(quant, "}"):
		lo, hi, comma := strings.Cut(quant[1:len(quant)-1], ",")
		var err error
		if m.min, err = repeatCount(lo); err != nil {
			return nil, false
		}
		switch {
		case !comma:
			m.max = m.min
		case hi == "":
			m.max = -1
		default:
			if m.max, err = repeatCount(hi); err != nil || m.max < m.min {
				return nil, false
			}
		}
	default:
		return nil, false
	}
	return m, true
}

// repeatCount parses a count of {n,m} as Go's regexp does, refusing what it
// would refuse.
func repeatCount(s string) (int, error) {
	if s == "" || len(s) > 4 || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxRepeat || strings.ContainsAny(s, "+-") {
		return 0, strconv.ErrSyntax
	}
	return n, nil
}

// classChar reads one character of a class at the start of s: a printable
// ASCII character that needs no escape, an escaped ASCII punctuation
// character, or \xHH below 0x80. It returns it and the bytes it took.
func classChar(s string) (int, int, bool) {
	c := s[0]
	switch {
	case c == '\\':
		if len(s) < 2 {
			return 0, 0, false
		}
		e := s[1]
		if e == 'x' {
			if len(s) < 4 || !isHex(s[2]) || !isHex(s[3]) {
				return 0, 0, false
			}
			v, _ := strconv.ParseUint(s[2:4], 16, 8)
			if v >= 0x80 {
				return 0, 0, false
			}
			return int(v), 4, true
		}
		if e < 0x80 && isPunct(e) {
			return int(e), 2, true
		}
		return 0, 0, false
	case c == '[' || c == ']' || c < 0x20 || c >= 0x7f:
		return 0, 0, false
	}
	return int(c), 1, true
}

// isPunct reports whether Go's regexp reads \c as the literal c.
func isPunct(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z')
}
