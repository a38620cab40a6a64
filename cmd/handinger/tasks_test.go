package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
)

// startCLIServer runs `handinger serve` on a fresh SQLite file and returns it
// with the development key it printed.
func startCLIServer(t *testing.T) *proc {
	t.Helper()
	p := startServe(t, freeAddr(t), "--db", "sqlite:"+filepath.Join(t.TempDir(), "cli.db"))
	if p.key == "" {
		t.Fatalf("the server printed no API key:\n%s", p.stderr)
	}
	return p
}

// cliRun runs a command line in this process, as main would.
func cliRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustRun runs a command line that must succeed and returns its stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cliRun(t, args...)
	if code != exitOK {
		t.Fatalf("handinger %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// rawGet reads path from p with its key and returns the body as sent.
func rawGet(t *testing.T, p *proc, path string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", path, res.StatusCode, err, body)
	}
	return body
}

// printed is body as --format json prints it: ended by a newline.
func printed(body []byte) string {
	if bytes.HasSuffix(body, []byte("\n")) {
		return string(body)
	}
	return string(body) + "\n"
}

// decode unmarshals a command's JSON output.
func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, out)
	}
	return v
}

// withFlags appends flags to args.
func withFlags(args []string, flags ...string) []string {
	return append(slices.Clip(args), flags...)
}

// TestTasksCommands drives every tasks subcommand in this process against a
// real server, with the global flags both before and after the subcommand.
func TestTasksCommands(t *testing.T) {
	t.Parallel()
	p := startCLIServer(t)
	auth := []string{"--api-key", p.key, "--base-url", p.url}

	t.Run("create and read back as JSON and YAML", func(t *testing.T) {
		t.Parallel()
		// Global flags before the subcommand.
		out := mustRun(t, withFlags(auth, "--format", "json", "tasks", "create", "--input", "hello from the CLI")...)
		w := decode[gen.Worker](t, out)
		id := w.Metadata.TaskID
		if id == "" || w.Status != gen.WorkerStatusCompleted || !strings.HasSuffix(out, "}\n") {
			t.Fatalf("create: %+v\n%s", w, out)
		}

		// Global flags after the subcommand and its argument.
		got := mustRun(t, withFlags([]string{"tasks", "retrieve", id}, withFlags(auth, "--format", "json")...)...)
		if want := printed(rawGet(t, p, "/api/tasks/"+id)); got != want {
			t.Errorf("retrieve --format json is not the API's body:\n got %q\nwant %q", got, want)
		}
		got = mustRun(t, withFlags([]string{"tasks", "turns", id, "--format", "json"}, auth...)...)
		if want := printed(rawGet(t, p, "/api/tasks/"+id+"/turns")); got != want {
			t.Errorf("turns --format json is not the API's body:\n got %q\nwant %q", got, want)
		}
		// Without --format and with stdout not a terminal, the output is JSON.
		got = mustRun(t, withFlags([]string{"tasks", "retrieve", id}, auth...)...)
		if want := printed(rawGet(t, p, "/api/tasks/"+id)); got != want {
			t.Errorf("retrieve without --format is not the API's body:\n got %q\nwant %q", got, want)
		}

		for _, args := range [][]string{
			withFlags(auth, "--format", "yaml", "tasks", "retrieve", id),
			withFlags([]string{"tasks", "retrieve", id, "--format", "yaml"}, auth...),
		} {
			y := mustRun(t, args...)
			sameData(t, rawGet(t, p, "/api/tasks/"+id), []byte(y))
			if !strings.HasPrefix(y, "task:\n") {
				t.Errorf("YAML does not keep the API's key order:\n%s", y)
			}
		}
		y := mustRun(t, withFlags(auth, "tasks", "turns", id, "--format=yaml")...)
		sameData(t, rawGet(t, p, "/api/tasks/"+id+"/turns"), []byte(y))

		pretty := mustRun(t, withFlags(auth, "tasks", "retrieve", id, "--format", "pretty")...)
		task := decode[gen.TaskWithTurns](t, string(rawGet(t, p, "/api/tasks/"+id)))
		for _, want := range []string{id, "hello from the CLI", oneLine(task.Turns[0].OutputText, 0), "turn 1  completed"} {
			if !strings.Contains(pretty, want) {
				t.Errorf("retrieve --format pretty lacks %q:\n%s", want, pretty)
			}
		}
		pretty = mustRun(t, withFlags(auth, "tasks", "turns", id, "--format", "pretty")...)
		if !strings.Contains(pretty, id) || !strings.Contains(pretty, "1 turn") {
			t.Errorf("turns --format pretty:\n%s", pretty)
		}
	})

	t.Run("pretty create and follow-up", func(t *testing.T) {
		t.Parallel()
		out := mustRun(t, withFlags(auth, "--format", "pretty", "tasks", "create", "--input", "first", "--task-id", "cli-pretty", "--budget", "low")...)
		task := decode[gen.TaskWithTurns](t, string(rawGet(t, p, "/api/tasks/cli-pretty")))
		for _, want := range []string{"task    cli-pretty\n", "(seq 1)", "status  completed", "credit", oneLine(task.Turns[0].OutputText, 0)} {
			if !strings.Contains(out, want) {
				t.Errorf("create --format pretty lacks %q:\n%s", want, out)
			}
		}
		out = mustRun(t, withFlags([]string{"tasks", "create", "--task-id", "cli-pretty", "--input", "second", "--idempotency-key", "k-1"},
			withFlags(auth, "--format", "pretty")...)...)
		if !strings.Contains(out, "cli-pretty") || !strings.Contains(out, "(seq 2)") {
			t.Errorf("follow-up:\n%s", out)
		}
		// The same idempotency key answers the first call's turn again.
		again := mustRun(t, withFlags([]string{"tasks", "create", "--task-id", "cli-pretty", "--input", "second", "--idempotency-key", "k-1"},
			withFlags(auth, "--format", "json")...)...)
		if w := decode[gen.Worker](t, again); w.Metadata.Seq != 2 {
			t.Errorf("a retried create ran turn %d, want the first call's 2", w.Metadata.Seq)
		}
	})

	t.Run("list one page, a cursor and all pages", func(t *testing.T) {
		t.Parallel()
		first := decode[gen.Worker](t, mustRun(t, withFlags(auth, "tasks", "create", "--input", "list me")...))
		worker := first.ID
		ids := []string{first.Metadata.TaskID}
		for i := range 2 {
			w := decode[gen.Worker](t, mustRun(t, withFlags(auth, "tasks", "create", "--input", fmt.Sprint("list me too ", i), "--worker-id", worker)...))
			ids = append(ids, w.Metadata.TaskID)
		}

		got := mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--format", "json")...)
		full := rawGet(t, p, "/api/tasks?workerId="+worker)
		if got != printed(full) {
			t.Errorf("list --format json is not the API's body:\n got %q\nwant %q", got, full)
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor *string           `json:"nextCursor"`
		}
		if err := json.Unmarshal(full, &page); err != nil || len(page.Items) != 3 {
			t.Fatalf("the worker has %d tasks, want 3 (%v)", len(page.Items), err)
		}

		one := decode[gen.TaskList](t, mustRun(t, withFlags([]string{"tasks", "list", "--worker-id", worker, "--limit", "1"}, auth...)...))
		if len(one.Items) != 1 || one.NextCursor == nil {
			t.Fatalf("--limit 1: %+v", one)
		}
		second := decode[gen.TaskList](t, mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--limit", "1", "--cursor", *one.NextCursor)...))
		if len(second.Items) != 1 || second.Items[0].ID == one.Items[0].ID {
			t.Errorf("--cursor did not read the next page: %+v after %+v", second.Items, one.Items)
		}

		all := mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--limit", "1", "--all", "--format", "json")...)
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(all), &items); err != nil {
			t.Fatalf("--all --format json is not an array: %v\n%s", err, all)
		}
		if len(items) != 3 {
			t.Fatalf("--all gave %d tasks, want 3", len(items))
		}
		for i := range items {
			if !bytes.Equal(items[i], page.Items[i]) {
				t.Errorf("--all item %d is not as the API sent it:\n got %s\nwant %s", i, items[i], page.Items[i])
			}
		}
		allYAML := mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--limit", "2", "--all", "--format", "yaml")...)
		sameData(t, []byte(all), []byte(allYAML))

		table := mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--format", "pretty", "--status", "completed")...)
		for _, id := range ids {
			if !strings.Contains(table, id) {
				t.Errorf("the table lacks task %s:\n%s", id, table)
			}
		}
		table = mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--format", "pretty", "--limit", "2")...)
		if !strings.Contains(table, "--cursor ") {
			t.Errorf("a table with more pages does not say how to read on:\n%s", table)
		}
		table = mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", worker, "--format", "pretty", "--limit", "2", "--all")...)
		if strings.Contains(table, "--cursor ") || strings.Count(table, "\n") != 4 {
			t.Errorf("--all --format pretty is not one table of 3 tasks:\n%s", table)
		}
	})

	t.Run("archive", func(t *testing.T) {
		t.Parallel()
		w := decode[gen.Worker](t, mustRun(t, withFlags(auth, "tasks", "create", "--input", "archive me")...))
		id := w.Metadata.TaskID
		out := mustRun(t, withFlags(auth, "tasks", "archive", id)...)
		if a := decode[gen.DeleteTaskResponse](t, out); !a.Archived || !strings.HasSuffix(out, "\n") {
			t.Errorf("archive: %q", out)
		}
		if out := mustRun(t, withFlags([]string{"tasks", "archive", id, "--format", "pretty"}, auth...)...); out != "archived "+id+"\n" {
			t.Errorf("archive --format pretty = %q", out)
		}
		if l := decode[gen.TaskList](t, mustRun(t, withFlags(auth, "tasks", "list", "--worker-id", w.ID)...)); len(l.Items) != 0 {
			t.Errorf("an archived task is still listed: %+v", l.Items)
		}
		if y := mustRun(t, withFlags(auth, "tasks", "archive", id, "--format", "yaml")...); y != "archived: true\n" {
			t.Errorf("archive --format yaml = %q", y)
		}
		mustRun(t, withFlags(auth, "tasks", "retrieve", id)...)
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			withFlags(auth, "tasks", "list", "--bogus"),
			withFlags(auth, "--bogus", "tasks", "list"),
			withFlags(auth, "tasks", "retrieve"),
			withFlags(auth, "tasks", "turns"),
			withFlags(auth, "tasks", "archive"),
			withFlags(auth, "tasks", "retrieve", "a", "b"),
			withFlags(auth, "tasks", "retrieve", ""),
			withFlags(auth, "--format", "xml", "tasks", "list"),
			withFlags(auth, "tasks", "list", "--format", "xml"),
			withFlags(auth, "tasks", "list", "--api-key", ""),
			withFlags(auth, "tasks", "create"),
			withFlags(auth, "tasks", "create", "--input", " "),
			withFlags(auth, "tasks", "create", "stray", "--input", "x"),
			withFlags(auth, "tasks", "create", "--input", "x", "--budget", "huge"),
			withFlags(auth, "tasks", "list", "--status", "done"),
			withFlags(auth, "tasks", "list", "--limit", "-1"),
			withFlags(auth, "tasks", "list", "--limit", "many"),
			withFlags(auth, "tasks", "list", "--base-url", "ftp://example.com"),
			withFlags(auth, "tasks", "list", "--max-retries", "-1"),
			withFlags(auth, "tasks", "list", "--timeout", "soon"),
			withFlags(auth, "tasks", "frob"),
			{"frob"},
		} {
			code, out, errs := cliRun(t, args...)
			if code != exitUsage || out != "" || !strings.HasPrefix(errs, "handinger: ") {
				t.Errorf("handinger %q: exit %d, stdout %q, stderr %q; want exit %d and an error", args, code, out, errs, exitUsage)
			}
		}
		if _, _, errs := cliRun(t, withFlags(auth, "tasks", "retrieve")...); !strings.Contains(errs, "TASK_ID") {
			t.Errorf("a missing TASK_ID is not named: %s", errs)
		}
		if _, _, errs := cliRun(t, "tasks", "list", "--api-key", ""); !strings.Contains(errs, "HANDINGER_API_KEY") {
			t.Errorf("a missing API key does not say how to give one: %s", errs)
		}
	})

	t.Run("API errors exit 3", func(t *testing.T) {
		t.Parallel()
		code, out, errs := cliRun(t, withFlags(auth, "tasks", "retrieve", "tsk_no_such_task")...)
		if code != exitAPI || out != "" || !strings.HasPrefix(errs, "handinger: 404 Not found: ") || !strings.Contains(errs, "tsk_no_such_task") {
			t.Errorf("retrieve of an unknown task: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		code, _, errs = cliRun(t, withFlags(auth, "tasks", "create", "--input", "x", "--task-id", "not a valid id!")...)
		if code != exitAPI || !strings.HasPrefix(errs, "handinger: 400 ") || !strings.Contains(errs, "\n  body /taskId: ") {
			t.Errorf("create with a bad task id: exit %d, stderr %q", code, errs)
		}
		code, _, errs = cliRun(t, "tasks", "list", "--api-key", "hnd_wrong", "--base-url", p.url)
		if code != exitAPI || !strings.HasPrefix(errs, "handinger: 401 ") || strings.Contains(errs, "hnd_wrong") {
			t.Errorf("list with a wrong key: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("network errors exit 4", func(t *testing.T) {
		t.Parallel()
		closed := "http://" + freeAddr(t)
		start := time.Now()
		code, out, errs := cliRun(t, "tasks", "list", "--api-key", p.key, "--base-url", closed, "--max-retries", "0")
		if code != exitNetwork || out != "" || !strings.HasPrefix(errs, "handinger: ") {
			t.Errorf("a closed port: exit %d, stdout %q, stderr %q", code, out, errs)
		}

		// A server that accepts the connection and never answers.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		code, _, errs = cliRun(t, "--timeout", "200ms", "--max-retries", "1", "tasks", "retrieve", "tsk_1",
			"--api-key", p.key, "--base-url", "http://"+ln.Addr().String())
		if code != exitNetwork || !strings.Contains(errs, "timed out") {
			t.Errorf("a server that does not answer: exit %d, stderr %q", code, errs)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the network errors took %s", d)
		}
	})
}

// TestTasksEnvironment checks HANDINGER_API_KEY, HANDINGER_BASE_URL and
// HANDINGER_FORMAT, and that flags override them.
func TestTasksEnvironment(t *testing.T) {
	p := startCLIServer(t)
	t.Setenv("HANDINGER_API_KEY", p.key)
	t.Setenv("HANDINGER_BASE_URL", p.url)
	out := mustRun(t, "tasks", "create", "--input", "from the environment", "--task-id", "cli-env")
	if w := decode[gen.Worker](t, out); w.Metadata.TaskID != "cli-env" {
		t.Errorf("create with the environment: %s", out)
	}

	t.Setenv("HANDINGER_FORMAT", "yaml")
	y := mustRun(t, "tasks", "retrieve", "cli-env")
	sameData(t, rawGet(t, p, "/api/tasks/cli-env"), []byte(y))
	if got := mustRun(t, "--format", "json", "tasks", "retrieve", "cli-env"); got != printed(rawGet(t, p, "/api/tasks/cli-env")) {
		t.Errorf("--format json did not override HANDINGER_FORMAT: %s", got)
	}
	if code, _, errs := cliRun(t, "tasks", "list", "--base-url", "http://"+freeAddr(t), "--max-retries", "0"); code != exitNetwork {
		t.Errorf("--base-url did not override HANDINGER_BASE_URL: exit %d %s", code, errs)
	}
	if code, _, errs := cliRun(t, "tasks", "list", "--api-key", "hnd_wrong"); code != exitAPI {
		t.Errorf("--api-key did not override HANDINGER_API_KEY: exit %d %s", code, errs)
	}

	t.Setenv("HANDINGER_FORMAT", "xml")
	if code, _, errs := cliRun(t, "tasks", "list"); code != exitUsage || !strings.Contains(errs, "xml") {
		t.Errorf("HANDINGER_FORMAT=xml: exit %d %s", code, errs)
	}
	t.Setenv("HANDINGER_FORMAT", "")
	t.Setenv("HANDINGER_MAX_RETRIES", "several")
	if code, _, errs := cliRun(t, "tasks", "list"); code != exitUsage || !strings.Contains(errs, "HANDINGER_MAX_RETRIES") {
		t.Errorf("HANDINGER_MAX_RETRIES=several: exit %d %s", code, errs)
	}
	t.Setenv("HANDINGER_MAX_RETRIES", "")
	t.Setenv("HANDINGER_API_KEY", "")
	if code, _, errs := cliRun(t, "tasks", "list"); code != exitUsage {
		t.Errorf("no API key anywhere: exit %d %s", code, errs)
	}
}

func TestTasksHelpAndCompletion(t *testing.T) {
	t.Parallel()
	help := mustRun(t, "--help")
	for _, want := range []string{"Exit codes:", "2  usage error", "3  API error", "4  network error", "tasks", "--api-key", "HANDINGER_API_KEY", "--format"} {
		if !strings.Contains(help, want) {
			t.Errorf("handinger --help lacks %q", want)
		}
	}
	for _, sub := range []string{"create", "retrieve", "archive", "list", "turns"} {
		help := mustRun(t, "tasks", sub, "--help")
		if !strings.Contains(help, "Examples:") || !strings.Contains(help, "handinger tasks "+sub) || !strings.Contains(help, "--base-url") {
			t.Errorf("tasks %s --help has no examples or global flags:\n%s", sub, help)
		}
	}
	if out := mustRun(t, "tasks"); !strings.Contains(out, "Available Commands:") {
		t.Errorf("tasks alone does not print its help:\n%s", out)
	}
	if out := mustRun(t, "__complete", "tasks", "create", "--budget", ""); !strings.Contains(out, "low\nstandard\nhigh\nunlimited\n") {
		t.Errorf("--budget completion:\n%s", out)
	}
	if out := mustRun(t, "__complete", "tasks", "list", "--format", ""); !strings.Contains(out, "pretty\njson\nyaml\n") {
		t.Errorf("--format completion:\n%s", out)
	}
	if out := mustRun(t, "__complete", "tasks", "list", "--status", "c"); !strings.Contains(out, "completed") {
		t.Errorf("--status completion:\n%s", out)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("disk full"), exitError},
		{usageError{errors.New("bad flag")}, exitUsage},
		{fmt.Errorf("open: %w", client.ErrNoAPIKey), exitUsage},
		{fmt.Errorf("retrieve: %w", &client.Error{StatusCode: 404}), exitAPI},
		{fmt.Errorf("retrieve: %w", client.ErrTimeout), exitNetwork},
		{fmt.Errorf("retrieve: %w", &client.ConnectionError{Err: errors.New("refused")}), exitNetwork},
		{context.DeadlineExceeded, exitNetwork},
		{context.Canceled, exitError},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}

	var buf bytes.Buffer
	code := report(&buf, fmt.Errorf("create task: %w", &client.Error{StatusCode: 400, Title: "Invalid request", Detail: "The body is wrong.",
		RequestID: "req-1", Errors: []gen.FieldError{{In: gen.FieldErrorInBody, Pointer: "/input", Detail: "property \"input\" is missing"}}}))
	want := "handinger: 400 Invalid request: The body is wrong.\n  body /input: property \"input\" is missing\n  request id: req-1\n"
	if code != exitAPI || buf.String() != want {
		t.Errorf("report = %d %q, want %d %q", code, buf.String(), exitAPI, want)
	}
	buf.Reset()
	if code := report(&buf, errors.New("handinger: list tasks: connection failed")); code != exitError || buf.String() != "handinger: list tasks: connection failed\n" {
		t.Errorf("report of a client error repeats its prefix: %q", buf.String())
	}
}

// TestTasksBinary runs the built binary with piped output: a create and a
// retrieve print the API's JSON, and help and completion work.
func TestTasksBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the binary and starts a server")
	}
	t.Parallel()
	bin := handingerBinary(t)
	p := startCLIServer(t)
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "HANDINGER_") })
	env = append(env, "HANDINGER_API_KEY="+p.key, "HANDINGER_BASE_URL="+p.url)
	handinger := func(stdin string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("handinger %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), errb.String()
	}

	out, errs := handinger("an input from stdin", "tasks", "create", "--input", "-", "--task-id", "cli-bin")
	if w := decode[gen.Worker](t, out); w.Metadata.TaskID != "cli-bin" || w.Status != gen.WorkerStatusCompleted {
		t.Errorf("create: %s", out)
	}
	if errs != "" {
		t.Errorf("create wrote to a stderr that is not a terminal: %q", errs)
	}
	out, _ = handinger("", "tasks", "retrieve", "cli-bin")
	if want := printed(rawGet(t, p, "/api/tasks/cli-bin")); out != want {
		t.Errorf("retrieve through a pipe is not the API's JSON:\n got %q\nwant %q", out, want)
	}
	if task := decode[gen.TaskWithTurns](t, out); len(task.Turns) != 1 || task.Turns[0].Input != "an input from stdin" {
		t.Errorf("the input did not come from stdin: %+v", task.Turns)
	}

	out, _ = handinger("", "tasks", "--help")
	for _, want := range []string{"create", "retrieve", "archive", "list", "turns", "--api-key", "--format", "Examples:"} {
		if !strings.Contains(out, want) {
			t.Errorf("tasks --help lacks %q:\n%s", want, out)
		}
	}
	out, _ = handinger("", "tasks", "create", "--help")
	for _, want := range []string{"--input", "--worker-id", "--task-id", "--budget", "HANDINGER_API_KEY", "Examples:"} {
		if !strings.Contains(out, want) {
			t.Errorf("tasks create --help lacks %q:\n%s", want, out)
		}
	}
	out, _ = handinger("", "completion", "bash")
	if !strings.Contains(out, "__start_handinger") {
		t.Errorf("completion bash is not a bash completion script:\n%.300s", out)
	}
}
