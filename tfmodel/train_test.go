package tfmodel

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/regressor"
)

// TestOverfitsSmallSet: a resnet18 at 32×32 must memorise 64 noise images
// with random ages; if gradients, Adam or batch norm were wrong it could
// not. One full batch per step keeps batch-norm statistics the same each
// epoch, which is what lets training-mode MAE go to zero.
func TestOverfitsSmallSet(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeNoise(t, 64, 32, 3)
	cfg := smallModel(32)
	cfg.WidthMultiplier = 0.25
	cfg.Dropout = 0
	tc := smallTrain()
	tc.Epochs = 60
	tc.BatchSize = 64
	tc.Adam.LR = 1e-2
	tc.ReduceOnPlateau = PlateauConfig{Monitor: "mae", Factor: 0.5, Patience: 3, MinLR: 1e-5}
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hist, err := m.Fit(context.Background(), data, regressor.Data{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	pred, err := m.Predict(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	inference := meanAbsErr(pred, data)
	t.Logf("after %d epochs: training MAE %.3f years (training mode), %.3f years by Predict; %.0f img/s",
		len(hist), last.MAE, inference, last.ImagesPerSec)
	if last.MAE >= 1 {
		t.Errorf("training MAE %.3f years, want < 1", last.MAE)
	}
	if inference >= 1.5 {
		t.Errorf("MAE by Predict on the training images %.3f years, want < 1.5", inference)
	}
	if !math.IsNaN(last.ValMAE) {
		t.Errorf("val_mae %v without validation data, want NaN", last.ValMAE)
	}
}

// TestHeadOnlyFreezesBackbone: after an epoch of head_only every backbone
// variable (including batch-norm moving statistics) is bit-identical and
// every head variable has changed.
func TestHeadOnlyFreezesBackbone(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 32, 32, 4)
	tc := smallTrain()
	tc.Strategy, tc.Epochs = "head_only", 1
	m, err := New(smallModel(32), quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before := variableBytes(t, m)
	if _, err := m.Fit(context.Background(), data, data, nil, nil); err != nil {
		t.Fatal(err)
	}
	after := variableBytes(t, m)
	var frozen, changed int
	for _, v := range m.gr.modelVars() {
		same := bytes.Equal(before[v.name], after[v.name])
		switch {
		case v.part == partBackbone && !same:
			t.Errorf("backbone variable %s changed during head_only training", v.name)
		case v.part == partHead && same:
			t.Errorf("head variable %s did not change during head_only training", v.name)
		case v.part == partBackbone:
			frozen++
		default:
			changed++
		}
	}
	t.Logf("%d backbone variables bit-identical, %d head variables changed", frozen, changed)
}

// TestSameSeedSameCurve: two runs with the same seeds and data give the
// same loss curve. With these settings (2 intra-op threads, dropout on,
// shuffling) the curves are bit-identical on CPU; the test allows 1e-6
// relative in case a kernel's reduction order ever depends on timing.
func TestSameSeedSameCurve(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 48, 32, 5)
	tc := smallTrain()
	tc.Epochs = 2
	tc.Threads.IntraOp = 2
	tc.Workers = 2
	run := func() []dataset.EpochRecord {
		m, err := New(smallModel(32), quiet(WithTraining(tc))...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		hist, err := m.Fit(context.Background(), data, data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return hist
	}
	a, b := run(), run()
	worst := 0.0
	for i := range a {
		for _, pair := range [][2]float64{{a[i].Loss, b[i].Loss}, {a[i].MAE, b[i].MAE}, {a[i].ValLoss, b[i].ValLoss}, {a[i].ValMAE, b[i].ValMAE}} {
			rel := math.Abs(pair[0]-pair[1]) / math.Max(math.Abs(pair[0]), 1e-12)
			worst = max(worst, rel)
			if rel > 1e-6 {
				t.Errorf("epoch %d: %v vs %v differ by %.2g relative", i+1, pair[0], pair[1], rel)
			}
		}
	}
	t.Logf("largest relative difference between the two runs: %g", worst)
}

// TestNonFiniteLossStops: a diverging run stops with an error that names
// the epoch and the batch.
func TestNonFiniteLossStops(t *testing.T) {
	skipTrainingIfShort(t)
	tests := []struct {
		name   string
		change func(*TrainConfig, *regressor.Data)
	}{
		{"huge learning rate", func(tc *TrainConfig, _ *regressor.Data) { tc.Adam.LR = 1e30 }},
		{"overflowing target", func(tc *TrainConfig, d *regressor.Data) {
			tc.Loss = "mse"
			d.Examples[20].Target = 1e30 // finite, but its square is not in float32
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeData(t, 32, 32, 6)
			tc := smallTrain()
			tt.change(&tc, &data)
			m, err := New(smallModel(32), quiet(WithTraining(tc))...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			_, err = m.Fit(context.Background(), data, regressor.Data{}, nil, nil)
			if err == nil {
				t.Fatal("Fit succeeded, want a non-finite loss error")
			}
			if !strings.Contains(err.Error(), "epoch ") || !strings.Contains(err.Error(), " batch ") || !strings.Contains(err.Error(), "loss is") {
				t.Errorf("error %q does not name the epoch, batch and loss", err)
			}
			t.Log(err)
		})
	}
}

// TestBadInputs: data the model cannot take fails before training, with a
// message saying what is wrong.
func TestBadInputs(t *testing.T) {
	m, err := New(smallModel(32), quiet(WithTraining(smallTrain()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		name string
		data func() regressor.Data
		want string
	}{
		{"image size", func() regressor.Data { return makeData(t, 4, 16, 1) }, "packed images are 16x16 pixels but model.input_size is 32"},
		{"NaN target", func() regressor.Data {
			d := makeData(t, 4, 32, 1)
			d.Examples[2].Target = math.NaN()
			return d
		}, "has target NaN"},
		{"negative weight", func() regressor.Data {
			d := makeData(t, 4, 32, 1)
			d.Examples[1].Weight = -1
			return d
		}, "has weight -1"},
		{"index", func() regressor.Data {
			d := makeData(t, 4, 32, 1)
			d.Examples[0].Index = 9
			return d
		}, "image index 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Fit(context.Background(), tt.data(), regressor.Data{}, nil, nil)
			checkErr(t, err, tt.want)
		})
	}
	if _, err := m.Predict(context.Background(), makeData(t, 2, 24, 1)); err == nil || !strings.Contains(err.Error(), "model.input_size is 32") {
		t.Errorf("Predict on 24x24 images: %v", err)
	}
}

// TestCancelStopsFit: a cancelled context ends Fit between batches with
// context.Canceled, keeping the history so far.
func TestCancelStopsFit(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 32, 32, 7)
	tc := smallTrain()
	tc.Epochs = 5
	m, err := New(smallModel(32), quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	hist, err := m.Fit(ctx, data, data, nil, func(dataset.EpochRecord) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(hist) != 1 {
		t.Errorf("history has %d epochs, want 1", len(hist))
	}
}

// TestAugmenterIsUsed: the augmenter's output, not the stored pixels, is
// what the network trains on; it gets the 1-based epoch.
func TestAugmenterIsUsed(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 16, 32, 8)
	tc := smallTrain()
	tc.Epochs = 2
	tc.Workers = 3
	m, err := New(smallModel(32), quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seen := make(chan int, 64)
	aug := func(dst, src []byte, h, w int, ex regressor.Example, epoch int) {
		for i := range dst {
			dst[i] = 255 - src[i]
		}
		seen <- epoch
	}
	if _, err := m.Fit(context.Background(), data, regressor.Data{}, aug, nil); err != nil {
		t.Fatal(err)
	}
	close(seen)
	count := map[int]int{}
	for e := range seen {
		count[e]++
	}
	if count[1] != 16 || count[2] != 16 {
		t.Errorf("augmenter calls per epoch %v, want 16 in epochs 1 and 2", count)
	}
}

func meanAbsErr(pred []float64, d regressor.Data) float64 {
	var s float64
	for i, p := range pred {
		s += math.Abs(p - d.Examples[i].Target)
	}
	return s / float64(len(pred))
}

// variableBytes returns the raw bytes of every model variable.
func variableBytes(t *testing.T, m *ResNet) map[string][]byte {
	t.Helper()
	vars := m.gr.modelVars()
	vals, err := m.snapshot(vars)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for i, v := range vars {
		var b bytes.Buffer
		if _, err := vals[i].WriteContentsTo(&b); err != nil {
			t.Fatal(err)
		}
		out[v.name] = b.Bytes()
	}
	return out
}
