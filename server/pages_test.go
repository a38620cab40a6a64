package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/handinger/handinger/gen"
)

// chromium is where Debian's chromium package puts the browser; CI installs
// it (.ci/run).
const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium for one test and returns a context for
// a tab in it. Everything the test does in the browser must end within
// limit; the browser is gone when the test ends. Without Chromium the test
// is skipped.
func browser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping the browser test: no Chromium at %s (apt-get install -y chromium): %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	// The flags that work on a machine with no network, as root.
	actx, stop := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// /dev/shm is small in many containers, and Chromium crashes when it fills.
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	t.Cleanup(stop) // waits for the browser to exit, before TempDir is removed
	tab, closeTab := chromedp.NewContext(actx)
	t.Cleanup(closeTab)
	return tab
}

// browse runs the browser steps and fails the test at the first error.
func browse(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// shown reads the visible text of the element with the id.
func shown(t *testing.T, tab context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// openTask opens the page of the task and gives it the key through its form.
func openTask(t *testing.T, tab context.Context, s *stack, id, key string) {
	t.Helper()
	browse(t, tab, "open the task page",
		chromedp.Navigate(s.url+"/tasks/"+id),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Click(chromedp.ID("key-submit")),
	)
}

// dialogs counts the JavaScript dialogs (alert, confirm, prompt) the tab
// opens, and dismisses each so that the page does not hang on it.
func dialogs(t *testing.T, tab context.Context) (count *atomic.Int32, opened <-chan string) {
	t.Helper()
	count = new(atomic.Int32)
	ch := make(chan string, 16)
	events := chromedp.Events(tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			count.Add(1)
			select {
			case ch <- ev.Message:
			default:
			}
			_, _ = chromedp.Call(tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return count, ch
}

// consoleProblems records what the tab reports as wrong from now on: script
// exceptions, and errors and warnings in its console log, such as a
// resource the Content-Security-Policy blocked. The browser's own request
// for /favicon.ico, which the server does not have, is left out. Call the
// returned func to read them.
func consoleProblems(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	add := func(s string) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	if _, err := chromedp.Call(tab, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the console log: %v", err)
	}
	entries := chromedp.Events(tab, cdplog.EntryAdded)
	exceptions := chromedp.Events(tab, cdpruntime.ExceptionThrown)
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			e := ev.Entry
			if (e.Level == cdplog.EntryLevelError || e.Level == cdplog.EntryLevelWarning) && !strings.HasSuffix(e.URL, "/favicon.ico") {
				add(string(e.Level) + ": " + e.Text + " (" + e.URL + ")")
			}
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			add("exception: " + msg)
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// TestTaskPage opens a finished task of two turns in a browser, as a user
// who follows the task's url would.
func TestTaskPage(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	first := s.create(s.alice, gen.CreateTask{Input: "Summarise the quarterly report in three bullets."})
	id := first.JSON200.Metadata.TaskID
	s.create(s.alice, gen.CreateTask{Input: "Now translate the summary into Spanish.", TaskID: &id})
	want := s.retrieve(s.alice, id)
	if len(want.Turns) != 2 || want.Task.Status != gen.TaskStatusCompleted {
		t.Fatalf("the task is not two completed turns: %+v", want)
	}
	if !strings.HasSuffix(want.Task.Url, "/tasks/"+id) {
		t.Fatalf("task url %q does not point at the page", want.Task.Url)
	}

	tab := browser(t, 30*time.Second)
	problems := consoleProblems(t, tab)
	openTask(t, tab, s, id, s.keys["usr_alice"])
	browse(t, tab, "wait for the turns", chromedp.WaitVisible(chromedp.ID("turn-2-output")))

	checks := map[string]string{
		"task-title":      want.Task.Title,
		"task-status":     "completed",
		"task-turn-count": "2",
		"turn-1-seq":      "Turn 1",
		"turn-1-status":   "completed",
		"turn-1-input":    want.Turns[0].Input,
		"turn-1-output":   want.Turns[0].OutputText,
		"turn-2-status":   "completed",
		"turn-2-input":    want.Turns[1].Input,
		"turn-2-output":   want.Turns[1].OutputText,
	}
	for id, w := range checks {
		if got := shown(t, tab, id); got != w {
			t.Errorf("#%s shows %q, want %q", id, got, w)
		}
	}
	if want.Turns[0].OutputText == "" || want.Turns[1].OutputText == want.Turns[0].OutputText {
		t.Errorf("the turns' outputs do not tell them apart: %q, %q", want.Turns[0].OutputText, want.Turns[1].OutputText)
	}
	if form, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById('key-form').hidden`)); !form {
		t.Error("the key form is still shown after the task loaded")
	}

	// The key stays in the tab's session: a reload shows the task without
	// asking again.
	browse(t, tab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("turn-2-output")))
	if got := shown(t, tab, "turn-1-output"); got != want.Turns[0].OutputText {
		t.Errorf("after a reload #turn-1-output shows %q", got)
	}
	for _, p := range problems() {
		t.Errorf("the page reported: %s", p)
	}
}

// TestTaskPageRefreshes follows a running task until its turn completes,
// without a reload.
func TestTaskPageRefreshes(t *testing.T) {
	t.Parallel()
	s := setup(t, options{waitLimit: 50 * time.Millisecond})
	tab := browser(t, 30*time.Second)
	browse(t, tab, "start the browser", chromedp.Navigate("about:blank"))

	problems := consoleProblems(t, tab)
	res := s.create(s.alice, gen.CreateTask{Input: "Think it over. [delay=6s]"})
	if !res.JSON200.Running {
		t.Fatalf("the turn is not running after the wait limit: %+v", res.JSON200)
	}
	openTask(t, tab, s, res.JSON200.Metadata.TaskID, s.keys["usr_alice"])
	browse(t, tab, "wait for the task", chromedp.WaitVisible(chromedp.ID("turn-1-status")))
	if got := shown(t, tab, "task-status"); got != "pending" && got != "running" {
		t.Fatalf("#task-status shows %q while the turn runs", got)
	}
	browse(t, tab, "wait for the turn to complete",
		chromedp.WaitVisible(chromedp.CSS(`#turn-1-status[data-status="completed"]`)))
	want := s.retrieve(s.alice, res.JSON200.Metadata.TaskID)
	if got := shown(t, tab, "task-status"); got != "completed" {
		t.Errorf("#task-status shows %q, want completed", got)
	}
	if got := shown(t, tab, "turn-1-output"); got != want.Turns[0].OutputText {
		t.Errorf("#turn-1-output shows %q, want %q", got, want.Turns[0].OutputText)
	}
	for _, p := range problems() {
		t.Errorf("the page reported: %s", p)
	}
}

// TestTaskPageProblems shows the API's problem, title and detail, on the page
// for a wrong key and for a task that does not exist.
func TestTaskPageProblems(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	id := s.create(s.alice, gen.CreateTask{Input: "Count the rows."}).JSON200.Metadata.TaskID
	const wrongKey = "hnd_not_a_key_of_this_server"
	wrong := problemFor(t, s, "/api/tasks/"+id, wrongKey)
	missing := problemFor(t, s, "/api/tasks/tsk_missing", s.keys["usr_alice"])
	if wrong.Status != http.StatusUnauthorized || missing.Status != http.StatusNotFound {
		t.Fatalf("the API answered %d and %d, want 401 and 404", wrong.Status, missing.Status)
	}

	tab := browser(t, 30*time.Second)
	openTask(t, tab, s, id, wrongKey)
	browse(t, tab, "wait for the problem", chromedp.WaitVisible(chromedp.ID("problem")))
	if got := shown(t, tab, "problem-title"); got != wrong.Title {
		t.Errorf("wrong key: title %q, want %q", got, wrong.Title)
	}
	if got := shown(t, tab, "problem-detail"); got != wrong.Detail {
		t.Errorf("wrong key: detail %q, want %q", got, wrong.Detail)
	}
	if got := shown(t, tab, "problem-status"); got != "401" {
		t.Errorf("wrong key: status %q, want 401", got)
	}
	if stored, _ := chromedp.Run(tab, chromedp.Evaluate[string](`sessionStorage.getItem('handinger.apiKey') || ''`)); stored != "" {
		t.Errorf("the refused key is still stored: %q", stored)
	}

	openTask(t, tab, s, "tsk_missing", s.keys["usr_alice"])
	browse(t, tab, "wait for the problem", chromedp.WaitVisible(chromedp.ID("problem")))
	if got := shown(t, tab, "problem-title"); got != missing.Title {
		t.Errorf("missing task: title %q, want %q", got, missing.Title)
	}
	if got := shown(t, tab, "problem-detail"); got != missing.Detail {
		t.Errorf("missing task: detail %q, want %q", got, missing.Detail)
	}
}

// TestTaskPageEscapesOutput renders markup in a task's input and output as
// text: nothing in it becomes an element or runs.
func TestTaskPageEscapesOutput(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	const markup = `<script>alert(1)</script> <img src=x onerror=alert(2)> <b>bold</b>`
	id := s.create(s.alice, gen.CreateTask{Input: markup}).JSON200.Metadata.TaskID
	want := s.retrieve(s.alice, id)
	if !strings.Contains(want.Turns[0].OutputText, "<script>alert(1)</script>") {
		t.Fatalf("the output does not carry the markup: %q", want.Turns[0].OutputText)
	}

	tab := browser(t, 30*time.Second)
	count, opened := dialogs(t, tab)
	openTask(t, tab, s, id, s.keys["usr_alice"])
	browse(t, tab, "wait for the turn", chromedp.WaitVisible(chromedp.ID("turn-1-output")))

	if got := shown(t, tab, "turn-1-output"); got != want.Turns[0].OutputText {
		t.Errorf("#turn-1-output shows %q, want %q", got, want.Turns[0].OutputText)
	}
	if got := shown(t, tab, "turn-1-input"); got != markup {
		t.Errorf("#turn-1-input shows %q, want %q", got, markup)
	}
	if got := shown(t, tab, "task-title"); got != want.Task.Title {
		t.Errorf("#task-title shows %q, want %q", got, want.Task.Title)
	}
	elements, err := chromedp.Run(tab, chromedp.Evaluate[int](
		`document.querySelectorAll('main script, main img, main b, #task-title *').length`))
	if err != nil {
		t.Fatal(err)
	}
	if elements != 0 {
		t.Errorf("the markup became %d elements of the page", elements)
	}
	// Let an onerror or a timer that slipped through fire, then check.
	browse(t, tab, "settle", chromedp.Sleep(200*time.Millisecond))
	if n := count.Load(); n != 0 {
		t.Errorf("the page opened %d dialog(s): %q", n, <-opened)
	}

	// The dialog listener does see a dialog, so its silence above means
	// something.
	browse(t, tab, "open a dialog", chromedp.Evaluate[chromedp.Void](`setTimeout(() => alert('control'), 0)`))
	select {
	case msg := <-opened:
		if msg != "control" {
			t.Errorf("dialog %q, want the control", msg)
		}
	case <-time.After(5 * time.Second):
		t.Error("the control dialog was not seen: the listener is deaf")
	}
}

// TestPageRoutes checks the pages' answers without a browser: security
// headers, the id rule, methods and the embedded assets.
func TestPageRoutes(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, s.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	cases := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
		plain        bool // not a page route: the server's plain 404
	}{
		{"GET", "/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", 200, "text/html; charset=utf-8", `src="/assets/task.js"`, false},
		{"HEAD", "/tasks/tsk_1", 200, "text/html; charset=utf-8", "", false},
		{"GET", "/workers/wrk_vk81XUHKHG-qr4", 200, "text/html; charset=utf-8", "/api/tasks?workerId=wrk_vk81XUHKHG-qr4", false},
		{"GET", "/assets/task.js", 200, "text/javascript; charset=utf-8", "textContent", false},
		{"GET", "/assets/page.css", 200, "text/css; charset=utf-8", ".turn", false},
		{"GET", "/tasks/bad.id", 400, "application/problem+json", `"pointer":"/taskId"`, false},
		{"GET", "/tasks/%3Cscript%3E", 400, "application/problem+json", `"pointer":"/taskId"`, false},
		{"GET", "/tasks/" + strings.Repeat("t", 65), 400, "application/problem+json", `"pointer":"/taskId"`, false},
		{"GET", "/workers/a%20b", 400, "application/problem+json", `"pointer":"/workerId"`, false},
		{"GET", "/assets/missing.js", 404, "application/problem+json", "not-found", false},
		{method: "GET", path: "/assets/", status: 404, ctype: "application/problem+json", contains: "not-found", plain: true},
		{method: "GET", path: "/tasks/a/b", status: 404, ctype: "application/problem+json", contains: "not-found", plain: true},
		{"POST", "/tasks/tsk_1", 405, "application/problem+json", "method-not-allowed", false},
		{"DELETE", "/workers/wrk_1", 405, "application/problem+json", "method-not-allowed", false},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			res, body := get(c.method, c.path)
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != c.ctype {
				t.Errorf("content type %q, want %q", ct, c.ctype)
			}
			if !strings.Contains(body, c.contains) {
				t.Errorf("body does not contain %q: %.300s", c.contains, body)
			}
			if c.plain {
				return
			}
			for h, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
				t.Errorf("Content-Security-Policy %q allows more than self", csp)
			}
		})
	}

	// The task page holds no data: a task's content never reaches it from
	// the server.
	id := s.create(s.alice, gen.CreateTask{Input: "A secret plan for the quarter."}).JSON200.Metadata.TaskID
	if _, body := get("GET", "/tasks/"+id); strings.Contains(body, "secret") {
		t.Errorf("the task page carries the task's content: %s", body)
	}
}

// problemFor reads the problem the API answers for path with key.
func problemFor(t *testing.T, s *stack, path, key string) problemDoc {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return decodeProblem(t, raw)
}
