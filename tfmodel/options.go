package tfmodel

import (
	"fmt"
	"log/slog"
	"os"

	"fairage/internal/progress"
)

// Option adjusts New and Load.
type Option func(*options)

type options struct {
	train        *TrainConfig
	intra, inter int
	log          *slog.Logger
	progress     func(label, unit string, total int) progress.Tracker
	batchSize    int       // prediction batch size
	precision    Precision // of a model that only predicts (training: TrainConfig.Precision)
	// noFeatureCache makes head-only phases recompute the backbone every
	// epoch (WithFeatureCache).
	noFeatureCache bool
}

// WithTraining gives the model the TrainConfig Fit uses (Fit fails without
// one). Its thread counts configure the session; its batch size is also
// the prediction batch size.
func WithTraining(tc TrainConfig) Option {
	return func(o *options) {
		o.train = &tc
		o.intra, o.inter = tc.Threads.IntraOp, tc.Threads.InterOp
		o.batchSize = tc.BatchSize
	}
}

// WithThreads sets TensorFlow's intra- and inter-op thread pools (0: its
// own choice, all cores), for models used only to predict.
func WithThreads(intra, inter int) Option {
	return func(o *options) { o.intra, o.inter = intra, inter }
}

// WithPrecision sets the precision of a model used only to predict (fp32
// by default; a model made WithTraining runs in TrainConfig.Precision).
// See precision.go for what each value does.
func WithPrecision(p Precision) Option {
	return func(o *options) { o.precision = p }
}

// WithBatchSize sets the prediction batch size (default 64, or the
// TrainConfig's). Predictions are bit-for-bit reproducible for the same
// batch size; another size changes float rounding in the last digits.
func WithBatchSize(n int) Option {
	return func(o *options) { o.batchSize = n }
}

// WithLogger sends the model's log lines (session devices, learning-rate
// changes, early stopping) to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithProgress reports per-epoch and prediction progress through trackers
// that start makes (the pipeline's own, so a caller's progress settings
// apply); default: progress.New on os.Stderr; nil turns it off.
func WithProgress(start func(label, unit string, total int) progress.Tracker) Option {
	return func(o *options) { o.progress = start }
}

func buildOptions(opts []Option) (options, error) {
	o := options{log: slog.Default(), batchSize: 64, progress: func(label, unit string, total int) progress.Tracker {
		return progress.New(os.Stderr, label, unit, total)
	}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.train != nil {
		if err := o.train.Validate(); err != nil {
			return o, fmt.Errorf("tfmodel: %w", err)
		}
	}
	if o.batchSize < 1 {
		return o, fmt.Errorf("tfmodel: prediction batch size %d must be positive", o.batchSize)
	}
	if o.intra < 0 || o.inter < 0 {
		return o, fmt.Errorf("tfmodel: thread counts %d, %d must be zero or positive", o.intra, o.inter)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
