package main

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// WireChange is one change of openapi.yaml as oasdiff's checker reports it.
type WireChange struct {
	ID        string // oasdiff's rule id, e.g. response-property-removed
	Level     checker.Level
	Operation string // e.g. "GET /api/tasks/{taskId}"; empty for a change outside operations
	Text      string // the change in plain language
}

// Breaking reports whether the change breaks existing clients: oasdiff's
// ERR level. WARN ("may break") changes are reported but do not fail.
func (c WireChange) Breaking() bool { return c.Level == checker.ERR }

// String is the change as one line of the changelog.
func (c WireChange) String() string {
	where := c.Operation
	if where == "" {
		where = "components"
	}
	return fmt.Sprintf("%s %s: %s [%s]", levelName(c.Level), where, c.Text, c.ID)
}

func levelName(l checker.Level) string {
	switch l {
	case checker.ERR:
		return "breaking"
	case checker.WARN:
		return "may break"
	default:
		return "change"
	}
}

// WireSpec is a parsed openapi.yaml with its info.version.
type WireSpec struct {
	info    *load.SpecInfo
	Version string
}

// LoadSpec parses an OpenAPI document; name says where it came from.
func LoadSpec(data []byte, name string) (*WireSpec, error) {
	loader := openapi3.NewLoader()
	// Header names are compared as HTTP compares them, ignoring case.
	info, err := load.NewSpecInfoFromData(loader, data, name, load.WithLowercaseHeaders())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	// Examples are lint's business (make lint); a change under review may
	// well leave one behind.
	if err := info.Spec.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", name, err)
	}
	return &WireSpec{info: info, Version: info.GetVersion()}, nil
}

// WireChanges lists every change from base to rev, all levels, in
// oasdiff's order.
func WireChanges(base, rev *WireSpec) ([]WireChange, error) {
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), base.info, rev.info)
	if err != nil {
		return nil, fmt.Errorf("diff the specs: %w", err)
	}
	cfg := checker.NewConfig(checker.GetAllChecks())
	l := checker.NewDefaultLocalizer()
	var out []WireChange
	for _, c := range checker.CheckBackwardCompatibilityUntilLevel(cfg, d, sources, checker.INFO) {
		op := c.GetOperation()
		if p := c.GetPath(); p != "" {
			op += " " + p
		}
		out = append(out, WireChange{ID: c.GetId(), Level: c.GetLevel(), Operation: op, Text: c.GetUncolorizedText(l)})
	}
	return out, nil
}
