package tfmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"

	"fairage/internal/progress"
	"fairage/regressor"
)

// Head-only training with cached features. While the backbone is frozen
// its output for an image is the same every epoch, so when the images of an
// epoch repeat (no online augmentation) a head-only phase runs the backbone
// once per distinct image, training and validation, and then trains the
// head on the stored features: an epoch costs a few dense layers per image
// instead of the whole network. The head, its dropout masks (same seeds),
// the loss and the optimizer slots are the same as in the uncached tower,
// so the result equals uncached training up to float rounding.

// WithFeatureCache turns the feature cache of head-only phases on (the
// default) or off (every epoch recomputes the backbone; for benchmarks and
// for checking that both give the same result).
func WithFeatureCache(on bool) Option {
	return func(o *options) { o.noFeatureCache = !on }
}

// cachedHead is the graph part: the head on fed features, in training
// mode with its Adam step, and in inference mode for validation.
type cachedHead struct {
	features tf.Output // float32 [batch, d], fed
	train    *trainTower
	val      lossOut
}

func (gr *graph) buildCachedHead(s *op.Scope, tc TrainConfig, tg *trainGraph, l2 tf.Output, iterations *variable) (*cachedHead, error) {
	d := channels(gr.infer.features)
	ch := &cachedHead{features: op.Placeholder(s.SubScope("features"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, d)))}
	train := &tower{mode: trainHeadMode, arch: gr.cfg.Arch, vs: gr.vs, dropSeed: gr.stepSeed}
	out := gr.headOn(train, s.SubScope("train"), ch.features)
	infer := &tower{mode: inferMode, arch: gr.cfg.Arch, vs: gr.vs, dropSeed: gr.stepSeed}
	vout := gr.headOn(infer, s.SubScope("infer"), ch.features)
	for _, t := range []*tower{train, infer} {
		if t.err != nil {
			return nil, fmt.Errorf("build cached head: %w", t.err)
		}
	}
	lo := gr.lossOf(s.SubScope("loss"), out, string(tc.Loss), tg, l2)
	ch.val = gr.lossOf(s.SubScope("val_loss"), vout, string(tc.Loss), tg, l2)
	vars := gr.vs.filter(func(v *variable) bool { return v.trained && v.part == partHead })
	var err error
	if ch.train, err = gr.adamStep(s, trainHeadMode, lo, nil, vars, tc, tg, iterations); err != nil {
		return nil, err
	}
	return ch, nil
}

// featureTable is a cache: the backbone output of each distinct packed image
// of one data set.
type featureTable struct {
	dim  int
	row  map[int]int // packed image index → row of data
	data []float32   // rows × dim
}

// phaseCache holds the features of the current head-only phase.
type phaseCache struct {
	train, valid *featureTable
}

// useCache reports whether this epoch trains on cached features.
func (f *fit) useCache(ph phase) bool {
	return ph.HeadOnly && f.aug == nil && !f.r.opts.noFeatureCache && f.r.gr.training.cached != nil
}

// buildCache runs the frozen backbone once over the distinct images of the
// training and validation data.
func (f *fit) buildCache(ctx context.Context) error {
	start := time.Now()
	train, err := f.computeFeatures(ctx, f.train, "caching training features")
	if err != nil {
		return fmt.Errorf("cache backbone features: %w", err)
	}
	valid, err := f.computeFeatures(ctx, f.valid, "caching validation features")
	if err != nil {
		return fmt.Errorf("cache backbone features: %w", err)
	}
	f.cache = &phaseCache{train: train, valid: valid}
	f.log.Info("head-only phase on cached backbone features", "train_images", len(train.row), "valid_images", len(valid.row),
		"dim", train.dim, "seconds", time.Since(start).Seconds())
	return nil
}

func (f *fit) computeFeatures(ctx context.Context, d regressor.Data, label string) (*featureTable, error) {
	gr := f.r.gr
	ft := &featureTable{dim: int(channels(gr.infer.features)), row: map[int]int{}}
	var distinct []regressor.Example
	for _, ex := range d.Examples {
		if _, ok := ft.row[ex.Index]; !ok {
			ft.row[ex.Index] = len(distinct)
			distinct = append(distinct, regressor.Example{Index: ex.Index, ID: ex.ID, Weight: 1})
		}
	}
	if len(distinct) == 0 {
		return ft, nil
	}
	ft.data = make([]float32, 0, len(distinct)*ft.dim)
	track := f.r.tracker(label, len(distinct))
	defer track.Finish()
	feed := startFeeder(ctx, f.plan(regressor.Data{Images: d.Images, Examples: distinct}, sequential(len(distinct)), nil, 0))
	defer feed.stop()
	for {
		bt, ok, err := feed.next(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		out, err := f.r.sess.Run(map[tf.Output]*tf.Tensor{gr.images: bt.images}, []tf.Output{gr.infer.features}, nil)
		if err != nil {
			return nil, err
		}
		for _, row := range out[0].Value().([][]float32) {
			ft.data = append(ft.data, row...)
		}
		track.Add(bt.n)
		f.mem.add(int64(bt.n * f.r.cfg.InputSize * f.r.cfg.InputSize * 3))
	}
	if len(ft.data) != len(distinct)*ft.dim {
		return nil, fmt.Errorf("%s: got %d values for %d images of %d features", label, len(ft.data), len(distinct), ft.dim)
	}
	return ft, nil
}

// batch builds the fed tensors of the examples of d at positions order.
func (ft *featureTable) batch(d regressor.Data, order []int) (feats, targets, weights *tf.Tensor, err error) {
	n := len(order)
	b := make([]byte, 4*n*ft.dim)
	tg := make([]float32, n)
	w := make([]float32, n)
	for i, pos := range order {
		ex := d.Examples[pos]
		r := ft.row[ex.Index]
		for j, v := range ft.data[r*ft.dim : (r+1)*ft.dim] {
			binary.LittleEndian.PutUint32(b[4*(i*ft.dim+j):], math.Float32bits(v))
		}
		tg[i], w[i] = float32(ex.Target), float32(ex.Weight)
	}
	if feats, err = tf.ReadTensor(tf.Float, []int64{int64(n), int64(ft.dim)}, bytes.NewReader(b)); err != nil {
		return nil, nil, nil, err
	}
	if targets, err = tf.NewTensor(tg); err != nil {
		return nil, nil, nil, err
	}
	if weights, err = tf.NewTensor(w); err != nil {
		return nil, nil, nil, err
	}
	return feats, targets, weights, nil
}

// trainEpochCached is trainEpoch on cached features (the same batches in
// the same order, the same dropout seeds).
func (f *fit) trainEpochCached(ctx context.Context, track progress.Tracker) (loss, mae, secs float64, err error) {
	start := time.Now()
	if f.cache == nil {
		if err := f.buildCache(ctx); err != nil {
			return 0, 0, 0, err
		}
	}
	tg := f.r.gr.training
	ch := tg.cached
	epoch := f.st.Epoch + 1
	order := epochOrder(len(f.train.Examples), f.tc.Seed, epoch)
	bs := f.tc.BatchSize
	nb := (len(order) + bs - 1) / bs
	lr, err := tf.NewTensor(float32(f.st.LR))
	if err != nil {
		return 0, 0, 0, err
	}
	var sumLoss, sumAbs float64
	for b := range nb {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d stopped before batch %d of %d: %w", epoch, b+1, nb, err)
		}
		part := order[b*bs : min((b+1)*bs, len(order))]
		feats, targets, weights, err := f.cache.train.batch(f.train, part)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: %w", epoch, b+1, nb, err)
		}
		seed, err := tf.NewTensor([]int64{int64(f.tc.Seed), f.st.Steps << 10})
		if err != nil {
			return 0, 0, 0, err
		}
		out, err := f.r.sess.Run(map[tf.Output]*tf.Tensor{
			ch.features: feats, tg.targets: targets, tg.weights: weights, tg.lr: lr, f.r.gr.stepSeed: seed,
		}, []tf.Output{ch.train.loss, ch.train.absErr}, []*tf.Operation{ch.train.step})
		if err != nil {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: %w", epoch, b+1, nb, err)
		}
		l := float64(out[0].Value().(float32))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, 0, 0, fmt.Errorf("epoch %d batch %d of %d: loss is %v at learning rate %g: training diverged (lower the learning rate, or check targets and weights)",
				epoch, b+1, nb, l, f.st.LR)
		}
		sumLoss += l * float64(len(part))
		sumAbs += float64(out[1].Value().(float32))
		f.st.Steps++
		track.Add(len(part))
	}
	n := float64(len(order))
	return sumLoss / n, sumAbs / n, time.Since(start).Seconds(), nil
}

// evaluateCached is evaluate on cached validation features.
func (f *fit) evaluateCached(ctx context.Context, track progress.Tracker) (loss, mae float64, err error) {
	n := len(f.valid.Examples)
	if n == 0 {
		return math.NaN(), math.NaN(), nil
	}
	tg := f.r.gr.training
	order := sequential(n)
	bs := f.tc.BatchSize
	var sumLoss, sumAbs float64
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		part := order[lo:min(lo+bs, n)]
		feats, targets, weights, err := f.cache.valid.batch(f.valid, part)
		if err != nil {
			return 0, 0, err
		}
		out, err := f.r.sess.Run(map[tf.Output]*tf.Tensor{tg.cached.features: feats, tg.targets: targets, tg.weights: weights},
			[]tf.Output{tg.cached.val.loss, tg.cached.val.absErr}, nil)
		if err != nil {
			return 0, 0, err
		}
		sumLoss += float64(out[0].Value().(float32)) * float64(len(part))
		sumAbs += float64(out[1].Value().(float32))
		track.Add(len(part))
	}
	return sumLoss / float64(n), sumAbs / float64(n), nil
}
