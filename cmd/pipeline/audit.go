package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"fairage/config"
	"fairage/pipeline"
	"fairage/regressor"
	"fairage/savedmodel"
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
		Use:   "evaluate CONFIG --model MODEL",
		Short: "Audit a model (a trained run, a SavedModel, an .onnx file or a preset) on CONFIG's data without training",
		Long: `Evaluate MODEL on the dataset CONFIG's data: section describes, then analyse
and report that population. MODEL is one of
  a run folder (runs/m5) or model folder     kind resnet, trained here
  a SavedModel folder (saved_model.pb)      kind savedmodel (pipeline export, Keras model.export())
  an .onnx file                             kind onnx
  a face-api …weights_manifest.json         kind face-api
  a preset name (dlib-age)                  model.preset
A SavedModel from pipeline export and a preset carry their preprocessing;
a foreign SavedModel or ONNX file needs it declared in CONFIG
(model.savedmodel.preprocess / model.onnx.preprocess and .decoding).
Every sample of the data is predicted and audited; attribute values the
model never saw are analysed as they come.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return fmt.Errorf("--model: give the model to audit (a run folder, SavedModel folder, .onnx file or preset name)")
			}
			sets, err := modelOverrides(model)
			if err != nil {
				return err
			}
			if name == "" {
				cfg, err := flags.load(args[0])
				if err != nil {
					return err
				}
				name = cfg.Run.Name + "-eval-" + strings.TrimSuffix(filepath.Base(filepath.Clean(model)), ".onnx")
			}
			return runWith(cmd, &flags, args[0], name, "",
				append(sets, "evaluate.splits=[train, valid, test]", "analysis.split=all")...)
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&model, "model", "", "run folder (runs/<name>), model folder, SavedModel folder, .onnx file or preset name")
	cmd.Flags().StringVar(&name, "name", "", "run name (default: <run.name>-eval-<model>)")
	return cmd
}

// modelOverrides tells what --model names (by what is on disk, else the
// preset registry) and returns the config overrides that select it.
func modelOverrides(model string) ([]string, error) {
	st, err := os.Stat(model)
	if err != nil {
		if p, perr := regressor.LookupPreset(model); perr == nil {
			return []string{"model.preset=" + p.Name, "model.from="}, nil
		}
		var names []string
		for _, p := range regressor.Presets() {
			names = append(names, p.Name)
		}
		return nil, fmt.Errorf("--model %s: no such file or folder, and not a preset (presets: %s)", model, strings.Join(names, ", "))
	}
	kind := ""
	switch {
	case !st.IsDir() && strings.EqualFold(filepath.Ext(model), ".onnx"):
		kind = "onnx"
	case !st.IsDir() && strings.HasSuffix(model, "weights_manifest.json"):
		kind = "face-api" // a face-api (TF.js) network's weights manifest
	case !st.IsDir():
		return nil, fmt.Errorf("--model %s: a file, but not an .onnx model or a face-api weights manifest; give a run folder, a SavedModel folder, an .onnx file, a …weights_manifest.json or a preset name", model)
	case exists(filepath.Join(model, savedmodel.ProtoFile)):
		kind = "savedmodel"
	default:
		if _, err := stages.ModelDir(model); err != nil {
			return nil, fmt.Errorf("--model %s: neither a trained run or model folder (train/model/model.json, model.json) nor a SavedModel folder (%s)", model, savedmodel.ProtoFile)
		}
		kind = "resnet"
	}
	return []string{"model.kind=" + kind, "model.from=" + model, "model.preset="}, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
