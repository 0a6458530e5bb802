package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"fairage/stages"
)

func newCompareCmd() *cobra.Command {
	var out, title string
	var asJSON, asCSV bool
	cmd := &cobra.Command{
		Use:   "compare RUN RUN [RUN...]",
		Short: "Compare finished runs side by side: the study's results table, paired tests against the first run, MAE by group, learning curves and stage times",
		Long: `Compare runs evaluated on the same samples (e.g. runs/m4 runs/m5): one row
per run in the study's layout (model, learning rate, strategy, gender,
expression, ethnicity and age bias, MAE, with intervals), and paired
permutation tests of each run against the first, Holm-corrected; then, one
column per run, each group's MAE with its interval and size, the validation
MAE per epoch (with a chart in the HTML), and each stage's wall time; a
"what differs" table of every resolved config key whose value differs
between the runs, and the git commit of the code behind each run.
Writes compare.md and a self-contained compare.html (--json, --csv: also
compare.json, compare.csv).`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				names := make([]string, len(args))
				for i, a := range args {
					names[i] = filepath.Base(filepath.Clean(a))
				}
				out = filepath.Join(filepath.Dir(filepath.Clean(args[0])), "compare-"+strings.Join(names, "-"))
			}
			files, err := stages.CompareRuns(cmd.Context(), args, stages.CompareOptions{Out: out, Title: title, JSON: asJSON, CSV: asCSV})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "comparison: %s\n", strings.Join(append([]string{files.Markdown, files.HTML}, files.Data...), ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "output folder (default: runs/compare-<names>)")
	cmd.Flags().StringVar(&title, "title", "", "report title")
	cmd.Flags().BoolVar(&asJSON, "json", false, "also write compare.json: each run's commit and scores, the config keys that differ, the paired tests")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "also write compare.csv: one row per run and score, and per paired test")
	return cmd
}
