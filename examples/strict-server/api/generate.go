// Package api is what oapi-codegen generates from openapi.yaml: the models,
// the client, the std-http strict server interface and the embedded spec,
// in api.gen.go. `go generate ./...` writes it; nothing here is edited by
// hand.
package api

//go:generate go tool oapi-codegen -generate types,client,std-http-server,strict-server,spec -package api -o api.gen.go ../../../openapi.yaml
