package validation

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// compiled is the document turned into what each request needs: a tree of
// path templates leading to the operations, each with its parameters,
// request body and responses resolved.
type compiled struct {
	doc    *openapi3.T
	routes fastpath.Tree[*route]
	// extraOpts are passed to every schema validation: error messages
	// without the schema and the value (which may be a secret).
	extraOpts []openapi3.SchemaValidationOption
	// reqOpts and respOpts are the options of a request or response body
	// validation, by schema: VisitAsRequest or VisitAsResponse only where a
	// readOnly or writeOnly property can be reached, because it costs a
	// sort of every object's properties and changes nothing otherwise.
	reqOpts  map[*openapi3.Schema][]openapi3.SchemaValidationOption
	respOpts map[*openapi3.Schema][]openapi3.SchemaValidationOption
	// paramOpts are the options kin-openapi's ValidateParameter passes to
	// a parameter's schema under the middleware's request options.
	paramOpts []openapi3.SchemaValidationOption
}

// route is one operation of the document.
type route struct {
	kin *routers.Route
	// name identifies the operation in logs: its operationId, or
	// "METHOD /path".
	name string
	// pathParams names the template's parameters in order.
	pathParams []string
	// params are the parameters to validate: the path item's, less those
	// the operation overrides, then the operation's.
	params []*openapi3.Parameter
	// plainPath[i] is, for params[i] a plain string path parameter, the
	// index of its value among the path's values; -1 for the others.
	plainPath []int
	// plainOnly is true when the operation has no request body and only
	// plain path parameters.
	plainOnly bool
	body      *openapi3.RequestBody
	// accepts lists the body's media types, for the 415 answer.
	accepts string
	// responses by status code, by class ("2XX" at index 2), and default.
	byStatus  map[int]*openapi3.Response
	byClass   [6]*openapi3.Response
	byDefault *openapi3.Response
}

// find returns the route of a request, and the values of its path
// parameters, or nil when the document does not describe the request.
func (c *compiled) find(method string, u *url.URL) (*route, []string) {
	rt, vals, _ := c.routes.Find(method, u)
	return rt, vals
}

// compile builds the route tree of doc and everything its validation needs.
func compile(doc *openapi3.T) (*compiled, error) {
	c := &compiled{
		doc:      doc,
		reqOpts:  map[*openapi3.Schema][]openapi3.SchemaValidationOption{},
		respOpts: map[*openapi3.Schema][]openapi3.SchemaValidationOption{},
	}
	oas31 := doc.IsOpenAPI31OrLater()
	if !oas31 {
		// kin-openapi refuses this option with the JSON Schema 2020-12
		// validator it uses for OpenAPI 3.1.
		c.extraOpts = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}
		if formats := fastpath.Formats(); formats != nil {
			c.extraOpts = append(c.extraOpts, openapi3.WithStringFormatValidators(formats))
		}
	}
	c.paramOpts = append([]openapi3.SchemaValidationOption{openapi3.MultiErrors()}, c.extraOpts...)
	if oas31 {
		c.paramOpts = append(c.paramOpts, openapi3.EnableJSONSchema2020())
	}
	bodyOpts := func(s *openapi3.Schema, asResponse bool) {
		m, visit := c.reqOpts, openapi3.VisitAsRequest()
		if asResponse {
			m, visit = c.respOpts, openapi3.VisitAsResponse()
		}
		if s == nil {
			return
		}
		if _, ok := m[s]; ok {
			return
		}
		opts := append([]openapi3.SchemaValidationOption{openapi3.MultiErrors()}, c.extraOpts...)
		if oas31 {
			opts = append(opts, openapi3.EnableJSONSchema2020())
		}
		if oas31 || fastpath.Reaches(s, asResponse) {
			opts = append(opts, visit)
		}
		m[s] = opts
	}

	if doc.Paths == nil {
		return c, nil
	}
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths) // the tree does not depend on order; errors do
	for _, path := range paths {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		names, err := fastpath.ParamNames(path)
		if err != nil {
			return nil, err
		}
		for method, op := range item.Operations() {
			if op == nil {
				continue
			}
			rt := &route{
				kin:        &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
				name:       op.OperationID,
				pathParams: names,
				params:     effectiveParams(item.Parameters, op.Parameters),
			}
			if rt.name == "" {
				rt.name = method + " " + path
			}
			rt.plainPath = plainPathParams(rt.params, names)
			rt.plainOnly = op.RequestBody == nil && !slices.Contains(rt.plainPath, -1)
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				rt.body = op.RequestBody.Value
				var types []string
				for mt, media := range rt.body.Content {
					types = append(types, mt)
					if media != nil && media.Schema != nil {
						bodyOpts(media.Schema.Value, false)
					}
				}
				slices.Sort(types)
				rt.accepts = strings.Join(types, ", ")
			}
			if op.Responses != nil {
				for code, ref := range op.Responses.Map() {
					if ref == nil || ref.Value == nil {
						continue
					}
					rt.setResponse(code, ref.Value)
					for _, media := range ref.Value.Content {
						if media != nil && media.Schema != nil {
							bodyOpts(media.Schema.Value, true)
						}
					}
				}
			}
			if _, err := c.routes.Add(path, method, rt); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// plainPathParams finds, among params, the path parameters whose value
// kin-openapi would pass to their schema exactly as it stands in the path:
// style simple, a schema of type string with no composition, which
// kin-openapi decodes to the segment itself. It returns, for each of
// params, the index of its value in names, or -1.
func plainPathParams(params []*openapi3.Parameter, names []string) []int {
	out := make([]int, len(params))
	for i, p := range params {
		out[i] = -1
		if p.In != openapi3.ParameterInPath || p.Content != nil || p.Schema == nil || p.Schema.Value == nil {
			continue
		}
		if sm, err := p.SerializationMethod(); err != nil || sm.Style != openapi3.SerializationSimple {
			continue
		}
		s := p.Schema.Value
		if !s.Type.Is(openapi3.TypeString) || len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil {
			continue
		}
		out[i] = slices.Index(names, p.Name)
	}
	return out
}

// effectiveParams lists the parameters of an operation in the order
// kin-openapi validates them.
func effectiveParams(itemParams, opParams openapi3.Parameters) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	for _, ref := range itemParams {
		if ref == nil || ref.Value == nil {
			continue
		}
		if opParams != nil && opParams.GetByInAndName(ref.Value.In, ref.Value.Name) != nil {
			continue
		}
		out = append(out, ref.Value)
	}
	for _, ref := range opParams {
		if ref != nil && ref.Value != nil {
			out = append(out, ref.Value)
		}
	}
	return out
}

// setResponse files a response under its key of the responses object.
func (rt *route) setResponse(code string, resp *openapi3.Response) {
	if code == "default" {
		rt.byDefault = resp
		return
	}
	if len(code) == 3 && strings.EqualFold(code[1:], "XX") && code[0] >= '1' && code[0] <= '5' {
		rt.byClass[code[0]-'0'] = resp
		return
	}
	if n, err := strconv.Atoi(code); err == nil {
		if rt.byStatus == nil {
			rt.byStatus = map[int]*openapi3.Response{}
		}
		rt.byStatus[n] = resp
	}
}

// response returns the response the document gives for status, as
// kin-openapi chooses it: exact code, then class, then default.
func (rt *route) response(status int) *openapi3.Response {
	if r := rt.byStatus[status]; r != nil {
		return r
	}
	if status >= 100 && status < 600 {
		if r := rt.byClass[status/100]; r != nil {
			return r
		}
	}
	return rt.byDefault
}

// isJSON reports whether a Content-Type names JSON, which the package
// decodes itself, as kin-openapi decodes application/json and every
// "+json" type.
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") ||
		(len(mt) > 5 && strings.EqualFold(mt[len(mt)-5:], "+json"))
}

// isBinary reports whether kin-openapi reads a body of schema s as raw
// bytes rather than decoding it.
func isBinary(s *openapi3.Schema) bool {
	return s.Type.Is("string") && s.Format == "binary"
}
