package validation

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// Fixtures for the black-box tests of package validation_test.
var (
	TaskWithTurnsJSON = taskWithTurnsJSON
	WorkerJSON        = workerJSON
)

// PlainPathErrors validates value as each plain path parameter of the
// operation at method and template path twice — through kin-openapi's
// ValidateParameter and through the middleware's fast path — and returns
// the field errors of both, and how many parameters were compared.
func PlainPathErrors(doc *openapi3.T, method, path, value string) (kin, fast []problem.FieldError, n int, err error) {
	c, err := compile(doc)
	if err != nil {
		return nil, nil, 0, err
	}
	v := &validator{c: c, kinOpts: requestOptions(c)}
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return nil, nil, 0, fmt.Errorf("no operation %s %s", method, path)
	}
	names, err := fastpath.ParamNames(path)
	if err != nil {
		return nil, nil, 0, err
	}
	params := effectiveParams(item.Parameters, item.GetOperation(method).Parameters)
	for i, j := range plainPathParams(params, names) {
		if j < 0 {
			continue
		}
		p := params[i]
		in := &openapi3filter.RequestValidationInput{
			Request:    httptest.NewRequest(method, "/", nil),
			PathParams: map[string]string{p.Name: value},
			Route:      &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)},
			Options:    v.kinOpts,
		}
		if err := openapi3filter.ValidateParameter(context.Background(), in, p); err != nil {
			kin = appendParamError(kin, p, err)
		}
		if err := v.checkPlainPathParam(in, p, value); err != nil {
			fast = appendParamError(fast, p, err)
		}
		n++
	}
	return kin, fast, n, nil
}
