// Package handinger holds the contract of the Handinger Tasks API,
// openapi.yaml, as written: spec.Load parses it, the server answers it on
// /openapi.yaml (and as JSON on /openapi.json) and renders it on /docs. The
// file sits at the module's root, and go:embed reaches no parent directory,
// so only a package here can embed it. (Package gen embeds a copy too, as
// the generator re-encoded it, with its operationIds capitalised.)
package handinger

import _ "embed"

// OpenAPIYAML is openapi.yaml, byte for byte.
//
//go:embed openapi.yaml
var OpenAPIYAML string
