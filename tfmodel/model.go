package tfmodel

import (
	"fmt"
	"sync"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/regressor"
)

// ResNet is a ResNet age regressor: a graph, its session and its config. It
// implements regressor.Regressor. Methods are safe to call from several
// goroutines but run one at a time.
type ResNet struct {
	mu     sync.Mutex
	cfg    ModelConfig
	opts   options
	gr     *graph
	sess   *tf.Session
	closed bool
	// weights says where the backbone's initial weights came from (nil:
	// random init); model.json carries it on.
	weights *WeightsSource
	// prec is the precision this session runs in; trainedIn the one the
	// weights were trained in when it was not plain fp32 (model.json
	// carries it on; nil: fp32, which every model saved before precision
	// was recorded used, so fp32 runs write the same files as before).
	prec      PrecisionChoice
	trainedIn *PrecisionChoice
}

var _ regressor.Trainable = kindModel{}

// New builds a freshly initialised network (weights from cfg.Seed). Pass
// WithTraining to be able to Fit.
func New(cfg ModelConfig, opts ...Option) (r *ResNet, err error) {
	defer guard(&err, "new model")
	if r, err = open(cfg, opts); err != nil {
		return nil, err
	}
	if _, err := r.sess.Run(nil, nil, []*tf.Operation{r.gr.initVars}); err != nil {
		r.Close()
		return nil, fmt.Errorf("tfmodel: initialise %s weights: %w", cfg.Arch, err)
	}
	if cfg.Pretrained != "none" {
		if r.weights, err = r.initPretrained(); err != nil {
			r.Close()
			return nil, fmt.Errorf("tfmodel: %w", err)
		}
	}
	return r, nil
}

// Load opens a model saved by Save (or a best/ or last/ checkpoint of Fit):
// it rebuilds the network from dir/model.json and restores its weights.
func Load(dir string, opts ...Option) (r *ResNet, err error) {
	defer guard(&err, "load model")
	mf, err := readModelFile(dir)
	if err != nil {
		return nil, err
	}
	if r, err = open(mf.Model, opts); err != nil {
		return nil, err
	}
	if err := r.restoreVars(dir, r.gr.modelVars()); err != nil {
		r.Close()
		return nil, err
	}
	r.weights, r.trainedIn = mf.Weights, mf.Precision
	return r, nil
}

// open validates, builds the inference graph and starts the session.
func open(cfg ModelConfig, opts []Option) (*ResNet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	if cfg.InputSize < 8 {
		return nil, fmt.Errorf("tfmodel: model.input_size: %d pixels; a network needs at least 8 (0, meaning data.image_size, must be resolved first)", cfg.InputSize)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	prec, err := o.resolvedPrecision()
	if err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	logPrecision(o.log, prec)
	var dist *distPlan // train.cluster: data-parallel on a cluster (replicas.go)
	if o.train != nil && o.train.Cluster.Enabled() {
		if dist, err = newDistPlan(o.train.Cluster); err != nil {
			return nil, fmt.Errorf("tfmodel: %w", err)
		}
	}
	gr, err := buildGraphOn(cfg, dist.paramDevice())
	if err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	gr.dist = dist
	var sess *tf.Session
	if dist != nil {
		sess, err = dist.openSession(gr.g, o.intra, o.inter, prec, o.log)
	} else {
		sess, err = openSession(gr.g, o.intra, o.inter, prec, o.log)
	}
	if err != nil {
		return nil, fmt.Errorf("tfmodel: %w", err)
	}
	r := &ResNet{cfg: cfg, opts: o, gr: gr, sess: sess, prec: prec}
	if o.train != nil && prec.Setting != regressor.PrecisionFP32 {
		r.trainedIn = &prec
	}
	return r, nil
}

// Config returns the network's configuration.
func (r *ResNet) Config() ModelConfig { return r.cfg }

// Pretrained says where the backbone's initial weights came from (nil for a
// random init).
func (r *ResNet) Pretrained() *WeightsSource { return r.weights }

// Precision is the precision this model's session runs in.
func (r *ResNet) Precision() PrecisionChoice { return r.prec }

// TrainedIn is the precision the weights were trained in; nil for fp32
// (train.precision fp32, an untrained model, or a model.json from before
// precision was recorded, when everything trained in float32).
func (r *ResNet) TrainedIn() *PrecisionChoice { return r.trainedIn }

// Input is the pixel normalisation the network applies in its graph.
func (r *ResNet) Input() InputNorm { return inputNormFor(r.cfg.Arch) }

// Save writes the network's weights and model.json to dir (created if
// needed, replaced atomically if it exists). Optimizer state is not part of
// a saved model; Fit's last/ checkpoint holds it for Resume.
func (r *ResNet) Save(dir string) (err error) {
	defer guard(&err, "save model")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	return r.writeCheckpoint(dir, r.gr.modelVars(), nil)
}

// Restore loads the weights of the checkpoint in dir into this model. The
// checkpoint's model.json must describe the same network (architecture,
// input size, width, head, age_max); otherwise it fails saying how they
// differ.
func (r *ResNet) Restore(dir string) (err error) {
	defer guard(&err, "restore checkpoint")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	return r.restoreVars(dir, r.gr.modelVars())
}

// Close releases the session. The model is unusable afterwards.
func (r *ResNet) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.sess.Close(); err != nil {
		return fmt.Errorf("tfmodel: close session: %w", err)
	}
	return nil
}
