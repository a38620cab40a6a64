// Package outputschema compiles the output schemas of workers ("structured
// output"), validates the output of a turn against them and builds example
// outputs for the builtin stand-in runtime.
//
// An output schema is a JSON Schema draft-07 document whose root is
// {"type": "object"}. It is validated with a real draft-07 validator
// (github.com/santhosh-tekuri/jsonschema/v6), format assertions on. What
// this package adds is what a server needs to accept schemas from
// untrusted callers:
//
//   - $schema may be absent (draft-07 is assumed) or name draft-07
//     ("http://json-schema.org/draft-07/schema", with or without "#", http
//     or https), at the root or in a subschema; any other value is refused,
//     because a schema written for another draft would silently mean
//     something else here.
//   - $ref must be local: a JSON pointer or an anchor, starting with "#".
//     Nothing is ever loaded, from the network or the file system.
//   - The root may not be a $ref: draft-07 ignores the siblings of $ref, so
//     the root's type object would not apply.
//   - Patterns are Go regular expressions (RE2: no lookaround, no
//     backreferences), at most [MaxPatternSize].
//   - The document is bounded ([MaxSchemaBytes], [MaxSchemaDepth],
//     [MaxSubschemas], [MaxNumberLength], [MaxNumberExponent]) and so is
//     the work of validating one output against it ([MaxValidationCost],
//     [MaxOutputDepth], [MaxOutputBytes]), so that a hostile schema can
//     exhaust neither memory nor CPU, when compiled or on every turn.
//
// Errors name the problem in a message meant for the API caller: a
// [SchemaError] for a refused schema (with the JSON pointer of the
// offending keyword), the validator's failures, one line, for an output.
//
// Compile a schema once per version with a [Cache]; a compiled [Schema] is
// safe for concurrent use.
package outputschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Limits of an output schema. Real output schemas are a few kilobytes, a
// few levels deep and a few dozen subschemas; the limits are ten to a
// hundred times that.
const (
	// MaxSchemaBytes is the size limit of a schema document.
	MaxSchemaBytes = 64 << 10
	// MaxSchemaDepth is how deeply a schema document's JSON may nest
	// (objects and arrays, the root object being level 1). A schema
	// nesting properties 15 levels deep is within it.
	MaxSchemaDepth = 32
	// MaxSubschemas is how many schemas (the root, every properties entry,
	// items, allOf member, definition …) a document may hold.
	MaxSubschemas = 1000
	// MaxOutputDepth is how deeply an output may nest. Validate refuses
	// deeper outputs, and MaxValidationCost is computed for this depth.
	MaxOutputDepth = 64
	// MaxValidationCost bounds how many times one value of an output may be
	// checked against a subschema along one path from the root, counting
	// every $ref, allOf, anyOf, oneOf, not and if/then/else: a schema whose
	// bound exceeds it is refused. It stops schemas such as a chain of
	// definitions each an anyOf of two $refs to the next, whose validation
	// time doubles with every link. Ordinary schemas, recursive ones
	// included, cost a few dozen to a few thousand.
	MaxValidationCost = 20000
	// MaxOutputBytes is the size limit of an output Validate accepts.
	MaxOutputBytes = 1 << 20
	// MaxNumberLength is the longest number literal a schema or an output
	// may hold. The validator computes with exact rationals.
	MaxNumberLength = 100
	// MaxNumberExponent is the largest exponent, in absolute value, of a
	// number of a schema or an output: 1e999999 would cost the validator a
	// megabit per number, while float64 stops at 1e308.
	MaxNumberExponent = 400
)

// ErrInvalidSchema is in the chain of every error of Compile and Cache.Get:
// the schema was refused. The error is a *SchemaError.
var ErrInvalidSchema = errors.New("invalid outputSchema")

// ErrInvalidOutput is in the chain of every error of Schema.Validate: the
// output of the turn is not JSON, not an object, or does not match the
// schema.
var ErrInvalidOutput = errors.New("output does not match outputSchema")

// ErrNoExample is in the chain of every error of Schema.Example: the
// generator cannot build a valid object for the schema.
var ErrNoExample = errors.New("no example for outputSchema")

// SchemaError is why a schema was refused. Its message starts with
// "outputSchema: " and is meant to be shown to the API caller as is.
type SchemaError struct {
	// Pointer is the RFC 6901 JSON pointer, inside the schema document, of
	// the offending keyword or subschema; "" when the problem is the whole
	// document or its place is unknown.
	Pointer string
	// Reason says what is wrong, without the "outputSchema: " prefix.
	Reason string
	// Err is the underlying error, if any (a JSON syntax error, the
	// validator's error).
	Err error
}

// Error returns "outputSchema: " followed by the reason.
func (e *SchemaError) Error() string { return "outputSchema: " + e.Reason }

// Unwrap returns ErrInvalidSchema and, when there is one, the underlying
// error.
func (e *SchemaError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidSchema}
	}
	return []error{ErrInvalidSchema, e.Err}
}

func refuse(ptr, format string, args ...any) *SchemaError {
	return &SchemaError{Pointer: ptr, Reason: fmt.Sprintf(format, args...)}
}

// Schema is a compiled output schema. It is immutable and safe for
// concurrent use.
type Schema struct {
	sch  *jsonschema.Schema
	cost int64

	exampleOnce sync.Once
	example     map[string]any
	exampleErr  error
}

// baseURL names the document inside the validator; it never leaves this
// package (messages show locations as "#/…").
const baseURL = "mem:///outputschema.json"

// draft07 are the accepted values of $schema.
var draft07 = map[string]bool{
	"http://json-schema.org/draft-07/schema":   true,
	"http://json-schema.org/draft-07/schema#":  true,
	"https://json-schema.org/draft-07/schema":  true,
	"https://json-schema.org/draft-07/schema#": true,
}

// Compile checks and compiles an output schema. It returns a *SchemaError
// (errors.Is(err, ErrInvalidSchema)) naming the problem when raw is not
// JSON, is not a draft-07 schema whose root has type "object", names
// another draft in $schema, has a $ref that is not local, exceeds a limit,
// or does not compile (an invalid pattern, a $ref to nothing …).
func Compile(raw []byte) (*Schema, error) {
	if len(raw) > MaxSchemaBytes {
		return nil, refuse("", "the schema is %d bytes, more than the limit of %d", len(raw), MaxSchemaBytes)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, refuse("", "the schema is empty")
	}
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, &SchemaError{Reason: "not JSON: " + errText(err), Err: err}
	}
	if d := depth(raw); d > MaxSchemaDepth {
		return nil, refuse("", "nested %d levels deep, more than the limit of %d", d, MaxSchemaDepth)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil { // json.Valid said yes; kept for safety
		return nil, &SchemaError{Reason: "not JSON: " + errText(err), Err: err}
	}
	if ptr, bad := badNumber(doc, ""); bad {
		return nil, refuse(ptr, "the number at %s is out of range (at most %d characters and an exponent within ±%d)", pointerText(ptr), MaxNumberLength, MaxNumberExponent)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, refuse("", "the schema must be a JSON object, not %s", jsonKind(doc))
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	w := walker{}
	if err := w.schema(root, ""); err != nil {
		return nil, err
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	c.UseRegexpEngine(compileRegexp)
	if err := c.AddResource(baseURL, doc); err != nil {
		return nil, compileError(err)
	}
	sch, err := c.Compile(baseURL)
	if err != nil {
		return nil, compileError(err)
	}
	cost := validationCost(sch)
	if cost > MaxValidationCost {
		return nil, refuse("", "too costly to validate against: one value may be checked against more than %d subschemas (through $ref, allOf, anyOf, oneOf …)", MaxValidationCost)
	}
	return &Schema{sch: sch, cost: cost}, nil
}

// checkRoot enforces what the root must be: type object, draft-07, no $ref.
func checkRoot(root map[string]any) error {
	if v, ok := root["$schema"]; ok {
		s, isString := v.(string)
		if !isString {
			return refuse("/$schema", "$schema must be a string")
		}
		if !draft07[s] {
			return refuse("/$schema", "$schema %q is not draft-07; only JSON Schema draft-07 is supported (omit $schema or use %q)", s, "http://json-schema.org/draft-07/schema#")
		}
	}
	if _, ok := root["$ref"]; ok {
		return refuse("/$ref", "the root must not be a $ref (draft-07 ignores the keywords beside $ref, so type \"object\" would not apply); move the definition to the root")
	}
	switch t := root["type"].(type) {
	case string:
		if t == "object" {
			return nil
		}
	case []any:
		if len(t) == 1 && t[0] == "object" {
			return nil
		}
	}
	if _, ok := root["type"]; !ok {
		return refuse("/type", "the root must have type \"object\"; it has no type")
	}
	return refuse("/type", "the root must have type \"object\"")
}

// walker visits the subschemas of a draft-07 document, counting them and
// refusing $refs that are not local and $schemas of other drafts. It
// visits $defs too, a common mistake for definitions in draft-07 schemas
// that a $ref can still reach.
type walker struct {
	n int
}

var (
	schemaKeywords = []string{"additionalItems", "additionalProperties", "contains", "else", "if", "not", "propertyNames", "then"}
	arrayKeywords  = []string{"allOf", "anyOf", "oneOf"}
	mapKeywords    = []string{"$defs", "definitions", "dependencies", "patternProperties", "properties"}
)

func (w *walker) schema(v any, ptr string) error {
	obj, ok := v.(map[string]any)
	if !ok {
		// true/false, or something the meta-schema check refuses later.
		return nil
	}
	w.n++
	if w.n > MaxSubschemas {
		return refuse("", "more than %d subschemas", MaxSubschemas)
	}
	if ref, ok := obj["$ref"].(string); ok && !strings.HasPrefix(ref, "#") {
		return refuse(ptr+"/$ref", "$ref %q at %s is not local; only references inside the schema, starting with \"#\", are allowed", ref, pointerText(ptr))
	}
	if ptr != "" {
		if s, ok := obj["$schema"]; ok {
			if str, _ := s.(string); !draft07[str] {
				return refuse(ptr+"/$schema", "$schema at %s is not draft-07; only JSON Schema draft-07 is supported", pointerText(ptr))
			}
		}
	}
	for _, kw := range schemaKeywords {
		if sub, ok := obj[kw]; ok {
			if err := w.schema(sub, ptr+"/"+kw); err != nil {
				return err
			}
		}
	}
	if items, ok := obj["items"]; ok {
		if arr, ok := items.([]any); ok {
			for i, sub := range arr {
				if err := w.schema(sub, fmt.Sprintf("%s/items/%d", ptr, i)); err != nil {
					return err
				}
			}
		} else if err := w.schema(items, ptr+"/items"); err != nil {
			return err
		}
	}
	for _, kw := range arrayKeywords {
		arr, _ := obj[kw].([]any)
		for i, sub := range arr {
			if err := w.schema(sub, fmt.Sprintf("%s/%s/%d", ptr, kw, i)); err != nil {
				return err
			}
		}
	}
	for _, kw := range mapKeywords {
		m, _ := obj[kw].(map[string]any)
		for name, sub := range m {
			if err := w.schema(sub, ptr+"/"+kw+"/"+escapePointer(name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// noLoader refuses every document the validator would load: only the
// schema itself and the draft meta-schemas, built into the validator, are
// ever read.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("loading %s is not allowed", u)
}

// compileError turns an error of the validator's compiler into a
// SchemaError with locations shown relative to the schema ("#/…").
func compileError(err error) *SchemaError {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			msg, ptr := describe(ve)
			return &SchemaError{Pointer: ptr, Reason: "not a valid draft-07 schema: " + msg, Err: err}
		}
	}
	var lue *jsonschema.LoadURLError
	if errors.As(err, &lue) {
		return &SchemaError{Reason: fmt.Sprintf("$ref to %q is not allowed; only references inside the schema, starting with \"#\", are allowed", lue.URL), Err: err}
	}
	var pnf *jsonschema.JSONPointerNotFoundError
	if errors.As(err, &pnf) {
		return &SchemaError{Reason: fmt.Sprintf("$ref %q points to nothing in the schema", location(pnf.URL)), Err: err}
	}
	var anf *jsonschema.AnchorNotFoundError
	if errors.As(err, &anf) {
		return &SchemaError{Reason: fmt.Sprintf("$ref %q points to nothing in the schema", location(anf.Reference)), Err: err}
	}
	se := &SchemaError{Reason: strings.ReplaceAll(err.Error(), baseURL, ""), Err: err}
	var ire *jsonschema.InvalidRegexError
	if errors.As(err, &ire) {
		se.Pointer = fragment(ire.URL)
	}
	return se
}

// fragment returns the JSON pointer of a location of the validator's
// ("mem:///outputschema.json#/properties/a"), or "" when it has none.
func fragment(loc string) string {
	_, frag, ok := strings.Cut(loc, "#")
	if !ok {
		return ""
	}
	if f, err := url.PathUnescape(frag); err == nil {
		return f
	}
	return frag
}

// location is loc relative to the schema, for messages: "#/properties/a".
func location(loc string) string {
	if rest, ok := strings.CutPrefix(loc, baseURL); ok {
		return rest
	}
	return loc
}

func pointerText(ptr string) string {
	if ptr == "" {
		return "the root"
	}
	return "#" + ptr
}

func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// depth returns how deeply the JSON text b nests; b must be valid JSON.
func depth[T string | []byte](b T) int {
	d, maxD := 0, 0
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			maxD = max(maxD, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return maxD
}

// badNumber returns the JSON pointer of the first number of v longer than
// MaxNumberLength or with an exponent beyond MaxNumberExponent. The
// pointer is only built for a bad number: outputs are checked on every
// turn.
func badNumber(v any, ptr string) (string, bool) {
	path, bad := badNumberPath(v)
	if !bad {
		return "", false
	}
	var sb strings.Builder
	sb.WriteString(ptr)
	for i := len(path) - 1; i >= 0; i-- {
		sb.WriteByte('/')
		sb.WriteString(escapePointer(path[i]))
	}
	return sb.String(), true
}

// badNumberPath returns the path of the first bad number, innermost first.
func badNumberPath(v any) ([]string, bool) {
	switch v := v.(type) {
	case json.Number:
		return nil, !numberInRange(string(v))
	case map[string]any:
		for k, e := range v {
			if p, bad := badNumberPath(e); bad {
				return append(p, k), true
			}
		}
	case []any:
		for i, e := range v {
			if p, bad := badNumberPath(e); bad {
				return append(p, strconv.Itoa(i)), true
			}
		}
	}
	return nil, false
}

func numberInRange(s string) bool {
	if len(s) > MaxNumberLength {
		return false
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
	return err == nil && -MaxNumberExponent <= e && e <= MaxNumberExponent
}

// jsonKind names the JSON type of a decoded value, with its article.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// errText is the message of a JSON decoding error, with the offset of a
// syntax error.
func errText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}
