package analysis

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// workerCount resolves Options.Workers (0 = GOMAXPROCS), never more than
// the number of jobs.
func workerCount(requested, jobs int) int {
	w := requested
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, jobs))
}

// parallelFor runs fn(worker, i) for every i in [0,n) on `workers`
// goroutines that take indices from a shared counter. fn must write its
// result to slot i only, so the outcome does not depend on scheduling. It
// stops early and returns ctx's error when ctx is cancelled.
func parallelFor(ctx context.Context, n, workers int, fn func(worker, i int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
