package tfmodel

import (
	"math"

	"fairage/dataset"
)

// monitored returns the metric called name in rec. Without validation data
// (val_* are NaN) the training counterpart stands in, so callbacks still
// see a curve; Fit logs that substitution once.
func monitored(rec dataset.EpochRecord, name string) float64 {
	switch name {
	case "loss":
		return rec.Loss
	case "mae":
		return rec.MAE
	case "val_loss":
		if math.IsNaN(rec.ValLoss) {
			return rec.Loss
		}
		return rec.ValLoss
	case "val_mae":
		if math.IsNaN(rec.ValMAE) {
			return rec.MAE
		}
		return rec.ValMAE
	}
	return math.NaN() // unknown name: Validate rejects it, so callbacks just never fire
}

// ReduceOnPlateau lowers the learning rate when a monitored metric (lower is
// better) stops improving, like Keras's callback of that name: after
// Patience epochs without improvement the rate is multiplied by Factor, not
// going under MinLR, and the count restarts.
type ReduceOnPlateau struct {
	Config PlateauConfig
	State  PlateauState
}

// PlateauState is what ReduceOnPlateau remembers between epochs (saved with
// the training state so a resumed run continues the count).
type PlateauState struct {
	Best    float64 `json:"best"`
	HasBest bool    `json:"has_best"` // JSON cannot hold the +Inf a fresh Best would be
	Wait    int     `json:"wait"`
}

// NewReduceOnPlateau returns the callback; a zero Patience makes it inert.
func NewReduceOnPlateau(cfg PlateauConfig) *ReduceOnPlateau {
	return &ReduceOnPlateau{Config: cfg}
}

// Step observes one epoch's metric with the current rate and returns the
// rate for the next epoch and whether it was reduced.
func (p *ReduceOnPlateau) Step(metric, lr float64) (float64, bool) {
	if p.Config.Patience <= 0 || math.IsNaN(metric) {
		return lr, false
	}
	if !p.State.HasBest || metric < p.State.Best {
		p.State.Best, p.State.HasBest, p.State.Wait = metric, true, 0
		return lr, false
	}
	p.State.Wait++
	if p.State.Wait < p.Config.Patience {
		return lr, false
	}
	p.State.Wait = 0
	next := math.Max(lr*p.Config.Factor, p.Config.MinLR)
	return next, next < lr
}

// EarlyStopping tracks the best epoch of a monitored metric (lower is
// better) and says when to stop: after Patience epochs without improvement,
// like Keras's callback. Whether the best weights come back at the end is
// the trainer's job (it sees Improved).
type EarlyStopping struct {
	Config EarlyStopConfig
	State  EarlyStopState
}

// EarlyStopState is what EarlyStopping remembers between epochs.
type EarlyStopState struct {
	Best      float64 `json:"best"`
	HasBest   bool    `json:"has_best"`
	BestEpoch int     `json:"best_epoch"` // global 1-based epoch of Best
	Wait      int     `json:"wait"`
}

// NewEarlyStopping returns the callback; a zero Patience never stops.
func NewEarlyStopping(cfg EarlyStopConfig) *EarlyStopping {
	return &EarlyStopping{Config: cfg}
}

// Step observes one epoch's metric and reports whether it is the best so far
// and whether training should stop.
func (e *EarlyStopping) Step(epoch int, metric float64) (improved, stop bool) {
	if !math.IsNaN(metric) && (!e.State.HasBest || metric < e.State.Best) {
		e.State = EarlyStopState{Best: metric, HasBest: true, BestEpoch: epoch}
		return true, false
	}
	e.State.Wait++
	return false, e.Config.Patience > 0 && e.State.Wait >= e.Config.Patience
}
