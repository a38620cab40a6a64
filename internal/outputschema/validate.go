package outputschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxMessageBytes is roughly the longest message of a validation error:
// failures past it are counted ("and 3 more"), not listed.
const MaxMessageBytes = 300

// outputError is an error of Validate; its message is shown as the turn's
// error.
type outputError struct {
	msg   string
	cause error
}

func (e *outputError) Error() string { return e.msg }

func (e *outputError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidOutput}
	}
	return []error{ErrInvalidOutput, e.cause}
}

// Validate checks the output text of a turn against the schema and returns
// the decoded object, for Turn.structuredOutput. Numbers are json.Number,
// so that they keep their exact value when encoded again.
//
// The output must be one JSON object, optionally surrounded by white
// space. Because models often wrap JSON in a Markdown code fence, exactly
// one such wrapping is accepted too: the whole output (white space aside)
// being "```json", a line break, the JSON, a line break and "```". Any
// other text around the JSON is refused.
//
// The error, errors.Is(err, ErrInvalidOutput), says in one line of at most
// about MaxMessageBytes what is wrong: that the output is not JSON, not an
// object, larger than MaxOutputBytes, nested deeper than MaxOutputDepth or
// holding a number beyond MaxNumberLength or MaxNumberExponent; or which
// location failed which keyword ("at '/items/0/price': minimum: got -1,
// want 0").
func (s *Schema) Validate(output string) (map[string]any, error) {
	if len(output) > MaxOutputBytes {
		return nil, &outputError{msg: fmt.Sprintf("output is %d bytes, more than the limit of %d", len(output), MaxOutputBytes)}
	}
	text := unfence(output)
	if strings.TrimSpace(text) == "" {
		return nil, &outputError{msg: "output is empty; want a JSON object"}
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &outputError{msg: "output is not JSON: " + errText(err), cause: err}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &outputError{msg: fmt.Sprintf("output is not JSON: more text after the JSON value (at byte %d)", dec.InputOffset())}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &outputError{msg: fmt.Sprintf("output is %s; want a JSON object", jsonKind(v))}
	}
	if d := depth(text); d > MaxOutputDepth {
		return nil, &outputError{msg: fmt.Sprintf("output nests %d levels deep, more than the limit of %d", d, MaxOutputDepth)}
	}
	if ptr, bad := badNumber(obj, ""); bad {
		return nil, &outputError{msg: fmt.Sprintf("output has a number out of range at '%s' (at most %d characters and an exponent within ±%d)", ptr, MaxNumberLength, MaxNumberExponent)}
	}
	if err := s.check(obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// check validates a decoded value against the schema.
func (s *Schema) check(v any) error {
	err := s.sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		msg, _ := describe(ve)
		return &outputError{msg: "output does not match outputSchema: " + msg, cause: err}
	}
	return &outputError{msg: "output does not match outputSchema: " + err.Error(), cause: err}
}

// unfence returns the JSON inside a "```json" code fence when the whole
// output is one, and the output unchanged otherwise.
func unfence(output string) string {
	t := strings.TrimSpace(output)
	body, ok := strings.CutPrefix(t, "```json")
	if !ok {
		return output
	}
	body, ok = strings.CutSuffix(body, "```")
	if !ok {
		return output
	}
	// The info string must be exactly "json": the rest of the opening line
	// is blank.
	first, rest, ok := strings.Cut(body, "\n")
	if !ok || strings.TrimSpace(first) != "" {
		return output
	}
	// The closing fence must be on a line of its own, and there is one
	// block only.
	if !strings.HasSuffix(strings.TrimRight(rest, " \t"), "\n") || strings.Contains(rest, "```") {
		return output
	}
	return rest
}

// describe renders a validation error in one line: each failure as "at
// '<instance location>': <message>", joined by "; ", cut after about
// MaxMessageBytes. It returns the instance location of the first failure
// too.
func describe(ve *jsonschema.ValidationError) (msg, first string) {
	var items []string
	var firstSet bool
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.Schema, *kind.Reference, *kind.Group, *kind.AllOf:
			// Wrappers: their causes say what failed.
		default:
			loc := "/" + strings.Join(escapeAll(e.InstanceLocation), "/")
			if !firstSet {
				first, firstSet = loc, true
				if len(e.InstanceLocation) == 0 {
					first = ""
				}
			}
			where := "at the root"
			if len(e.InstanceLocation) > 0 {
				where = fmt.Sprintf("at '%s'", loc)
			}
			items = append(items, where+": "+kindText(e.ErrorKind))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(items) == 0 {
		return strings.ReplaceAll(ve.Error(), baseURL, ""), ""
	}
	var sb strings.Builder
	for i, it := range items {
		if i > 0 && sb.Len()+len(it) > MaxMessageBytes {
			fmt.Fprintf(&sb, "; and %d more", len(items)-i)
			break
		}
		if i > 0 {
			sb.WriteString("; ")
		}
		if len(it) > MaxMessageBytes {
			it = truncate(it, MaxMessageBytes) + "…"
		}
		sb.WriteString(it)
	}
	return sb.String(), first
}

// kindText says what failed, starting with the keyword when the
// validator's message does not.
func kindText(k jsonschema.ErrorKind) string {
	var what string
	switch k := k.(type) {
	case *kind.AnyOf:
		what = "matches none of the branches"
	case *kind.OneOf:
		if len(k.Subschemas) < 2 {
			what = "matches none of the branches"
		} else {
			what = fmt.Sprintf("matches branches %d and %d, want exactly one", k.Subschemas[0], k.Subschemas[1])
		}
	case *kind.Not:
		what = "not: matches the schema it must not"
	case *kind.FalseSchema:
		what = "false: no value is allowed here"
	default:
		what = strings.ReplaceAll(k.LocalizedString(printer), baseURL, "")
	}
	if kw := k.KeywordPath(); len(kw) > 0 && !strings.HasPrefix(what, kw[0]) {
		what = kw[0] + ": " + what
	}
	return what
}

func escapeAll(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = escapePointer(t)
	}
	return out
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// printer renders the validator's messages, in English.
var printer = message.NewPrinter(language.English)
