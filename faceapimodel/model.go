package faceapimodel

import (
	"context"
	"fmt"
	"math"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"fairage/dataset"
	"fairage/internal/modelsdir"
	"fairage/internal/progress"
	"fairage/preprocess"
	"fairage/weights"
)

// AgeGenderManifest is where make setup-models installs AgeGenderNet's
// weights, relative to the models folder.
const AgeGenderManifest = "face-api/model/age_gender_model-weights_manifest.json"

// AgeGenderSpec is face-api's preprocessing for AgeGenderNet
// (TinyXception.forwardInput): the face padded to a square around its
// centre and resized bilinearly to 112×112 (toBatchTensor(112, true)),
// RGB, then (byte − mean RGB) / 255 with face-api's mean.
func AgeGenderSpec() preprocess.Spec {
	return preprocess.Spec{Height: AgeGenderInput, Width: AgeGenderInput, Resample: dataset.ResampleBiLinear, Fit: dataset.FitPad,
		Color: preprocess.RGB, Layout: preprocess.NHWC, DType: preprocess.Float32,
		Mean: []float64{122.782, 117.001, 104.298}, Std: []float64{255}, Scale: 1}
}

// Options sizes inference.
type Options struct {
	BatchSize int // images per session run (default 32)
	IntraOp   int // TensorFlow intra-op threads (0: all cores)
	InterOp   int // inter-op threads (0: TensorFlow's choice)
}

// AgeGender is AgeGenderNet loaded and ready to predict.
type AgeGender struct {
	g        *AgeGenderGraph
	sess     *tf.Session
	batch    int
	manifest string
	digest   string
}

// OpenAgeGender builds AgeGenderNet from a weights manifest (empty: the
// one make setup-models installs) and starts a session.
func OpenAgeGender(manifest string, opts Options) (*AgeGender, error) {
	if manifest == "" {
		p, err := modelsdir.Path(AgeGenderManifest)
		if err != nil {
			return nil, err
		}
		manifest = p
	}
	w, err := weights.ReadManifest(manifest)
	if err != nil {
		return nil, fmt.Errorf("face-api AgeGenderNet: %w", err)
	}
	g, err := BuildAgeGender(w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", manifest, err)
	}
	cfg, err := proto.Marshal(&corepb.ConfigProto{
		IntraOpParallelismThreads: int32(opts.IntraOp),
		InterOpParallelismThreads: int32(opts.InterOp),
		// Per-session pools: another session's thread counts must not
		// change how this one runs and rounds.
		UsePerSessionThreads: true,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session config: %w", err)
	}
	sess, err := tf.NewSession(g.Graph, &tf.SessionOptions{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("start TensorFlow session: %w", err)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = 32
	}
	return &AgeGender{g: g, sess: sess, batch: batch, manifest: manifest, digest: w.Digest()}, nil
}

// Close ends the session.
func (m *AgeGender) Close() error {
	if m.sess == nil {
		return nil
	}
	err := m.sess.Close()
	m.sess = nil
	return err
}

// Manifest is the weights manifest the net was built from.
func (m *AgeGender) Manifest() string { return m.manifest }

// Digest is the sha256 over the manifest and shard files.
func (m *AgeGender) Digest() string { return m.digest }

// Predict returns the age face-api regresses for each image of t (made
// with AgeGenderSpec), in years; NaN where the output is not finite.
func (m *AgeGender) Predict(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([]float64, error) {
	spec := AgeGenderSpec()
	n := t.Len()
	if len(t.F32) != n*spec.PerImage() {
		return nil, fmt.Errorf("face-api AgeGenderNet: input holds %d values, want %d images of %s", len(t.F32), n, spec)
	}
	tracker = progress.OrDiscard(tracker)
	out := make([]float64, 0, n)
	per := spec.PerImage()
	for lo := 0; lo < n; lo += m.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(n, lo+m.batch)
		in, err := tf.NewTensor(t.F32[lo*per : hi*per])
		if err != nil {
			return nil, err
		}
		if err := in.Reshape([]int64{int64(hi - lo), AgeGenderInput, AgeGenderInput, 3}); err != nil {
			return nil, err
		}
		res, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.g.Input: in}, []tf.Output{m.g.Age}, nil)
		if err != nil {
			return nil, fmt.Errorf("face-api AgeGenderNet: run: %w", err)
		}
		ages, ok := res[0].Value().([]float32)
		if !ok || len(ages) != hi-lo {
			return nil, fmt.Errorf("face-api AgeGenderNet: output of shape %v, want [%d]", res[0].Shape(), hi-lo)
		}
		for _, a := range ages {
			v := float64(a)
			if math.IsInf(v, 0) {
				v = math.NaN()
			}
			out = append(out, v)
		}
		tracker.Add(hi - lo)
	}
	return out, nil
}

// PredictPacked predicts from packed images (112×112) at the given
// positions, one batch in memory at a time.
func (m *AgeGender) PredictPacked(ctx context.Context, pk *dataset.Packed, index []int, tracker progress.Tracker) ([]float64, error) {
	spec := AgeGenderSpec()
	if err := spec.CheckPacked(pk); err != nil {
		return nil, fmt.Errorf("face-api AgeGenderNet: %w", err)
	}
	return preprocess.PackedBatches(ctx, spec, pk, index, m.batch, func(t preprocess.Tensor) ([]float64, error) {
		return m.Predict(ctx, t, tracker)
	})
}
