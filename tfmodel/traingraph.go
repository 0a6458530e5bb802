package tfmodel

import (
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// trainGraph is the part of the graph Fit adds: targets, losses, gradients
// and Adam, for each kind of phase the strategy needs.
type trainGraph struct {
	targets        tf.Output // float32 [batch], years
	weights        tf.Output // float32 [batch]
	lr             tf.Output // float32 scalar, fed (the rate lives in Go, where the callbacks change it)
	val            lossOut   // loss and error on the inference tower, for validation
	towers         map[bool]*trainTower
	resetOptimizer *tf.Operation // zeroes Adam's slots and step: a fresh optimizer per phase
	cached         *cachedHead   // head-only training on fed backbone features (featurecache.go)
}

// lossOut holds a batch's mean loss and its summed absolute error in years.
type lossOut struct {
	loss   tf.Output
	absErr tf.Output
}

// trainTower is one training step: run step and fetch loss/absErr.
type trainTower struct {
	lossOut
	step *tf.Operation
}

// buildTraining adds what Fit needs; it runs once per model.
func (gr *graph) buildTraining(tc TrainConfig) error {
	if gr.training != nil {
		return nil
	}
	s := gr.root.SubScope("training")
	tg := &trainGraph{towers: map[bool]*trainTower{}}
	tg.targets = op.Placeholder(s.SubScope("targets"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1)))
	tg.weights = op.Placeholder(s.SubScope("weights"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1)))
	tg.lr = op.Placeholder(s.SubScope("lr"), tf.Float, op.PlaceholderShape(tf.ScalarShape()))

	l2 := gr.weightDecay(s.SubScope("weight_decay"), tc.WeightDecay)
	tg.val = gr.lossOf(s.SubScope("val_loss"), gr.infer, string(tc.Loss), tg, l2)

	iterations, err := gr.vs.get("optimizer/iterations", nil, partOptimizer, false, false, constant(0))
	if err != nil {
		return fmt.Errorf("build optimizer: %w", err)
	}
	for _, ph := range tc.phases() {
		if tg.towers[ph.HeadOnly] != nil || ph.Epochs == 0 {
			continue
		}
		m := trainAllMode
		m.freeze = tc.FreezeStages
		if ph.HeadOnly {
			m = trainHeadMode
		}
		build := gr.trainTower
		if gr.dist != nil {
			build = gr.replicaStep // one replica per worker of the cluster (replicas.go)
		}
		tt, err := build(s.SubScope(m.name), m, ph.HeadOnly, tc, tg, l2, iterations)
		if err != nil {
			return err
		}
		tg.towers[ph.HeadOnly] = tt
		// The feature cache computes the frozen backbone once on one device;
		// on a cluster the head phase runs data-parallel like the others.
		if ph.HeadOnly && gr.dist == nil {
			if tg.cached, err = gr.buildCachedHead(s.SubScope("cached_head"), tc, tg, l2, iterations); err != nil {
				return err
			}
		}
	}
	var inits []*tf.Operation
	for _, v := range gr.vs.filter(func(v *variable) bool { return v.part == partOptimizer }) {
		inits = append(inits, v.init)
	}
	tg.resetOptimizer = op.NoOp(s.SubScope("reset_optimizer").WithControlDependencies(inits...))
	if err := gr.root.Err(); err != nil {
		return fmt.Errorf("build training graph: %w", cleanScopeErr(err))
	}
	gr.training = tg
	return nil
}

// weightDecay is wd·Σw² over all kernels (Keras's l2 regularizer), or an
// invalid Output when wd is 0.
func (gr *graph) weightDecay(s *op.Scope, wd float64) tf.Output {
	if wd == 0 {
		return tf.Output{}
	}
	var terms []tf.Output
	for _, v := range gr.vs.filter(func(v *variable) bool { return v.decayed }) {
		terms = append(terms, op.L2Loss(s.SubScope("term"), v.read)) // Σw²/2
	}
	return op.Mul(s, op.AddN(s, terms), op.Const(s.SubScope("two_wd"), float32(2*wd)))
}

// lossOf is the per-sample-weighted mean of |e| or e² on targets scaled by
// AgeMax (Keras's sum-over-batch-size reduction), plus weight decay; and the
// summed absolute error in years for the MAE metric.
func (gr *graph) lossOf(s *op.Scope, out *towerOut, loss string, tg *trainGraph, l2 tf.Output) lossOut {
	axis := op.Const(s.SubScope("axis"), []int32{0})
	target := op.Mul(s.SubScope("target_scaled"), tg.targets, op.Const(s.SubScope("inv_age_max"), float32(1/gr.cfg.AgeMax)))
	diff := op.Sub(s.SubScope("diff"), out.scaled, target)
	var per tf.Output
	if loss == "mse" {
		per = op.Square(s.SubScope("per_sample"), diff)
	} else {
		per = op.Abs(s.SubScope("per_sample"), diff)
	}
	l := op.Mean(s.SubScope("mean"), op.Mul(s.SubScope("weighted"), per, tg.weights), axis)
	if l2.Op != nil {
		l = op.AddV2(s.SubScope("total"), l, l2)
	}
	errYears := op.Abs(s.SubScope("abs_years"), op.Sub(s.SubScope("err_years"), out.years, tg.targets))
	return lossOut{loss: l, absErr: op.Sum(s.SubScope("abs_err"), errYears, axis)}
}

// trainTower builds a forward pass in mode m, the gradients of its loss with
// respect to the variables this phase trains (head only, or all), and the
// Adam step that applies them.
func (gr *graph) trainTower(s *op.Scope, m mode, headOnly bool, tc TrainConfig, tg *trainGraph, l2 tf.Output, iterations *variable) (*trainTower, error) {
	out, err := gr.tower(m)
	if err != nil {
		return nil, err
	}
	lo := gr.lossOf(s.SubScope("loss"), out, string(tc.Loss), tg, l2)
	return gr.adamStep(s, m, lo, out.updates, gr.trainedVars(m, headOnly), tc, tg, iterations)
}

// trainedVars are the variables a phase in mode m trains.
func (gr *graph) trainedVars(m mode, headOnly bool) []*variable {
	return gr.vs.filter(func(v *variable) bool {
		return v.trained && (v.part == partHead ||
			(!headOnly && v.part == partBackbone && !frozenIn(gr.cfg.Arch, m.freeze, v.name)))
	})
}

// adamStep adds the gradients of lo.loss with respect to vars and the Adam
// step applying them (after updates), backbone variables at
// TrainConfig.BackboneLRScale times the rate.
func (gr *graph) adamStep(s *op.Scope, m mode, lo lossOut, updates []*tf.Operation, vars []*variable, tc TrainConfig, tg *trainGraph, iterations *variable) (*trainTower, error) {
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}
	grads := op.Gradients(s.SubScope("gradients"), []tf.Output{lo.loss}, reads)
	if err := gr.root.Err(); err != nil {
		return nil, fmt.Errorf("build %s gradients: %w", m.name, cleanScopeErr(err))
	}
	return gr.applyStep(s, lo, updates, vars, grads, tc, tg, iterations)
}

// applyStep is the Adam step applying grads to vars (after updates), as
// one step op fetching lo.
func (gr *graph) applyStep(s *op.Scope, lo lossOut, updates []*tf.Operation, vars []*variable, grads []tf.Output, tc TrainConfig, tg *trainGraph, iterations *variable) (*trainTower, error) {
	lrOf := func(*variable) tf.Output { return tg.lr }
	if tc.BackboneLRScale != 1 {
		bs := s.SubScope("backbone_lr")
		backboneLR := op.Mul(bs, tg.lr, op.Const(bs.SubScope("scale"), float32(tc.BackboneLRScale)))
		lrOf = func(v *variable) tf.Output {
			if v.part == partBackbone {
				return backboneLR
			}
			return tg.lr
		}
	}
	apply, err := gr.adam(s.SubScope("adam"), tc.Adam, vars, grads, lrOf, iterations)
	if err != nil {
		return nil, err
	}
	step := op.NoOp(s.SubScope("step").WithControlDependencies(append(updates, apply)...))
	return &trainTower{lossOut: lo, step: step}, nil
}

// adam adds ResourceApplyAdam for every variable with a gradient (slots m
// and v are variables "optimizer/<name>/m|v") and then advances the step
// counter the bias corrections use.
func (gr *graph) adam(s *op.Scope, cfg AdamConfig, vars []*variable, grads []tf.Output, lrOf func(*variable) tf.Output, iterations *variable) (*tf.Operation, error) {
	c := func(name string, v float64) tf.Output { return op.Const(s.SubScope(name), float32(v)) }
	t := op.AddV2(s.SubScope("t"), iterations.read, c("one", 1))
	beta1, beta2, eps := c("beta1", cfg.Beta1), c("beta2", cfg.Beta2), c("epsilon", cfg.Epsilon)
	b1p := op.Pow(s.SubScope("beta1_power"), beta1, t)
	b2p := op.Pow(s.SubScope("beta2_power"), beta2, t)
	var applies []*tf.Operation
	for i, v := range vars {
		if grads[i].Op == nil {
			continue // no path from the loss (cannot happen for a connected network)
		}
		m, err := gr.vs.get("optimizer/"+v.name+"/m", v.shape, partOptimizer, false, false, constant(0))
		if err != nil {
			return nil, err
		}
		vv, err := gr.vs.get("optimizer/"+v.name+"/v", v.shape, partOptimizer, false, false, constant(0))
		if err != nil {
			return nil, err
		}
		applies = append(applies, op.ResourceApplyAdam(s.SubScope("apply"), v.handle, m.handle, vv.handle,
			b1p, b2p, lrOf(v), beta1, beta2, eps, grads[i]))
	}
	return op.AssignAddVariableOp(s.SubScope("advance").WithControlDependencies(applies...),
		iterations.handle, c("increment", 1)), nil
}
