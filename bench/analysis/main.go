// Command analysisbench generates synthetic predictions and times the
// analysis on them, for bench/analysis/run.sh and the fairlearn
// cross-check. It is a benchmark harness, not part of the pipeline.
//
//	go run ./bench/analysis gen -n 1000000 -out build/bench-analysis
//	go run ./bench/analysis analyze -in build/bench-analysis/predictions.arrow -resamples 1000
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: analysisbench gen|analyze [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "analyze":
		err = analyze(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (gen, analyze)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "analysisbench:", err)
		os.Exit(1)
	}
}
