package tfmodel

import (
	"context"
	"fmt"
	"math"
	"time"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/internal/progress"
	"fairage/regressor"
)

// trainEpoch runs one epoch of training steps in the epoch's shuffled order
// and returns the batch-size-weighted mean loss and the MAE in years (as
// Keras reports them: measured during the epoch, in training mode), and the
// seconds spent.
func (f *fit) trainEpoch(ctx context.Context, ph phase, track progress.Tracker) (loss, mae, secs float64, err error) {
	if f.useCache(ph) {
		return f.trainEpochCached(ctx, track)
	}
	gr, tg := f.r.gr, f.r.gr.training
	tt := tg.towers[ph.HeadOnly]
	epoch := f.st.Epoch + 1
	plan := f.plan(f.train, epochOrder(len(f.train.Examples), f.tc.Seed, epoch), f.aug, epoch)
	nb := plan.count()
	lr, err := tf.NewTensor(float32(f.st.LR))
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	feed := startFeeder(ctx, plan)
	defer feed.stop()
	var sumLoss, sumAbs float64
	seen := 0
	for b := 1; ; b++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d stopped before batch %d of %d: %w", epoch, b, nb, err)
		}
		bt, ok, err := feed.next(ctx)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: %w", epoch, b, nb, err)
		}
		if !ok {
			break
		}
		// Dropout masks depend on the seed and the global step only.
		seed, err := tf.NewTensor([]int64{int64(f.tc.Seed), f.st.Steps << 10})
		if err != nil {
			return 0, 0, 0, err
		}
		lr := lr
		// Every epoch of a phase trains the same nb steps, so the phase's
		// step count follows from the epochs it has finished.
		if w := warmupFactor(ph, f.tc.WarmupEpochs, nb, int64(f.st.EpochInPhase*nb+b-1)); w < 1 {
			if lr, err = tf.NewTensor(float32(f.st.LR * w)); err != nil {
				return 0, 0, 0, err
			}
		}
		out, err := f.r.sess.Run(map[tf.Output]*tf.Tensor{
			gr.images: bt.images, tg.targets: bt.targets, tg.weights: bt.weights, tg.lr: lr, gr.stepSeed: seed,
		}, []tf.Output{tt.loss, tt.absErr}, []*tf.Operation{tt.step})
		if err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: %w", epoch, b, nb, gr.dist.explain(err))
		}
		l := float64(out[0].Value().(float32))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: loss is %v at learning rate %g: training diverged (lower the learning rate, or check targets and weights)",
				epoch, b, nb, l, f.st.LR)
		}
		sumLoss += l * float64(bt.n)
		sumAbs += float64(out[1].Value().(float32))
		seen += bt.n
		f.st.Steps++
		track.Add(bt.n)
		f.mem.add(int64(bt.n * f.r.cfg.InputSize * f.r.cfg.InputSize * 3))
	}
	return sumLoss / float64(seen), sumAbs / float64(seen), time.Since(start).Seconds(), nil
}

// evaluate returns the validation loss and MAE in inference mode (NaN, NaN
// without validation data).
func (f *fit) evaluate(ctx context.Context, track progress.Tracker) (loss, mae float64, err error) {
	if f.cache != nil {
		return f.evaluateCached(ctx, track)
	}
	n := len(f.valid.Examples)
	if n == 0 {
		return math.NaN(), math.NaN(), nil
	}
	gr, tg := f.r.gr, f.r.gr.training
	feed := startFeeder(ctx, f.plan(f.valid, sequential(n), nil, 0))
	defer feed.stop()
	var sumLoss, sumAbs float64
	for {
		bt, ok, err := feed.next(ctx)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			break
		}
		out, err := f.r.sess.Run(map[tf.Output]*tf.Tensor{gr.images: bt.images, tg.targets: bt.targets, tg.weights: bt.weights},
			[]tf.Output{tg.val.loss, tg.val.absErr}, nil)
		if err != nil {
			return 0, 0, gr.dist.explain(err)
		}
		sumLoss += float64(out[0].Value().(float32)) * float64(bt.n)
		sumAbs += float64(out[1].Value().(float32))
		track.Add(bt.n)
		f.mem.add(int64(bt.n * f.r.cfg.InputSize * f.r.cfg.InputSize * 3))
	}
	return sumLoss / float64(n), sumAbs / float64(n), nil
}

func (f *fit) plan(d regressor.Data, order []int, aug regressor.Augmenter, epoch int) batchPlan {
	return batchPlan{data: d, order: order, size: f.tc.BatchSize, aug: aug, epoch: epoch,
		workers: f.tc.Workers, prefetch: f.tc.Prefetch, imageSize: f.r.cfg.InputSize}
}

// tracker starts a progress tracker for the model's long work.
func (r *ResNet) tracker(label string, total int) progress.Tracker {
	if r.opts.progress == nil {
		return progress.Discard
	}
	return r.opts.progress(label, "img", total)
}

// snapshot copies the current values of vars out of the session.
func (r *ResNet) snapshot(vars []*variable) ([]*tf.Tensor, error) {
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}
	return r.sess.Run(nil, reads, nil)
}

// assign sets vars to values (from snapshot).
func (r *ResNet) assign(vars []*variable, values []*tf.Tensor) error {
	a, err := r.gr.assignerFor(vars)
	if err != nil {
		return err
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(vars))
	for i := range vars {
		feeds[a.values[i]] = values[i]
	}
	_, err = r.sess.Run(feeds, nil, []*tf.Operation{a.assign})
	return err
}

// bytesOf is the size of vars' values (float32).
func bytesOf(vars []*variable) int64 {
	var n int64
	for _, v := range vars {
		e := int64(4)
		for _, d := range v.shape {
			e *= d
		}
		n += e
	}
	return n
}

// warmupFactor is the share of the phase's rate that the phase's step
// done+1 trains at: a linear ramp over warmupEpochs epochs of stepsPerEpoch
// steps in a phase that trains the backbone, else 1.
func warmupFactor(ph phase, warmupEpochs float64, stepsPerEpoch int, done int64) float64 {
	total := warmupEpochs * float64(stepsPerEpoch)
	if ph.HeadOnly || total <= 0 {
		return 1
	}
	return math.Min(1, float64(done+1)/total)
}
