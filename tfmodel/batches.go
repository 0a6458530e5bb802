package tfmodel

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/regressor"
)

// batch is one ready-to-feed batch: tensors built by a worker goroutine, so
// the session loop only runs the graph.
type batch struct {
	n       int
	images  *tf.Tensor // uint8 [n, h, w, 3]
	targets *tf.Tensor // float32 [n]
	weights *tf.Tensor // float32 [n]
	err     error
}

// batchPlan says what to feed: which examples in which order, in batches of
// size, augmented (aug may be nil) as in epoch.
type batchPlan struct {
	data      regressor.Data
	order     []int // positions in data.Examples
	size      int
	aug       regressor.Augmenter
	epoch     int
	workers   int
	prefetch  int
	imageSize int
}

func (p batchPlan) count() int { return (len(p.order) + p.size - 1) / p.size }

// epochOrder is the shuffled order of n examples in an epoch: a function of
// the seed and the epoch only.
func epochOrder(n int, seed uint64, epoch int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// sequential is the identity order (prediction, validation).
func sequential(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return order
}

// feeder prepares batches in worker goroutines ahead of the consumer. At
// most prefetch batches are queued or being built, so memory stays bounded
// while TensorFlow never waits on Go when workers keep up.
type feeder struct {
	queue chan chan batch // in batch order; each inner channel gets one batch
	done  chan struct{}
	wg    sync.WaitGroup
}

func startFeeder(ctx context.Context, p batchPlan) *feeder {
	f := &feeder{queue: make(chan chan batch, max(1, p.prefetch)), done: make(chan struct{})}
	type job struct {
		index int
		out   chan batch
	}
	jobs := make(chan job)
	workers := p.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(1, p.prefetch), p.count())
	for range workers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			scratch := make([]byte, p.size*p.imageSize*p.imageSize*3)
			for j := range jobs {
				j.out <- p.build(j.index, scratch)
			}
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(jobs)
		defer close(f.queue)
		for b := range p.count() {
			out := make(chan batch, 1)
			select {
			case f.queue <- out:
			case <-f.done:
				return
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{b, out}:
			case <-f.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return f
}

// next returns the next batch in order; ok is false after the last one.
func (f *feeder) next(ctx context.Context) (b batch, ok bool, err error) {
	select {
	case out, open := <-f.queue:
		if !open {
			return batch{}, false, ctx.Err()
		}
		select {
		case b = <-out:
			return b, b.err == nil, b.err
		case <-ctx.Done():
			return batch{}, false, ctx.Err()
		}
	case <-ctx.Done():
		return batch{}, false, ctx.Err()
	}
}

// stop ends the goroutines (also after an early return) and waits for them.
func (f *feeder) stop() {
	close(f.done)
	f.wg.Wait()
}

// build fills batch index: pixels copied (or augmented) into scratch, then
// copied into TensorFlow-owned tensors.
func (p batchPlan) build(index int, scratch []byte) (b batch) {
	defer func() {
		if r := recover(); r != nil { // an Augmenter bug must not kill the process
			b = batch{err: fmt.Errorf("prepare batch %d: %v", index+1, r)}
		}
	}()
	lo := index * p.size
	hi := min(lo+p.size, len(p.order))
	n := hi - lo
	sz := p.imageSize * p.imageSize * 3
	pixels := scratch[:n*sz]
	targets := make([]float32, n)
	weights := make([]float32, n)
	for i := range n {
		ex := p.data.Examples[p.order[lo+i]]
		src := p.data.Images.Image(ex.Index)
		dst := pixels[i*sz : (i+1)*sz]
		if p.aug != nil {
			p.aug(dst, src, p.imageSize, p.imageSize, ex, p.epoch)
		} else {
			copy(dst, src)
		}
		targets[i], weights[i] = float32(ex.Target), float32(ex.Weight)
	}
	var err error
	b.n = n
	if b.images, err = tf.ReadTensor(tf.Uint8, []int64{int64(n), int64(p.imageSize), int64(p.imageSize), 3}, bytes.NewReader(pixels)); err != nil {
		return batch{err: fmt.Errorf("prepare batch %d: %w", index+1, err)}
	}
	if b.targets, err = tf.NewTensor(targets); err != nil {
		return batch{err: fmt.Errorf("prepare batch %d: %w", index+1, err)}
	}
	if b.weights, err = tf.NewTensor(weights); err != nil {
		return batch{err: fmt.Errorf("prepare batch %d: %w", index+1, err)}
	}
	return b
}

// cMemory counts bytes of tensors allocated in C. Go's collector only sees
// the small Go headers of tensors, so without a nudge the C memory of
// finished batches is freed late; collect every limit bytes.
type cMemory struct {
	since int64
	limit int64
}

func (c *cMemory) add(n int64) {
	c.since += n
	if c.since >= c.limit {
		c.since = 0
		runtime.GC()
	}
}
