//go:build tools

// This file pins the versions of the code generators this module uses, so
// that `go generate ./...` runs exactly the version recorded in go.mod. It is
// in the root package, whose name it must share, and only in builds with the
// tools tag.
package handinger

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
