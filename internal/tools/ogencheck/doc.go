// Package ogencheck checks that openapi.yaml is portable to a second, stricter
// code generator than oapi-codegen: ogen (github.com/ogen-go/ogen), pinned as a
// tool in this module's go.mod so that the main module does not take on its
// dependencies.
//
// Its test generates ogen's client and server from ../../../openapi.yaml into
// a temporary module, builds and vets it, and lists every warning ogen prints.
// A warning that is not in the test's list of accepted ones fails it: run
//
//	make ogen-check
//
// or `GOWORK=off go test -count=1 -v .` in this directory.
package ogencheck
