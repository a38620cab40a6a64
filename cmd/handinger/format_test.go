package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/handinger/handinger/gen"
)

// sameData fails the test unless the YAML document y holds the same data as
// the JSON document j (numbers compared as JSON numbers).
func sameData(t *testing.T, j, y []byte) {
	t.Helper()
	var fromJSON, fromYAML any
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatalf("JSON: %v\n%s", err, j)
	}
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatalf("YAML does not parse: %v\n%s", err, y)
	}
	// YAML gives ints where JSON gives float64s: compare both as JSON.
	b, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatalf("YAML data does not convert to JSON: %v\n%s", err, y)
	}
	var normalized any
	if err := json.Unmarshal(b, &normalized); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, normalized) {
		t.Errorf("YAML holds other data than JSON:\nJSON %s\nYAML %s", j, y)
	}
}

func TestResolveFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	for in, want := range map[string]outputFormat{"": formatJSON, "json": formatJSON, "yaml": formatYAML, "pretty": formatPretty} {
		got, err := resolveFormat(in, &buf)
		if err != nil || got != want {
			t.Errorf("resolveFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"xml", "JSON", "table"} {
		if _, err := resolveFormat(bad, &buf); !isUsageError(err) || !strings.Contains(err.Error(), bad) {
			t.Errorf("resolveFormat(%q): %v, want a usage error naming it", bad, err)
		}
	}
}

func TestWriteRaw(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`{"a":1}`: "{\"a\":1}\n", "{\"a\":1}\n": "{\"a\":1}\n", "": "\n"} {
		var buf bytes.Buffer
		if err := writeRaw(&buf, []byte(in)); err != nil || buf.String() != want {
			t.Errorf("writeRaw(%q) = %q, %v; want %q", in, buf.String(), err, want)
		}
	}
}

func TestJSONToYAMLKeepsOrderAndTypes(t *testing.T) {
	t.Parallel()
	in := `{"b":1,"a":{"z":[1,"x",null,true,1.5e3],"y":{}},"c":[],"n":12345678901234567890123}`
	want := `b: 1
a:
  z:
    - 1
    - x
    - null
    - true
    - 1.5e3
  y: {}
c: []
n: 12345678901234567890123
`
	got, err := jsonToYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("jsonToYAML:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONToYAMLQuotesWhatWouldChangeType(t *testing.T) {
	t.Parallel()
	in := `{"num":"123","bool":"true","null":"null","empty":"","date":"2026-05-14T09:30:00Z","colon":"a: b",
		"dash":"- x","multi":"line 1\nline 2\n","control":"\u0000\u001b[31m\u2028end","unicode":"héllo ☃","float":"1e3",
		"hash":"# not a comment","lead":" padded ","quote":"it's \"quoted\"","tilde":"~","yes":"yes"}`
	got, err := jsonToYAML([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	sameData(t, []byte(in), got)
	if !strings.Contains(string(got), "multi: |\n") {
		t.Errorf("a multi-line string is not a literal block:\n%s", got)
	}
}

func TestJSONToYAMLRejectsBadJSON(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{``, `{`, `{"a":1}{"b":2}`, `[1,]`, `{"a" 1}`} {
		if out, err := jsonToYAML([]byte(bad)); err == nil {
			t.Errorf("jsonToYAML(%q) = %q, want an error", bad, out)
		}
	}
}

// FuzzJSONToYAML checks that any JSON document converts to YAML holding the
// same data.
func FuzzJSONToYAML(f *testing.F) {
	for _, seed := range []string{`{}`, `[]`, `null`, `"x"`, `1`, `{"a":[1,2,{"b":null}]}`, `{"s":"a: b\n- c"}`,
		`{"task":{"id":"tsk_1","completedAt":null,"totals":{"credits":5}},"turns":[]}`, `"\u0085\ufeff"`, `-0.0e-0`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var v any
		if json.Unmarshal(in, &v) != nil {
			return
		}
		out, err := jsonToYAML(in)
		if err != nil {
			t.Fatalf("jsonToYAML(%q): %v", in, err)
		}
		var back any
		if err := yaml.Unmarshal(out, &back); err != nil && strings.Contains(err.Error(), "already defined") {
			return // a key repeated in one object: JSON keeps the last, YAML refuses it
		}
		sameData(t, in, out)
	})
}

func TestMergeItemsKeepsItemsAsSent(t *testing.T) {
	t.Parallel()
	pages := [][]byte{
		[]byte(`{"items":[{ "id" : "a" },{"id":"b","x":[1, 2]}],"nextCursor":"c1"}`),
		[]byte(`{"items":[],"nextCursor":"c2"}`),
		[]byte(`{"items":[{"id":"c"}],"nextCursor":null}`),
	}
	got, err := mergeItems(pages)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{ "id" : "a" },{"id":"b","x":[1, 2]},{"id":"c"}]` + "\n"; string(got) != want {
		t.Errorf("mergeItems = %s, want %s", got, want)
	}
	if got, _ := mergeItems(nil); string(got) != "[]\n" {
		t.Errorf("no pages: %q", got)
	}
	if _, err := mergeItems([][]byte{[]byte(`not json`)}); err == nil {
		t.Error("a page that is not JSON gave no error")
	}
}

func TestOneLineAndTextBlockDropControlCharacters(t *testing.T) {
	t.Parallel()
	if got := oneLine("a\x1b[31mred\x1b[0m\nnext\tline\r\x07", 0); got != "a[31mred[0m next line" {
		t.Errorf("oneLine = %q", got)
	}
	if got := oneLine("abcdefghij", 5); got != "abcd…" {
		t.Errorf("oneLine cut = %q", got)
	}
	if got := oneLine("☃☃☃", 5); got != "☃☃☃" {
		t.Errorf("oneLine short = %q", got)
	}
	if got := textBlock("one\r\ntwo\x1b]0;title\x07\n\n", "  "); got != "  one\n  two]0;title" {
		t.Errorf("textBlock = %q", got)
	}
}

func TestPrintCreated(t *testing.T) {
	t.Parallel()
	credits, ms := int64(5), int64(2410)
	v := createdView{TaskID: "tsk_1", TurnID: "trn_1", Seq: 2, Worker: gen.Worker{
		ID: "wrk_1", Status: gen.WorkerStatusCompleted, OutputText: "Line one.\nLine two.",
		Usage: &gen.Usage{Credits: &credits, DurationMs: &ms},
	}}
	var buf bytes.Buffer
	if err := printCreated(&buf, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task    tsk_1\n", "trn_1 (seq 2)", "wrk_1", "status  completed", "5 credits, 2.41s", "\nLine one.\nLine two.\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("create output lacks %q:\n%s", want, buf.String())
		}
	}

	v.Worker = gen.Worker{ID: "wrk_1", Status: gen.WorkerStatusRunning, Running: true,
		Error:             &gen.WorkerError{Code: "runtime_error", Message: "exit status 1"},
		IncompleteDetails: &gen.IncompleteDetails{Reason: gen.IncompleteDetailsReasonBudget}}
	buf.Reset()
	if err := printCreated(&buf, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tsk_1", "runtime_error: exit status 1", "stopped  budget", "handinger tasks retrieve tsk_1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("running create output lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestPrintTaskAndTable(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	user, next := "usr_1", "cur_2"
	task := gen.Task{ID: "tsk_1", Title: "Summarise\nthe report", Status: gen.TaskStatusCompleted, WorkerID: "wrk_1",
		CreatedAt: created, CompletedAt: &created, CreatedByUserID: &user, Url: "https://handinger.com/tasks/tsk_1",
		Totals: gen.Totals{Credits: 12, DurationMs: 5230, TurnCount: 2}}
	turns := []gen.Turn{
		{ID: "trn_1", Seq: 1, Status: "completed", Input: "Summarise the report", OutputText: "Done.", Credits: 1, InputTokens: 3, OutputTokens: 1},
		{ID: "trn_2", Seq: 2, Status: "running", Input: "More"},
	}
	var buf bytes.Buffer
	if err := printTask(&buf, &gen.TaskWithTurns{Task: task, Turns: turns}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task       tsk_1", "Summarise the report", "2026-05-14 09:30:00Z by usr_1",
		"2 turns, 12 credits, 5.23s", "turn 1  completed  1 credit", "  > Summarise the report\n  Done.\n", "turn 2  running", "  > More\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("task output lacks %q:\n%s", want, buf.String())
		}
	}

	buf.Reset()
	if err := printTaskTable(&buf, []gen.Task{task}, next); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], "tsk_1 ") || !strings.Contains(lines[1], "Summarise the report") {
		t.Errorf("table:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "--cursor cur_2") {
		t.Errorf("table does not give the next cursor:\n%s", buf.String())
	}
	buf.Reset()
	if err := printTaskTable(&buf, nil, ""); err != nil || buf.String() != "No tasks.\n" {
		t.Errorf("empty table: %q %v", buf.String(), err)
	}
}

func TestSpinnerDrawsElapsedTimeAndClears(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		s := startSpinner(&buf, "running the turn", 100*time.Millisecond)
		time.Sleep(350 * time.Millisecond)
		synctest.Wait()
		s.Stop()
		out := buf.String()
		for _, want := range []string{"running the turn 0.1s", "running the turn 0.3s"} {
			if !strings.Contains(out, want) {
				t.Errorf("spinner output lacks %q: %q", want, out)
			}
		}
		if !strings.HasSuffix(out, "\r\x1b[K") {
			t.Errorf("spinner did not clear its line: %q", out)
		}
	})
}

func TestSpinnerStoppedAtOnceDrawsNothing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		startSpinner(&buf, "running the turn", 100*time.Millisecond).Stop()
		if buf.Len() != 0 {
			t.Errorf("a spinner stopped before its first tick wrote %q", buf.String())
		}
	})
}
