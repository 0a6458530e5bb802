package tfmodel

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"fairage/dataset"
	"fairage/regressor"
)

// makeData writes n synthetic size×size images to a packed file in a temp
// folder and returns them as regressor.Data with ages in [10, 80). Pixels
// are seeded noise plus a brightness that grows with age, so there is
// something to learn and each image is distinct.
func makeData(t testing.TB, n, size int, seed uint64) regressor.Data {
	return makeImages(t, n, size, seed, 160)
}

// makeNoise is makeData without the age signal: pure noise images, so a
// network can only fit them by memorising.
func makeNoise(t testing.TB, n, size int, seed uint64) regressor.Data {
	return makeImages(t, n, size, seed, 0)
}

func makeImages(t testing.TB, n, size int, seed uint64, signal float64) regressor.Data {
	t.Helper()
	path := filepath.Join(t.TempDir(), "images.pack")
	w, err := dataset.CreatePacked(path, size, size)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	examples := make([]regressor.Example, n)
	pix := make([]byte, size*size*3)
	for i := range n {
		age := 10 + 70*rng.Float64()
		base := age / 80 * signal
		for j := range pix {
			pix[j] = byte(base + (250-signal)*rng.Float64())
		}
		id := "img" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		if err := w.Append(id, pix); err != nil {
			t.Fatal(err)
		}
		examples[i] = regressor.Example{Index: i, ID: id, Target: age, Weight: 1, AugSeed: uint64(i)}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return regressor.Data{Images: p, Examples: examples}
}

// smallModel is a resnet18 small enough for a CPU test.
func smallModel(size int) ModelConfig {
	c := DefaultModelConfig()
	c.InputSize = size
	c.WidthMultiplier = 0.125
	c.Head = []int{32, 16}
	c.Dropout = 0.1
	c.BNMomentum = 0.9
	return c
}

// smallTrain trains all layers with fast settings and a single thread pool.
func smallTrain() TrainConfig {
	c := DefaultTrainConfig()
	c.Strategy = "all_layers"
	c.Adam.LR = 3e-3
	c.Epochs = 3
	c.BatchSize = 16
	c.ReduceOnPlateau.Patience = 0
	c.EarlyStopping = EarlyStopConfig{Monitor: "val_mae"}
	c.Threads = Threads{IntraOp: 1, InterOp: 1}
	c.Workers = 1
	return c
}

// quiet is the options tests use: no progress bars or logs.
func quiet(extra ...Option) []Option {
	return append([]Option{WithProgress(nil), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, extra...)
}

// epochRecord is a history row with the given training metrics.
func epochRecord(loss, mae float64) dataset.EpochRecord {
	return dataset.EpochRecord{Phase: "all", Epoch: 1, Loss: loss, MAE: mae}
}

// skipTrainingIfShort skips a test that trains a network under -short, as
// the README promises for the slow tests.
func skipTrainingIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a network; skipped with -short")
	}
}
