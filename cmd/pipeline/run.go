package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"fairage/pipeline"
	"fairage/stages"
)

func newRunCmd() *cobra.Command {
	var flags configFlags
	var only, from, until string
	var force, resume bool
	cmd := &cobra.Command{
		Use:   "run CONFIG",
		Short: "Run the stages of CONFIG, skipping those whose outputs are fresh",
		Long: `Run the pipeline described by CONFIG. Each stage runs only when its
fingerprint (its config section, its inputs' digests and its code version)
has no output yet; otherwise it is skipped and says so. Outputs go to
runs/<run.name>/ (links into the shared cache runs/.cache/) with a
manifest.json describing what ran and why. Ctrl-C stops cleanly: no half
written output is ever left behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load(args[0])
			if err != nil {
				return err
			}
			opts := flags.runOptions(cfg)
			opts.Only, opts.From, opts.Until, opts.Force, opts.Resume = only, from, until, force, resume
			r := &pipeline.Runner{Graph: stages.Graph(cfg.Config)}
			m, err := r.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s %s: %s\n", m.Name, m.Status, filepath.Join(opts.RunDir(), pipeline.ManifestFile))
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&only, "only", "", "run just this stage (its inputs must already be built)")
	cmd.Flags().StringVar(&from, "from", "", "rerun this stage and every stage after it")
	cmd.Flags().StringVar(&until, "until", "", "stop after this stage (earlier stages run or are skipped as usual)")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue an interrupted stage (training resumes from its last epoch checkpoint)")
	cmd.Flags().BoolVar(&force, "force", false, "rerun the selected stages even when their outputs are fresh")
	return cmd
}
