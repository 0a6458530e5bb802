package main

import (
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

func (f *configFlags) load(path string) (*pipeline.Config, error) {
	return pipeline.Load(path, stages.Schema(), pipeline.LoadOptions{Sets: f.sets, Env: os.Environ()})
}

func (f *configFlags) runOptions(cfg *pipeline.Config) pipeline.RunOptions {
	return pipeline.RunOptions{RunsDir: f.runsDir, Name: cfg.String("run.name"), Log: os.Stderr,
		Versions: stages.Versions(), Args: os.Args}
}
