package main

import (
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/spf13/cobra"

	"fairage/stages"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of fairage, Go and TensorFlow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			fmt.Fprintf(out, "fairage %s\ngo %s\n", v, runtime.Version())
			comps := stages.Versions()
			for _, k := range slices.Sorted(maps.Keys(comps)) {
				fmt.Fprintf(out, "%s %s\n", k, comps[k])
			}
			return nil
		},
	}
}
