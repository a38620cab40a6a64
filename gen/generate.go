// Package gen holds the code oapi-codegen generates from openapi.yaml: the
// models, the HTTP client (Client and ClientWithResponses), the net/http strict
// server interface and the embedded spec. Nothing here is edited by hand; run
// `make generate` after changing openapi.yaml.
package gen

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config ../oapi-codegen.yaml ../openapi.yaml
