package tfmodel

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/modelsdir"
	"fairage/regressor"
)

// fitHistory trains a fresh model and returns its history, final variables
// and predictions on data.
func fitHistory(t *testing.T, cfg ModelConfig, tc TrainConfig, train, valid regressor.Data, opts ...Option) ([]dataset.EpochRecord, map[string][]byte, []float64) {
	t.Helper()
	m, err := New(cfg, quiet(append([]Option{WithTraining(tc)}, opts...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hist, err := m.Fit(context.Background(), train, valid, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(context.Background(), valid)
	if err != nil {
		t.Fatal(err)
	}
	return hist, variableBytes(t, m), pred
}

// floats reads a variable's bytes as float32 values.
func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out
}

// TestCachedHeadOnlyEqualsUncached: head-only training on cached backbone
// features gives the curve, weights and predictions of recomputing the
// backbone every epoch (same batches, dropout masks and optimizer), within
// float rounding; the backbone stays bit-identical either way. Covers a
// ResNet (with batch norm and weight decay, and head_then_all, whose
// second phase must not use the cache) and a pretrained face_resnet.
func TestCachedHeadOnlyEqualsUncached(t *testing.T) {
	skipTrainingIfShort(t)
	type setup struct {
		name  string
		cfg   ModelConfig
		tc    func() TrainConfig
		train regressor.Data
		valid regressor.Data
	}
	r18 := smallModel(32)
	headOnly := func() TrainConfig {
		tc := smallTrain()
		tc.Strategy, tc.Epochs, tc.WeightDecay = "head_only", 3, 1e-4
		return tc
	}
	thenAll := func() TrainConfig {
		tc := smallTrain()
		tc.Strategy = "head_then_all"
		tc.HeadPhase, tc.AllPhase = PhaseConfig{LR: 3e-3, Epochs: 2}, PhaseConfig{LR: 1e-3, Epochs: 1}
		return tc
	}
	// Oversampled copies: examples sharing an image are cached once.
	train := makeData(t, 40, 32, 31)
	train.Examples = append(train.Examples, train.Examples[:8]...)
	setups := []setup{
		{"resnet18 head_only", r18, headOnly, train, makeData(t, 24, 32, 32)},
		{"resnet18 head_then_all", r18, thenAll, train, makeData(t, 24, 32, 33)},
	}
	face := faceModel("none", "pooled")
	if _, err := modelsdir.Path(pretrained["face-api"].manifest); err == nil {
		face.Pretrained = "face-api"
	}
	faceTC := func() TrainConfig {
		tc := smallTrain()
		tc.Strategy, tc.Epochs, tc.Adam.LR = "head_only", 2, 1e-3
		return tc
	}
	setups = append(setups, setup{"face_resnet " + string(face.Pretrained) + " head_only", face, faceTC, makeData(t, 20, 150, 34), makeData(t, 12, 150, 35)})

	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			h1, v1, p1 := fitHistory(t, s.cfg, s.tc(), s.train, s.valid)
			h2, v2, p2 := fitHistory(t, s.cfg, s.tc(), s.train, s.valid, WithFeatureCache(false))
			worst := 0.0
			rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-6) }
			for i := range h2 {
				for _, pair := range [][2]float64{{h1[i].Loss, h2[i].Loss}, {h1[i].MAE, h2[i].MAE}, {h1[i].ValLoss, h2[i].ValLoss}, {h1[i].ValMAE, h2[i].ValMAE}} {
					worst = max(worst, rel(pair[0], pair[1]))
				}
			}
			if worst > 1e-4 {
				t.Errorf("cached vs uncached curves differ by %.3g relative:\n%v\n%v", worst, h1, h2)
			}
			var wWorst float64
			for name, b := range v2 {
				a := floats(v1[name])
				for i, x := range floats(b) {
					wWorst = max(wWorst, math.Abs(float64(a[i]-x)))
				}
			}
			if wWorst > 1e-4 {
				t.Errorf("cached vs uncached weights differ by up to %.3g", wWorst)
			}
			var pWorst float64
			for i := range p2 {
				pWorst = max(pWorst, math.Abs(p1[i]-p2[i]))
			}
			if pWorst > 1e-3 {
				t.Errorf("cached vs uncached predictions differ by up to %.3g years", pWorst)
			}
			t.Logf("largest differences: curve %.2g relative, weights %.2g, predictions %.2g years; epoch seconds cached %v, uncached %v",
				worst, wWorst, pWorst, secs(h1), secs(h2))
		})
	}
}

func secs(h []dataset.EpochRecord) []float64 {
	var out []float64
	for _, r := range h {
		out = append(out, math.Round(r.Seconds*100)/100)
	}
	return out
}

// TestPretrainedHeadOnlyKeepsWeights: head-only training of a pretrained
// face_resnet leaves every backbone variable bit-identical to the package's
// values (loaded again into a fresh model).
func TestPretrainedHeadOnlyKeepsWeights(t *testing.T) {
	skipTrainingIfShort(t)
	needFaceAPI(t)
	cfg := faceModel("face-api", "descriptor")
	tc := smallTrain()
	tc.Strategy, tc.Epochs = "head_only", 2
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before := variableBytes(t, m)
	data := makeData(t, 16, 150, 41)
	if _, err := m.Fit(context.Background(), data, data, nil, nil); err != nil {
		t.Fatal(err)
	}
	after := variableBytes(t, m)
	for _, v := range m.gr.modelVars() {
		same := bytes.Equal(before[v.name], after[v.name])
		if v.part == partBackbone && !same {
			t.Errorf("backbone variable %s changed", v.name)
		}
		if v.part == partHead && same {
			t.Errorf("head variable %s did not change", v.name)
		}
	}
}

// TestFreezeStages: all-layers training with freeze_stages N keeps every
// variable of the first N stages (batch-norm statistics included)
// bit-identical and trains the rest, for a ResNet and face_resnet.
func TestFreezeStages(t *testing.T) {
	skipTrainingIfShort(t)
	for _, tt := range []struct {
		name   string
		cfg    ModelConfig
		size   int
		freeze int
	}{
		{"resnet18", smallModel(32), 32, 2},
		{"face_resnet", faceModel("none", "descriptor"), 150, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := smallTrain()
			tc.Epochs, tc.FreezeStages, tc.Adam.LR = 1, tt.freeze, 1e-3
			m, err := New(tt.cfg, quiet(WithTraining(tc))...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			before := variableBytes(t, m)
			data := makeData(t, 16, tt.size, 51)
			if _, err := m.Fit(context.Background(), data, regressor.Data{}, nil, nil); err != nil {
				t.Fatal(err)
			}
			after := variableBytes(t, m)
			counts := map[string]int{}
			for _, v := range m.gr.modelVars() {
				same := bytes.Equal(before[v.name], after[v.name])
				st := stageOf[tt.cfg.Arch](v.name)
				frozen := v.part == partBackbone && st >= 1 && st <= tt.freeze
				switch {
				case frozen && !same:
					t.Errorf("%s (stage %d of %d frozen) changed", v.name, st, tt.freeze)
				case !frozen && same && v.trained:
					t.Errorf("%s (stage %d) did not change", v.name, st)
				case frozen:
					counts["frozen"]++
				default:
					counts["trained"]++
				}
				if v.part == partBackbone && st == 0 {
					t.Errorf("backbone variable %s has no stage", v.name)
				}
			}
			t.Logf("%v", counts)
		})
	}
}

// TestBackboneLRScale: Adam's first step moves every element by about
// the rate (m̂/√v̂ = ±1), so after one step the largest change of a backbone
// weight is backbone_lr_scale × lr and that of a head weight lr.
func TestBackboneLRScale(t *testing.T) {
	skipTrainingIfShort(t)
	for _, scale := range []float64{1, 0.1} {
		tc := smallTrain()
		tc.Epochs, tc.BatchSize, tc.BackboneLRScale, tc.Adam.LR = 1, 32, scale, 1e-3
		cfg := smallModel(32)
		cfg.Dropout = 0
		step := largestSteps(t, cfg, tc)
		t.Logf("backbone_lr_scale %g: largest step backbone %.4g, head %.4g", scale, step[partBackbone], step[partHead])
		if math.Abs(step[partHead]-1e-3) > 1e-5 || math.Abs(step[partBackbone]-scale*1e-3) > scale*1e-5 {
			t.Errorf("backbone_lr_scale %g: largest steps %.5g (backbone) and %.5g (head), want %.5g and 0.001",
				scale, step[partBackbone], step[partHead], scale*1e-3)
		}
	}
}

// largestSteps fits a model of cfg under tc on 32 synthetic 32-px images
// and returns the largest change of a trained weight in the backbone and
// in the head.
func largestSteps(t *testing.T, cfg ModelConfig, tc TrainConfig) map[part]float64 {
	t.Helper()
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before := variableBytes(t, m)
	if _, err := m.Fit(context.Background(), makeData(t, 32, 32, 61), regressor.Data{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	after := variableBytes(t, m)
	step := map[part]float64{}
	for _, v := range m.gr.modelVars() {
		if !v.trained {
			continue
		}
		a, b := floats(before[v.name]), floats(after[v.name])
		for i := range a {
			step[v.part] = max(step[v.part], math.Abs(float64(b[i]-a[i])))
		}
	}
	return step
}

// TestWarmup: with warmup_epochs W over a one-step epoch, Adam's first
// step of a phase that trains the backbone moves every weight by lr/W
// (see TestBackboneLRScale); the ramp restarts with each phase, and
// head-only phases never warm up.
func TestWarmup(t *testing.T) {
	skipTrainingIfShort(t)
	const lr = 1e-3
	for _, tt := range []struct {
		name     string
		strategy Strategy
		warmup   float64
		backbone float64 // the largest change of a backbone weight
		head     float64 // of a head weight; 0: not checked
	}{
		{"all_layers without warmup", "all_layers", 0, lr, lr},
		{"all_layers, warmup 4 epochs", "all_layers", 4, lr / 4, lr / 4},
		{"all_layers, warmup half an epoch", "all_layers", 0.5, lr, lr},
		// A step counter carried over from the head phase would give 2/4.
		{"head_then_all: the ramp restarts in the all phase", "head_then_all", 4, lr / 4, 0},
		{"head_only never warms up", "head_only", 4, 0, lr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := smallTrain()
			tc.Strategy, tc.Epochs, tc.BatchSize, tc.Adam.LR, tc.WarmupEpochs = tt.strategy, 1, 32, lr, tt.warmup
			tc.HeadPhase, tc.AllPhase = PhaseConfig{LR: lr, Epochs: 1}, PhaseConfig{LR: lr, Epochs: 1}
			cfg := smallModel(32)
			cfg.Dropout = 0
			step := largestSteps(t, cfg, tc)
			t.Logf("largest step: backbone %.5g, head %.5g", step[partBackbone], step[partHead])
			if math.Abs(step[partBackbone]-tt.backbone) > lr*1e-2 {
				t.Errorf("largest backbone step %.5g, want %.5g", step[partBackbone], tt.backbone)
			}
			if tt.head != 0 && math.Abs(step[partHead]-tt.head) > lr*1e-2 {
				t.Errorf("largest head step %.5g, want %.5g", step[partHead], tt.head)
			}
		})
	}
}

// TestPretrainedCheckpoint: model.json records the weights' source and
// digest and the input normalisation; the checkpoint loads without the
// package installed; it refuses to restore into a from-scratch network (and
// the reverse) and a file whose normalisation is not the arch's.
func TestPretrainedCheckpoint(t *testing.T) {
	needFaceAPI(t)
	m, err := New(faceModel("face-api", "pooled"), quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, modelFileName))
	if err != nil {
		t.Fatal(err)
	}
	var mf modelFile
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	w := mf.Weights
	if w == nil || w.Name != "face-api" || w.Package != "@vladmandic/face-api@1.7.15" || len(w.Digest) != 64 || len(w.Files) != 2 ||
		w.Tensors != 116 || len(w.Unused) != 1 || w.Unused[0] != "fc" {
		t.Errorf("model.json pretrained_weights = %+v", w)
	}
	if mf.Input == nil || mf.Input.Std[0] != 255 || mf.Input.Mean[0] != 122.782 {
		t.Errorf("model.json input = %+v, want face-api's mean and /255", mf.Input)
	}

	t.Setenv(modelsdir.Env, t.TempDir()) // no package: a checkpoint must not need it
	loaded, err := Load(dir, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Pretrained() == nil || loaded.Pretrained().Digest != w.Digest {
		t.Errorf("loaded model lost its weights source: %+v", loaded.Pretrained())
	}
	loaded.Close()

	scratch, err := New(faceModel("none", "pooled"), quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	checkErr(t, scratch.Restore(dir), "pretrained face-api vs none")
	scratchDir := filepath.Join(t.TempDir(), "scratch")
	if err := scratch.Save(scratchDir); err != nil {
		t.Fatal(err)
	}
	checkErr(t, m.Restore(scratchDir), "pretrained none vs face-api")

	mf.Input.Std = []float32{58.395, 57.12, 57.375}
	b, _ = json.Marshal(mf)
	os.WriteFile(filepath.Join(dir, modelFileName), b, 0o644)
	_, err = Load(dir, quiet()...)
	checkErr(t, err, "records input normalisation mean [122.782 117.001 104.298], std [58.395 57.12 57.375], but face_resnet networks here normalise with")
}

// TestLegacyModelFile: a model.json written before the backbone fields
// existed loads as a from-scratch network with pooled features.
func TestLegacyModelFile(t *testing.T) {
	m, err := New(smallModel(32), quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, modelFileName)
	b, _ := os.ReadFile(path)
	var raw map[string]any
	json.Unmarshal(b, &raw)
	delete(raw, "input")
	model := raw["model"].(map[string]any)
	delete(model, "pretrained")
	delete(model, "features")
	b, _ = json.Marshal(raw)
	os.WriteFile(path, b, 0o644)
	if strings.Contains(string(b), "pretrained") {
		t.Fatal("legacy file still names pretrained")
	}
	loaded, err := Load(dir, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if c := loaded.Config(); c.Pretrained != "none" || c.Features != "pooled" {
		t.Errorf("legacy model loads as pretrained %q, features %q", c.Pretrained, c.Features)
	}
}
