package outputschema

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxPatternSize bounds a regular expression of a schema (pattern,
// patternProperties, or a string of format "regex"), in program
// instructions once its repetitions are expanded: "[a-z]{2,8}" is about
// 10, "[a-z]{1000}[a-z]{1000}[a-z]{1000}" 3000 and refused. Go alone
// accepts a few million, tens of bytes each, for every pattern of a
// schema.
const MaxPatternSize = 2000

// compileRegexp is the validator's regexp engine: Go's regexp (RE2 syntax,
// so no lookaround nor backreferences), refusing patterns that expand
// beyond MaxPatternSize.
func compileRegexp(s string) (jsonschema.Regexp, error) {
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if n := regexpSize(re); n > MaxPatternSize {
		return nil, fmt.Errorf("the pattern is too large: it expands to more than %d instructions", MaxPatternSize)
	}
	return regexp.Compile(s)
}

// regexpSize estimates the program size of re once its repetitions are
// expanded, saturating at a little above MaxPatternSize.
func regexpSize(re *syntax.Regexp) int {
	const limit = MaxPatternSize + 1
	add := func(a, b int) int { return min(a+b, limit) }
	switch re.Op {
	case syntax.OpLiteral:
		return min(len(re.Rune), limit)
	case syntax.OpConcat, syntax.OpAlternate:
		n := 1
		for _, sub := range re.Sub {
			n = add(n, regexpSize(sub))
		}
		return n
	case syntax.OpCapture:
		return regexpSize(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		return add(1, regexpSize(re.Sub[0]))
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		sub := regexpSize(re.Sub[0])
		if n > 0 && sub > limit/n {
			return limit
		}
		return add(1, n*sub)
	}
	return 1
}

// maxPatternString is the longest string the pattern generator builds.
const maxPatternString = 4096

// patternStrings returns strings, shortest first, that match the regular
// expression src when it has no assertions a generator cannot honour (word
// boundaries between generated runes, mostly). They are built from its
// syntax tree: the first alternative (the seed-th, for variety), the
// preferred rune of each class, and every unbounded or ranged repetition
// repeated extra times, 0 to n. The caller checks the candidates.
func patternStrings(src string, seed, n int) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil || regexpSize(re) > MaxPatternSize {
		return nil
	}
	re = re.Simplify()
	var out []string
	seen := map[string]bool{}
	for extra := 0; extra <= n; extra++ {
		var sb strings.Builder
		if !genRegexp(&sb, re, extra, seed) {
			continue
		}
		if s := sb.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// genRegexp appends to sb a string that re matches; it reports false when
// it cannot (an empty class, a string longer than maxPatternString).
func genRegexp(sb *strings.Builder, re *syntax.Regexp, extra, seed int) bool {
	if sb.Len() > maxPatternString {
		return false
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			sb.WriteRune(r)
		}
	case syntax.OpCharClass:
		r, ok := classRune(re.Rune, seed)
		if !ok {
			return false
		}
		sb.WriteRune(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		sb.WriteRune(rune('a' + seed%26))
	case syntax.OpCapture:
		return genRegexp(sb, re.Sub[0], extra, seed)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !genRegexp(sb, sub, extra, seed) {
				return false
			}
		}
	case syntax.OpAlternate:
		return genRegexp(sb, re.Sub[seed%len(re.Sub)], extra, seed)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		n := lo + extra
		if hi >= 0 {
			n = min(n, hi)
		}
		for range n {
			if !genRegexp(sb, re.Sub[0], extra, seed) {
				return false
			}
		}
	}
	// OpEmptyMatch, the line and text anchors and the word boundaries
	// match the empty string.
	return true
}

// classRune picks a rune of a character class given as ranges: for seed 0 a
// readable one (a letter, a digit, then the first printable), else the
// seed-th printable rune of the class.
func classRune(ranges []rune, seed int) (rune, bool) {
	if len(ranges) == 0 {
		return 0, false
	}
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	if seed == 0 {
		for _, r := range "aA0x-_ ." {
			if in(r) {
				return r, true
			}
		}
	}
	printable := func(r rune) bool { return unicode.IsPrint(r) && r != utf8.RuneError }
	var first rune = -1
	k := seed
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if !printable(r) {
				if r-ranges[i] > 1024 {
					break // a huge non-printable range: skip the rest of it
				}
				continue
			}
			if first < 0 {
				first = r
			}
			if k == 0 {
				return r, true
			}
			k--
		}
	}
	if first >= 0 {
		return first, true
	}
	return ranges[0], true
}
