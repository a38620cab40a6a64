package spec_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDownstreamGenerate does what a repository that consumes openapi.yaml
// does: a plain oapi-codegen invocation (examples/downstream/generate.go)
// generates a client into another module, which must then build and vet.
func TestDownstreamGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the code generator and a second module")
	}
	t.Parallel()
	root := t.TempDir()
	dst := filepath.Join(root, "examples", "downstream")
	if err := os.CopyFS(dst, os.DirFS("../examples/downstream")); err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "openapi.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dst, "handinger.gen.go"))
	for _, args := range [][]string{{"generate", "./..."}, {"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dst
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v in the downstream module: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "handinger.gen.go")); err != nil {
		t.Fatalf("go generate wrote no client: %v", err)
	}
}
