package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var flags configFlags
	var print bool
	cmd := &cobra.Command{
		Use:   "validate CONFIG",
		Short: "Check CONFIG before anything runs: types, ranges, allowed values, unknown keys and variables, and the rules between sections",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := flags.load(args[0])
			if err != nil {
				return err
			}
			if print {
				fmt.Fprint(cmd.OutOrStdout(), cfg.YAML())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid (run %q)\n", args[0], cfg.Run.Name)
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&print, "print", false, "print the fully resolved config (defaults, env and --set applied)")
	return cmd
}
