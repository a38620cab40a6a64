// Command downstream shows how another repository uses openapi.yaml: it
// generates its own client with a plain oapi-codegen invocation and calls the
// API with it.
//
// In a real repository, point the path at a vendored copy of openapi.yaml.
package main

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -generate types,client -package main -o handinger.gen.go ../../openapi.yaml
