package dataset

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
)

// countingSource wraps a source and counts the records handed out, so a
// test can see how far the producer runs ahead of the packer.
type countingSource struct {
	Source
	yielded atomic.Int64
}

func (c *countingSource) Records() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		for r := range c.Source.Records() {
			c.yielded.Add(1)
			if !yield(r) {
				return
			}
		}
	}
}

// aheadTracker records, at each packed row, how many records had been
// read but not yet packed; it can also cancel the run after some rows.
type aheadTracker struct {
	src      *countingSource
	done     int64
	maxAhead int64
	cancelAt int64
	cancel   context.CancelFunc
}

func (a *aheadTracker) Add(n int) {
	a.done += int64(n)
	a.maxAhead = max(a.maxAhead, a.src.yielded.Load()-a.done)
	if a.cancel != nil && a.done == a.cancelAt {
		a.cancel()
	}
}

func (a *aheadTracker) Finish() {}

func TestIngestBoundsRecordsInFlight(t *testing.T) {
	syn := DefaultSyntheticOptions()
	syn.Count = 300
	base, err := NewSynthetic(syn)
	if err != nil {
		t.Fatal(err)
	}
	for _, wk := range []struct{ workers, window int }{{1, 1}, {2, 4}, {4, 16}} {
		src := &countingSource{Source: base}
		tr := &aheadTracker{src: src}
		opts := testOptions()
		opts.Workers, opts.Window = wk.workers, wk.window
		samples, _, err := Ingest(context.Background(), src, opts, "", tr)
		if err != nil || len(samples) != syn.Count {
			t.Fatalf("err %v, %d samples", err, len(samples))
		}
		// The order queue holds window jobs; the producer holds one more
		// and the packer the one it is writing.
		if limit := int64(wk.window + 2); tr.maxAhead > limit {
			t.Errorf("workers %d window %d: %d records in flight, limit %d", wk.workers, wk.window, tr.maxAhead, limit)
		}
	}
}

func TestIngestStopsWhenCancelledMidway(t *testing.T) {
	syn := DefaultSyntheticOptions()
	syn.Count = 500
	base, err := NewSynthetic(syn)
	if err != nil {
		t.Fatal(err)
	}
	src := &countingSource{Source: base}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &aheadTracker{src: src, cancelAt: 50, cancel: cancel}
	pack := filepath.Join(t.TempDir(), "images.pack")
	_, _, err = Ingest(ctx, src, testOptions(), pack, tr)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if tr.done > 51 || src.yielded.Load() > 50+int64(4*runtime.GOMAXPROCS(0))+2 {
		t.Errorf("kept going after cancel: %d packed, %d read", tr.done, src.yielded.Load())
	}
	if entries, _ := os.ReadDir(filepath.Dir(pack)); len(entries) != 0 {
		t.Errorf("a cancelled ingest left files: %v", entries)
	}
}
