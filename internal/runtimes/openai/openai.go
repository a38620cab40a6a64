// Package openai runs each turn as one streamed chat completion against an
// OpenAI-compatible endpoint: OpenAI itself, or a local server such as
// Ollama, vLLM or llama.cpp's llama-server, through the official openai-go
// client.
//
// # The call
//
// A turn is one POST {BaseURL}/chat/completions with "stream": true. Its
// messages are the worker's instructions as the system message (left out
// when empty), the task's earlier turns (Request.History) as user and
// assistant messages in order, and the turn's input as the last user
// message. Each content delta is passed to emit as it arrives; nothing
// buffers the stream. stream_options.include_usage asks for a last chunk
// with the token usage.
//
// When Request.OutputSchema is set, it is sent as response_format
// {"type": "json_schema", "json_schema": {"name": "output", "strict": false,
// "schema": …}}: strict is false because most local servers accept nothing
// else. The runtime returns the text; the server validates it against the
// schema afterwards, so Result.StructuredOutput stays nil.
//
// # Tokens and credits
//
// InputTokens and OutputTokens are the server's usage (prompt_tokens,
// completion_tokens). A server that reports no usage (an older one that
// ignores stream_options, or one that reports zeros) gets the estimates every
// runtime of this project uses instead: agent.InputTokens of the request and
// agent.CountTokens of the output, one token per word, which undercounts
// real tokens, so such a turn is charged less than its true cost. A stream
// that ends with a finish_reason but breaks before its usage chunk counts as
// a whole answer, with the estimates.
//
// A turn costs what agent.Credits charges, at Config.TokensPerCredit output
// tokens per credit instead of agent.TokensPerCredit: one credit for the turn
// plus one per started TokensPerCredit output tokens. As in the other
// runtimes, input is not charged.
//
// # Budgets
//
// The budget's credit cap becomes the call's max_tokens: the most output
// tokens whose credits the cap pays for, (MaxCredits-1) × TokensPerCredit,
// and at most Config.MaxOutputTokens when that is set; MaxCredits 0 sends no
// cap (or MaxOutputTokens). max_tokens is what every local server accepts;
// OpenAI's reasoning models want max_completion_tokens instead, which
// Config.MaxCompletionTokens selects. A budget that pays for no output token
// at all ends the turn at once, without a call. A turn the server stops with
// finish_reason "length" ends with the output so far and Incomplete set to
// agent.IncompleteBudget, and no error; any other finish_reason ("stop",
// "content_filter", …) ends it as completed.
//
// The budget's time cap (MaxTime) is a deadline on the call's context, which
// covers openai-go's retries too. When it passes while the model is writing,
// the turn ends like on "length": the output so far, agent.IncompleteBudget.
// When it passes before the model wrote anything, the turn fails with
// upstream_timeout, since an empty answer would hide a server that never
// answered.
//
// When ctx is cancelled (the server shuts down), Run returns the output so
// far, Incomplete set to agent.IncompleteShutdown and ctx.Err().
//
// # Failures
//
// A call that fails ends the turn with an agent.FailureWithCode error whose
// code says why:
//
//	upstream_auth          401 or 403: the key is missing, wrong or not allowed
//	upstream_rate_limited  429, after openai-go's retries
//	upstream_bad_request   another 4xx: a context too long, an unknown model, …
//	upstream_unavailable   5xx, a refused connection, a failed DNS lookup, a
//	                       stream that broke off or carried an error
//	upstream_timeout       408 or 504, a network timeout, a deadline on ctx, or
//	                       the budget's time cap before any output
//
// The message is short and meant for the caller: what went wrong, the HTTP
// status, and the upstream's own message cut to 300 bytes, with the
// API key scrubbed from it (for 401 and 403 the upstream's message is left
// out). The API key is never logged nor put in an error.
//
// # Restarts
//
// The runtime keeps no state between turns and nothing on the upstream: a
// turn re-run after a crash makes its call afresh, from the start.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/handinger/handinger/agent"
)

// DefaultBaseURL is the endpoint of a Config that names none and finds no
// OPENAI_BASE_URL in the environment.
const DefaultBaseURL = "https://api.openai.com/v1"

// schemaName is the json_schema.name sent with an output schema; the API
// requires one, and nothing reads it back.
const schemaName = "output"

// Config configures a Runtime. Empty fields take openai-go's conventions.
type Config struct {
	// BaseURL is the API's base, up to and including /v1, such as
	// http://127.0.0.1:11434/v1 for Ollama. Empty means $OPENAI_BASE_URL,
	// else DefaultBaseURL.
	BaseURL string
	// APIKey is sent as a bearer token. Empty means $OPENAI_API_KEY; when
	// that is empty too, no Authorization header is sent (local servers
	// need none).
	APIKey string
	// Model is the model name the endpoint knows, such as "gpt-4o-mini" or
	// "llama3.2". Required.
	Model string
	// TokensPerCredit is the price of output: a turn costs one credit plus
	// one per started TokensPerCredit output tokens. 0 means
	// agent.TokensPerCredit, the price the other runtimes charge.
	TokensPerCredit int64
	// MaxOutputTokens, when not 0, caps the max_tokens sent: the model's own
	// limit on output (OpenAI refuses a max_tokens above it, vLLM one that
	// does not fit the context window).
	MaxOutputTokens int64
	// MaxCompletionTokens sends the cap as max_completion_tokens, which
	// OpenAI's reasoning models require, instead of max_tokens, which every
	// local server accepts.
	MaxCompletionTokens bool
	// HTTPClient makes the calls; nil means openai-go's default client.
	HTTPClient *http.Client
	// MaxRetries is how many times openai-go retries a call that failed
	// with 408, 409, 429, a 5xx or a connection error, with backoff, within
	// the budget's time cap. 0 means openai-go's default (2); a negative
	// number means none.
	MaxRetries int
}

// String describes c without its API key, so that printing a Config with
// %v leaks nothing.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("{BaseURL:%s APIKey:%s Model:%s TokensPerCredit:%d MaxOutputTokens:%d MaxCompletionTokens:%t MaxRetries:%d}",
		redactURL(c.BaseURL), key, c.Model, c.TokensPerCredit, c.MaxOutputTokens, c.MaxCompletionTokens, c.MaxRetries)
}

// LogValue is String for log/slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Runtime runs turns as chat completions. It keeps no state between turns,
// so one Runtime may run turns concurrently, and re-running a turn calls the
// model again.
type Runtime struct {
	client              sdk.Client
	endpoint            string // BaseURL without credentials, for logs
	model               string
	tokensPerCredit     int64
	maxOutputTokens     int64
	maxCompletionTokens bool
	scrub               func(string) string // removes the API key from upstream text
}

var _ agent.Runtime = (*Runtime)(nil)

// New returns a Runtime for cfg, reading OPENAI_BASE_URL and OPENAI_API_KEY
// from the environment for the fields cfg leaves empty (openai-go also reads
// its other variables, such as OPENAI_ORG_ID). It makes no call. Its errors
// name the field that is wrong and never carry the key.
func New(cfg Config) (*Runtime, error) {
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, errors.New("openai runtime: no model configured")
	}
	if cfg.TokensPerCredit < 0 {
		return nil, fmt.Errorf("openai runtime: tokens per credit %d: want 1 or more (0: %d)", cfg.TokensPerCredit, agent.TokensPerCredit)
	}
	if cfg.MaxOutputTokens < 0 {
		return nil, fmt.Errorf("openai runtime: max output tokens %d: want 0 (no cap) or more", cfg.MaxOutputTokens)
	}
	base := cfg.BaseURL
	if base == "" {
		base = os.Getenv("OPENAI_BASE_URL")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		// url.Parse's error quotes the whole URL, credentials and all.
		return nil, errors.New("openai runtime: the base URL does not parse: want http://HOST[:PORT]/PATH or https://…")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai runtime: base URL %q: want http://HOST[:PORT]/PATH or https://…", redactURL(base))
	}
	key := cfg.APIKey
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}

	opts := []option.RequestOption{option.WithBaseURL(base)}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	switch {
	case cfg.MaxRetries < 0:
		opts = append(opts, option.WithMaxRetries(0))
	case cfg.MaxRetries > 0:
		opts = append(opts, option.WithMaxRetries(cfg.MaxRetries))
	}
	tpc := cfg.TokensPerCredit
	if tpc == 0 {
		tpc = agent.TokensPerCredit
	}
	return &Runtime{
		client:              sdk.NewClient(opts...),
		endpoint:            redactURL(base),
		model:               cfg.Model,
		tokensPerCredit:     tpc,
		maxOutputTokens:     cfg.MaxOutputTokens,
		maxCompletionTokens: cfg.MaxCompletionTokens,
		scrub:               scrubber(key),
	}, nil
}

// Endpoint is the base URL the runtime calls, without credentials or query,
// for logs.
func (r *Runtime) Endpoint() string { return r.endpoint }

// Model is the model the runtime asks for.
func (r *Runtime) Model() string { return r.model }

// errBudgetTime is the cause of the call's context ending at the budget's
// time cap, as opposed to the caller's context ending.
var errBudgetTime = errors.New("the budget's time cap passed")

// Run runs req as one streamed chat completion. emit, when not nil, receives
// each content delta as it arrives, from Run's goroutine and never after Run
// returns; the deltas add up to Result.OutputText.
//
// A turn stopped by its budget (finish_reason "length", the time cap while
// the model writes, or a credit cap that pays for no output) returns the
// output so far, Incomplete set to agent.IncompleteBudget and a nil error.
// When ctx is cancelled, Run returns the output so far, Incomplete set to
// agent.IncompleteShutdown and ctx.Err(). A failed call returns the output
// so far and an error that matches agent.ErrFailed, whose code
// (agent.ErrorCode) is one of the package doc's and whose message is meant
// for the caller.
func (r *Runtime) Run(ctx context.Context, req agent.Request, emit func(delta string)) (agent.Result, error) {
	res := agent.Result{InputTokens: agent.InputTokens(req), Credits: r.credits(0)}
	if err := ctx.Err(); err != nil {
		res.Incomplete = agent.IncompleteShutdown
		return res, err
	}
	maxTokens := r.maxTokens(req.Budget.MaxCredits)
	if maxTokens == 0 {
		res.Incomplete = agent.IncompleteBudget
		return res, nil
	}

	callCtx := ctx
	if req.Budget.MaxTime > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeoutCause(ctx, req.Budget.MaxTime, errBudgetTime)
		defer cancel()
	}
	// The last HTTP answer, so that an error answer openai-go cannot read
	// still has its status.
	var httpRes *http.Response
	stream := r.client.Chat.Completions.NewStreaming(callCtx, r.params(req, maxTokens), option.WithResponseInto(&httpRes))
	defer stream.Close()

	var (
		out    strings.Builder
		usage  *sdk.CompletionUsage
		finish string
	)
	for stream.Next() {
		chunk := stream.Current()
		if chunk.JSON.Usage.Valid() {
			u := chunk.Usage
			usage = &u
		}
		for i := range chunk.Choices {
			c := &chunk.Choices[i]
			if c.Index != 0 {
				continue // n is 1: other choices are not asked for
			}
			// A refusal stands for the content: it tells the caller
			// why there is no answer.
			for _, delta := range [2]string{c.Delta.Content, c.Delta.Refusal} {
				if delta == "" {
					continue
				}
				out.WriteString(delta)
				if emit != nil {
					emit(delta)
				}
			}
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
	streamErr := stream.Err()

	res.OutputText = out.String()
	res.OutputTokens = agent.CountTokens(res.OutputText)
	// A server may send a usage of zeros: an estimate is nearer the truth.
	if usage != nil && usage.PromptTokens > 0 {
		res.InputTokens = usage.PromptTokens
	}
	if usage != nil && (usage.CompletionTokens > 0 || res.OutputText == "") {
		res.OutputTokens = usage.CompletionTokens
	}
	res.Credits = r.credits(res.OutputTokens)

	// A finish_reason means the answer is whole, even if the stream broke
	// before its usage chunk.
	switch {
	case finish == "length":
		res.Incomplete = agent.IncompleteBudget
		return res, nil
	case finish != "":
		return res, nil
	case errors.Is(ctx.Err(), context.Canceled):
		res.Incomplete = agent.IncompleteShutdown
		return res, ctx.Err()
	case ctx.Err() != nil:
		return res, agent.FailureWithCode(CodeTimeout, "the turn's deadline passed while the model server answered", ctx.Err())
	case errors.Is(context.Cause(callCtx), errBudgetTime):
		if res.OutputText != "" {
			res.Incomplete = agent.IncompleteBudget
			return res, nil
		}
		return res, agent.FailureWithCode(CodeTimeout,
			fmt.Sprintf("the model server did not answer within the budget's %s", req.Budget.MaxTime), context.DeadlineExceeded)
	case streamErr == nil:
		return res, agent.FailureWithCode(CodeUnavailable, "the model server's stream ended before its answer did (no finish_reason)", nil)
	}
	return res, r.failure(streamErr, httpRes)
}

// params is the chat completion request of req.
func (r *Runtime) params(req agent.Request, maxTokens int64) sdk.ChatCompletionNewParams {
	msgs := make([]sdk.ChatCompletionMessageParamUnion, 0, len(req.History)+2)
	if req.Instructions != "" {
		msgs = append(msgs, sdk.SystemMessage(req.Instructions))
	}
	for _, m := range req.History {
		if m.Role == "assistant" {
			msgs = append(msgs, sdk.AssistantMessage(m.Content))
		} else {
			msgs = append(msgs, sdk.UserMessage(m.Content))
		}
	}
	msgs = append(msgs, sdk.UserMessage(req.Input))

	p := sdk.ChatCompletionNewParams{
		Model:         r.model,
		Messages:      msgs,
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	}
	switch {
	case maxTokens < 0:
	case r.maxCompletionTokens:
		p.MaxCompletionTokens = sdk.Int(maxTokens)
	default:
		p.MaxTokens = sdk.Int(maxTokens)
	}
	if len(req.OutputSchema) > 0 {
		p.ResponseFormat = sdk.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   schemaName,
					Strict: sdk.Bool(false),
					Schema: req.OutputSchema,
				},
			},
		}
	}
	return p
}

// credits is the price of a turn that wrote outputTokens tokens: agent.Credits
// at the runtime's rate.
func (r *Runtime) credits(outputTokens int64) int64 {
	return 1 + (outputTokens+r.tokensPerCredit-1)/r.tokensPerCredit
}

// maxTokens is the max_tokens of a turn whose budget has maxCredits: the
// most output tokens those credits pay for, at most Config.MaxOutputTokens;
// -1 when there is no cap to send, 0 when the credits pay for no output.
func (r *Runtime) maxTokens(maxCredits int64) int64 {
	n := int64(-1)
	if maxCredits > 0 {
		// credits(n) <= maxCredits  ⇔  n <= (maxCredits-1) × tokensPerCredit
		n = math.MaxInt32 // far above any model's output; servers parse it as int32
		if maxCredits-1 <= math.MaxInt32/r.tokensPerCredit {
			n = min(n, (maxCredits-1)*r.tokensPerCredit)
		}
	}
	if r.maxOutputTokens > 0 && (n < 0 || n > r.maxOutputTokens) {
		n = r.maxOutputTokens
	}
	return n
}

// redactURL is raw without user info and query, which may carry
// credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
