package tfmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/internal/atomicfile"
)

// A checkpoint folder holds:
//
//	model.json                       modelFile: the ModelConfig and variable names
//	variables.index, variables.data-* a standard TensorFlow checkpoint (SaveV2)
//	state.json, history.arrow        training state, only in Fit's last/ (see state.go)
const (
	checkpointFormat = 1
	modelFileName    = "model.json"
	variablesPrefix  = "variables"
)

// modelFile is model.json.
type modelFile struct {
	Format     int         `json:"format"`
	Model      ModelConfig `json:"model"`
	TensorFlow string      `json:"tensorflow"`
	Variables  []string    `json:"variables"`
	// Input is the in-graph pixel normalisation (absent in files written
	// before it was recorded: the ResNets' ImageNet one).
	Input *InputNorm `json:"input,omitempty"`
	// Weights is the source of the backbone's initial weights (absent: random).
	Weights *WeightsSource `json:"pretrained_weights,omitempty"`
	// Precision is what training ran in (train.precision, resolved), absent
	// for fp32 (and in files from before it was recorded, all fp32). The
	// variables are float32 whatever it says.
	Precision *PrecisionChoice `json:"trained_precision,omitempty"`
}

func readModelFile(dir string) (modelFile, error) {
	var mf modelFile
	path := filepath.Join(dir, modelFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return mf, fmt.Errorf("load checkpoint %s: no %s (not a model folder written by tfmodel)", dir, modelFileName)
	}
	if err != nil {
		return mf, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		return mf, fmt.Errorf("load checkpoint %s: parse %s: %w", dir, modelFileName, err)
	}
	if mf.Format != checkpointFormat {
		return mf, fmt.Errorf("load checkpoint %s: format %d, this version reads %d", dir, mf.Format, checkpointFormat)
	}
	if err := mf.backboneDefaults(dir); err != nil {
		return mf, err
	}
	if err := mf.Model.Validate(); err != nil {
		return mf, fmt.Errorf("load checkpoint %s: %s: %w", dir, modelFileName, err)
	}
	return mf, nil
}

// writeCheckpoint saves vars and model.json (plus whatever extra writes) to
// a temporary folder next to dir, then swaps it into place, so dir is
// always either the old checkpoint or the complete new one.
func (r *ResNet) writeCheckpoint(dir string, vars []*variable, extra func(tmp string) error) error {
	sv, err := r.gr.saverFor(vars)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	return replaceDir(dir, func(tmp string) error {
		prefix, err := tf.NewTensor(filepath.Join(tmp, variablesPrefix))
		if err != nil {
			return err
		}
		if _, err := r.sess.Run(map[tf.Output]*tf.Tensor{sv.prefix: prefix}, nil, []*tf.Operation{sv.save}); err != nil {
			return err
		}
		norm := inputNormFor(r.cfg.Arch)
		mf := modelFile{Format: checkpointFormat, Model: r.cfg, TensorFlow: tf.Version(), Input: &norm, Weights: r.weights, Precision: r.trainedIn}
		for _, v := range vars {
			mf.Variables = append(mf.Variables, v.name)
		}
		b, err := json.MarshalIndent(mf, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, modelFileName), append(b, '\n'), 0o644); err != nil {
			return err
		}
		if extra != nil {
			return extra(tmp)
		}
		return nil
	})
}

// restoreVars loads vars from the checkpoint in dir after checking that it
// was saved from the same network.
func (r *ResNet) restoreVars(dir string, vars []*variable) error {
	mf, err := readModelFile(dir)
	if err != nil {
		return err
	}
	if diff := mf.Model.sameNetwork(r.cfg); diff != "" {
		return fmt.Errorf("load checkpoint %s: it holds a different network than this model (%s; checkpoint vs model)", dir, diff)
	}
	if _, err := os.Stat(filepath.Join(dir, variablesPrefix+".index")); err != nil {
		return fmt.Errorf("load checkpoint %s: no %s.index: the weights are missing (incomplete copy?)", dir, variablesPrefix)
	}
	sv, err := r.gr.saverFor(vars)
	if err != nil {
		return fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	prefix, err := tf.NewTensor(filepath.Join(dir, variablesPrefix))
	if err != nil {
		return fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	if _, err := r.sess.Run(map[tf.Output]*tf.Tensor{sv.prefix: prefix}, nil, []*tf.Operation{sv.restore}); err != nil {
		return fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	return nil
}

// replaceDir fills a fresh temporary folder beside dir and renames it to
// dir, moving any previous dir aside first and deleting it after.
func replaceDir(dir string, fill func(tmp string) error) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	if err := atomicfile.ReplaceDir(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}
