package stages

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fairage/dataset"
	"fairage/pipeline"
)

// cancelOnWrite cancels a context once the log shows a given line, to
// interrupt a run at a known point (like Ctrl-C after that epoch).
type cancelOnWrite struct {
	mu     sync.Mutex
	marker string
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// A training interrupted after epoch 3 and rerun with --resume ends with
// the same history as an uninterrupted run with the same seed.
func TestInterruptedTrainingResumesToTheSameResult(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small ResNet three times; skipped with -short")
	}
	sets := []string{"data.synthetic.count=600", "data.image_size=24", "model.width_multiplier=0.125", "model.head=[32]",
		"train.epochs=5", "train.threads.intra_op=2", "train.threads.inter_op=1",
		"train.early_stopping.patience=0", "train.reduce_on_plateau.patience=0"}
	cfg, err := Load(repoFile(t, "pipeline.yaml"), LoadOptions{Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	run := func(runs string, ctx context.Context, log io.Writer, resume bool) error {
		r := &pipeline.Runner{Graph: Graph(cfg.Config)}
		opts := cfg.RunOptions()
		opts.RunsDir, opts.Name, opts.Until, opts.Log, opts.Resume = runs, "r", stageTrain, log, resume
		_, err := r.Run(ctx, opts)
		return err
	}
	straight := t.TempDir()
	if err := run(straight, context.Background(), io.Discard, false); err != nil {
		t.Fatal(err)
	}
	resumed := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := run(resumed, ctx, &cancelOnWrite{marker: "epoch 3 (all)", cancel: cancel}, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: want context.Canceled, got %v", err)
	}
	// The interrupted attempt left its last checkpoint after epoch 3 in the
	// stage's scratch folder; that is what --resume continues from (a rerun
	// from scratch would give the same history, so check the state too).
	states, _ := filepath.Glob(filepath.Join(resumed, ".cache", stageTrain, ".scratch-*", "last", "state.json"))
	if len(states) != 1 {
		t.Fatalf("want one saved training state after the interruption, found %v", states)
	}
	var state struct {
		Epoch int `json:"epoch"`
	}
	b, err := os.ReadFile(states[0])
	if err == nil {
		err = json.Unmarshal(b, &state)
	}
	if err != nil || state.Epoch != 3 {
		t.Fatalf("saved state: epoch %d, %v; want 3 epochs done", state.Epoch, err)
	}
	if err := run(resumed, context.Background(), io.Discard, true); err != nil {
		t.Fatal(err)
	}
	want, err := dataset.ReadHistory(filepath.Join(straight, "r", stageTrain, historyFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := dataset.ReadHistory(filepath.Join(resumed, "r", stageTrain, historyFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("resumed history has %d epochs, uninterrupted %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Loss != want[i].Loss || got[i].ValMAE != want[i].ValMAE {
			t.Errorf("epoch %d: resumed loss %v val_mae %v, uninterrupted %v %v", i+1, got[i].Loss, got[i].ValMAE, want[i].Loss, want[i].ValMAE)
		}
	}
}
