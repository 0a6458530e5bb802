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

// copyDir copies the files of a checkpoint folder.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(to, 0o755)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
	}
}

// A resume state that does not match the checkpoint it sits in is refused
// with a message saying what differs: an edited state.json (epoch 99 over
// epoch-1 weights once made the run cache those weights as its final
// model), weights copied in from another checkpoint, a state without
// digests.
func TestResumeRefusesAStateThatDoesNotMatchItsCheckpoint(t *testing.T) {
	skipTrainingIfShort(t)
	data := makeData(t, 16, 32, 21)
	valid := makeData(t, 8, 32, 22)
	tc := smallTrain()
	tc.Epochs = 2
	tc.EarlyStopping = EarlyStopConfig{Monitor: "val_mae", RestoreBest: false}
	tc.CheckpointDir = t.TempDir()
	fit := func(tc TrainConfig, stopAfter int) ([]dataset.EpochRecord, error) {
		m, err := New(smallModel(32), quiet(WithTraining(tc))...)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return m.Fit(ctx, data, valid, nil, func(r dataset.EpochRecord) {
			if int(r.Epoch) == stopAfter {
				cancel()
			}
		})
	}
	if _, err := fit(tc, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted fit: %v", err)
	}
	last := filepath.Join(tc.CheckpointDir, "last")
	pristine := filepath.Join(t.TempDir(), "pristine")
	copyDir(t, last, pristine)
	if _, ok, err := readState(pristine); err != nil || !ok {
		t.Fatalf("the state as written: ok %v, %v", ok, err)
	}
	editJSON := func(dir string, edit func(map[string]any)) {
		p := filepath.Join(dir, stateFileName)
		var m map[string]any
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, _ = json.Marshal(m)
		os.WriteFile(p, b, 0o644)
	}
	for _, c := range []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"epoch edited", func(dir string) { editJSON(dir, func(m map[string]any) { m["epoch"] = 99 }) }, "state.json was changed after it was written (epoch 99"},
		{"steps edited", func(dir string) { editJSON(dir, func(m map[string]any) { m["steps"] = 7 }) }, "seal does not match"},
		{"weights replaced", func(dir string) {
			names, _ := filepath.Glob(filepath.Join(dir, "variables.data-*"))
			b, _ := os.ReadFile(names[0])
			b[len(b)/2] ^= 0xff
			os.WriteFile(names[0], b, 0o644)
		}, "is not the weights file state.json was saved with"},
		{"no digests (older build)", func(dir string) { editJSON(dir, func(m map[string]any) { delete(m, "checkpoint") }) }, "has no checkpoint digests"},
		{"history cut", func(dir string) { dataset.WriteHistory(filepath.Join(dir, historyFileName), nil) }, "is not the history"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "last")
			copyDir(t, pristine, dir)
			c.damage(dir)
			_, _, err := readState(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "rerun without --resume") {
				t.Fatalf("error %v; want %q", err, c.want)
			}
		})
	}
	// Through Fit: the edited state is refused before any training.
	editJSON(last, func(m map[string]any) { m["epoch"] = 99 })
	rtc := tc
	rtc.Resume = true
	if hist, err := fit(rtc, 0); err == nil || !strings.Contains(err.Error(), "state.json was changed") {
		t.Fatalf("Fit resumed an edited state: %d epochs, %v", len(hist), err)
	}
	// (TestResumeContinuesExactly resumes an intact state.)
}
