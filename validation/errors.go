package validation

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/handinger/handinger/problem"
)

// The problems the middleware answers with.
const (
	slugInvalidRequest  = "invalid-request"
	titleInvalidRequest = "Invalid request"

	slugTooLarge  = "payload-too-large"
	titleTooLarge = "Payload too large"

	slugUnsupported  = "unsupported-media-type"
	titleUnsupported = "Unsupported media type"

	slugInvalidResponse  = "invalid-response"
	titleInvalidResponse = "Response does not match the API document"

	slugNotFound  = "not-found"
	titleNotFound = "Not found"

	slugMethodNotAllowed  = "method-not-allowed"
	titleMethodNotAllowed = "Method not allowed"
)

// maxDetail bounds the detail of a problem about a response; the log has
// the whole error.
const maxDetail = 2000

// maxFieldErrors bounds the errors listed in one problem: a body can break
// its schema in as many places as it has bytes.
const maxFieldErrors = 100

func tooLarge(limit int64) problem.Problem {
	return problem.New(http.StatusRequestEntityTooLarge, slugTooLarge, titleTooLarge,
		fmt.Sprintf("The request body is larger than %d bytes.", limit))
}

func unsupportedMediaType(got, accepts string) problem.Problem {
	detail := fmt.Sprintf("Send the request body as %q.", "Content-Type: "+accepts)
	if got != "" {
		detail = fmt.Sprintf("The request body is %s; send it as %q.", strconv.Quote(got), "Content-Type: "+accepts)
	}
	return problem.New(http.StatusUnsupportedMediaType, slugUnsupported, titleUnsupported, detail)
}

// invalidRequest is the 400 problem for the offending fields of a request,
// and a detail about its body as a whole (missing, not JSON), if any.
func invalidRequest(fields []problem.FieldError, bodyDetail string) problem.Problem {
	total := len(fields)
	if total > maxFieldErrors {
		fields = fields[:maxFieldErrors]
	}
	var detail string
	switch {
	case total == 0:
		detail = bodyDetail
	case total == 1 && bodyDetail == "":
		detail = describe(fields[0]) + "."
	default:
		var b strings.Builder
		if bodyDetail != "" {
			b.WriteString(strings.TrimSuffix(bodyDetail, "."))
			b.WriteString(". Also, ")
			fmt.Fprintf(&b, "%d %s not match the API document: ", total, plural(total, "field does", "fields do"))
		} else {
			fmt.Fprintf(&b, "The request does not match the API document in %d places: ", total)
		}
		for i, f := range fields {
			if i == 3 {
				fmt.Fprintf(&b, " (and %d more)", total-i)
				break
			}
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.In)
			if f.Pointer != "" {
				b.WriteByte(' ')
				b.WriteString(f.Pointer)
			}
			b.WriteString(": ")
			b.WriteString(f.Detail)
		}
		b.WriteString(". See errors for each.")
		detail = b.String()
	}
	return problem.Problem{
		Type:   problem.TypeURI(slugInvalidRequest),
		Title:  titleInvalidRequest,
		Status: http.StatusBadRequest,
		Detail: detail,
		Errors: fields,
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// describe says in a sentence what is wrong with one field.
func describe(f problem.FieldError) string {
	if f.In == problem.InBody {
		if f.Pointer == "" {
			return "The request body does not match the schema: " + f.Detail
		}
		return fmt.Sprintf("The request body does not match the schema at %s: %s", f.Pointer, f.Detail)
	}
	return fmt.Sprintf("The %s parameter %s does not match the API document: %s", f.In, strings.TrimPrefix(f.Pointer, "/"), f.Detail)
}

// appendSchemaErrors appends a field error for each schema error in err,
// each pointing at its value under base.
func appendSchemaErrors(fields []problem.FieldError, in, base string, err error) []problem.FieldError {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, err := range e {
			fields = appendSchemaErrors(fields, in, base, err)
		}
	case *openapi3.SchemaError:
		fields = append(fields, problem.FieldError{In: in, Pointer: base + schemaPointer(e), Detail: schemaReason(e)})
	default:
		fields = append(fields, problem.FieldError{In: in, Pointer: base, Detail: err.Error()})
	}
	return fields
}

// schemaPointer is the JSON pointer of the value a schema error is about.
// kin-openapi reports a property that additionalProperties: false forbids
// on the object that holds it; the pointer names the property itself.
func schemaPointer(e *openapi3.SchemaError) string {
	var b strings.Builder
	for _, tok := range e.JSONPointer() {
		b.WriteByte('/')
		b.WriteString(problem.PointerToken(tok))
	}
	if e.SchemaField == "properties" {
		if name, ok := unsupportedProperty(e.Reason); ok {
			b.WriteByte('/')
			b.WriteString(problem.PointerToken(name))
		}
	}
	return b.String()
}

// unsupportedProperty extracts the name from kin-openapi's reason
// `property "name" is unsupported`.
func unsupportedProperty(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, "property ")
	if !ok {
		return "", false
	}
	quoted, ok := strings.CutSuffix(rest, " is unsupported")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(quoted)
	return name, err == nil
}

// schemaReason is the readable part of a schema error, never the value.
func schemaReason(e *openapi3.SchemaError) string {
	if e.Reason != "" {
		return e.Reason
	}
	return fmt.Sprintf("doesn't match the schema's %q", e.SchemaField)
}

// appendParamError appends the field errors of a parameter kin-openapi
// refused.
func appendParamError(fields []problem.FieldError, p *openapi3.Parameter, err error) []problem.FieldError {
	in := p.In
	detailPrefix := ""
	if in == openapi3.ParameterInCookie {
		// The problem schema knows no cookies; they travel in a header.
		in, detailPrefix = problem.InHeader, "cookie "+strconv.Quote(p.Name)+": "
	}
	base := "/" + problem.PointerToken(p.Name)
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return append(fields, problem.FieldError{In: in, Pointer: base, Detail: detailPrefix + err.Error()})
	}
	switch cause := re.Err.(type) {
	case openapi3.MultiError, *openapi3.SchemaError:
		if detailPrefix == "" {
			return appendSchemaErrors(fields, in, base, cause)
		}
	case *openapi3filter.ParseError:
		return append(fields, problem.FieldError{In: in, Pointer: base, Detail: detailPrefix + parseDetail(cause)})
	}
	detail := re.Reason
	if detail == "" && re.Err != nil {
		detail = re.Err.Error()
	}
	return append(fields, problem.FieldError{In: in, Pointer: base, Detail: detailPrefix + detail})
}

// parseDetail describes a value kin-openapi could not parse.
func parseDetail(e *openapi3filter.ParseError) string {
	var msg string
	switch {
	case e.Reason != "" && e.Value != nil && len(e.Path()) == 0:
		msg = fmt.Sprintf("value %v is %s", e.Value, e.Reason)
	default:
		msg = "cannot parse the value: " + e.Error()
	}
	return truncate(msg, 200)
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// bodyRequestError turns kin-openapi's verdict on a body it decoded itself
// into field errors or a detail about the whole body.
func bodyRequestError(err error) ([]problem.FieldError, string) {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return nil, fmt.Sprintf("The request body could not be validated: %v.", err)
	}
	switch cause := re.Err.(type) {
	case openapi3.MultiError, *openapi3.SchemaError:
		return appendSchemaErrors(nil, problem.InBody, "", cause), ""
	case *openapi3filter.ParseError:
		return nil, fmt.Sprintf("The request body could not be decoded: %v.", cause)
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return nil, "The request body is required."
	}
	return nil, fmt.Sprintf("The request body does not match the API document: %v.", re)
}
