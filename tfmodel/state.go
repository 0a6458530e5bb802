package tfmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"fairage/dataset"
)

const (
	stateFileName   = "state.json"
	historyFileName = "history.arrow"
)

// trainState is where a run stands between epochs: saved in last/ so Resume
// continues an interrupted run with the same rate, callback counters and
// dropout/shuffle positions (optimizer slots are variables in the
// checkpoint).
type trainState struct {
	Phase        int            `json:"phase"`          // index into TrainConfig.phases()
	EpochInPhase int            `json:"epoch_in_phase"` // epochs finished in that phase (0: it has not started)
	Epoch        int            `json:"epoch"`          // epochs finished overall
	Steps        int64          `json:"steps"`          // batches trained overall (seeds dropout)
	LR           float64        `json:"lr"`
	Plateau      PlateauState   `json:"plateau"`
	Early        EarlyStopState `json:"early_stopping"`
	Strategy     string         `json:"strategy"` // to refuse resuming under another strategy
	// Checkpoint binds the state to the weights and history saved beside
	// it; Resume refuses a state that does not match them.
	Checkpoint *stateSeal `json:"checkpoint,omitempty"`
	history    []dataset.EpochRecord
}

// stateSeal records the digests of the checkpoint files a state was saved
// with, and a seal over the state itself: an edited state.json (epoch 99
// over epoch-3 weights) or weights copied in from another checkpoint are
// refused instead of being trained on, or cached as the final model.
type stateSeal struct {
	Variables map[string]string `json:"variables_sha256"` // variables.* file → sha256
	History   string            `json:"history_sha256"`
	Seal      string            `json:"seal"` // sha256 of state.json with this field empty
}

// writeState writes history.arrow and state.json into dir, which already
// holds the checkpoint's variables.
func writeState(dir string, st *trainState) error {
	if err := dataset.WriteHistory(filepath.Join(dir, historyFileName), st.history); err != nil {
		return err
	}
	vars, err := variableDigests(dir)
	if err != nil {
		return fmt.Errorf("training state: %w", err)
	}
	hist, err := fileDigest(filepath.Join(dir, historyFileName))
	if err != nil {
		return fmt.Errorf("training state: %w", err)
	}
	st.Checkpoint = &stateSeal{Variables: vars, History: hist}
	if st.Checkpoint.Seal, err = st.seal(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode training state: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, stateFileName), append(b, '\n'), 0o644)
}

// seal hashes the state as written, with the seal field empty.
func (st *trainState) seal() (string, error) {
	c := *st
	seal := *st.Checkpoint
	seal.Seal = ""
	c.Checkpoint = &seal
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode training state: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// readState reads the training state of a last/ checkpoint; ok is false when
// dir holds none (nothing to resume). A state that does not match the
// checkpoint it sits in is an error saying what differs.
func readState(dir string) (st *trainState, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("resume from %s: %w", dir, err)
	}
	st = &trainState{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, false, fmt.Errorf("resume from %s: parse %s: %w", dir, stateFileName, err)
	}
	if err := st.checkAgainst(dir); err != nil {
		return nil, false, fmt.Errorf("resume from %s: %w; rerun without --resume to train from the start", dir, err)
	}
	if st.history, err = dataset.ReadHistory(filepath.Join(dir, historyFileName)); err != nil {
		return nil, false, fmt.Errorf("resume from %s: %w", dir, err)
	}
	if err := st.checkHistory(); err != nil {
		return nil, false, fmt.Errorf("resume from %s: %w; rerun without --resume to train from the start", dir, err)
	}
	return st, true, nil
}

// checkAgainst checks the state's seal and the digests of the files it
// names.
func (st *trainState) checkAgainst(dir string) error {
	if st.Checkpoint == nil {
		return fmt.Errorf("%s has no checkpoint digests (written by an older build), so it cannot be checked against the weights beside it", stateFileName)
	}
	want, err := st.seal()
	if err != nil {
		return err
	}
	if want != st.Checkpoint.Seal {
		return fmt.Errorf("%s was changed after it was written (epoch %d, step %d: its seal does not match its content)", stateFileName, st.Epoch, st.Steps)
	}
	vars, err := variableDigests(dir)
	if err != nil {
		return err
	}
	if len(vars) != len(st.Checkpoint.Variables) {
		return fmt.Errorf("the checkpoint has %d variables files, %s names %d", len(vars), stateFileName, len(st.Checkpoint.Variables))
	}
	for name, sum := range st.Checkpoint.Variables {
		if vars[name] != sum {
			return fmt.Errorf("%s is not the weights file %s was saved with (it was replaced or changed)", name, stateFileName)
		}
	}
	hist, err := fileDigest(filepath.Join(dir, historyFileName))
	if err != nil {
		return err
	}
	if hist != st.Checkpoint.History {
		return fmt.Errorf("%s is not the history %s was saved with", historyFileName, stateFileName)
	}
	return nil
}

// checkHistory checks the state's counters against its history: one row
// per finished epoch, numbered from 1, and the epochs of the current phase.
func (st *trainState) checkHistory() error {
	switch {
	case st.Epoch < 0 || st.Phase < 0 || st.EpochInPhase < 0 || st.EpochInPhase > st.Epoch:
		return fmt.Errorf("%s: epoch %d, phase %d, epoch in phase %d are not a position in a training run", stateFileName, st.Epoch, st.Phase, st.EpochInPhase)
	case st.Steps < int64(st.Epoch):
		return fmt.Errorf("%s: %d steps for %d epochs", stateFileName, st.Steps, st.Epoch)
	case !(st.LR > 0) || math.IsInf(st.LR, 0):
		return fmt.Errorf("%s: learning rate %v", stateFileName, st.LR)
	case len(st.history) != st.Epoch:
		return fmt.Errorf("%s says %d epochs are done, %s holds %d", stateFileName, st.Epoch, historyFileName, len(st.history))
	}
	for i, r := range st.history {
		if int(r.Epoch) != i+1 {
			return fmt.Errorf("%s row %d is epoch %d", historyFileName, i+1, r.Epoch)
		}
	}
	return nil
}

// variableDigests hashes the TensorFlow checkpoint files (variables.index
// and variables.data-*) in dir.
func variableDigests(dir string) (map[string]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, variablesPrefix+".*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := map[string]string{}
	for _, p := range names {
		if !strings.HasPrefix(filepath.Base(p), variablesPrefix+".") {
			continue
		}
		sum, err := fileDigest(p)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(p)] = sum
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s.* files: the weights are missing", variablesPrefix)
	}
	return out, nil
}

func fileDigest(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) // a FIFO must not block

	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
