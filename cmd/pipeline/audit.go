package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"fairage/config"
	"fairage/pipeline"
	"fairage/stages"
)

// runWith loads CONFIG with extra overrides (before the user's --set, which
// win) and runs it under name (default: the config's run.name + suffix).
func runWith(cmd *cobra.Command, flags *configFlags, path, name, suffix string, extra ...string) error {
	flags.sets = append(extra, flags.sets...)
	cfg, err := flags.load(path)
	if err != nil {
		return err
	}
	if name == "" {
		name = cfg.Run.Name + suffix
	}
	if err := pipeline.CheckRunName(name); err != nil {
		return &config.Error{File: path, Problems: []string{"--name: " + err.Error()}}
	}
	opts := flags.runOptions(cfg)
	opts.Name = name
	r := &pipeline.Runner{Graph: stages.Graph(cfg.Config)}
	m, err := r.Run(cmd.Context(), opts)
	if m != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "run %s %s: %s\n", m.Name, m.Status, filepath.Join(opts.RunDir(), stages.ReportHTML))
	}
	return err
}

func newAnalyzeCmd() *cobra.Command {
	var flags configFlags
	var predictions, idColumn, column, name string
	cmd := &cobra.Command{
		Use:   "analyze CONFIG --predictions FILE",
		Short: "Audit an external model's predictions (CSV/TSV/Parquet with id and prediction columns) on CONFIG's data",
		Long: `Audit any model without training here: CONFIG's data is ingested and split
as usual (its images are read), FILE's predictions are joined to the samples
by id, and the analysis and report are written to runs/<name>/. Every split
with a prediction is audited (analysis.split: all); samples without a
prediction and predictions without a sample are counted and reported.

A table that carries its own labels (true age and attribute columns) needs
no images: audit it with pipeline audit FILE --y-true COL --y-pred COL
--attributes a,b instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if predictions == "" {
				return fmt.Errorf("--predictions: give the predictions file")
			}
			return runWith(cmd, &flags, args[0], name, "-predictions",
				"model.kind=predictions", "model.from="+predictions,
				"model.predictions.id_column="+idColumn, "model.predictions.column="+column,
				"evaluate.splits=[train, valid, test]", "analysis.split=all")
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&predictions, "predictions", "", "predictions file (.csv, .tsv, .parquet)")
	cmd.Flags().StringVar(&idColumn, "id-column", "id", "column holding the sample id")
	cmd.Flags().StringVar(&column, "column", "prediction", "column holding the predicted age")
	cmd.Flags().StringVar(&name, "name", "", "run name (default: <run.name>-predictions)")
	return cmd
}

func newEvaluateCmd() *cobra.Command {
	var flags configFlags
	var model, name string
	cmd := &cobra.Command{
		Use:   "evaluate CONFIG --model RUN",
		Short: "Audit a trained model on CONFIG's data without retraining (another population)",
		Long: `Evaluate the model trained by RUN (a run folder such as runs/m5, or a model
folder) on the dataset CONFIG's data: section describes, then analyse and
report that population. Every sample of the new data is predicted and
audited; attribute values the model never saw are analysed as they come.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return fmt.Errorf("--model: give the trained run folder (runs/<name>)")
			}
			if name == "" {
				cfg, err := flags.load(args[0])
				if err != nil {
					return err
				}
				name = cfg.Run.Name + "-eval-" + filepath.Base(filepath.Clean(model))
			}
			return runWith(cmd, &flags, args[0], name, "",
				"model.kind=resnet", "model.from="+model, "evaluate.splits=[train, valid, test]", "analysis.split=all")
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "trained run folder (runs/<name>) or model folder")
	cmd.Flags().StringVar(&name, "name", "", "run name (default: <run.name>-eval-<model run>)")
	return cmd
}
