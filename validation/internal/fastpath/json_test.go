package fastpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/handinger/handinger/problem"
)

// stdDecode decodes data as kin-openapi does (encoding/json with UseNumber),
// but refusing trailing data as Decode does.
func stdDecode(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errInvalid
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

var errInvalid = &syntaxError{msg: "invalid"}

// sameJSON reports whether got (from Decode) and want (from stdDecode)
// are the same document, numbers compared as the float64 kin-openapi
// validates.
func sameJSON(got, want any) bool {
	switch w := want.(type) {
	case json.Number:
		wf, werr := w.Float64()
		switch g := got.(type) {
		case int64:
			return werr == nil && float64(g) == wf
		case float64:
			return werr == nil && g == wf
		case json.Number:
			_, gerr := g.Float64()
			return werr != nil && gerr != nil && g == w
		}
		return false
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameJSON(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `255`, `256`, `1.5`, `-1.5e-3`, `1E+2`,
	`123456789012345678`, `1234567890123456789`, `-9223372036854775808`, `9007199254740993`,
	`1e400`, `-1e400`, `1e-400`, `0.1`, `00`, `01`, `-`, `1.`, `1e`, `.5`, `+1`, `1e+`,
	`""`, `"a"`, `"\u00e9"`, `"é"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`,
	`"\ude00\ud83d"`, `"\"\\\/\b\f\n\r\t"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\xff\"", "\"a\xc3\"",
	"\"\xed\xa0\x80\"", "\"\t\"", `"abc`, `"\`, `{"a":1,"a":2}`, `{"a":[1,{"b":null}],"c":"d"}`,
	` { "a" : [ 1 , 2 ] } `, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{1:2}`, `{"a":}`, `[`, `{`,
	`tru`, `nul`, `fals`, `trux`, `[true,false,null]`, `{} x`, `{}{}`, "\ufeff{}", `[1e309]`,
	`{"input":1,"input":"a"}`, `{"a":{"b":1,"b":2}}`, `[0,{"x/y":[{"k":1,"k":1}]}]`, `{"a":1,"b":{"c":1,"c":2},"a":3}`,
}

func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range jsonSeeds {
		checkDecode(t, []byte(s))
	}
	for _, data := range fixtures(t) {
		checkDecode(t, data)
	}
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := stdDecode(data)
	got, dec, gotErr := Decode(data)
	if wantErr == nil {
		// The one difference by design: a repeated key, which encoding/json
		// takes, is refused, pointing at the repeat.
		pointer, dup := firstDuplicate(t, data)
		var de *DuplicateKeyError
		isDup := errors.As(gotErr, &de)
		if dup != isDup || (dup && de.Pointer != pointer) {
			t.Fatalf("Decode(%q) error = %v, want a duplicate at %q: %v", data, gotErr, pointer, dup)
		}
		if dup {
			return
		}
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Decode(%q) error = %v, encoding/json error = %v", data, gotErr, wantErr)
	}
	if gotErr == nil {
		if !sameJSON(got, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json = %#v", data, got, want)
		}
		dec.Release()
	}
}

func TestDecodeJSONTypes(t *testing.T) {
	t.Parallel()
	v, dec, err := Decode([]byte(`[7, 1.5, 1e400, 12345678901234567890, "s", true, null]`))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Release()
	a := v.([]any)
	if a[0] != int64(7) || a[1] != 1.5 || a[2] != json.Number("1e400") || a[3] != 12345678901234567890.0 ||
		a[4] != "s" || a[5] != true || a[6] != nil {
		t.Errorf("decoded %#v", a)
	}
	if f, ok := a[3].(float64); !ok || f != math.Trunc(f) {
		t.Errorf("a 20-digit integer decodes to %T %v, want float64", a[3], a[3])
	}
}

func TestDecodeJSONReuse(t *testing.T) {
	t.Parallel()
	// Arrays and objects of every size, decoded again and again by pooled
	// decoders, come out the same each time.
	var docs []string
	for _, n := range []int{0, 1, 7, 8, 9, 17, 100, 255, 256, 257, 1000, 1024, 1025, 3000} {
		var b strings.Builder
		b.WriteString(`{"a":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"k%d":[%d,"s"]}`, i%70, i)
		}
		b.WriteString(`],"o":{`)
		for i := range n % 80 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"m%d":%d`, i, i)
		}
		b.WriteString(`}}`)
		docs = append(docs, b.String())
	}
	for range 3 {
		for _, doc := range docs {
			checkDecode(t, []byte(doc))
		}
	}
}

func TestDecodeJSONDepth(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, _, err := Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "max depth") {
		t.Errorf("nesting %d deep: error = %v, want max depth", maxDepth+1, err)
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, dec, err := Decode([]byte(ok)); err != nil {
		t.Errorf("nesting %d deep: %v", maxDepth, err)
	} else {
		dec.Release()
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, data := range fixtures(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// fixtures are the answers package validation's tests use (its testdata).
func fixtures(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"task_with_turns.json", "worker.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.TrimSpace(data))
	}
	return out
}

// firstDuplicate finds, with encoding/json's tokenizer, the pointer of the
// first object key of data that repeats a key of its object, in document
// order of the repeat's closing (the order Decode reports: inner objects
// end first). data must be valid JSON.
func firstDuplicate(t *testing.T, data []byte) (string, bool) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	pointer, found, err := walkDuplicates(dec)
	if err != nil {
		t.Fatalf("tokenize %q: %v", data, err)
	}
	return pointer, found
}

func walkDuplicates(dec *json.Decoder) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			key := k.(string)
			p, found, err := walkDuplicates(dec)
			if err != nil || found {
				return "/" + problem.PointerToken(key) + p, found, err
			}
			if seen[key] {
				// Decode finds a repeat when the object ends: skip the rest.
				for dec.More() {
					if _, err := dec.Token(); err != nil {
						return "", false, err
					}
					if _, _, err := walkDuplicates(dec); err != nil {
						return "", false, err
					}
				}
				_, err := dec.Token()
				return "/" + problem.PointerToken(key), true, err
			}
			seen[key] = true
		}
		_, err := dec.Token() // '}'
		return "", false, err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			p, found, err := walkDuplicates(dec)
			if err != nil || found {
				return "/" + strconv.Itoa(i) + p, found, err
			}
		}
		_, err := dec.Token() // ']'
		return "", false, err
	}
	return "", false, nil
}
