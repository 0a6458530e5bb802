package main

import (
	"github.com/spf13/cobra"

	"fairage/stages"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the config reference (every key, type, default and meaning) as Markdown",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write([]byte(stages.Reference()))
			return err
		},
	}
}
