package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"fairage/pipeline"
	"fairage/stages"
)

func newStatusCmd() *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "status CONFIG",
		Short: "Show which stages of CONFIG's run are fresh, stale or missing, and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load(args[0])
			if err != nil {
				return err
			}
			r := &pipeline.Runner{Graph: stages.Graph(cfg.Config)}
			opts := flags.runOptions(cfg)
			st, err := r.Status(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "run %s (%s)\n", opts.Name, opts.RunDir())
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STAGE\tSTATE\tFINGERPRINT\tWHY")
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.State, s.Fingerprint, s.Reason)
			}
			return tw.Flush()
		},
	}
	flags.register(cmd)
	return cmd
}
