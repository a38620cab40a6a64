// Package spec gives access to the Handinger Tasks API contract, openapi.yaml,
// as written (package handinger embeds it), ready for request and response
// validation.
package spec

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/handinger/handinger"
)

// Load returns a fresh, validated copy of the embedded openapi.yaml with its
// servers list cleared: kin-openapi's routers otherwise match the Host header
// against the servers and refuse every request sent to any other address.
func Load() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(handinger.OpenAPIYAML))
	if err != nil {
		return nil, fmt.Errorf("load embedded openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate embedded openapi.yaml: %w", err)
	}
	doc.Servers = nil
	return doc, nil
}
