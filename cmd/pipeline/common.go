package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"fairage/pipeline"
	"fairage/stages"
)

// configFlags are the flags every command that reads a config shares.
type configFlags struct {
	sets    []string
	runsDir string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "override a config key: --set train.epochs=3 (repeatable; value parsed as YAML)")
	cmd.Flags().StringVar(&f.runsDir, "runs", "runs", "folder holding run folders and the shared stage cache")
}

func (f *configFlags) load(path string) (*stages.Loaded, error) {
	cfg, err := stages.Load(path, stages.LoadOptions{Sets: f.sets, Env: os.Environ()})
	if err == nil {
		for _, d := range cfg.Analysis.Deprecated {
			fmt.Fprintln(os.Stderr, "warning:", d)
		}
	}
	return cfg, err
}

func (f *configFlags) runOptions(cfg *stages.Loaded) pipeline.RunOptions {
	opts := cfg.RunOptions()
	opts.RunsDir, opts.Log, opts.Args = f.runsDir, os.Stderr, os.Args
	return opts
}
