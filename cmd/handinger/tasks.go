package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
)

// spinnerInterval is how often the create spinner redraws.
const spinnerInterval = 100 * time.Millisecond

// clientOptions are the global flags: they configure the client of the tasks
// commands and may stand anywhere on the command line.
type clientOptions struct {
	apiKey     string
	baseURL    string
	format     string
	timeout    time.Duration
	maxRetries int

	applyEnv func() error
}

// register adds the global flags to fs, the root's persistent flags.
func (o *clientOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.apiKey, "api-key", "", "tasks commands: API key")
	fs.StringVar(&o.baseURL, "base-url", client.DefaultBaseURL, "tasks commands: base URL of the Tasks API")
	fs.StringVar(&o.format, "format", "", "tasks commands: output format, pretty, json or yaml (default pretty on a terminal, json otherwise)")
	fs.DurationVar(&o.timeout, "timeout", client.DefaultTimeout, "tasks commands: time allowed for each attempt of a request, 0 for no limit")
	fs.IntVar(&o.maxRetries, "max-retries", client.DefaultMaxRetries, "tasks commands: retries of a request that failed on the network, timed out or got a 408, 429 or 5xx")
	o.applyEnv = bindEnv(fs)
}

// tasksSession is what a tasks command works with: a client and where and how
// to print.
type tasksSession struct {
	client *client.Client
	format outputFormat
	stdout io.Writer
	stderr io.Writer
}

// open reads the global flags (and their environment variables) and makes the
// client. A missing API key or a bad flag value is a usage error.
func (o *clientOptions) open(cmd *cobra.Command) (*tasksSession, error) {
	if err := o.applyEnv(); err != nil {
		return nil, err
	}
	format, err := resolveFormat(o.format, cmd.OutOrStdout())
	if err != nil {
		return nil, err
	}
	if o.apiKey == "" {
		return nil, usageError{fmt.Errorf("no API key: pass --api-key or set %s", envName("api-key"))}
	}
	u, err := url.Parse(o.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--base-url %q: want an http:// or https:// URL", o.baseURL)}
	}
	if o.timeout < 0 {
		return nil, usageError{fmt.Errorf("--timeout %s: want 0 (no limit) or more", o.timeout)}
	}
	if o.maxRetries < 0 {
		return nil, usageError{fmt.Errorf("--max-retries %d: want 0 or more", o.maxRetries)}
	}
	c, err := client.New(client.WithAPIKey(o.apiKey), client.WithBaseURL(strings.TrimRight(o.baseURL, "/")),
		client.WithTimeout(o.timeout), client.WithMaxRetries(o.maxRetries))
	if errors.Is(err, client.ErrNoAPIKey) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("configure the client: %w", err)}
	}
	return &tasksSession{client: c, format: format, stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr()}, nil
}

// print prints an answer: body as the API sent it (json), converted (yaml),
// or the short view pretty draws.
func (s *tasksSession) print(body []byte, pretty func(io.Writer) error) error {
	switch s.format {
	case formatJSON:
		return writeRaw(s.stdout, body)
	case formatYAML:
		return writeYAML(s.stdout, body)
	}
	return pretty(s.stdout)
}

// taskIDArg accepts exactly one non-empty TASK_ID; anything else is a usage
// error.
func taskIDArg(cmd *cobra.Command, args []string) error {
	var problem string
	switch {
	case len(args) == 0:
		problem = "missing TASK_ID"
	case len(args) > 1:
		problem = fmt.Sprintf("want one TASK_ID, got %d arguments", len(args))
	case strings.TrimSpace(args[0]) == "":
		problem = "TASK_ID is empty"
	default:
		return nil
	}
	return usageError{fmt.Errorf("%s (usage: %s)", problem, cmd.UseLine())}
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (usage: %s)", args[0], cmd.UseLine())}
	}
	return nil
}

// helpOrUnknown is the RunE of a command that only groups subcommands: alone
// it prints its help; followed by a word that names no subcommand it is a
// usage error (cobra would print the help and succeed).
func helpOrUnknown(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usageError{errors.New(msg)}
}

// fixedValues completes a flag from a fixed list.
func fixedValues(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// budgetValues and statusValues are the values the API takes for --budget and --status.
var (
	budgetValues = []string{string(gen.BudgetLow), string(gen.BudgetStandard), string(gen.BudgetHigh), string(gen.BudgetUnlimited)}
	statusValues = []string{string(gen.TaskStatusPending), string(gen.TaskStatusRunning), string(gen.TaskStatusCompleted),
		string(gen.TaskStatusError), string(gen.TaskStatusAborted)}
)

// newTasksCommand is `handinger tasks` and its subcommands, the client of the
// Tasks API.
func newTasksCommand(o *clientOptions) *cobra.Command {
	tasks := &cobra.Command{
		Use:   "tasks",
		Short: "Create, inspect, list and archive tasks (the API client)",
		Long: `Call the Handinger Tasks API: run turns, read tasks and their turns, list and archive them.

The API key comes from --api-key or HANDINGER_API_KEY, the server from --base-url or
HANDINGER_BASE_URL (default ` + client.DefaultBaseURL + `; a local "handinger serve" listens on
http://127.0.0.1:8080). The global flags may stand anywhere on the command line.

--format json prints the API's answer exactly as it was sent, --format yaml the same
data as YAML (keys in the same order), --format pretty a short view for people. Without
--format, the output is pretty on a terminal and json otherwise.`,
		Example: `  export HANDINGER_API_KEY=hnd_...
  handinger tasks create --input "Summarise this report in five bullet points."
  handinger tasks retrieve tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D
  handinger tasks list --status completed --format json | jq '.items[].id'`,
		Args: cobra.ArbitraryArgs,
		RunE: helpOrUnknown,
	}
	tasks.AddCommand(newTasksCreateCommand(o), newTasksRetrieveCommand(o), newTasksArchiveCommand(o),
		newTasksListCommand(o), newTasksTurnsCommand(o))
	return tasks
}

// newTasksCreateCommand is `handinger tasks create`.
func newTasksCreateCommand(o *clientOptions) *cobra.Command {
	var input, workerID, taskID, budget, idempotencyKey string
	cmd := &cobra.Command{
		Use:   "create --input TEXT [--worker-id ID] [--task-id ID] [--budget BUDGET]",
		Short: "Run a turn: start a task, or add a follow-up to one",
		Long: `Run a turn and wait for its result (POST /api/tasks).

Without --task-id, or with an id no task has yet, a new task is started; with the id of
an existing task, the turn is a follow-up and sees the earlier turns. Without --worker-id,
a worker is created with the input as its instructions.

The server waits up to its wait limit (50 s by default) for the turn; a turn still
pending or running then is reported as such and goes on: follow it with
"handinger tasks retrieve TASK_ID". While the command waits and stderr is a terminal, a
spinner shows the time elapsed.

Pretty output shows the task id, the status, the output text and the usage.`,
		Example: `  handinger tasks create --input "List three uses of a paperclip."
  handinger tasks create --input "Now in French." --task-id tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D
  handinger tasks create --input - --budget low < prompt.txt
  handinger tasks create --input "Hello" --format json | jq -r .metadata.taskId`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read the input from stdin: %w", err)
				}
				input = string(b)
			}
			if strings.TrimSpace(input) == "" {
				return usageError{errors.New("tasks create: --input is required and may not be empty")}
			}
			if budget != "" && !slices.Contains(budgetValues, budget) {
				return usageError{fmt.Errorf("--budget %q: want one of %s", budget, strings.Join(budgetValues, ", "))}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			body := gen.CreateTask{Input: input}
			if workerID != "" {
				body.WorkerID = &workerID
			}
			if taskID != "" {
				body.TaskID = &taskID
			}
			if budget != "" {
				b := gen.Budget(budget)
				body.Budget = &b
			}
			var raw []byte
			opts := []client.Option{client.WithResponseBody(&raw)}
			if idempotencyKey != "" {
				opts = append(opts, client.WithIdempotencyKey(idempotencyKey))
			}
			var spin *spinner
			if isTerminal(s.stderr) {
				spin = startSpinner(s.stderr, "running the turn", spinnerInterval)
			}
			created, err := s.client.Tasks.Create(cmd.Context(), body, opts...)
			if spin != nil {
				spin.Stop()
			}
			if err != nil {
				return err // the client's errors name the operation
			}
			return s.print(raw, func(w io.Writer) error {
				return printCreated(w, createdView{TaskID: created.TaskID, TurnID: created.TurnID, Seq: created.Seq, Worker: created.Worker})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "", `input of the turn (for a new worker also its instructions); "-" reads it from stdin (required)`)
	f.StringVar(&workerID, "worker-id", "", "run the turn on this worker (default: a new worker made from the input)")
	f.StringVar(&taskID, "task-id", "", "id of the task: an existing task gets a follow-up turn, a new id starts a task with that id")
	f.StringVar(&budget, "budget", "", "compute budget of each turn: low, standard, high or unlimited (server default: standard)")
	f.StringVar(&idempotencyKey, "idempotency-key", "", "a retried create with the same key answers the first one's result instead of running again")
	_ = cmd.RegisterFlagCompletionFunc("budget", fixedValues(budgetValues...))
	return cmd
}

// newTasksRetrieveCommand is `handinger tasks retrieve`.
func newTasksRetrieveCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "retrieve TASK_ID",
		Short: "Show a task and all its turns",
		Long: `Show a task and every one of its turns in seq order, archived or not
(GET /api/tasks/{taskId}).`,
		Example: `  handinger tasks retrieve tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D
  handinger tasks retrieve tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D --format json | jq -r '.turns[-1].outputText'`,
		Args:              taskIDArg,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			var raw []byte
			task, err := s.client.Tasks.Retrieve(cmd.Context(), args[0], client.WithResponseBody(&raw))
			if err != nil {
				return err // the client's errors name the operation and the task
			}
			return s.print(raw, func(w io.Writer) error { return printTask(w, task) })
		},
	}
}

// newTasksArchiveCommand is `handinger tasks archive`.
func newTasksArchiveCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "archive TASK_ID",
		Short: "Archive a task",
		Long: `Archive a task (DELETE /api/tasks/{taskId}): it leaves the list and takes no more turns,
but stays retrievable. Archiving an archived task succeeds again. Only the user who created
the task's worker may archive it.`,
		Example:           `  handinger tasks archive tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D`,
		Args:              taskIDArg,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			var raw []byte
			if _, err := s.client.Tasks.Archive(cmd.Context(), args[0], client.WithResponseBody(&raw)); err != nil {
				return err // the client's errors name the operation and the task
			}
			return s.print(raw, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "archived %s\n", oneLine(args[0], 0))
				return err
			})
		},
	}
}

// newTasksListCommand is `handinger tasks list`.
func newTasksListCommand(o *clientOptions) *cobra.Command {
	var (
		p     client.ListParams
		limit int
		state string
		all   bool
	)
	cmd := &cobra.Command{
		Use:   "list [--worker-id ID] [--status STATUS] [--limit N] [--cursor C] [--all]",
		Short: "List tasks, newest first",
		Long: `List the organization's tasks that are not archived, newest first (GET /api/tasks).

One page is read: --limit tasks at most (the server's default is 20, its maximum 100).
Pretty output ends with the cursor of the next page when there is one; pass it as
--cursor to read that page. With --format json the page is printed as the API sent it,
nextCursor included.

--all reads every page from --cursor (or the first) to the last, --limit tasks at a
time. With --format json (or yaml) it prints one JSON array (or YAML list) of the tasks
of all pages, each as the API sent it; the pages' nextCursor members are left out.`,
		Example: `  handinger tasks list
  handinger tasks list --status running --limit 50
  handinger tasks list --worker-id wrk_vk81XUHKHG-qr4 --all --format json | jq length`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" && !slices.Contains(statusValues, state) {
				return usageError{fmt.Errorf("--status %q: want one of %s", state, strings.Join(statusValues, ", "))}
			}
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d: want a positive number", limit)}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			p.Status, p.PageSize = gen.TaskStatus(state), limit
			if !all {
				var raw []byte
				page, err := s.client.Tasks.ListPage(cmd.Context(), p, client.WithResponseBody(&raw))
				if err != nil {
					return err // the client's errors name the operation
				}
				return s.print(raw, func(w io.Writer) error { return printTaskTable(w, page.Items, strOrEmpty(page.NextCursor)) })
			}
			var (
				bodies [][]byte
				items  []gen.Task
			)
			for {
				var raw []byte
				page, err := s.client.Tasks.ListPage(cmd.Context(), p, client.WithResponseBody(&raw))
				if err != nil {
					return err // the client's errors name the operation
				}
				bodies, items = append(bodies, raw), append(items, page.Items...)
				next := strOrEmpty(page.NextCursor)
				if next == "" {
					break
				}
				if next == p.Cursor {
					return fmt.Errorf("list tasks (page %d): the server answered the same cursor again", len(bodies))
				}
				p.Cursor = next
			}
			merged, err := mergeItems(bodies)
			if err != nil {
				return err
			}
			return s.print(merged, func(w io.Writer) error { return printTaskTable(w, items, "") })
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.WorkerID, "worker-id", "", "only tasks of this worker")
	f.StringVar(&state, "status", "", "only tasks in this status: "+strings.Join(statusValues, ", "))
	f.IntVar(&limit, "limit", 0, "most tasks on a page (default: the server's, 20)")
	f.StringVar(&p.Cursor, "cursor", "", "start at this page: the nextCursor of the page before")
	f.BoolVar(&all, "all", false, "read every page; json and yaml print one array of all their tasks")
	_ = cmd.RegisterFlagCompletionFunc("status", fixedValues(statusValues...))
	return cmd
}

// newTasksTurnsCommand is `handinger tasks turns`.
func newTasksTurnsCommand(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "turns TASK_ID",
		Short: "List the turns of a task",
		Long:  `List every turn of a task in seq order, unpaged (GET /api/tasks/{taskId}/turns).`,
		Example: `  handinger tasks turns tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D
  handinger tasks turns tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D --format yaml`,
		Args:              taskIDArg,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			var raw []byte
			turns, err := s.client.Tasks.Turns(cmd.Context(), args[0], client.WithResponseBody(&raw))
			if err != nil {
				return err // the client's errors name the operation and the task
			}
			return s.print(raw, func(w io.Writer) error {
				if _, err := fmt.Fprintf(w, "task %s: %s\n", oneLine(turns.TaskID, 0), countOf(int64(len(turns.Items)), "turn")); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
				return printTurns(w, turns.Items)
			})
		},
	}
}

// strOrEmpty is *s, or "" for nil.
func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
