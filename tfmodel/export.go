package tfmodel

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"

	"fairage/dataset"
	"fairage/preprocess"
	"fairage/savedmodel"
)

// ExportOptions say how the exported model's images were made from the
// original files (the pack's resize), which its metadata records.
type ExportOptions struct {
	Resample dataset.Resample
	Fit      dataset.Fit
	// Source names what was exported (the run folder), for the metadata.
	Source string
}

// Signature keys of an exported model: uint8 images in, years out.
const (
	ExportInputKey  = "images"
	ExportOutputKey = "age"
)

// ExportSavedModel writes the model saved in modelDir (by Save, or a run's
// train/model) as a TensorFlow SavedModel in out (replaced atomically):
// saved_model.pb holds the inference graph built by the same code that
// trained it (normalisation inside the graph) with a serving_default
// signature taking uint8 images [N, H, W, 3] and returning the age in
// years [N]; variables/ is a SaveV2 checkpoint with the graph's own keys;
// assets/fairage.json declares the preprocessing and decoding.
func ExportSavedModel(modelDir, out string, o ExportOptions, opts ...Option) (err error) {
	defer guard(&err, "export SavedModel")
	r, err := Load(modelDir, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	gr := r.gr
	sv, err := gr.saverFor(gr.modelVars())
	if err != nil {
		return fmt.Errorf("tfmodel: export %s: %w", modelDir, err)
	}
	// The serving tensors get names of their own, and the saver a tensor
	// whose evaluation saves (what TensorFlow's SaverDef expects).
	s := gr.root.SubScope("serving")
	age := op.Identity(s.SubScope(ExportOutputKey), gr.infer.years)
	savePath := op.Identity(gr.root.SubScope("saver").SubScope("save_path").WithControlDependencies(sv.save), sv.prefix)
	if err := gr.root.Err(); err != nil {
		return fmt.Errorf("tfmodel: export %s: %w", modelDir, cleanScopeErr(err))
	}
	var graph bytes.Buffer
	if _, err := gr.g.WriteTo(&graph); err != nil {
		return fmt.Errorf("tfmodel: export %s: serialise the graph: %w", modelDir, err)
	}
	size := int64(r.cfg.InputSize)
	sig := savedmodel.Signature{
		Input:  savedmodel.Tensor{Key: ExportInputKey, Name: tensorName(gr.images), DType: tf.Uint8, Shape: []int64{-1, size, size, 3}},
		Output: savedmodel.Tensor{Key: ExportOutputKey, Name: tensorName(age), DType: tf.Float, Shape: []int64{-1}},
	}
	saver := savedmodel.SaverOps{Filename: tensorName(sv.prefix), Save: tensorName(savePath), Restore: sv.restore.Name()}
	meta := savedmodel.Metadata{
		Preprocess: preprocess.Spec{Height: r.cfg.InputSize, Width: r.cfg.InputSize, Resample: o.Resample, Fit: o.Fit,
			Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Uint8, Scale: 1},
		Decoding: preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected},
		Model:    r.cfg,
		Source:   o.Source,
	}
	if err := meta.Preprocess.Check("export"); err != nil {
		return fmt.Errorf("tfmodel: export %s: %w", modelDir, err)
	}
	err = replaceDir(out, func(tmp string) error {
		vars := filepath.Join(tmp, savedmodel.VariablesDir)
		if err := os.MkdirAll(vars, 0o755); err != nil {
			return err
		}
		prefix, err := tf.NewTensor(filepath.Join(vars, savedmodel.VariablesName))
		if err != nil {
			return err
		}
		if _, err := r.sess.Run(map[tf.Output]*tf.Tensor{sv.prefix: prefix}, nil, []*tf.Operation{sv.save}); err != nil {
			return fmt.Errorf("write variables: %w", err)
		}
		return savedmodel.Write(tmp, graph.Bytes(), sig, saver, meta)
	})
	if err != nil {
		return fmt.Errorf("tfmodel: export %s: %w", modelDir, err)
	}
	return nil
}

func tensorName(o tf.Output) string { return fmt.Sprintf("%s:%d", o.Op.Name(), o.Index) }
