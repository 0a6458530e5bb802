package tfmodel

import (
	"context"
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/regressor"
)

// Predict returns the predicted age in years of every example, in order,
// with the network in inference mode (moving batch-norm statistics, no
// dropout). Targets and weights are ignored.
func (r *ResNet) Predict(ctx context.Context, data regressor.Data) (pred []float64, err error) {
	defer guard(&err, "predict")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	if err := r.checkData("prediction", data, false); err != nil {
		return nil, fmt.Errorf("tfmodel: predict: %w", err)
	}
	n := len(data.Examples)
	pred = make([]float64, 0, n)
	if n == 0 {
		return pred, nil
	}
	plan := batchPlan{data: data, order: sequential(n), size: r.opts.batchSize, prefetch: 4, imageSize: r.cfg.InputSize}
	if tc := r.opts.train; tc != nil {
		plan.prefetch, plan.workers = tc.Prefetch, tc.Workers
	}
	feed := startFeeder(ctx, plan)
	defer feed.stop()
	track := r.tracker("predict", n)
	defer track.Finish()
	mem := cMemory{limit: 256 << 20}
	for b := 1; ; b++ {
		bt, ok, err := feed.next(ctx)
		if err != nil {
			return nil, fmt.Errorf("tfmodel: predict batch %d: %w", b, err)
		}
		if !ok {
			break
		}
		out, err := r.sess.Run(map[tf.Output]*tf.Tensor{r.gr.images: bt.images}, []tf.Output{r.gr.infer.years}, nil)
		if err != nil {
			return nil, fmt.Errorf("tfmodel: predict batch %d: %w", b, err)
		}
		for _, y := range out[0].Value().([]float32) {
			pred = append(pred, float64(y))
		}
		track.Add(bt.n)
		mem.add(int64(bt.n * r.cfg.InputSize * r.cfg.InputSize * 3))
	}
	return pred, nil
}
