package tfjsmodel

import (
	"context"
	"fmt"
	"math"
	"strings"

	"fairage/internal/progress"
	"fairage/preprocess"
)

// ClassifierPreset is an off-the-shelf TF.js face-attribute classifier
// (one probability per class), e.g. an expression model whose classes a
// later step maps onto a dataset's vocabulary.
type ClassifierPreset struct {
	Name      string
	Doc       string
	License   string
	TrainedOn []string
	// File is the model.json relative to the models folder; SHA256 pins it
	// and each shard (by base name).
	File       string
	SHA256     map[string]string
	Output     string
	Preprocess preprocess.Spec
	// Classes names the output columns, in order.
	Classes []string
}

// Classifiers lists the classifier presets by name.
var Classifiers = map[string]ClassifierPreset{
	"emotion": {
		Name: "emotion",
		Doc: "FER2013 mini-Xception (github.com/oarriaga/face_classification) as human-models' emotion.json: 64x64 grayscale, " +
			"gray = 0.2989 R + 0.587 G + 0.114 B on [0, 1] then (gray − 0.5) × 2, exactly as the human library's src/gear/emotion.ts " +
			"feeds it; softmax over angry, disgust, fear, happy, sad, surprise, neutral",
		License:   humanLicense,
		TrainedOn: []string{"fer2013"},
		File:      humanModels + "emotion.json",
		SHA256: map[string]string{
			"emotion.json": "56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2",
			"emotion.bin":  "927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987",
		},
		Output: "Identity:0",
		// (Σ w·byte − 127.5) × 2/255 is the library's (Σ w·byte/255 − 0.5) × 2.
		Preprocess: func() preprocess.Spec {
			s := inputSpec(64, preprocess.Gray, []float64{127.5}, 2.0/255)
			s.GrayWeights = []float64{0.2989, 0.587, 0.114}
			return s
		}(),
		Classes: []string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"},
	},
}

// Classifier is an opened classifier preset.
type Classifier struct {
	m      *Model
	preset ClassifierPreset
}

// Class is one image's classification.
type Class struct {
	Probs      []float32 // one per class, in ClassifierPreset.Classes order
	Best       int       // index of the most probable class (the first on ties)
	Confidence float64   // its probability
	// Err is set for a row that is not a probability distribution (it is
	// then to be left unknown, with this reason).
	Err *preprocess.RowError
}

// OpenClassifier opens a classifier preset with the runtime settings of
// opts (batch size, threads).
func OpenClassifier(name string, opts Options) (*Classifier, error) {
	p, ok := Classifiers[name]
	if !ok {
		return nil, fmt.Errorf("classifier %q is not a preset; the classifier presets are %s", name, strings.Join(sortedKeys(Classifiers), ", "))
	}
	path, err := Preset{Name: p.Name, File: p.File, SHA256: p.SHA256}.Path()
	if err != nil {
		return nil, err
	}
	// The graph runs through Model with one "class age" per class: only
	// the width of that declaration is used (Classify reads raw rows).
	idx := make([]float64, len(p.Classes))
	for i := range idx {
		idx[i] = float64(i)
	}
	opts.Input, opts.Output = "", p.Output
	m, err := Open(path, p.Preprocess, preprocess.Output{Decode: preprocess.Classes, ClassAges: idx, Reduce: preprocess.Argmax}, opts)
	if err != nil {
		return nil, fmt.Errorf("classifier %s: %w", name, err)
	}
	return &Classifier{m: m, preset: p}, nil
}

// Preset is the classifier's declaration.
func (c *Classifier) Preset() ClassifierPreset { return c.preset }

// Model is the underlying imported graph.
func (c *Classifier) Model() *Model { return c.m }

// Classify runs the classifier over a preprocessed batch.
func (c *Classifier) Classify(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([]Class, error) {
	rows, err := c.m.Outputs(ctx, t, tracker)
	if err != nil {
		return nil, err
	}
	out := make([]Class, len(rows))
	for i, r := range rows {
		out[i].Probs = r
		sum := 0.0
		for j, v := range r {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) || f < -1e-3 || f > 1+1e-3 {
				out[i].Err = &preprocess.RowError{Reason: preprocess.ReasonInvalidProbabilities, Detail: fmt.Sprintf("class %s has output %v", c.preset.Classes[j], v)}
				break
			}
			sum += f
			if v > r[out[i].Best] {
				out[i].Best = j
			}
		}
		if out[i].Err == nil && math.Abs(sum-1) > 1e-3 {
			out[i].Err = &preprocess.RowError{Reason: preprocess.ReasonInvalidProbabilities, Detail: fmt.Sprintf("class outputs sum to %.6g", sum)}
		}
		out[i].Confidence = float64(r[out[i].Best])
	}
	return out, nil
}

// Close ends the session.
func (c *Classifier) Close() error { return c.m.Close() }
