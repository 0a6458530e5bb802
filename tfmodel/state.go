package tfmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
	history      []dataset.EpochRecord
}

// writeState writes state.json and history.arrow into dir.
func writeState(dir string, st *trainState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode training state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFileName), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return dataset.WriteHistory(filepath.Join(dir, historyFileName), st.history)
}

// readState reads the training state of a last/ checkpoint; ok is false when
// dir holds none (nothing to resume).
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
	if st.history, err = dataset.ReadHistory(filepath.Join(dir, historyFileName)); err != nil {
		return nil, false, fmt.Errorf("resume from %s: %w", dir, err)
	}
	return st, true, nil
}
