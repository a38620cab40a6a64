package fastpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/handinger/handinger/problem"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does,
// so that no body can exhaust the stack.
const maxDepth = 10000

// A syntaxError is a body that is not one JSON document.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.msg, e.offset)
}

// A DuplicateKeyError is an object that names one key twice. encoding/json
// keeps the last value and kin-openapi never sees the first; the JSON RFC
// leaves the meaning open. Decode refuses such a document: no reader of it
// can then take it otherwise than the validator did.
type DuplicateKeyError struct {
	// Key is the repeated key.
	Key string
	// Pointer is the JSON pointer of its second occurrence, e.g. "/input".
	Pointer string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q", e.Key)
}

// duplicateKey is the error of an object whose members repeat a key: the
// first key seen twice.
func duplicateKey(kvs []member) error {
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if seen[kv.key] {
			return &DuplicateKeyError{Key: kv.key, Pointer: "/" + problem.PointerToken(kv.key)}
		}
		seen[kv.key] = true
	}
	return nil // not reached: the caller found a repeat
}

// Decode parses data, which must hold exactly one JSON value (surrounded
// by white space at most), into the generic values kin-openapi validates:
// map[string]any, []any, string, bool, nil, and numbers as int64 when they
// are integers of at most 18 digits, float64 otherwise, or json.Number when
// they overflow float64 (so that kin-openapi reports them as it does for
// encoding/json with UseNumber). Strings are decoded exactly as
// encoding/json decodes them, invalid UTF-8 and lone surrogates included.
//
// The objects and arrays of the value belong to the returned Decoder and are
// reused once it is released: the caller calls Release when it is done with
// the value, and keeps nothing of it but strings (which are never reused).
//
// It does the job of encoding/json's Decoder with UseNumber several times
// faster: one pass, one copy of the input shared by every string without
// escapes, objects and arrays taken from earlier documents, small integers
// boxed without allocation. Unlike Decoder.Decode it refuses anything after
// the first value, and a document with a repeated object key
// (DuplicateKeyError).
func Decode(data []byte) (any, *Decoder, error) {
	d := decoderPool.Get().(*Decoder)
	d.s = string(data)
	d.i = 0
	d.depth = 0
	v, err := d.value()
	if err == nil {
		d.space()
		if d.i < len(d.s) {
			err = d.errorf("invalid character %s after top-level value", quoteChar(d.s[d.i]))
		}
	}
	if err != nil {
		d.Release()
		return nil, nil, err
	}
	return v, d, nil
}

// Decoder is the state of one Decode call, and the owner of the objects
// and arrays it decoded. It is pooled: its stacks, maps and arrays serve the
// next documents.
type Decoder struct {
	s     string
	i     int
	depth int
	kvs   []member
	vals  []any
	buf   []byte

	// used holds the maps of the current document, by size class; free
	// the cleared maps of earlier ones.
	used, free [len(mapClasses)][]map[string]any
	// slab backs the arrays of the current document.
	slab []any
}

type member struct {
	key string
	val any
}

// mapClasses are the capacities of the maps a Decoder reuses; larger
// objects get maps of their own.
var mapClasses = [...]int{8, 16, 32, 64}

// maxPooledMaps bounds the maps of one class a Decoder keeps.
const maxPooledMaps = 64

// maxSlab bounds the array slab a Decoder keeps.
const maxSlab = 4096

var decoderPool = sync.Pool{New: func() any { return new(Decoder) }}

// newMap returns an empty map for n members.
func (d *Decoder) newMap(n int) map[string]any {
	for c, size := range mapClasses {
		if n > size {
			continue
		}
		var m map[string]any
		if free := d.free[c]; len(free) > 0 {
			m = free[len(free)-1]
			free[len(free)-1] = nil
			d.free[c] = free[:len(free)-1]
		} else {
			m = make(map[string]any, size)
		}
		d.used[c] = append(d.used[c], m)
		return m
	}
	return make(map[string]any, n)
}

// newArray returns an array of n elements, cut from the slab.
func (d *Decoder) newArray(n int) []any {
	if len(d.slab)+n > cap(d.slab) {
		if n > maxSlab/4 {
			return make([]any, n)
		}
		// The arrays cut so far keep the old slab; start a new one.
		d.slab = make([]any, 0, max(n, min(maxSlab, max(256, 2*cap(d.slab)))))
	}
	start := len(d.slab)
	d.slab = d.slab[:start+n]
	return d.slab[start : start+n : start+n]
}

// Release clears everything the Decoder made, for reuse, and returns it to
// the pool. Nothing decoded may be used afterwards, but strings.
func (d *Decoder) Release() {
	d.s = ""
	clear(d.kvs[:cap(d.kvs)])
	d.kvs = d.kvs[:0]
	clear(d.vals[:cap(d.vals)])
	d.vals = d.vals[:0]
	if cap(d.kvs) > 4096 {
		d.kvs = nil
	}
	if cap(d.vals) > 4096 {
		d.vals = nil
	}
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	for c := range d.used {
		for _, m := range d.used[c] {
			clear(m)
			if len(d.free[c]) < maxPooledMaps {
				d.free[c] = append(d.free[c], m)
			}
		}
		clear(d.used[c])
		d.used[c] = d.used[c][:0]
	}
	clear(d.slab)
	d.slab = d.slab[:0]
	decoderPool.Put(d)
}

var errUnexpectedEnd = errors.New("unexpected end of JSON input")

func (d *Decoder) errorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), offset: d.i}
}

// quoteChar quotes c for an error message.
func quoteChar(c byte) string {
	return strconv.QuoteRuneToASCII(rune(c))
}

func (d *Decoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *Decoder) value() (any, error) {
	d.space()
	if d.i >= len(d.s) {
		return nil, errUnexpectedEnd
	}
	switch c := d.s[d.i]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.errorf("invalid character %s looking for beginning of value", quoteChar(c))
	}
}

func (d *Decoder) literal(lit string) error {
	end := d.i + len(lit)
	if end > len(d.s) {
		if d.s[d.i:] == lit[:len(d.s)-d.i] {
			return errUnexpectedEnd
		}
		return d.errorf("invalid literal, expected %s", lit)
	}
	if d.s[d.i:end] != lit {
		return d.errorf("invalid literal, expected %s", lit)
	}
	d.i = end
	return nil
}

func (d *Decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("exceeded max depth")
	}
	return nil
}

func (d *Decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++ // '{'
	base := len(d.kvs)
	d.space()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return d.newMap(0), nil
	}
	for {
		d.space()
		if d.i >= len(d.s) {
			return nil, errUnexpectedEnd
		}
		if d.s[d.i] != '"' {
			return nil, d.errorf("invalid character %s looking for beginning of object key string", quoteChar(d.s[d.i]))
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.s) {
			return nil, errUnexpectedEnd
		}
		if d.s[d.i] != ':' {
			return nil, d.errorf("invalid character %s after object key", quoteChar(d.s[d.i]))
		}
		d.i++
		val, err := d.value()
		if err != nil {
			if dup, ok := err.(*DuplicateKeyError); ok {
				dup.Pointer = "/" + problem.PointerToken(key) + dup.Pointer
			}
			return nil, err
		}
		d.kvs = append(d.kvs, member{key, val})
		d.space()
		if d.i >= len(d.s) {
			return nil, errUnexpectedEnd
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			continue
		case '}':
			d.i++
		default:
			return nil, d.errorf("invalid character %s after object key:value pair", quoteChar(d.s[d.i]))
		}
		break
	}
	kvs := d.kvs[base:]
	m := d.newMap(len(kvs))
	for _, kv := range kvs {
		m[kv.key] = kv.val
	}
	if len(m) != len(kvs) {
		return nil, duplicateKey(kvs)
	}
	clear(kvs)
	d.kvs = d.kvs[:base]
	d.depth--
	return m, nil
}

func (d *Decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++ // '['
	base := len(d.vals)
	d.space()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return []any{}, nil
	}
	for {
		val, err := d.value()
		if err != nil {
			if dup, ok := err.(*DuplicateKeyError); ok {
				dup.Pointer = "/" + strconv.Itoa(len(d.vals)-base) + dup.Pointer
			}
			return nil, err
		}
		d.vals = append(d.vals, val)
		d.space()
		if d.i >= len(d.s) {
			return nil, errUnexpectedEnd
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			continue
		case ']':
			d.i++
		default:
			return nil, d.errorf("invalid character %s after array element", quoteChar(d.s[d.i]))
		}
		break
	}
	vals := d.vals[base:]
	a := d.newArray(len(vals))
	copy(a, vals)
	clear(vals)
	d.vals = d.vals[:base]
	d.depth--
	return a, nil
}

// number scans a number and returns it as int64 when it is an integer of at
// most 18 digits (exactly representable, and converted by kin-openapi to the
// same float64 strconv.ParseFloat gives), as float64 otherwise.
func (d *Decoder) number() (any, error) {
	start := d.i
	s := d.s
	i := d.i
	neg := false
	if s[i] == '-' {
		neg = true
		i++
		if i >= len(s) {
			d.i = i
			return nil, errUnexpectedEnd
		}
	}
	var n int64
	digits := 0
	switch c := s[i]; {
	case c == '0':
		i++
		digits = 1
	case c >= '1' && c <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if digits < 18 {
				n = n*10 + int64(s[i]-'0')
			}
			digits++
			i++
		}
	default:
		d.i = i
		return nil, d.errorf("invalid character %s in numeric literal", quoteChar(c))
	}
	isInt := true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			if i >= len(s) {
				return nil, errUnexpectedEnd
			}
			return nil, d.errorf("invalid character %s after decimal point in numeric literal", quoteChar(s[i]))
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.i = i
			if i >= len(s) {
				return nil, errUnexpectedEnd
			}
			return nil, d.errorf("invalid character %s in exponent of numeric literal", quoteChar(s[i]))
		}
	}
	d.i = i
	if isInt && digits <= 18 {
		if neg {
			n = -n
		}
		return n, nil
	}
	lit := s[start:i]
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		// Out of the range of float64: kin-openapi refuses a json.Number it
		// cannot convert, as it would after encoding/json.
		return json.Number(lit), nil
	}
	return f, nil
}

// plain marks the bytes a string holds as they are: printable ASCII other
// than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str scans a string at d.i (on its opening quote) and returns its value, a
// substring of the input when it holds no escape and is valid UTF-8.
func (d *Decoder) str() (string, error) {
	d.i++ // '"'
	start := d.i
	s := d.s
	i := start
	ascii := true
	for {
		for i+4 <= len(s) && plain[s[i]] && plain[s[i+1]] && plain[s[i+2]] && plain[s[i+3]] {
			i += 4
		}
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			d.i = i
			return "", errUnexpectedEnd
		}
		switch c := s[i]; {
		case c == '"':
			if !ascii && !utf8.ValidString(s[start:i]) {
				return d.unquote(start)
			}
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.unquote(start)
		case c < 0x20:
			d.i = i
			return "", d.errorf("invalid character %s in string literal", quoteChar(c))
		default: // c >= utf8.RuneSelf
			ascii = false
			i++
		}
	}
}

// unquote decodes the string starting at start (after its opening quote) the
// slow way, like encoding/json: escapes resolved, invalid UTF-8 and unpaired
// surrogates replaced by U+FFFD.
func (d *Decoder) unquote(start int) (string, error) {
	s := d.s
	b := d.buf[:0]
	i := start
	for {
		j := i
		for i < len(s) && plain[s[i]] {
			i++
		}
		b = append(b, s[j:i]...)
		if i >= len(s) {
			d.i = i
			return "", errUnexpectedEnd
		}
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			d.buf = b
			return string(b), nil
		case c < 0x20:
			d.i = i
			return "", d.errorf("invalid character %s in string literal", quoteChar(c))
		case c == '\\':
			i++
			if i >= len(s) {
				d.i = i
				return "", errUnexpectedEnd
			}
			switch e := s[i]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i++
			case 'b':
				b = append(b, '\b')
				i++
			case 'f':
				b = append(b, '\f')
				i++
			case 'n':
				b = append(b, '\n')
				i++
			case 'r':
				b = append(b, '\r')
				i++
			case 't':
				b = append(b, '\t')
				i++
			case 'u':
				i++
				r, ok := hex4(s, i)
				if !ok {
					d.i = i
					return "", d.hexError(i)
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A valid pair takes the next escape too; anything else
					// leaves it for the next round.
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i = i
				return "", d.errorf("invalid character %s in string escape code", quoteChar(e))
			}
		default: // c >= utf8.RuneSelf
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
}

// hexError reports the first bad character of a \u escape at i.
func (d *Decoder) hexError(i int) error {
	for j := i; j < i+4; j++ {
		if j >= len(d.s) {
			d.i = j
			return errUnexpectedEnd
		}
		if !isHex(d.s[j]) {
			d.i = j
			return d.errorf("invalid character %s in \\u hexadecimal character escape", quoteChar(d.s[j]))
		}
	}
	return d.errorf("invalid \\u escape")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// hex4 decodes the four hexadecimal digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
