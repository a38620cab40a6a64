package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AllowList is the file beside openapi.yaml that lets breaking changes
// through, each with its reason.
type AllowList struct {
	Wire []WireAllowance `yaml:"wire"`
	Go   []GoAllowance   `yaml:"go"`
}

// WireAllowance lets the breaking wire changes it matches through.
type WireAllowance struct {
	ID        string `yaml:"id"`        // oasdiff's rule id
	Operation string `yaml:"operation"` // optional: "METHOD /path"
	Text      string `yaml:"text"`      // optional: a substring of the change's text
	Reason    string `yaml:"reason"`
	used      bool
}

// GoAllowance lets the incompatible Go changes it matches through.
type GoAllowance struct {
	Change string `yaml:"change"` // a substring of apidiff's message, e.g. "gen.Worker.OutputText"
	Reason string `yaml:"reason"`
	used   bool
}

// LoadAllowList reads path; a missing file is an empty list.
func LoadAllowList(path string) (*AllowList, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &AllowList{}, nil
	}
	if err != nil {
		return nil, err
	}
	var a AllowList
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil && !errors.Is(err, io.EOF) { // EOF: comments only
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, w := range a.Wire {
		if w.ID == "" || strings.TrimSpace(w.Reason) == "" {
			return nil, fmt.Errorf("%s: wire entry %d needs an id and a reason", path, i+1)
		}
	}
	for i, g := range a.Go {
		if g.Change == "" || strings.TrimSpace(g.Reason) == "" {
			return nil, fmt.Errorf("%s: go entry %d needs a change and a reason", path, i+1)
		}
	}
	return &a, nil
}

// AllowWire returns the allowance that lets c through, or nil.
func (a *AllowList) AllowWire(c WireChange) *WireAllowance {
	for i := range a.Wire {
		w := &a.Wire[i]
		if w.ID == c.ID && (w.Operation == "" || w.Operation == c.Operation) &&
			(w.Text == "" || strings.Contains(c.Text, w.Text)) {
			w.used = true
			return w
		}
	}
	return nil
}

// AllowGo returns the allowance that lets c through, or nil.
func (a *AllowList) AllowGo(c GoChange) *GoAllowance {
	for i := range a.Go {
		g := &a.Go[i]
		if strings.Contains(c.Message, g.Change) {
			g.used = true
			return g
		}
	}
	return nil
}

// Unused lists the entries no change matched: stale once their change is
// on main, and safe to remove.
func (a *AllowList) Unused() []string {
	var out []string
	for _, w := range a.Wire {
		if !w.used {
			out = append(out, fmt.Sprintf("wire %s %s %q", w.ID, w.Operation, w.Text))
		}
	}
	for _, g := range a.Go {
		if !g.used {
			out = append(out, fmt.Sprintf("go %q", g.Change))
		}
	}
	return out
}
