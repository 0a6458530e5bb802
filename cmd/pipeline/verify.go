package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"fairage/pipeline"
)

// verifyFailed is a run folder with outputs that are not those committed;
// the command exits 1 after listing them.
type verifyFailed struct{ bad, stages int }

func (e *verifyFailed) Error() string {
	return fmt.Sprintf("%d of %d stage outputs changed since they were committed; the next run recomputes them", e.bad, e.stages)
}

func newVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify RUN_FOLDER",
		Short: "Check every cached stage output of a run folder against the digests recorded when it was committed",
		Long: `Read every file of every stage output that RUN_FOLDER (runs/<name>) links
to and compare sizes and SHA-256 digests with those recorded when the
output was committed to the cache. Lists each changed, missing or extra
file and exits 1 when any is found. Runs and status make the same check
before reusing an output.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			checks, err := pipeline.VerifyRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAGE\tSTATE\tFILES\tMB\tPROBLEM")
			bad := 0
			var total int64
			for _, c := range checks {
				total += c.Bytes
				switch {
				case c.Err != nil:
					bad++
					fmt.Fprintf(tw, "%s\tunreadable\t\t\t%v\n", c.Stage, c.Err)
				case len(c.Problems) == 0:
					fmt.Fprintf(tw, "%s\tok\t%d\t%.1f\t\n", c.Stage, c.Files, float64(c.Bytes)/1e6)
				default:
					bad++
					for i, p := range c.Problems {
						stage, state := c.Stage, "changed"
						if i > 0 {
							stage, state = "", ""
						}
						fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s: %s\n", stage, state, c.Files, float64(c.Bytes)/1e6, p.Path, p.Problem)
					}
				}
			}
			tw.Flush()
			secs := time.Since(start).Seconds()
			fmt.Fprintf(out, "checked %d stage outputs, %.1f MB in %.0f ms (%.0f MB/s)\n", len(checks), float64(total)/1e6, secs*1000, float64(total)/1e6/max(secs, 1e-9))
			if bad > 0 {
				return &verifyFailed{bad: bad, stages: len(checks)}
			}
			return nil
		},
	}
}
