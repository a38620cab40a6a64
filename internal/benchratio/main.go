// Command benchratio reads `go test -bench` output on stdin, copies it to
// stdout, and then prints, for every benchmark with sub-benchmarks, each
// variant's throughput relative to the variants named as baselines (by
// default "bare" and "off"): the ratios `make bench` reports.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// line matches a benchmark result: name-GOMAXPROCS, iterations, ns/op.
var line = regexp.MustCompile(`^(Benchmark[^\s/]+)/(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

func main() {
	bases := flag.String("base", "bare,off,generated", "comma-separated baseline variants")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, strings.Split(*bases, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// result is the mean ns/op of one variant over its runs (-count).
type result struct {
	sum float64
	n   int
}

func run(in io.Reader, out io.Writer, bases []string) error {
	groups := map[string]map[string]*result{}
	var order []string
	variants := map[string][]string{}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := sc.Text()
		fmt.Fprintln(out, text)
		m := line.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[3], 64)
		if err != nil || ns <= 0 {
			continue
		}
		g, v := m[1], m[2]
		if groups[g] == nil {
			groups[g] = map[string]*result{}
			order = append(order, g)
		}
		if groups[g][v] == nil {
			groups[g][v] = &result{}
			variants[g] = append(variants[g], v)
		}
		groups[g][v].sum += ns
		groups[g][v].n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, g := range order {
		var have []string
		for _, b := range bases {
			if groups[g][b] != nil {
				have = append(have, b)
			}
		}
		if len(have) == 0 || len(variants[g]) < 2 {
			continue
		}
		fmt.Fprintf(out, "\n%s: throughput relative to %s (mean ns/op over runs)\n", g, strings.Join(have, " and "))
		fmt.Fprintf(out, "  %-12s %14s", "variant", "ns/op")
		for _, b := range have {
			fmt.Fprintf(out, " %10s", "× "+b)
		}
		fmt.Fprintln(out)
		for _, v := range variants[g] {
			r := groups[g][v]
			mean := r.sum / float64(r.n)
			fmt.Fprintf(out, "  %-12s %14.0f", v, mean)
			for _, b := range have {
				base := groups[g][b].sum / float64(groups[g][b].n)
				fmt.Fprintf(out, " %10.2f", base/mean)
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}
