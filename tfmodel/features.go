package tfmodel

import (
	"context"
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/regressor"
)

// Features returns, for every example in order, what the head reads: the
// backbone's pooled features, or face_resnet's 128-d descriptor when
// ModelConfig.Features is "descriptor" (then these are the face-api
// descriptors of the images). Inference mode; targets are ignored.
func (r *ResNet) Features(ctx context.Context, data regressor.Data) (out [][]float32, err error) {
	defer guard(&err, "features")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errClosed
	}
	if err := r.checkData("feature", data, false); err != nil {
		return nil, fmt.Errorf("tfmodel: features: %w", err)
	}
	n := len(data.Examples)
	out = make([][]float32, 0, n)
	if n == 0 {
		return out, nil
	}
	feed := startFeeder(ctx, batchPlan{data: data, order: sequential(n), size: r.opts.batchSize, prefetch: 4, imageSize: r.cfg.InputSize})
	defer feed.stop()
	mem := cMemory{limit: 256 << 20}
	for b := 1; ; b++ {
		bt, ok, err := feed.next(ctx)
		if err != nil {
			return nil, fmt.Errorf("tfmodel: features batch %d: %w", b, err)
		}
		if !ok {
			break
		}
		res, err := r.sess.Run(map[tf.Output]*tf.Tensor{r.gr.images: bt.images}, []tf.Output{r.gr.infer.features}, nil)
		if err != nil {
			return nil, fmt.Errorf("tfmodel: features batch %d: %w", b, err)
		}
		out = append(out, res[0].Value().([][]float32)...)
		mem.add(int64(bt.n * r.cfg.InputSize * r.cfg.InputSize * 3))
	}
	return out, nil
}
