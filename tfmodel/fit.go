package tfmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/dataset"
	"fairage/regressor"
)

// Fit trains the network on train, validating on valid after each epoch
// (valid may be empty: val_loss and val_mae are then NaN and monitors on
// them watch the training metric instead). It needs the TrainConfig given
// with WithTraining. aug may be nil; onEpoch may be nil. The returned
// history covers the whole run, including epochs before a Resume. On error
// (NaN loss, cancelled context) the history so far is returned with it.
func (r *ResNet) Fit(ctx context.Context, train, valid regressor.Data, aug regressor.Augmenter, onEpoch regressor.EpochFunc) (hist []dataset.EpochRecord, err error) {
	defer guard(&err, "fit")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	if r.opts.train == nil {
		return nil, errors.New("tfmodel: Fit needs a TrainConfig: create the model with tfmodel.WithTraining(cfg)")
	}
	if len(train.Examples) == 0 {
		return nil, errors.New("tfmodel: fit: no training examples")
	}
	if err := r.checkData("training", train, true); err != nil {
		return nil, fmt.Errorf("tfmodel: fit: %w", err)
	}
	if err := r.checkData("validation", valid, true); err != nil {
		return nil, fmt.Errorf("tfmodel: fit: %w", err)
	}
	tc := *r.opts.train
	if err := r.gr.buildTraining(tc); err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	f := &fit{r: r, tc: tc, train: train, valid: valid, aug: aug, onEpoch: onEpoch, log: r.opts.log,
		phases: tc.phases(), plateau: NewReduceOnPlateau(tc.ReduceOnPlateau), early: NewEarlyStopping(tc.EarlyStopping),
		mem: cMemory{limit: 256 << 20}}
	if err := f.start(); err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	if err := f.run(ctx); err != nil {
		return f.st.history, fmt.Errorf("tfmodel: fit: %w", err)
	}
	return f.st.history, nil
}

// fit is one Fit call: the loop over phases and epochs, with the callbacks
// and checkpoints between epochs.
type fit struct {
	r            *ResNet
	tc           TrainConfig
	train, valid regressor.Data
	aug          regressor.Augmenter
	onEpoch      regressor.EpochFunc
	log          *slog.Logger
	phases       []phase
	plateau      *ReduceOnPlateau
	early        *EarlyStopping
	st           *trainState
	best         []*tf.Tensor // the current phase's best weights, for RestoreBest
	mem          cMemory
	cache        *phaseCache // backbone features of a head-only phase (featurecache.go)
}

func (f *fit) checkpointDir(name string) string {
	if f.tc.CheckpointDir == "" {
		return ""
	}
	return filepath.Join(f.tc.CheckpointDir, name)
}

// start sets up a fresh run, or continues the one saved in last/.
func (f *fit) start() error {
	f.st = &trainState{Strategy: string(f.tc.Strategy)}
	if len(f.valid.Examples) == 0 {
		for _, m := range []string{string(f.tc.EarlyStopping.Monitor), string(f.tc.ReduceOnPlateau.Monitor)} {
			if strings.HasPrefix(m, "val_") {
				f.log.Warn("no validation data: callbacks monitor the training metric instead", "monitor", m)
				break
			}
		}
	}
	last := f.checkpointDir("last")
	if !f.tc.Resume {
		return nil
	}
	st, ok, err := readState(last)
	if err != nil {
		return err
	}
	if !ok {
		f.log.Info("nothing to resume, starting fresh", "dir", last)
		return nil
	}
	if st.Strategy != string(f.tc.Strategy) {
		return fmt.Errorf("resume from %s: it was trained with train.strategy %s, now %s", last, st.Strategy, f.tc.Strategy)
	}
	if st.Phase < len(f.phases) && st.EpochInPhase > 0 && f.tc.EarlyStopping.RestoreBest && st.Early.HasBest {
		// The phase's best weights were in memory; get them back from best/.
		if err := f.r.restoreVars(f.checkpointDir("best"), f.r.gr.modelVars()); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if f.best, err = f.r.snapshot(f.r.gr.modelVars()); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	}
	if err := f.r.restoreVars(last, f.r.gr.vs.list); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	f.st = st
	f.plateau.State, f.early.State = st.Plateau, st.Early
	f.log.Info("resuming training", "dir", last, "epochs_done", st.Epoch, "lr", st.LR)
	return nil
}

func (f *fit) run(ctx context.Context) error {
	for f.st.Phase < len(f.phases) {
		ph := f.phases[f.st.Phase]
		if f.st.EpochInPhase == 0 {
			if ph.Epochs == 0 {
				f.st.Phase++
				continue
			}
			if err := f.beginPhase(ph); err != nil {
				return err
			}
		}
		if err := f.epoch(ctx, ph); err != nil {
			return err
		}
	}
	return nil
}

// beginPhase gives the phase a fresh optimizer, its learning rate and fresh
// callbacks, as a Keras recompile-and-fit would.
func (f *fit) beginPhase(ph phase) error {
	if _, err := f.r.sess.Run(nil, nil, []*tf.Operation{f.r.gr.training.resetOptimizer}); err != nil {
		return fmt.Errorf("reset optimizer for phase %s: %w", ph.Name, err)
	}
	f.st.LR = ph.LR
	f.plateau.State, f.early.State = PlateauState{}, EarlyStopState{}
	f.best = nil
	f.cache = nil // features of a frozen backbone are only valid within its phase
	trains := "all layers"
	if ph.HeadOnly {
		trains = "head only (backbone frozen)"
	}
	f.log.Info("training phase", "phase", ph.Name, "trains", trains, "lr", ph.LR, "epochs", ph.Epochs)
	return nil
}

// epoch trains one epoch, validates, and applies the callbacks.
func (f *fit) epoch(ctx context.Context, ph phase) error {
	rec := dataset.EpochRecord{Phase: ph.Name, Epoch: int32(f.st.Epoch + 1), LR: f.st.LR}
	track := f.r.tracker(fmt.Sprintf("epoch %d (%s)", rec.Epoch, ph.Name), len(f.train.Examples)+len(f.valid.Examples))
	var err error
	var trainSecs float64
	if rec.Loss, rec.MAE, trainSecs, err = f.trainEpoch(ctx, ph, track); err != nil {
		track.Finish()
		return err
	}
	rec.ImagesPerSec = float64(len(f.train.Examples)) / trainSecs
	valStart := time.Now()
	rec.ValLoss, rec.ValMAE, err = f.evaluate(ctx, track)
	track.Finish()
	if err != nil {
		return fmt.Errorf("epoch %d: validate: %w", rec.Epoch, err)
	}
	rec.Seconds = trainSecs + time.Since(valStart).Seconds()
	f.st.history = append(f.st.history, rec)
	f.st.Epoch++
	f.st.EpochInPhase++
	if f.onEpoch != nil {
		f.onEpoch(rec)
	}
	return f.endEpoch(rec, ph)
}

// endEpoch runs the callbacks and writes the checkpoints.
func (f *fit) endEpoch(rec dataset.EpochRecord, ph phase) error {
	es := f.tc.EarlyStopping
	improved, stop := f.early.Step(f.st.Epoch, monitored(rec, string(es.Monitor)))
	if improved {
		if es.RestoreBest {
			snap, err := f.r.snapshot(f.r.gr.modelVars())
			if err != nil {
				return fmt.Errorf("epoch %d: keep best weights: %w", rec.Epoch, err)
			}
			f.best = snap
			f.mem.add(bytesOf(f.r.gr.modelVars()))
		}
		if dir := f.checkpointDir("best"); dir != "" {
			if err := f.r.writeCheckpoint(dir, f.r.gr.modelVars(), nil); err != nil {
				return err
			}
		}
	}
	lr, reduced := f.plateau.Step(monitored(rec, string(f.tc.ReduceOnPlateau.Monitor)), f.st.LR)
	if reduced {
		f.log.Info("reducing learning rate on plateau", "epoch", rec.Epoch, "monitor", f.tc.ReduceOnPlateau.Monitor, "from", f.st.LR, "to", lr)
	}
	f.st.LR = lr
	f.st.Plateau, f.st.Early = f.plateau.State, f.early.State
	if stop || f.st.EpochInPhase >= ph.Epochs {
		if stop {
			f.log.Info("early stopping", "epoch", rec.Epoch, "monitor", es.Monitor, "best_epoch", f.early.State.BestEpoch, "best", f.early.State.Best)
		}
		if es.RestoreBest && f.best != nil && f.early.State.BestEpoch != f.st.Epoch {
			if err := f.r.assign(f.r.gr.modelVars(), f.best); err != nil {
				return fmt.Errorf("epoch %d: restore best weights: %w", rec.Epoch, err)
			}
			f.log.Info("restored best weights", "phase", ph.Name, "epoch", f.early.State.BestEpoch, string(es.Monitor), f.early.State.Best)
		}
		f.st.Phase++
		f.st.EpochInPhase = 0
	}
	if dir := f.checkpointDir("last"); dir != "" {
		return f.r.writeCheckpoint(dir, f.r.gr.vs.list, func(tmp string) error { return writeState(tmp, f.st) })
	}
	return nil
}
