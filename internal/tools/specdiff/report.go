package main

import (
	"fmt"
	"io"
	"strings"
)

// Report is the outcome of one comparison.
type Report struct {
	Base        string
	SpecChanged bool // openapi.yaml differs from the base's, in any byte

	BaseVersion, Version string
	Wire                 []WireChange
	WireAllowed          map[int]string // index in Wire → reason
	VersionErr           error
	Go                   []GoChange
	GoAllowed            map[int]string // index in Go → reason
	Stale                []string       // allow-list entries nothing matched
}

// compareWire diffs the two specs and judges the version.
func (r *Report) compareWire(base, rev []byte, allow *AllowList) error {
	b, err := LoadSpec(base, "openapi.yaml at the base")
	if err != nil {
		return err
	}
	t, err := LoadSpec(rev, "openapi.yaml")
	if err != nil {
		return err
	}
	r.BaseVersion, r.Version = b.Version, t.Version
	if r.Wire, err = WireChanges(b, t); err != nil {
		return err
	}
	r.WireAllowed = map[int]string{}
	for i, c := range r.Wire {
		if !c.Breaking() {
			continue
		}
		if a := allow.AllowWire(c); a != nil {
			r.WireAllowed[i] = a.Reason
		}
	}
	r.VersionErr = CheckVersion(r.BaseVersion, r.Version, NeededBump(r.Wire))
	return nil
}

// addGo records the Go API changes.
func (r *Report) addGo(changes []GoChange, allow *AllowList) {
	r.Go = changes
	r.GoAllowed = map[int]string{}
	for i, c := range changes {
		if c.Compatible {
			continue
		}
		if a := allow.AllowGo(c); a != nil {
			r.GoAllowed[i] = a.Reason
		}
	}
}

// Blocking lists the breaking changes that no allow-list entry lets through.
func (r *Report) Blocking() []string {
	var out []string
	for i, c := range r.Wire {
		if _, ok := r.WireAllowed[i]; c.Breaking() && !ok {
			out = append(out, c.String())
		}
	}
	for i, c := range r.Go {
		if _, ok := r.GoAllowed[i]; !c.Compatible && !ok {
			out = append(out, c.String())
		}
	}
	return out
}

// Failed reports whether the gate fails.
func (r *Report) Failed() bool { return len(r.Blocking()) > 0 || r.VersionErr != nil }

// Text writes the report for a terminal.
func (r *Report) Text(w io.Writer) {
	fmt.Fprintf(w, "spec-diff: openapi.yaml and the Go API against %s\n", r.Base)
	fmt.Fprintf(w, "info.version %s → %s\n", r.BaseVersion, r.Version)
	if len(r.Wire) == 0 {
		if r.SpecChanged {
			fmt.Fprintln(w, "openapi.yaml: no change a client sees (wording, examples or layout only)")
		} else {
			fmt.Fprintln(w, "openapi.yaml: unchanged")
		}
	}
	for i, c := range r.Wire {
		fmt.Fprintln(w, "  "+c.String()+allowed(r.WireAllowed, i))
	}
	if len(r.Go) == 0 {
		fmt.Fprintln(w, "Go API: no change")
	}
	for i, c := range r.Go {
		fmt.Fprintln(w, "  "+c.String()+allowed(r.GoAllowed, i))
	}
	for _, s := range r.Stale {
		fmt.Fprintln(w, "note: openapi.allow.yaml entry matches nothing (remove it once its change is on main): "+s)
	}
	if r.VersionErr != nil {
		fmt.Fprintln(w, "FAIL: "+r.VersionErr.Error())
	}
	if b := r.Blocking(); len(b) > 0 {
		fmt.Fprintf(w, "FAIL: %d breaking change(s) not in openapi.allow.yaml (add each with its reason, or undo it):\n", len(b))
		for _, s := range b {
			fmt.Fprintln(w, "  "+s)
		}
	}
	if !r.Failed() {
		fmt.Fprintln(w, "ok")
	}
}

// Markdown writes the report for a pull-request comment or job summary.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "## API changes against `%s`\n\n", r.Base)
	fmt.Fprintf(w, "`info.version` %s → %s\n\n", r.BaseVersion, r.Version)
	if len(r.Wire) == 0 {
		fmt.Fprintln(w, "No change of `openapi.yaml` a client sees.")
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "| | operation | change | rule |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for i, c := range r.Wire {
			op := c.Operation
			if op == "" {
				op = "components"
			}
			fmt.Fprintf(w, "| %s | `%s` | %s | `%s` |\n", mark(c.Breaking(), r.WireAllowed, i), op, cell(c.Text), c.ID)
		}
		fmt.Fprintln(w)
	}
	if len(r.Go) > 0 {
		fmt.Fprintln(w, "Go API:")
		fmt.Fprintln(w)
		for i, c := range r.Go {
			fmt.Fprintf(w, "- %s `%s`\n", mark(!c.Compatible, r.GoAllowed, i), c.Message)
		}
		fmt.Fprintln(w)
	}
	if r.VersionErr != nil {
		fmt.Fprintf(w, "**Fails:** %s\n\n", r.VersionErr)
	}
	if b := r.Blocking(); len(b) > 0 {
		fmt.Fprintf(w, "**Fails:** %d breaking change(s) not in `openapi.allow.yaml`.\n\n", len(b))
	}
}

func allowed(m map[int]string, i int) string {
	if reason, ok := m[i]; ok {
		return " (allowed: " + reason + ")"
	}
	return ""
}

func mark(breaking bool, m map[int]string, i int) string {
	switch _, ok := m[i]; {
	case breaking && ok:
		return "allowed break"
	case breaking:
		return "**breaking**"
	default:
		return "ok"
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
