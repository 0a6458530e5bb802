package tfmodel

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
)

// TestSaveLoadIdenticalPredictions: a saved and reloaded model predicts bit
// for bit what the original does.
func TestSaveLoadIdenticalPredictions(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 40, 32, 11)
	tc := smallTrain()
	tc.Epochs = 1
	m, err := New(smallModel(32), quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Fit(context.Background(), data, data, nil, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil { // replacing an existing folder
		t.Fatal(err)
	}
	want, err := m.Predict(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir, quiet(WithThreads(1, 1), WithBatchSize(tc.BatchSize))...)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	got, err := loaded.Predict(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("example %d: loaded model predicts %v, original %v", i, got[i], want[i])
		}
	}
	for _, f := range []string{modelFileName, variablesPrefix + ".index"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("saved model lacks %s: %v", f, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("temporary folders left beside the model: %v", entries)
	}
}

// TestCheckpointMismatch: weights of another network, or a folder that is
// not a checkpoint, fail with a message saying so.
func TestCheckpointMismatch(t *testing.T) {
	cfg18 := smallModel(32)
	m18, err := New(cfg18, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer m18.Close()
	dir := filepath.Join(t.TempDir(), "r18")
	if err := m18.Save(dir); err != nil {
		t.Fatal(err)
	}
	cfg34 := cfg18
	cfg34.Arch = "resnet34"
	m34, err := New(cfg34, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer m34.Close()
	wide := cfg18
	wide.WidthMultiplier = 0.25
	mWide, err := New(wide, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer mWide.Close()

	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"other architecture", func() error { return m34.Restore(dir) }, "different network than this model (arch resnet18 vs resnet34"},
		{"other width", func() error { return mWide.Restore(dir) }, "width_multiplier 0.125 vs 0.25"},
		{"not a checkpoint", func() error { _, err := Load(t.TempDir()); return err }, "no model.json"},
		{"missing folder", func() error { _, err := Load(filepath.Join(t.TempDir(), "nope")); return err }, "no model.json"},
		{"weights missing", func() error {
			bad := filepath.Join(t.TempDir(), "bad")
			os.MkdirAll(bad, 0o755)
			b, _ := os.ReadFile(filepath.Join(dir, modelFileName))
			os.WriteFile(filepath.Join(bad, modelFileName), b, 0o644)
			_, err := Load(bad, quiet()...)
			return err
		}, "the weights are missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			checkErr(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "goroutine") {
				t.Errorf("error carries a stack trace: %v", err)
			}
		})
	}
}

// TestResumeContinuesExactly: a head_then_all run interrupted in its second
// phase and resumed from last/ gives the same history, bit for bit, as an
// uninterrupted run: weights, Adam slots, step counter, rate and callback
// state all come back.
func TestResumeContinuesExactly(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 32, 32, 12)
	valid := makeData(t, 16, 32, 13)
	tc := smallTrain()
	tc.Strategy = "head_then_all"
	tc.HeadPhase = PhaseConfig{LR: 3e-3, Epochs: 2}
	tc.AllPhase = PhaseConfig{LR: 1e-3, Epochs: 2}
	tc.ReduceOnPlateau = PlateauConfig{Monitor: "val_mae", Factor: 0.5, Patience: 1}
	tc.EarlyStopping = EarlyStopConfig{Monitor: "val_mae", RestoreBest: true}
	fit := func(tc TrainConfig, stopAfter int) []dataset.EpochRecord {
		m, err := New(smallModel(32), quiet(WithTraining(tc))...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hist, err := m.Fit(ctx, data, valid, nil, func(r dataset.EpochRecord) {
			if int(r.Epoch) == stopAfter {
				cancel()
			}
		})
		if stopAfter > 0 && !errors.Is(err, context.Canceled) || stopAfter == 0 && err != nil {
			t.Fatalf("fit (stop after %d): %v", stopAfter, err)
		}
		return hist
	}
	tc.CheckpointDir = t.TempDir()
	want := fit(tc, 0)

	tc.CheckpointDir = t.TempDir()
	if h := fit(tc, 3); len(h) != 3 {
		t.Fatalf("interrupted run has %d epochs, want 3", len(h))
	}
	tc.Resume = true
	got := fit(tc, 0)
	if len(got) != len(want) {
		t.Fatalf("resumed history has %d epochs, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Loss != want[i].Loss || got[i].ValMAE != want[i].ValMAE || got[i].LR != want[i].LR || got[i].Phase != want[i].Phase {
			t.Errorf("epoch %d: resumed %+v, uninterrupted %+v", i+1, got[i], want[i])
		}
	}
	for _, sub := range []string{"best", "last"} {
		if _, err := os.Stat(filepath.Join(tc.CheckpointDir, sub, modelFileName)); err != nil {
			t.Errorf("%s checkpoint missing: %v", sub, err)
		}
	}
	var st trainState
	b, err := os.ReadFile(filepath.Join(tc.CheckpointDir, "last", stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 4 || st.Phase != 2 {
		t.Errorf("final state: epoch %d phase %d, want 4 and 2", st.Epoch, st.Phase)
	}
	if want[0].Phase != "head" || want[2].Phase != "all" || want[2].LR != 1e-3 {
		t.Errorf("phases: %+v", want)
	}
}

// TestRestoreBestLeavesBestWeights: with RestoreBest the model after Fit is
// the best epoch's, the same weights as best/.
func TestRestoreBestLeavesBestWeights(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 32, 32, 14)
	tc := smallTrain()
	tc.Epochs = 4
	tc.Adam.LR = 3e-2 // noisy on purpose, so the last epoch is rarely the best
	tc.EarlyStopping = EarlyStopConfig{Monitor: "val_mae", RestoreBest: true}
	tc.CheckpointDir = t.TempDir()
	m, err := New(smallModel(32), quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hist, err := m.Fit(context.Background(), data, data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	best, err := Load(filepath.Join(tc.CheckpointDir, "best"), quiet(WithThreads(1, 1), WithBatchSize(tc.BatchSize))...)
	if err != nil {
		t.Fatal(err)
	}
	defer best.Close()
	a, _ := m.Predict(context.Background(), data)
	b, _ := best.Predict(context.Background(), data)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("model after Fit differs from best/ at example %d: %v vs %v", i, a[i], b[i])
		}
	}
	bestMAE := hist[0].ValMAE
	for _, h := range hist {
		bestMAE = min(bestMAE, h.ValMAE)
	}
	if got := meanAbsErr(a, data); got-bestMAE > 1e-3*bestMAE {
		t.Errorf("MAE after Fit %.5f, best epoch's val_mae %.5f", got, bestMAE)
	}
}
