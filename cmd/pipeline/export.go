package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"fairage/dataset"
	"fairage/pipeline"
	"fairage/savedmodel"
	"fairage/stages"
	"fairage/tfmodel"
)

// exportFormats lists what pipeline export writes.
var exportFormats = []string{"savedmodel"}

func newExportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export RUN --format savedmodel --out DIR",
		Short: "Write a trained model (a run folder or model folder) as a TensorFlow SavedModel",
		Long: `Write the model RUN trained (a run folder such as runs/m5, or a model
folder) as a TensorFlow SavedModel in DIR (replaced if it exists): its
serving_default signature takes uint8 RGB images [N, H, W, 3], resized
from the original files as the run packed them, and returns the age in
years [N] under the key age; the pixel normalisation is inside the graph.
assets/fairage.json records the preprocessing and decoding, so
model.kind: savedmodel (or pipeline evaluate --model DIR) audits it
without further declarations. Python: tf.saved_model.load(DIR)
.signatures['serving_default'](images=...)['age'].`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "savedmodel" {
				return fmt.Errorf("--format: %q is not one of %v", format, exportFormats)
			}
			if out == "" {
				return fmt.Errorf("--out: give the folder to write the SavedModel to")
			}
			dir, err := stages.ModelDir(args[0])
			if err != nil {
				return err
			}
			// A model from a run's cache is read only if its files are the
			// ones committed.
			if err := pipeline.VerifyOutput(cmd.Context(), dir); err != nil {
				return fmt.Errorf("%s: %w; rerun the run that trained it", args[0], err)
			}
			opts, err := exportOptions(args[0])
			if err != nil {
				return err
			}
			if err := tfmodel.ExportSavedModel(dir, out, opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s (SavedModel, signature serving_default: images uint8 [N %s] -> age years [N])\n",
				dir, out, sizeOf(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "savedmodel", "export format: savedmodel")
	cmd.Flags().StringVar(&out, "out", "", "folder to write")
	return cmd
}

// exportOptions reads how the run packed its images (data.resample and
// data.fit of its manifest); a model folder without a run around it gets
// the defaults, which the metadata then records.
func exportOptions(run string) (tfmodel.ExportOptions, error) {
	def := dataset.DefaultIngestOptions()
	o := tfmodel.ExportOptions{Resample: def.Resample, Fit: def.Fit, Source: run}
	if _, err := os.Stat(filepath.Join(run, "manifest.json")); err != nil {
		return o, nil
	}
	m, err := pipeline.ReadManifest(run)
	if err != nil {
		return o, err
	}
	data, _ := m.Config["data"].(map[string]any)
	if v, ok := data["resample"].(string); ok && v != "" {
		o.Resample = dataset.Resample(v)
	}
	if v, ok := data["fit"].(string); ok && v != "" {
		o.Fit = dataset.Fit(v)
	}
	return o, nil
}

func sizeOf(savedModel string) string {
	meta, ok, err := savedmodel.ReadMetadata(savedModel)
	if err != nil || !ok {
		return "H W 3"
	}
	return fmt.Sprintf("%d %d 3", meta.Preprocess.Height, meta.Preprocess.Width)
}
