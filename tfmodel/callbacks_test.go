package tfmodel

import (
	"math"
	"testing"
)

func TestReduceOnPlateau(t *testing.T) {
	tests := []struct {
		name  string
		cfg   PlateauConfig
		curve []float64
		want  []float64 // rate after each epoch, starting from 1
	}{
		{"improving never reduces", PlateauConfig{Factor: 0.5, Patience: 2},
			[]float64{5, 4, 3, 2}, []float64{1, 1, 1, 1}},
		{"reduces after patience and restarts the count", PlateauConfig{Factor: 0.5, Patience: 2},
			[]float64{5, 6, 6, 6, 6, 4, 4}, []float64{1, 1, 0.5, 0.5, 0.25, 0.25, 0.25}},
		{"stops at min lr", PlateauConfig{Factor: 0.1, Patience: 1, MinLR: 0.05},
			[]float64{1, 1, 1, 1}, []float64{1, 0.1, 0.05, 0.05}},
		{"equal is not better", PlateauConfig{Factor: 0.5, Patience: 1},
			[]float64{3, 3}, []float64{1, 0.5}},
		{"off", PlateauConfig{}, []float64{1, 2, 3}, []float64{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewReduceOnPlateau(tt.cfg)
			lr := 1.0
			for i, m := range tt.curve {
				lr, _ = p.Step(m, lr)
				if math.Abs(lr-tt.want[i]) > 1e-12 {
					t.Fatalf("epoch %d (metric %v): lr %v, want %v", i+1, m, lr, tt.want[i])
				}
			}
		})
	}
}

func TestEarlyStopping(t *testing.T) {
	tests := []struct {
		name      string
		patience  int
		curve     []float64
		stopAt    int // 1-based epoch at which Step says stop; 0 = never
		bestEpoch int
	}{
		{"stops after patience", 2, []float64{5, 4, 4.5, 4.2, 3}, 4, 2},
		{"improvement resets the wait", 2, []float64{5, 6, 4, 7, 3, 8, 9}, 7, 5},
		{"never stops while improving", 1, []float64{3, 2, 1}, 0, 3},
		{"patience 0 never stops", 0, []float64{1, 2, 3, 4}, 0, 1},
		{"NaN is never best", 3, []float64{2, math.NaN(), 1}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEarlyStopping(EarlyStopConfig{Monitor: "val_mae", Patience: tt.patience})
			stoppedAt := 0
			for i, m := range tt.curve {
				if _, stop := e.Step(i+1, m); stop {
					stoppedAt = i + 1
					break
				}
			}
			if stoppedAt != tt.stopAt {
				t.Errorf("stopped at epoch %d, want %d", stoppedAt, tt.stopAt)
			}
			if e.State.BestEpoch != tt.bestEpoch {
				t.Errorf("best epoch %d, want %d", e.State.BestEpoch, tt.bestEpoch)
			}
		})
	}
}

func TestMonitoredFallsBackWithoutValidation(t *testing.T) {
	rec := epochRecord(3, 2)
	rec.ValLoss, rec.ValMAE = math.NaN(), math.NaN()
	if got := monitored(rec, "val_mae"); got != 2 {
		t.Errorf("val_mae without validation = %v, want the training MAE 2", got)
	}
	if got := monitored(rec, "val_loss"); got != 3 {
		t.Errorf("val_loss without validation = %v, want the training loss 3", got)
	}
}

func TestWarmupFactor(t *testing.T) {
	all, head := phase{Name: "all"}, phase{Name: "head", HeadOnly: true}
	for _, tt := range []struct {
		ph     phase
		warmup float64
		steps  int
		done   int64
		want   float64
	}{
		{all, 0, 10, 0, 1},
		{all, 1, 10, 0, 0.1},
		{all, 1, 10, 4, 0.5},
		{all, 1, 10, 9, 1},
		{all, 1, 10, 50, 1},
		{all, 2.5, 4, 0, 0.1},
		{all, 0.5, 10, 2, 0.6},
		{head, 1, 10, 0, 1},
	} {
		if got := warmupFactor(tt.ph, tt.warmup, tt.steps, tt.done); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("warmupFactor(%s, %g epochs, %d steps/epoch, %d done) = %g, want %g", tt.ph.Name, tt.warmup, tt.steps, tt.done, got, tt.want)
		}
	}
}
