package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"fairage/tfmodel"
)

// headOnly times head-only epochs (train n images, validate valid) on a
// frozen backbone, with or without the feature cache, and prints the first
// epoch (which builds the cache) and the median of the others.
func headOnly(arch string, n, valid, size int, width float64, batch, epochs, intra, inter int, cache bool) error {
	if epochs < 2 {
		return fmt.Errorf("-epochs %d: need the first epoch and at least one more", epochs)
	}
	if valid == 0 {
		valid = n / 4
	}
	dir, err := os.MkdirTemp("", "train-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	train, err := synthetic(filepath.Join(dir, "train.pack"), n, size)
	if err != nil {
		return err
	}
	defer train.Images.Close()
	val, err := synthetic(filepath.Join(dir, "valid.pack"), valid, size)
	if err != nil {
		return err
	}
	defer val.Images.Close()

	cfg := tfmodel.DefaultModelConfig()
	cfg.Arch, cfg.InputSize, cfg.WidthMultiplier = tfmodel.Arch(arch), size, width
	tc := tfmodel.DefaultTrainConfig()
	tc.Strategy, tc.Epochs, tc.Adam.LR, tc.BatchSize = "head_only", epochs, 1e-4, batch
	tc.ReduceOnPlateau.Patience, tc.EarlyStopping = 0, tfmodel.EarlyStopConfig{Monitor: "mae"}
	tc.Threads = tfmodel.Threads{IntraOp: intra, InterOp: inter}
	m, err := tfmodel.New(cfg, tfmodel.WithTraining(tc), tfmodel.WithProgress(nil), tfmodel.WithFeatureCache(cache),
		tfmodel.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	defer m.Close()
	hist, err := m.Fit(context.Background(), train, val, nil, nil)
	if err != nil {
		return err
	}
	var rest []float64
	for _, h := range hist[1:] {
		rest = append(rest, h.Seconds)
	}
	slices.Sort(rest)
	fmt.Printf("go head_only %s %dx%d batch %d cache=%v: epoch_s=%.3f first_epoch_s=%.3f (median of %d epochs after the first; %d train + %d valid images)\n",
		arch, size, size, batch, cache, rest[len(rest)/2], hist[0].Seconds, len(rest), n, valid)
	return nil
}
