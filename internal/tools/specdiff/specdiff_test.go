package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// spec is the repository's openapi.yaml.
func spec(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// edit is a small patch of openapi.yaml: each old text, found exactly once,
// becomes its new text.
type edit struct {
	name  string
	pairs []string // old, new, old, new, …
}

func (e edit) apply(t *testing.T, s string) string {
	t.Helper()
	for i := 0; i < len(e.pairs); i += 2 {
		old, new := e.pairs[i], e.pairs[i+1]
		if n := strings.Count(s, old); n != 1 {
			t.Fatalf("%s: %q occurs %d times in openapi.yaml, want once", e.name, old, n)
		}
		s = strings.Replace(s, old, new, 1)
	}
	return s
}

func wireChanges(t *testing.T, base, rev string) []WireChange {
	t.Helper()
	b, err := LoadSpec([]byte(base), "base")
	if err != nil {
		t.Fatal(err)
	}
	r, err := LoadSpec([]byte(rev), "revision")
	if err != nil {
		t.Fatal(err)
	}
	changes, err := WireChanges(b, r)
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

// Breaking edits: each must be reported breaking, on the wire.
var breakingEdits = []edit{
	{"a response field renamed (Worker.output_text → outputText)", []string{
		"        - output_text\n        - output\n", "        - outputText\n        - output\n",
		"        output_text:\n          type: string\n          description: All output text", "        outputText:\n          type: string\n          description: All output text",
	}},
	{"an operation removed (archiveTask)", []string{
		"    delete:\n      operationId: archiveTask", "    x-removed:\n      operationId: archiveTask",
	}},
	{"a request enum narrowed (Budget without unlimited)", []string{
		"      enum: [low, standard, high, unlimited]\n      x-enum-varnames: [BudgetLow, BudgetStandard, BudgetHigh, BudgetUnlimited]",
		"      enum: [low, standard, high]\n      x-enum-varnames: [BudgetLow, BudgetStandard, BudgetHigh]",
	}},
	{"a request field made required (CreateTask.budget)", []string{
		"      required: [input]\n      properties:\n        input:", "      required: [input, budget]\n      properties:\n        input:",
	}},
	{"a new required query parameter (listTasks)", []string{
		"      parameters:\n        - name: limit\n          in: query\n", "      parameters:\n        - name: region\n          in: query\n          required: true\n          schema:\n            type: string\n        - name: limit\n          in: query\n",
	}},
	{"a type changed (Totals.credits integer → string)", []string{
		"        credits:\n          type: integer\n          format: int64\n          minimum: 0\n          description: Credits spent by all turns.",
		"        credits:\n          type: string\n          description: Credits spent by all turns.",
	}},
	{"a format changed (Task.createdAt date-time → date)", []string{
		"        createdAt:\n          type: string\n          format: date-time\n          description: When the task was created.",
		"        createdAt:\n          type: string\n          format: date\n          description: When the task was created.",
	}},
	{"a required response field made optional (Task.title)", []string{
		"        - status\n        - title\n        - totals\n", "        - status\n        - totals\n",
	}},
}

// Safe edits: none may be reported breaking.
var safeEdits = []edit{
	{"an optional response field added (Task.note)", []string{
		"      properties:\n        id:\n          x-go-name: ID\n          $ref: '#/components/schemas/TaskId'\n        completedAt:",
		"      properties:\n        note:\n          type: string\n          description: A note.\n        id:\n          x-go-name: ID\n          $ref: '#/components/schemas/TaskId'\n        completedAt:",
	}},
	{"an optional request field added (CreateTask.note)", []string{
		"        budget:\n          $ref: '#/components/schemas/Budget'\n        taskId:",
		"        note:\n          type: string\n          description: A note.\n        budget:\n          $ref: '#/components/schemas/Budget'\n        taskId:",
	}},
	{"an optional response field made required (Worker.usage)", []string{
		"        - incomplete_details\n        - url\n", "        - incomplete_details\n        - url\n        - usage\n",
	}},
	{"a description reworded", []string{
		"description: When the task was created.", "description: The moment the task was created.",
	}},
	{"a request enum widened (Budget with max)", []string{
		"      enum: [low, standard, high, unlimited]\n      x-enum-varnames: [BudgetLow, BudgetStandard, BudgetHigh, BudgetUnlimited]",
		"      enum: [low, standard, high, unlimited, max]\n      x-enum-varnames: [BudgetLow, BudgetStandard, BudgetHigh, BudgetUnlimited, BudgetMax]",
	}},
	{"a header name's case changed (X-Should-Retry → x-should-retry)", []string{
		"      headers:\n        X-Should-Retry:\n          $ref: '#/components/headers/ShouldRetry'\n      content:\n        application/problem+json:\n          schema:\n            $ref: '#/components/schemas/Problem'\n          example:\n            type: https://handinger.com/problems/forbidden",
		"      headers:\n        x-should-retry:\n          $ref: '#/components/headers/ShouldRetry'\n      content:\n        application/problem+json:\n          schema:\n            $ref: '#/components/schemas/Problem'\n          example:\n            type: https://handinger.com/problems/forbidden",
	}},
	{"an operation added (GET /api/ping)", []string{
		"  /api/tasks:\n", "  /api/ping:\n    get:\n      operationId: ping\n      summary: Ping\n      responses:\n        '204':\n          description: Pong.\n  /api/tasks:\n",
	}},
}

func TestBreakingEditsAreReported(t *testing.T) {
	base := spec(t)
	for _, e := range breakingEdits {
		t.Run(e.name, func(t *testing.T) {
			changes := wireChanges(t, base, e.apply(t, base))
			var breaking []string
			for _, c := range changes {
				if c.Breaking() {
					breaking = append(breaking, c.String())
				}
			}
			if len(breaking) == 0 {
				t.Fatalf("no breaking change reported; changes: %v", changes)
			}
			if got := NeededBump(changes); got != BumpMajor {
				t.Errorf("NeededBump = %v, want a major bump", got)
			}
			t.Log(strings.Join(breaking, "\n"))
		})
	}
}

func TestSafeEditsPass(t *testing.T) {
	base := spec(t)
	for _, e := range safeEdits {
		t.Run(e.name, func(t *testing.T) {
			for _, c := range wireChanges(t, base, e.apply(t, base)) {
				if c.Breaking() {
					t.Errorf("reported breaking: %s", c)
				}
			}
		})
	}
}

func TestUnchangedSpecHasNoChanges(t *testing.T) {
	base := spec(t)
	if changes := wireChanges(t, base, base); len(changes) != 0 {
		t.Errorf("changes of an unchanged spec: %v", changes)
	}
}

func TestVersionRules(t *testing.T) {
	base := spec(t)
	added := safeEdits[0].apply(t, base)
	for _, tc := range []struct {
		name, rev, from, to string
		ok                  bool
	}{
		{"addition, version kept", added, "1.0.0", "1.0.0", false},
		{"addition, patch bump", added, "1.0.0", "1.0.1", false},
		{"addition, minor bump", added, "1.0.0", "1.1.0", true},
		{"addition, major bump", added, "1.0.0", "2.0.0", true},
		{"breaking, minor bump", breakingEdits[0].apply(t, base), "1.0.0", "1.1.0", false},
		{"breaking, major bump", breakingEdits[0].apply(t, base), "1.0.0", "2.0.0", true},
		{"breaking while v0, minor bump", breakingEdits[0].apply(t, base), "0.3.0", "0.4.0", true},
		{"wording, version kept", safeEdits[3].apply(t, base), "1.0.0", "1.0.0", true},
		{"wording, patch bump", safeEdits[3].apply(t, base), "1.0.0", "1.0.1", true},
		{"wording and the version itself, patch bump", versioned(t, safeEdits[3].apply(t, base), "1.0.1"), "1.0.0", "1.0.1", true},
		{"addition and the version itself, patch bump", versioned(t, added, "1.0.1"), "1.0.0", "1.0.1", false},
		{"header name's case, version kept", safeEdits[5].apply(t, base), "1.0.0", "1.0.0", true},
		{"version down", base, "1.2.0", "1.1.9", false},
		{"not a semantic version", base, "1.0.0", "v1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckVersion(tc.from, tc.to, NeededBump(wireChanges(t, base, tc.rev)))
			if (err == nil) != tc.ok {
				t.Errorf("CheckVersion(%s → %s) = %v, want ok %v", tc.from, tc.to, err, tc.ok)
			}
		})
	}
}

// versioned sets the info.version of a spec.
func versioned(t *testing.T, s, version string) string {
	t.Helper()
	i := strings.Index(s, "\n  version: ")
	if i < 0 {
		t.Fatal("openapi.yaml has no info.version")
	}
	j := strings.Index(s[i+1:], "\n") + i + 1
	return s[:i] + "\n  version: " + version + s[j:]
}

func TestAllowList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow.yaml")
	if err := os.WriteFile(path, []byte(`# comment
wire:
  - id: response-property-removed
    operation: POST /api/tasks
    reason: the field was never filled
go:
  - change: "gen.Worker.OutputText"
    reason: renamed with the wire field
  - change: "never matched"
    reason: stale
`), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAllowList(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.AllowWire(WireChange{ID: "response-property-removed", Operation: "POST /api/tasks"}) == nil {
		t.Error("the wire entry does not match its change")
	}
	if a.AllowWire(WireChange{ID: "response-property-removed", Operation: "GET /api/tasks"}) != nil {
		t.Error("the wire entry matches another operation")
	}
	if a.AllowGo(GoChange{Message: "gen.Worker.OutputText: removed"}) == nil {
		t.Error("the Go entry does not match its change")
	}
	if u := a.Unused(); len(u) != 1 || !strings.Contains(u[0], "never matched") {
		t.Errorf("Unused = %v, want the stale entry", u)
	}

	for _, bad := range []string{"wire:\n  - id: x\n", "go:\n  - change: x\n    reason: ' '\n", "wires: []\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAllowList(path); err == nil {
			t.Errorf("LoadAllowList(%q) accepted an entry without a reason or an unknown key", bad)
		}
	}
	if err := os.WriteFile(path, []byte("# only comments\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := LoadAllowList(path); err != nil || len(a.Wire)+len(a.Go) != 0 {
		t.Errorf("a file of comments = %+v, %v; want an empty list", a, err)
	}
}

// TestGoBreakingEditIsReported renames a schema, which keeps the wire and
// breaks every downstream go build: the wire diff must see nothing breaking
// and the Go diff must name the Go type. It regenerates gen/ in two
// worktrees of HEAD, so it takes a while.
func TestGoBreakingEditIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: regenerates gen/ in a checkout of HEAD")
	}
	root, err := git(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	base, cleanBase, err := checkout(root, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanBase)
	rev, cleanRev, err := checkout(root, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanRev)

	s, err := os.ReadFile(filepath.Join(rev, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.ReplaceAll(string(s), "#/components/schemas/Totals'", "#/components/schemas/TaskTotals'")
	renamed = strings.Replace(renamed, "\n    Totals:\n", "\n    TaskTotals:\n", 1)
	if err := os.WriteFile(filepath.Join(rev, "openapi.yaml"), []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command("go", "generate", "./gen/...")
	gen.Dir = rev
	gen.Env = append(os.Environ(), "GOWORK=off")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("go generate in the edited checkout: %v\n%s", err, out)
	}

	for _, c := range wireChanges(t, string(s), renamed) {
		if c.Breaking() {
			t.Errorf("the wire diff calls the rename breaking: %s", c)
		}
	}
	// Only gen/: the rest of the module uses gen.Totals and, unlike a real
	// change, is not edited along.
	changes, err := GoChanges(base, rev, "./gen/...")
	if err != nil {
		t.Fatal(err)
	}
	var named bool
	for _, c := range changes {
		if !c.Compatible && strings.Contains(c.Message, "Totals") {
			named = true
		}
	}
	if !named {
		t.Errorf("the Go diff does not name the removed gen.Totals as incompatible: %v", changes)
	}
}
