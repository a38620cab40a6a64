package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"go.yaml.in/yaml/v3"

	"github.com/handinger/handinger/gen"
)

// outputFormat is a value of --format: how the tasks commands print an answer.
type outputFormat string

// The values of --format.
const (
	formatPretty outputFormat = "pretty" // a short view for people
	formatJSON   outputFormat = "json"   // the API's answer, byte for byte
	formatYAML   outputFormat = "yaml"   // the API's answer as YAML, keys in the API's order
)

// formatValues lists the values of --format, for help and completion.
var formatValues = []string{string(formatPretty), string(formatJSON), string(formatYAML)}

// resolveFormat checks a --format value; empty means pretty when stdout is a
// terminal and json otherwise, so that pipes and scripts get the API's JSON.
func resolveFormat(value string, stdout io.Writer) (outputFormat, error) {
	switch f := outputFormat(value); f {
	case formatPretty, formatJSON, formatYAML:
		return f, nil
	case "":
		if isTerminal(stdout) {
			return formatPretty, nil
		}
		return formatJSON, nil
	}
	return "", usageError{fmt.Errorf("--format %q: want pretty, json or yaml", value)}
}

// isTerminal reports whether w is a terminal. Anything that is not an
// *os.File (a buffer in tests, a pipe wrapper) is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// writeRaw prints an API answer as the API sent it, ending it with a newline
// when it has none, so that --format json output is the body byte for byte.
func writeRaw(w io.Writer, body []byte) error {
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// writeYAML prints a JSON document as YAML.
func writeYAML(w io.Writer, body []byte) error {
	out, err := jsonToYAML(body)
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// jsonToYAML converts one JSON document to YAML. It builds the YAML node tree
// from the JSON tokens rather than from a decoded map, so that object keys
// keep the order the API sent them in and numbers keep their exact text.
func jsonToYAML(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	node, err := yamlValue(dec)
	if err != nil {
		return nil, fmt.Errorf("convert the answer to YAML: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("convert the answer to YAML: data after the JSON value")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{node}}); err != nil {
		return nil, fmt.Errorf("convert the answer to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("convert the answer to YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlValue reads the next JSON value from dec as a YAML node.
func yamlValue(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				val, err := yamlValue(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, yamlScalar("!!str", key.(string)), val)
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				val, err := yamlValue(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, val)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("unexpected %q", v)
	case string:
		return yamlScalar("!!str", v), nil
	case json.Number:
		// Untagged, a number is written as it came: JSON's number syntax
		// reads back as a number in YAML, and an integer too large for
		// !!int keeps all its digits.
		return &yaml.Node{Kind: yaml.ScalarNode, Value: v.String()}, nil
	case bool:
		return yamlScalar("!!bool", strconv.FormatBool(v)), nil
	case nil:
		return yamlScalar("!!null", "null"), nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// yamlScalar is a scalar node; the encoder quotes a string whose plain form
// would read back as another type ("123", "true", a date).
func yamlScalar(tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" && strings.Contains(value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

// mergeItems joins the items arrays of list pages into one JSON array. Each
// item is copied as the API sent it.
func mergeItems(pages [][]byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	n := 0
	for i, page := range pages {
		var p struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(page, &p); err != nil {
			return nil, fmt.Errorf("read page %d of the list: %w", i+1, err)
		}
		for _, item := range p.Items {
			if n > 0 {
				buf.WriteByte(',')
			}
			buf.Write(item)
			n++
		}
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}

// oneLine makes text from the API safe to print on one line of a terminal:
// line breaks become spaces and other control characters (escape sequences
// included) are dropped. Longer text is cut to max runes with an ellipsis.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return printableRune(r)
	}, s)), " ")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

// textBlock makes multi-line text from the API safe to print on a terminal and
// indents every line by indent.
func textBlock(s, indent string) string {
	s = strings.TrimRight(strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return printableRune(r)
	}, strings.ReplaceAll(s, "\r\n", "\n")), "\n ")
	return indent + strings.ReplaceAll(s, "\n", "\n"+indent)
}

// printableRune keeps r unless it is a control character; tabs become a space.
func printableRune(r rune) rune {
	switch {
	case r == '\t':
		return ' '
	case r == utf8.RuneError, unicode.IsControl(r):
		return -1
	}
	return r
}

// humanMillis shows milliseconds of work the way people read them.
func humanMillis(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Second {
		return d.String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// humanTime shows an API time in UTC, to the second.
func humanTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// countOf is "1 turn", "2 turns".
func countOf(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

// createdView is what `tasks create` shows in pretty format.
type createdView struct {
	TaskID, TurnID string
	Seq            int
	Worker         gen.Worker
}

// printCreated shows the outcome of a create: the task, its status, the
// output text and what the turn cost.
func printCreated(w io.Writer, v createdView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	wk := v.Worker
	fmt.Fprintf(tw, "task\t%s\n", oneLine(v.TaskID, 0))
	fmt.Fprintf(tw, "turn\t%s (seq %d)\n", oneLine(v.TurnID, 0), v.Seq)
	fmt.Fprintf(tw, "worker\t%s\n", oneLine(wk.ID, 0))
	fmt.Fprintf(tw, "status\t%s\n", oneLine(string(wk.Status), 0))
	if wk.Usage != nil {
		var parts []string
		if wk.Usage.Credits != nil {
			parts = append(parts, countOf(*wk.Usage.Credits, "credit"))
		}
		if wk.Usage.DurationMs != nil {
			parts = append(parts, humanMillis(*wk.Usage.DurationMs))
		}
		if len(parts) > 0 {
			fmt.Fprintf(tw, "usage\t%s\n", strings.Join(parts, ", "))
		}
	}
	if wk.Error != nil {
		fmt.Fprintf(tw, "error\t%s: %s\n", oneLine(wk.Error.Code, 0), oneLine(wk.Error.Message, 0))
	}
	if wk.IncompleteDetails != nil {
		fmt.Fprintf(tw, "stopped\t%s\n", oneLine(string(wk.IncompleteDetails.Reason), 0))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	var err error
	switch {
	case wk.Running:
		_, err = fmt.Fprintf(w, "\nThe turn is still %s; see it later with: handinger tasks retrieve %s\n", wk.Status, oneLine(v.TaskID, 0))
	case strings.TrimSpace(wk.OutputText) != "":
		_, err = fmt.Fprintf(w, "\n%s\n", textBlock(wk.OutputText, ""))
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printTask shows a task's header and each of its turns.
func printTask(w io.Writer, v *gen.TaskWithTurns) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	t := v.Task
	fmt.Fprintf(tw, "task\t%s\n", oneLine(t.ID, 0))
	fmt.Fprintf(tw, "title\t%s\n", oneLine(t.Title, 100))
	fmt.Fprintf(tw, "status\t%s\n", oneLine(string(t.Status), 0))
	fmt.Fprintf(tw, "worker\t%s\n", oneLine(t.WorkerID, 0))
	created := humanTime(t.CreatedAt)
	if t.CreatedByUserID != nil {
		created += " by " + oneLine(*t.CreatedByUserID, 0)
	}
	fmt.Fprintf(tw, "created\t%s\n", created)
	if t.CompletedAt != nil {
		fmt.Fprintf(tw, "completed\t%s\n", humanTime(*t.CompletedAt))
	}
	fmt.Fprintf(tw, "totals\t%s, %s, %s\n", countOf(int64(t.Totals.TurnCount), "turn"),
		countOf(t.Totals.Credits, "credit"), humanMillis(t.Totals.DurationMs))
	fmt.Fprintf(tw, "url\t%s\n", oneLine(t.Url, 0))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return printTurns(w, v.Turns)
}

// printTurns shows turns one after the other: a header line, the input and
// the output text.
func printTurns(w io.Writer, turns []gen.Turn) error {
	for _, tr := range turns {
		head := fmt.Sprintf("\nturn %d  %s  %s  %s  %d→%d tokens  %s", tr.Seq, oneLine(string(tr.Status), 0),
			countOf(tr.Credits, "credit"), humanMillis(tr.DurationMs), tr.InputTokens, tr.OutputTokens, oneLine(tr.ID, 0))
		if _, err := fmt.Fprintln(w, head); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		fmt.Fprintln(w, textBlock(tr.Input, "  > "))
		if strings.TrimSpace(tr.OutputText) != "" {
			fmt.Fprintln(w, textBlock(tr.OutputText, "  "))
		}
	}
	return nil
}

// printTaskTable shows tasks as a table, one a line; next, when not empty,
// is the cursor of the page that follows.
func printTaskTable(w io.Writer, tasks []gen.Task, next string) error {
	if len(tasks) == 0 {
		_, err := fmt.Fprintln(w, "No tasks.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tTURNS\tCREDITS\tCREATED\tWORKER\tTITLE")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", oneLine(t.ID, 0), oneLine(string(t.Status), 0),
			t.Totals.TurnCount, t.Totals.Credits, humanTime(t.CreatedAt), oneLine(t.WorkerID, 0), oneLine(t.Title, 50))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if next != "" {
		if _, err := fmt.Fprintf(w, "\nMore tasks: add --cursor %s (or --all)\n", oneLine(next, 0)); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// spinnerFrames are drawn one after the other while a create waits.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinner shows that the command waits, with the time elapsed, on one line
// of a terminal that it redraws and clears at the end.
type spinner struct {
	stop chan struct{}
	done chan struct{}
}

// startSpinner draws msg with a spinner and the elapsed time on w every
// interval until Stop.
func startSpinner(w io.Writer, msg string, interval time.Duration) *spinner {
	s := &spinner{stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		// The first frame waits for the first tick: an answer that comes at
		// once leaves the terminal untouched.
		drawn := false
		for i := 0; ; i++ {
			select {
			case <-s.stop:
				if drawn {
					fmt.Fprint(w, "\r\x1b[K")
				}
				return
			case <-tick.C:
			}
			elapsed := time.Since(start).Truncate(100 * time.Millisecond)
			fmt.Fprintf(w, "\r\x1b[K%s %s %.1fs", spinnerFrames[i%len(spinnerFrames)], msg, elapsed.Seconds())
			drawn = true
		}
	}()
	return s
}

// Stop clears the spinner's line and returns once it is cleared.
func (s *spinner) Stop() {
	close(s.stop)
	<-s.done
}
