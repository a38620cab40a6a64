package main

import (
	"fmt"
	"go/types"
	"os"
	"slices"
	"strings"

	"golang.org/x/exp/apidiff"
	"golang.org/x/tools/go/packages"
)

// GoChange is one change of the exported Go API of the module's public
// packages, as apidiff reports it.
type GoChange struct {
	Message    string // e.g. "gen.Worker.OutputText: removed"
	Compatible bool
}

// String is the change as one line of the report.
func (c GoChange) String() string {
	if c.Compatible {
		return "Go addition: " + c.Message
	}
	return "Go breaking: " + c.Message
}

// GoChanges compares the exported API of the public packages (every package
// of the module in dir that is neither internal nor a command) of two
// checkouts of one module; patterns narrow the packages (default ./...).
func GoChanges(baseDir, revDir string, patterns ...string) ([]GoChange, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	base, err := publicAPI(baseDir, patterns)
	if err != nil {
		return nil, fmt.Errorf("the Go API at the base: %w", err)
	}
	rev, err := publicAPI(revDir, patterns)
	if err != nil {
		return nil, fmt.Errorf("the Go API of the tree: %w", err)
	}
	var out []GoChange
	for _, c := range apidiff.ModuleChanges(base, rev).Changes {
		out = append(out, GoChange{Message: c.Message, Compatible: c.Compatible})
	}
	return out, nil
}

// publicAPI loads the type information of the public packages of the
// module in dir.
func publicAPI(dir string, patterns []string) (*apidiff.Module, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedModule,
		Dir:  dir,
		Env:  append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	m := &apidiff.Module{}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("package %s: %v", p.PkgPath, p.Errors[0])
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		m.Path = p.Module.Path
		if !public(m.Path, p.PkgPath, p.Name) {
			continue
		}
		m.Packages = append(m.Packages, p.Types)
	}
	if m.Path == "" {
		return nil, fmt.Errorf("no package of the main module in %s", dir)
	}
	slices.SortFunc(m.Packages, func(a, b *types.Package) int { return strings.Compare(a.Path(), b.Path()) })
	return m, nil
}

// public reports whether a package of module is part of its Go API: not a
// command, not internal, not a tool module's.
func public(module, path, name string) bool {
	if name == "main" {
		return false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	for _, elem := range strings.Split(rel, "/") {
		if elem == "internal" || elem == "testdata" {
			return false
		}
	}
	return true
}
