// Command specdiff is the review gate of openapi.yaml and of the Go API
// (`make spec-diff`): it compares the repository's openapi.yaml and the
// exported Go API of its public packages at a base revision with the
// working tree, prints the changes in plain language (and, when asked,
// as Markdown for a pull request), and fails for a change that breaks
// existing clients unless openapi.allow.yaml lists it with a reason, or for
// an info.version that does not carry the changes.
//
// Breaking, on the wire, is what oasdiff's checker reports at its ERR
// level: a removed or renamed operation, field or enum value a client may
// receive, a new required request field or parameter, a narrowed request
// type or enum, a changed type or format. In Go it is what apidiff reports
// incompatible. A change oasdiff says may break (WARN) is reported and
// needs a minor version bump, as any addition does.
//
// It lives in a module of its own so that oasdiff and apidiff stay out of
// the main module's requirements.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	repo := flag.String("repo", ".", "the repository's root")
	base := flag.String("base", "", "the git revision to compare with (default: the merge base with main, or HEAD~1 on main)")
	markdown := flag.String("markdown", "", "also append the report as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY)")
	noGo := flag.Bool("no-go", false, "compare openapi.yaml only, not the Go API")
	flag.Parse()
	code, err := run(os.Stdout, *repo, *base, *markdown, !*noGo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spec-diff:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// run compares and reports; the exit code is 1 when the gate fails.
func run(out io.Writer, repo, base, markdown string, withGo bool) (int, error) {
	root, err := git(repo, "rev-parse", "--show-toplevel")
	if err != nil {
		return 0, err
	}
	if base == "" {
		if base, err = defaultBase(root); err != nil {
			return 0, err
		}
	}
	baseRev, err := git(root, "rev-parse", "--short", base+"^{commit}")
	if err != nil {
		return 0, fmt.Errorf("base %q: %w", base, err)
	}
	baseYAML, err := git(root, "show", baseRev+":openapi.yaml")
	if err != nil {
		return 0, fmt.Errorf("openapi.yaml at %s: %w", base, err)
	}
	revYAML, err := os.ReadFile(filepath.Join(root, "openapi.yaml"))
	if err != nil {
		return 0, err
	}
	allow, err := LoadAllowList(filepath.Join(root, "openapi.allow.yaml"))
	if err != nil {
		return 0, err
	}
	r := &Report{Base: fmt.Sprintf("%s (%s)", base, baseRev), SpecChanged: baseYAML != string(revYAML)}
	if err := r.compareWire([]byte(baseYAML), revYAML, allow); err != nil {
		return 0, err
	}
	if withGo {
		dir, cleanup, err := checkout(root, baseRev)
		if err != nil {
			return 0, err
		}
		defer cleanup()
		changes, err := GoChanges(dir, root)
		if err != nil {
			return 0, err
		}
		r.addGo(changes, allow)
	}
	r.Stale = allow.Unused()
	r.Text(out)
	if markdown != "" {
		f, err := os.OpenFile(markdown, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, err
		}
		r.Markdown(f)
		if err := f.Close(); err != nil {
			return 0, err
		}
	}
	if r.Failed() {
		return 1, nil
	}
	return 0, nil
}

// defaultBase is the merge base with main when HEAD is not on main, else
// HEAD~1.
func defaultBase(root string) (string, error) {
	head, err := git(root, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if mb, err := git(root, "merge-base", "main", "HEAD"); err == nil && strings.TrimSpace(mb) != strings.TrimSpace(head) {
		return strings.TrimSpace(mb), nil
	}
	return "HEAD~1", nil
}

// checkout makes a detached worktree of rev in a temporary directory.
func checkout(root, rev string) (dir string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "spec-diff-base-")
	if err != nil {
		return "", nil, err
	}
	dir = filepath.Join(tmp, "base")
	if _, err := git(root, "worktree", "add", "--detach", "--quiet", dir, rev); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return dir, func() {
		_, _ = git(root, "worktree", "remove", "--force", dir)
		os.RemoveAll(tmp)
	}, nil
}

// git runs git in dir and returns its standard output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New("git " + strings.Join(args, " ") + ": " + msg)
	}
	return strings.TrimRight(string(out), "\n"), nil
}
