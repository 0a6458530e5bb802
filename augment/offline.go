package augment

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"fairage/dataset"
	"fairage/internal/progress"
)

// Stats summarises an offline augmentation.
type Stats struct {
	Images    int // images written, one per plan row
	Augmented int // of which augmented (the rest are copied originals)
}

// Materialize writes one image per plan row, in plan order, into a new
// packed-image file at path with the same size as src: copies (copy > 0)
// augmented with their AugSeed, originals copied through, or augmented
// too when Options.Originals is set. Image i of the file is plan row i,
// with id CopyID(sample id, copy), so training reads a single file.
//
// Rows are augmented on Options.Workers goroutines (one per CPU by
// default) and written in order through a window of a few images per
// worker, so memory stays bounded whatever the plan's size. The file
// appears at path only when complete; on error or cancellation nothing is
// left there.
func (a *Augmenter) Materialize(ctx context.Context, src *dataset.Packed, plan []dataset.PlanRow, path string, tr progress.Tracker) (Stats, error) {
	tr = progress.OrDiscard(tr)
	defer tr.Finish()
	index := make([]int, len(plan))
	stats := Stats{Images: len(plan)}
	for i, row := range plan {
		j, ok := src.Index(row.SampleID)
		if !ok {
			return Stats{}, fmt.Errorf("augment: plan row %d: sample %q is not in the packed images", i, row.SampleID)
		}
		index[i] = j
		if a.augments(row) {
			stats.Augmented++
		}
	}
	h, w := src.Height(), src.Width()
	out, err := dataset.CreatePacked(path, h, w)
	if err != nil {
		return Stats{}, fmt.Errorf("augment: %w", err)
	}
	if err := a.write(ctx, out, src, plan, index, tr); err != nil {
		out.Abort()
		return Stats{}, err
	}
	if err := out.Close(); err != nil {
		return Stats{}, fmt.Errorf("augment: %w", err)
	}
	return stats, nil
}

// augments reports whether a plan row's image is altered.
func (a *Augmenter) augments(row dataset.PlanRow) bool {
	return row.Copy > 0 || a.opts.Originals
}

// write runs the worker pool. Row i uses buffer slot i mod window: a
// producer hands out rows whose slot is free, workers fill slots, and the
// writer appends slots in row order and frees them.
func (a *Augmenter) write(ctx context.Context, out *dataset.PackWriter, src *dataset.Packed,
	plan []dataset.PlanRow, index []int, tr progress.Tracker) error {
	workers := a.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := 4 * workers
	h, w := src.Height(), src.Width()
	bufs := make([][]byte, window)
	free := make([]chan struct{}, window)
	ready := make([]chan struct{}, window)
	for k := range bufs {
		bufs[k] = make([]byte, out.ImageBytes())
		free[k] = make(chan struct{}, 1)
		free[k] <- struct{}{}
		ready[k] = make(chan struct{}, 1)
	}
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan int)
	g.Go(func() error { // producer
		defer close(jobs)
		for i := range plan {
			if err := wait(gctx, free[i%window]); err != nil {
				return err
			}
			select {
			case jobs <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			for i := range jobs {
				k, row, img := i%window, plan[i], src.Image(index[i])
				if a.augments(row) {
					if err := a.Apply(bufs[k], h, w, img, h, w, row.AugSeed, OfflineEpoch); err != nil {
						return fmt.Errorf("augment %s copy %d: %w", row.SampleID, row.Copy, err)
					}
				} else {
					copy(bufs[k], img)
				}
				ready[k] <- struct{}{}
			}
			return nil
		})
	}
	g.Go(func() error { // writer
		for i, row := range plan {
			k := i % window
			if err := wait(gctx, ready[k]); err != nil {
				return err
			}
			if err := out.Append(CopyID(row.SampleID, row.Copy), bufs[k]); err != nil {
				return fmt.Errorf("augment: %w", err)
			}
			tr.Add(1)
			free[k] <- struct{}{}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("augment: offline augmentation stopped: %w", err)
	}
	return nil
}

// wait takes a token from ch, or gives up when ctx ends.
func wait(ctx context.Context, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
