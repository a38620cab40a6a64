package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	agentexec "github.com/handinger/handinger/internal/runtimes/exec"
	agentopenai "github.com/handinger/handinger/internal/runtimes/openai"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/validation"
)

// serveOptions are the flags of `handinger serve`.
type serveOptions struct {
	addr          string
	db            string
	publicURL     string
	waitLimit     time.Duration
	validate      string
	maxBody       int64
	runtime       string
	builtinDelay  time.Duration
	execCommand   string
	openai        openaiOptions
	runners       int
	runnersPerOrg int
	lease         time.Duration
	maxAttempts   int
	shutdownGrace time.Duration
	onShutdown    string
	rateLimit     float64
	rateBurst     int
	logFormat     string
	logLevel      string
	debugAddr     string
	metricsAddr   string
	maxConns      int
	drain         time.Duration
	migrateOnly   bool
	gcPercent     int
}

// openaiOptions are the flags of the openai runtime.
type openaiOptions struct {
	baseURL             string
	apiKey              string
	model               string
	tokensPerCredit     int64
	maxOutputTokens     int64
	maxCompletionTokens bool
}

func newServeCommand() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Tasks API server",
		Long: fmt.Sprintf(`Run the Handinger Tasks API server.

With no flags it listens on 127.0.0.1:8080 over an embedded SQLite file (handinger.db in
the working directory), creating and migrating it. When an SQLite database holds no API key
yet, it creates a development key and prints it on a line of its own as "API key: <key>";
for PostgreSQL, make keys with "handinger keys create --db postgres://…".

Databases (--db):
  sqlite:PATH        embedded, for one process (the default).
  postgres://…       PostgreSQL, shared by several replicas: any replica answers any
                     request and runs any turn; wake-ups cross replicas by LISTEN/NOTIFY.
                     A search_path parameter selects the schema. Migrations run on start
                     (--migrate-only runs them and exits); a database whose schema is newer
                     than this binary is refused.
  memory:            in this process's memory, lost when it exits: for demos and tests.

Turns run on a pool of runners that claim them from the database with a lease; a turn
whose process died is run again elsewhere (or after a restart) within about lease + 2 s.

Runtimes (--runtime):
  builtin  a deterministic local stand-in for development and tests: it answers from the
           worker's instructions and the input, counts tokens and charges credits by
           budget, but calls no model. --builtin-delay spreads a delay over each turn;
           "[delay=2s]" and "[fail]" in an input stage a slow or a failing turn.
  exec     runs --exec-command (through /bin/sh -c) once per turn: the turn as JSON on
           stdin (taskId, turnId, seq, workerId, instructions, history, input, budget), the
           output on stdout; a non-zero exit fails the turn with stderr's last line.
  openai   runs each turn as a streamed chat completion of --openai-model against an
           OpenAI-compatible API: OpenAI, or Ollama, vLLM, llama.cpp at --openai-base-url
           (e.g. http://127.0.0.1:11434/v1). The key and the URL default to OPENAI_API_KEY and
           OPENAI_BASE_URL. A turn costs 1 credit plus 1 per --openai-tokens-per-credit output
           tokens as the server counts them; the budget's credits become max_tokens. Failed
           calls end the turn with error code upstream_auth, upstream_rate_limited,
           upstream_bad_request, upstream_unavailable or upstream_timeout. No call is made
           at start-up.

Connections: at most --max-conns are kept open; at the cap the connection idle longest, or
waiting longest for its first request, is closed to make room, so that idle and slow clients
cannot lock others out. A client has %s to send a request's headers and %s for the whole
request; an idle keep-alive connection is closed after %s; an answer may take the wait
limit and 30 s.

Every flag can also be set by the environment variable named in its help.`,
			server.ReadHeaderTimeout, server.ReadTimeout, server.IdleTimeout),
		Args: noArgs,
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen on HOST:PORT")
	f.StringVar(&o.db, "db", server.DefaultDB, server.DBUsage)
	f.BoolVar(&o.migrateOnly, "migrate-only", false, "create or migrate the database, then exit (for deploy pipelines)")
	f.StringVar(&o.publicURL, "public-url", "", "base URL of this server in task and worker links (default http://ADDR)")
	f.DurationVar(&o.waitLimit, "wait-limit", 50*time.Second, "longest a create call waits for its turn before answering it pending or running")
	f.StringVar(&o.validate, "validate", "requests", "OpenAPI validation: off, requests, or full (requests and responses)")
	f.Int64Var(&o.maxBody, "max-body", 1<<20, "largest request body in bytes (larger: 413)")
	f.StringVar(&o.runtime, "runtime", "builtin", "what runs turns: builtin (a local stand-in), exec or openai")
	f.DurationVar(&o.builtinDelay, "builtin-delay", 0, "builtin runtime: time each turn takes")
	f.StringVar(&o.execCommand, "exec-command", "", "exec runtime: command run for each turn, through /bin/sh -c")
	f.StringVar(&o.openai.baseURL, "openai-base-url", "", "openai runtime: base URL of the API, /v1 included, such as http://127.0.0.1:11434/v1 for Ollama (default $OPENAI_BASE_URL, else "+agentopenai.DefaultBaseURL+")")
	f.StringVar(&o.openai.apiKey, "openai-api-key", "", "openai runtime: API key, sent as a bearer token (default $OPENAI_API_KEY; none for a local server that needs none); prefer the environment, a command line is visible to other users")
	f.StringVar(&o.openai.model, "openai-model", "", "openai runtime: model name, such as gpt-4o-mini or llama3.2 (required with --runtime openai)")
	f.Int64Var(&o.openai.tokensPerCredit, "openai-tokens-per-credit", agent.TokensPerCredit, "openai runtime: output tokens per credit; a turn costs 1 credit plus 1 per started this many output tokens")
	f.Int64Var(&o.openai.maxOutputTokens, "openai-max-output-tokens", 0, "openai runtime: most output tokens asked for in a turn, whatever its budget: the model's own limit (0: the budget's alone)")
	f.BoolVar(&o.openai.maxCompletionTokens, "openai-max-completion-tokens", false, "openai runtime: send the output cap as max_completion_tokens, which OpenAI's reasoning models need, instead of max_tokens, which local servers accept")
	f.IntVar(&o.runners, "runners", 64, "turns run at once by this process (0: none, an API-only replica of a shared database)")
	f.IntVar(&o.runnersPerOrg, "runners-per-org", 0, "most turns of one organization run at once by this process, so that others always find a free runner (0: all but a quarter of --runners, at least one left free)")
	f.DurationVar(&o.lease, "lease", 10*time.Second, "how long a claimed turn stays claimed without a heartbeat")
	f.IntVar(&o.maxAttempts, "max-attempts", 3, "claims of a turn before it ends in error")
	f.DurationVar(&o.drain, "drain", 5*time.Second, "on SIGINT/SIGTERM, time the server goes on serving with /readyz answering 503, so that load balancers stop sending it work, before the grace begins")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 10*time.Second, "on SIGINT/SIGTERM, time given to requests and running turns to finish (waiting creates answer at once)")
	f.StringVar(&o.onShutdown, "on-shutdown", "resume", "turns still running after the grace: resume (run again on restart) or abort")
	f.Float64Var(&o.rateLimit, "rate-limit", 0, "requests per second allowed per API key (0: no limit)")
	f.IntVar(&o.rateBurst, "rate-burst", 0, "requests above the rate allowed at once (default twice the rate)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.IntVar(&o.maxConns, "max-conns", 0, "most connections kept open (0: the file descriptor limit less an eighth); at the cap the idlest connection is closed for a newcomer")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve /metrics on this HOST:PORT instead of the API's address, so that it need not be public (it shows request counts and latencies by route, turns finished and the queue's depth; no keys, ids or contents)")
	f.StringVar(&o.debugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof) on this HOST:PORT (off when empty)")
	f.IntVar(&o.gcPercent, "gc-percent", 400, "Go's GOGC for the server: the heap may grow by this percentage over live memory before a collection (a few MiB here); a GOGC variable wins")
	applyEnv := bindEnv(f)
	cmd.PreRunE = func(*cobra.Command, []string) error { return applyEnv() }
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return serve(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	return cmd
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: %w", level, err)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}

func newRuntime(o serveOptions) (agent.Runtime, error) {
	switch o.runtime {
	case "builtin":
		return &builtin.Runtime{Delay: o.builtinDelay}, nil
	case "exec":
		if strings.TrimSpace(o.execCommand) == "" {
			return nil, usageError{errors.New("--runtime exec needs --exec-command")}
		}
		return &agentexec.Runtime{Command: []string{"/bin/sh", "-c", o.execCommand}}, nil
	case "openai":
		return newOpenAIRuntime(o.openai)
	}
	return nil, usageError{fmt.Errorf("--runtime %q: want builtin, exec or openai", o.runtime)}
}

// newOpenAIRuntime checks the openai runtime's flags and builds it, without
// calling the API. Its errors never show the key.
func newOpenAIRuntime(o openaiOptions) (agent.Runtime, error) {
	if strings.TrimSpace(o.model) == "" {
		return nil, usageError{errors.New("--runtime openai needs --openai-model")}
	}
	if o.tokensPerCredit < 1 {
		return nil, usageError{fmt.Errorf("--openai-tokens-per-credit %d: want 1 or more", o.tokensPerCredit)}
	}
	if o.maxOutputTokens < 0 {
		return nil, usageError{fmt.Errorf("--openai-max-output-tokens %d: want 0 (no cap) or more", o.maxOutputTokens)}
	}
	rt, err := agentopenai.New(agentopenai.Config{
		BaseURL: o.baseURL, APIKey: o.apiKey, Model: o.model, TokensPerCredit: o.tokensPerCredit,
		MaxOutputTokens: o.maxOutputTokens, MaxCompletionTokens: o.maxCompletionTokens,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return rt, nil
}

func serve(ctx context.Context, o serveOptions, stdout, stderr io.Writer) error {
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	mode, err := validation.ParseMode(o.validate)
	if err != nil {
		return usageError{fmt.Errorf("--validate: %w", err)}
	}
	if _, set := os.LookupEnv("GOGC"); !set && o.gcPercent != 100 {
		debug.SetGCPercent(o.gcPercent)
	}
	if o.runners < 0 {
		return usageError{fmt.Errorf("--runners %d: want 0 or more", o.runners)}
	}
	if o.runnersPerOrg < 0 {
		return usageError{fmt.Errorf("--runners-per-org %d: want 0 or more", o.runnersPerOrg)}
	}
	if o.drain < 0 {
		return usageError{fmt.Errorf("--drain %s: want 0 or more", o.drain)}
	}
	if o.maxConns < 0 {
		return usageError{fmt.Errorf("--max-conns %d: want 0 (the default) or more", o.maxConns)}
	}
	if o.waitLimit <= 0 {
		return usageError{fmt.Errorf("--wait-limit %s: want a positive duration", o.waitLimit)}
	}
	onShutdown := server.ShutdownMode(o.onShutdown)
	if onShutdown != server.ShutdownResume && onShutdown != server.ShutdownAbort {
		return usageError{fmt.Errorf("--on-shutdown %q: want resume or abort", o.onShutdown)}
	}
	rt, err := newRuntime(o)
	if err != nil {
		return err
	}
	if o.migrateOnly {
		if err := server.Migrate(ctx, o.db); err != nil {
			return dbError(err)
		}
		log.Info("database migrated", "db", server.RedactDB(o.db))
		return nil
	}

	// Listen first, so that a busy port fails before anything is written.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer ln.Close()
	if o.publicURL == "" {
		o.publicURL = "http://" + ln.Addr().String()
	}
	srv, err := server.New(ctx, server.Config{
		DB: o.db, Runtime: rt, Runners: o.runners, RunnersPerOrg: o.runnersPerOrg, NoRunners: o.runners == 0,
		Lease: o.lease, MaxAttempts: o.maxAttempts, OnShutdown: onShutdown,
		PublicURL: o.publicURL, WaitLimit: o.waitLimit, Validate: mode, MaxBodyBytes: o.maxBody,
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, Logger: log, PrivateMetrics: o.metricsAddr != "", MaxConns: o.maxConns, Drain: o.drain,
	})
	if err != nil {
		return dbError(err)
	}
	defer srv.Close()
	// Only a database this process owns gets a development key: replicas
	// of a shared one would each print a working key into their logs.
	key, err := srv.DevelopmentKey(ctx)
	if err != nil {
		return err
	}
	if key != "" {
		fmt.Fprintf(stdout, "Created a development API key for user %s in organization %s.\nAPI key: %s\n",
			server.DevUser, server.DevOrg, key)
	}
	if o.runners == 0 {
		log.Warn("--runners 0: this process runs no turns; other replicas of the database must")
	}

	if o.debugAddr != "" {
		go serveDebug(o.debugAddr, log)
	}
	if o.metricsAddr != "" {
		mln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for the metrics: %w", o.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.Metrics())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		defer ms.Close()
		go func() { _ = ms.Serve(mln) }()
		log.Info("serving the metrics", "addr", mln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving the Handinger Tasks API", "url", o.publicURL, "db", server.RedactDB(o.db), "runtime", o.runtime, "validate", o.validate)
	if r, ok := rt.(*agentopenai.Runtime); ok {
		log.Info("turns run as chat completions", "endpoint", r.Endpoint(), "model", r.Model())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain", o.drain, "grace", o.shutdownGrace)
	grace, cancel := context.WithTimeout(context.Background(), o.drain+o.shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(grace)
	log.Info("stopped")
	return nil
}

// dbError makes the errors of a --db value the server refuses usage errors.
func dbError(err error) error {
	switch {
	case errors.Is(err, server.ErrNotShared):
		return usageError{fmt.Errorf("--runners 0 needs a database other replicas run turns from (postgres://…): %w", err)}
	case errors.Is(err, server.ErrDBAddress):
		return usageError{err}
	}
	return err
}

// serveDebug serves the Go profiler on its own listener, never on the API's.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving the profiler", "addr", addr)
	if err := srv.ListenAndServe(); err != nil {
		log.Error("profiler stopped", "err", err)
	}
}
