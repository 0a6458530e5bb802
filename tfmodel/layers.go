package tfmodel

import (
	"math"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// bnEpsilon is Keras ResNet's batch-norm epsilon.
const bnEpsilon = 1.001e-5

// mode is what distinguishes one tower of the graph from another.
type mode struct {
	name       string // scope of the tower's ops
	bnTraining bool   // backbone batch norm on batch statistics, updating the moving ones
	dropout    bool   // head dropout active
	freeze     int    // first backbone stages kept frozen (inference-mode batch norm) in a training tower
}

var (
	inferMode     = mode{name: "infer"}
	trainAllMode  = mode{name: "train_all", bnTraining: true, dropout: true}
	trainHeadMode = mode{name: "train_head", dropout: true} // frozen backbone: BN stays in inference mode
)

// tower is one forward pass over the shared variables.
type tower struct {
	mode     mode
	arch     Arch // ModelConfig.Arch, for the stages of mode.freeze
	vs       *varStore
	dropSeed tf.Output       // [2]int64 fed per step; dropout layer i adds (0, i)
	nDrop    int             // dropout layers so far
	updates  []*tf.Operation // moving-statistics assignments of training batch norm
	err      error           // first variable error (the scope holds graph errors)
	// shard is set in a replica of data-parallel training (replicas.go):
	// batch norm then hands its new moving statistics to bnStats instead of
	// assigning them, and dropout draws the mask of the whole global batch
	// and keeps the shard's rows, so masks match single-process training.
	shard   *shard
	bnStats []bnStat
}

// layer is a named place in a tower: ops go under its scope and its
// variables are called name/<local>, identically in every tower.
type layer struct {
	t    *tower
	s    *op.Scope
	name string
	part part
}

// in returns the sub-layer called name ("stage1/block2", "conv1").
func (l layer) in(name string) layer {
	full := name
	if l.name != "" {
		full = l.name + "/" + name
	}
	return layer{t: l.t, s: l.s.SubScope(name), name: full, part: l.part}
}

// variable returns the read value of this layer's variable local, creating it
// on the first tower that asks.
func (l layer) variable(local string, shape []int64, trained, decayed bool, init initFn) *variable {
	v, err := l.t.vs.get(l.name+"/"+local, shape, l.part, trained, decayed, init)
	if err != nil {
		if l.t.err == nil {
			l.t.err = err
		}
		// A placeholder of the right shape keeps building going; the error
		// is reported when the tower is finished.
		return &variable{read: op.Placeholder(l.s.SubScope("broken_"+local), tf.Float), shape: shape}
	}
	return v
}

// channels is the static size of x's last dimension (1 when unknown, which
// only happens after a graph error that is reported anyway).
func channels(x tf.Output) int64 {
	if x.Op == nil {
		return 1
	}
	sh := x.Shape()
	if n := sh.NumDimensions(); n > 0 && sh.Size(n-1) > 0 {
		return sh.Size(n - 1)
	}
	return 1
}

// conv is a bias-free convolution (batch norm follows) with He init and SAME
// padding.
func (l layer) conv(name string, x tf.Output, filters, kernel, stride int) tf.Output {
	l = l.in(name)
	in := channels(x)
	k := l.variable("kernel", []int64{int64(kernel), int64(kernel), in, int64(filters)}, true, true,
		heNormal(int64(kernel*kernel)*in))
	return op.Conv2D(l.s, x, k.read, []int64{1, int64(stride), int64(stride), 1}, "SAME")
}

// bn is fused batch norm. In a training tower's backbone it normalises with
// batch statistics and assigns the updated moving averages (collected in
// tower.updates); elsewhere it uses the moving statistics.
func (l layer) bn(name string, x tf.Output, momentum float64) tf.Output {
	l = l.in(name)
	c := []int64{channels(x)}
	gamma := l.variable("gamma", c, true, false, constant(1))
	beta := l.variable("beta", c, true, false, constant(0))
	mean := l.variable("moving_mean", c, false, false, constant(0))
	variance := l.variable("moving_variance", c, false, false, constant(1))
	if !(l.t.mode.bnTraining && l.part == partBackbone && !frozenIn(l.t.arch, l.t.mode.freeze, l.name)) {
		y, _, _, _, _, _ := op.FusedBatchNormV3(l.s, x, gamma.read, beta.read, mean.read, variance.read,
			op.FusedBatchNormV3Epsilon(bnEpsilon), op.FusedBatchNormV3IsTraining(false))
		return y
	}
	// With exponential_avg_factor the op returns the updated moving averages
	// itself (as Keras's fused path does).
	y, newMean, newVar, _, _, _ := op.FusedBatchNormV3(l.s, x, gamma.read, beta.read, mean.read, variance.read,
		op.FusedBatchNormV3Epsilon(bnEpsilon), op.FusedBatchNormV3IsTraining(true),
		op.FusedBatchNormV3ExponentialAvgFactor(float32(1-momentum)))
	if mean.handle.Op != nil && l.t.shard != nil {
		l.t.bnStats = append(l.t.bnStats, bnStat{mean: mean, variance: variance, newMean: newMean, newVar: newVar})
	} else if mean.handle.Op != nil {
		l.t.updates = append(l.t.updates,
			op.AssignVariableOp(l.s.SubScope("update_mean"), mean.handle, newMean),
			op.AssignVariableOp(l.s.SubScope("update_variance"), variance.handle, newVar))
	}
	return y
}

func (l layer) relu(x tf.Output) tf.Output { return op.Relu(l.s.SubScope("relu"), x) }

func (l layer) add(x, y tf.Output) tf.Output { return op.AddV2(l.s.SubScope("add"), x, y) }

func (l layer) maxPool(x tf.Output, size, stride int) tf.Output {
	return op.MaxPool(l.s.SubScope("maxpool"), x,
		[]int64{1, int64(size), int64(size), 1}, []int64{1, int64(stride), int64(stride), 1}, "SAME")
}

// globalAvgPool averages NHWC over height and width.
func (l layer) globalAvgPool(x tf.Output) tf.Output {
	s := l.s.SubScope("avgpool")
	return op.Mean(s, x, op.Const(s.SubScope("axes"), []int32{1, 2}))
}

// dense is x·kernel + bias.
func (l layer) dense(name string, x tf.Output, units int, init func(fanIn, fanOut int64) initFn) tf.Output {
	l = l.in(name)
	in := channels(x)
	k := l.variable("kernel", []int64{in, int64(units)}, true, true, init(in, int64(units)))
	b := l.variable("bias", []int64{int64(units)}, true, false, constant(0))
	return op.BiasAdd(l.s, op.MatMul(l.s, x, k.read), b.read)
}

// dropout zeroes a fraction rate of x in training towers (inverted dropout:
// survivors are scaled by 1/(1-rate)). The mask comes from a stateless
// random op seeded per step, so runs and resumed runs repeat exactly.
func (l layer) dropout(x tf.Output, rate float64) tf.Output {
	if !l.t.mode.dropout || rate == 0 {
		return x
	}
	l.t.nDrop++
	s := l.s.SubScope("dropout")
	seed := op.Add(s.SubScope("seed"), l.t.dropSeed, op.Const(s.SubScope("offset"), []int64{0, int64(l.t.nDrop)}))
	var u tf.Output
	if sh := l.t.shard; sh != nil {
		u = sh.rows(s, op.StatelessRandomUniform(s, sh.globalShape(s, x), seed))
	} else {
		u = op.StatelessRandomUniform(s, op.Shape(s, x), seed)
	}
	keep := op.Cast(s, op.GreaterEqual(s, u, op.Const(s.SubScope("rate"), float32(rate))), tf.Float)
	scaled := op.Mul(s.SubScope("scale"), keep, op.Const(s.SubScope("inv_keep"), float32(1/(1-rate))))
	return op.Mul(s.SubScope("apply"), x, scaled)
}

// heDense and glorotDense adapt the initialisers to dense's signature.
func heDense(fanIn, _ int64) initFn          { return heNormal(fanIn) }
func glorotDense(fanIn, fanOut int64) initFn { return glorotUniform(fanIn, fanOut) }

// scaledWidth applies the width multiplier to a base width (at least 1).
func scaledWidth(base int, m float64) int {
	return max(1, int(math.Round(float64(base)*m)))
}
