package outputschema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The scalar values of the example generator: strings and numbers.

// buildString makes a string for conj from its format, else its pattern,
// else "example", fitted to the length bounds.
func buildString(conj []*jsonschema.Schema, seed int) (any, error) {
	minLen, maxLen := 0, -1
	var patterns []jsonschema.Regexp
	var formats []*jsonschema.Format
	for _, s := range conj {
		if s.MinLength != nil {
			minLen = max(minLen, *s.MinLength)
		}
		if s.MaxLength != nil && (maxLen < 0 || *s.MaxLength < maxLen) {
			maxLen = *s.MaxLength
		}
		if s.Pattern != nil {
			patterns = append(patterns, s.Pattern)
		}
		if s.Format != nil {
			formats = append(formats, s.Format)
		}
	}
	if maxLen >= 0 && minLen > maxLen {
		return nil, failAt(conj, "minLength %d is more than maxLength %d", minLen, maxLen)
	}
	if minLen > maxExampleString {
		return nil, failAt(conj, "minLength %d is too long for an example", minLen)
	}
	fits := func(c string) bool {
		n := utf8.RuneCountInString(c)
		if n < minLen || (maxLen >= 0 && n > maxLen) {
			return false
		}
		for _, re := range patterns {
			if !re.MatchString(c) {
				return false
			}
		}
		for _, f := range formats {
			if f.Validate(c) != nil {
				return false
			}
		}
		return true
	}
	var cands []string
	if len(formats) > 0 {
		cands = append(cands, formatStrings(formats[0].Name, seed, minLen)...)
	}
	for _, re := range patterns {
		grow := min(max(minLen, 8), 256)
		for _, c := range patternStrings(re.String(), seed, grow) {
			cands = append(cands, c)
			if pad := minLen - utf8.RuneCountInString(c); pad > 0 {
				cands = append(cands, c+strings.Repeat("a", pad), strings.Repeat("a", pad)+c)
			}
		}
	}
	cands = append(cands, plainStrings(seed, minLen, maxLen)...)
	for _, c := range cands {
		if fits(c) {
			return c, nil
		}
	}
	var what []string
	for _, f := range formats {
		what = append(what, fmt.Sprintf("format %q", f.Name))
	}
	for _, re := range patterns {
		what = append(what, fmt.Sprintf("pattern %q", re.String()))
	}
	if minLen > 0 || maxLen >= 0 {
		what = append(what, fmt.Sprintf("length %d to %s", minLen, maxText(maxLen)))
	}
	return nil, failAt(conj, "cannot build a string with %s", strings.Join(what, " and "))
}

func maxText(n int) string {
	if n < 0 {
		return "any"
	}
	return fmt.Sprint(n)
}

// plainStrings are strings without format or pattern: "example" (with
// the seed appended), or letters when maxLength is small, padded to
// minLength.
func plainStrings(seed, minLen, maxLen int) []string {
	base := "example"
	if seed > 0 {
		base = fmt.Sprintf("example%d", seed)
	}
	letters := ""
	for n := seed; ; n = n/26 - 1 {
		letters = string(rune('a'+n%26)) + letters
		if n < 26 {
			break
		}
	}
	var out []string
	for _, s := range []string{base, letters} {
		if maxLen >= 0 && len(s) > maxLen {
			s = s[:maxLen]
		}
		if pad := minLen - len(s); pad > 0 {
			s += strings.Repeat("x", pad)
		}
		out = append(out, s)
	}
	return out
}

// formatStrings are strings of a format, the seed-th of several, padded
// toward minLength where the format allows.
func formatStrings(name string, seed, minLen int) []string {
	pad := func(s string, at int) string {
		if n := minLen - len(s); n > 0 {
			return s[:at] + strings.Repeat("a", n) + s[at:]
		}
		return s
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, seed)
	n := "" // a suffix telling seeds apart
	if seed > 0 {
		n = fmt.Sprint(seed)
	}
	switch name {
	case "date-time":
		return []string{day.Format("2006-01-02T15:04:05Z")}
	case "date":
		return []string{day.Format("2006-01-02")}
	case "time":
		return []string{fmt.Sprintf("%02d:%02d:00Z", seed/60%24, seed%60)}
	case "email", "idn-email":
		local := "user" + n
		return []string{pad(local+"@example.com", len(local))}
	case "uri", "iri", "uri-reference", "iri-reference":
		s := "https://example.com/" + n
		return []string{pad(s, len(s)), "x:" + n}
	case "uri-template":
		return []string{"https://example.com/items/{id" + n + "}"}
	case "uuid":
		return []string{fmt.Sprintf("00000000-0000-4000-8000-%012x", seed)}
	case "hostname", "idn-hostname":
		s := "example.com"
		if seed > 0 {
			s = "host" + n + ".example.com"
		}
		for minLen > len(s) {
			s = strings.Repeat("a", min(minLen-len(s), 62)) + "." + s
		}
		return []string{s}
	case "ipv4":
		return []string{fmt.Sprintf("192.0.2.%d", 1+seed%254)}
	case "ipv6":
		return []string{fmt.Sprintf("2001:db8::%x", 1+seed%0xfffe), fmt.Sprintf("::%x", 1+seed%0xfffe)}
	case "json-pointer":
		return []string{pad("/example"+n, 1)}
	case "relative-json-pointer":
		return []string{fmt.Sprint(seed)}
	case "regex":
		return []string{"^example" + n + "$"}
	case "duration":
		days := fmt.Sprint(1 + seed)
		if pad := minLen - len(days) - 2; pad > 0 {
			days = strings.Repeat("1", pad) + days
		}
		return []string{"P" + days + "D"}
	case "period":
		return []string{day.Format("2006-01-02T15:04:05Z") + "/P1D"}
	case "semver":
		return []string{fmt.Sprintf("1.0.%d", seed)}
	}
	return nil
}

// buildNumber makes a number for conj: 0 when the bounds allow it, else
// the value nearest to 0 within them, a multiple of every multipleOf (and
// of 1 for an integer). Seeds give other values, for oneOf and
// uniqueItems.
func buildNumber(conj []*jsonschema.Schema, integer bool, seed int) (any, error) {
	var lo, hi *big.Rat
	loEx, hiEx := false, false
	var step *big.Rat
	if integer {
		step = big.NewRat(1, 1)
	}
	for _, s := range conj {
		if s.Minimum != nil && (lo == nil || s.Minimum.Cmp(lo) > 0) {
			lo, loEx = s.Minimum, false
		}
		if s.ExclusiveMinimum != nil && (lo == nil || s.ExclusiveMinimum.Cmp(lo) >= 0) {
			lo, loEx = s.ExclusiveMinimum, true
		}
		if s.Maximum != nil && (hi == nil || s.Maximum.Cmp(hi) < 0) {
			hi, hiEx = s.Maximum, false
		}
		if s.ExclusiveMaximum != nil && (hi == nil || s.ExclusiveMaximum.Cmp(hi) <= 0) {
			hi, hiEx = s.ExclusiveMaximum, true
		}
		if s.MultipleOf != nil && s.MultipleOf.Sign() > 0 {
			step = lcm(step, s.MultipleOf)
		}
	}
	in := func(v *big.Rat) bool {
		if lo != nil {
			if c := v.Cmp(lo); c < 0 || (c == 0 && loEx) {
				return false
			}
		}
		if hi != nil {
			if c := v.Cmp(hi); c > 0 || (c == 0 && hiEx) {
				return false
			}
		}
		return true
	}
	zero := new(big.Rat)
	var cands []*big.Rat
	if step != nil {
		// Multiples k·step: k0 is the one nearest to 0 within the bounds.
		k0 := new(big.Int)
		switch {
		case in(zero):
		case lo != nil && lo.Sign() >= 0:
			k0 = ceilInt(new(big.Rat).Quo(lo, step))
			if !in(new(big.Rat).Mul(new(big.Rat).SetInt(k0), step)) {
				k0.Add(k0, big.NewInt(1))
			}
		case hi != nil:
			k0 = floorInt(new(big.Rat).Quo(hi, step))
			if !in(new(big.Rat).Mul(new(big.Rat).SetInt(k0), step)) {
				k0.Sub(k0, big.NewInt(1))
			}
		}
		for _, d := range []int64{int64(seed), -int64(seed)} {
			k := new(big.Int).Add(k0, big.NewInt(d))
			cands = append(cands, new(big.Rat).Mul(new(big.Rat).SetInt(k), step))
		}
	} else {
		v := new(big.Rat)
		switch {
		case in(zero):
		case lo != nil && lo.Sign() >= 0:
			v.Set(lo)
			if loEx {
				v.SetInt(floorInt(lo))
				v.Add(v, big.NewRat(1, 1))
				if !in(v) && hi != nil {
					v.Add(lo, hi).Quo(v, big.NewRat(2, 1))
				}
			}
		case hi != nil:
			v.Set(hi)
			if hiEx {
				v.SetInt(ceilInt(hi))
				v.Sub(v, big.NewRat(1, 1))
				if !in(v) && lo != nil {
					v.Add(lo, hi).Quo(v, big.NewRat(2, 1))
				}
			}
		}
		half := big.NewRat(int64(seed), 2)
		cands = append(cands, new(big.Rat).Add(v, half), new(big.Rat).Sub(v, half))
		if hi != nil {
			cands = append(cands, new(big.Rat).Quo(new(big.Rat).Add(v, hi), big.NewRat(2, 1)))
		}
		if lo != nil {
			cands = append(cands, new(big.Rat).Quo(new(big.Rat).Add(v, lo), big.NewRat(2, 1)))
		}
	}
	for _, c := range cands {
		if in(c) {
			return ratNumber(c), nil
		}
	}
	return nil, failAt(conj, "no %s satisfies %s", map[bool]string{true: "integer", false: "number"}[integer], boundsText(lo, hi, loEx, hiEx, step))
}

func boundsText(lo, hi *big.Rat, loEx, hiEx bool, step *big.Rat) string {
	var parts []string
	if lo != nil {
		parts = append(parts, fmt.Sprintf("%s %s", map[bool]string{true: ">", false: ">="}[loEx], lo.RatString()))
	}
	if hi != nil {
		parts = append(parts, fmt.Sprintf("%s %s", map[bool]string{true: "<", false: "<="}[hiEx], hi.RatString()))
	}
	if step != nil {
		parts = append(parts, "multiple of "+step.RatString())
	}
	return strings.Join(parts, " and ")
}

// lcm is the least common multiple of two positive rationals (nil is
// none): lcm(a/b, c/d) = lcm(a, c) / gcd(b, d).
func lcm(x, y *big.Rat) *big.Rat {
	if x == nil {
		return new(big.Rat).Set(y)
	}
	a, b, c, d := x.Num(), x.Denom(), y.Num(), y.Denom()
	g := new(big.Int).GCD(nil, nil, a, c)
	l := new(big.Int).Mul(a, c)
	l.Quo(l, g)
	return new(big.Rat).SetFrac(l, new(big.Int).GCD(nil, nil, b, d))
}

// floorInt rounds down: big.Int.Div is Euclidean, the floor for the
// positive denominator of a Rat.
func floorInt(r *big.Rat) *big.Int {
	return new(big.Int).Div(r.Num(), r.Denom())
}

func ceilInt(r *big.Rat) *big.Int {
	q := floorInt(r)
	if !r.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// ratNumber writes r as a JSON number: exact for terminating decimals,
// which is every value built from the decimal numbers of a schema, and in
// exponent form when the plain one would be long (1e300, not 301 digits).
func ratNumber(r *big.Rat) json.Number {
	d := decimalDigits(r)
	if d < 0 {
		// Not a terminating decimal; the validator decides.
		return json.Number(strings.TrimRight(strings.TrimRight(r.FloatString(20), "0"), "."))
	}
	plain := r.FloatString(d)
	if len(plain) <= 24 {
		return json.Number(plain)
	}
	// r = n / 10^d, n an integer: write n without its trailing zeros.
	n := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil))
	n.Quo(n, r.Denom())
	digits, exp := n.String(), -d
	for len(digits) > 1 && strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	if exp == 0 {
		return json.Number(digits)
	}
	return json.Number(digits + "e" + strconv.Itoa(exp))
}

// decimalDigits is how many decimals r needs, -1 when it does not
// terminate: the larger power of 2 or 5 in its denominator.
func decimalDigits(r *big.Rat) int {
	d := new(big.Int).Set(r.Denom())
	digits := 0
	rem := new(big.Int)
	for _, p := range []*big.Int{big.NewInt(2), big.NewInt(5)} {
		n := 0
		for {
			q, m := new(big.Int).QuoRem(d, p, rem)
			if m.Sign() != 0 {
				break
			}
			d, n = q, n+1
		}
		digits = max(digits, n)
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return -1
	}
	return digits
}
