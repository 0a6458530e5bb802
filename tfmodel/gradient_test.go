package tfmodel

import (
	"math"
	"math/rand/v2"
	"testing"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// TestGradientsMatchFiniteDifferences checks op.Gradients through the
// layers the ResNets use (strided conv, training-mode batch norm through
// its batch statistics, ReLU, global average pooling, dense, sigmoid)
// against central differences of a squared-error loss (MAE's kink would
// spoil finite differences), for a sample of elements of every trained
// variable.
//
// Tolerance: |analytic − numeric| ≤ 2e-3 + 3e-2·|analytic|. The graph runs
// in float32 (FusedBatchNorm has no float64 kernel); with step 1e-2 the
// central difference's truncation and rounding errors are ~1e-4..1e-3.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	skipTrainingIfShort(t)
	g := tf.NewGraph()
	root := op.NewScopeWithGraph(g)
	vs := newVarStore(root, 42)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4*6*6*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	input := op.Reshape(root.SubScope("x"), op.Const(root.SubScope("xv"), x), op.Const(root.SubScope("xs"), []int32{4, 6, 6, 3}))
	tw := &tower{mode: trainAllMode, vs: vs}
	bb := layer{t: tw, s: root.SubScope("net"), part: partBackbone}
	y := bb.relu(bb.bn("bn", bb.conv("conv", input, 5, 3, 2), 0.9))
	y = bb.globalAvgPool(y)
	hd := layer{t: tw, s: root.SubScope("head"), part: partHead}
	z := op.Reshape(root.SubScope("z"), op.Sigmoid(root, hd.dense("out", hd.relu(hd.dense("d1", y, 4, heDense)), 1, glorotDense)),
		op.Const(root.SubScope("zs"), []int32{-1}))
	target := op.Const(root.SubScope("target"), []float32{0.1, 0.9, 0.3, 0.6})
	loss := op.Mean(root, op.Square(root, op.Sub(root, z, target)), op.Const(root.SubScope("axis"), []int32{0}))
	vars := vs.filter(func(v *variable) bool { return v.trained })
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}
	grads := op.Gradients(root.SubScope("gradients"), []tf.Output{loss}, reads)
	var inits []*tf.Operation
	for _, v := range vs.list {
		inits = append(inits, v.init)
	}
	if err := root.Err(); err != nil {
		t.Fatal(cleanScopeErr(err))
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if _, err := sess.Run(nil, nil, inits); err != nil {
		t.Fatal(err)
	}
	values, err := sess.Run(nil, reads, nil)
	if err != nil {
		t.Fatal(err)
	}
	analytic, err := sess.Run(nil, grads, nil)
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func(vi int, flat []float32) float64 {
		tensor, err := tf.NewTensor(flat)
		if err != nil {
			t.Fatal(err)
		}
		if err := tensor.Reshape(vars[vi].shape); err != nil {
			t.Fatal(err)
		}
		// Feeding a variable's read value overrides it for this run only.
		out, err := sess.Run(map[tf.Output]*tf.Tensor{reads[vi]: tensor}, []tf.Output{loss}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return float64(out[0].Value().(float32))
	}
	const h = 1e-2
	checked, worst := 0, 0.0
	for vi, v := range vars {
		flat := flatten(values[vi])
		grad := flatten(analytic[vi])
		for _, i := range sampleIndices(len(flat), 6, rng) {
			orig := flat[i]
			flat[i] = orig + h
			up := lossAt(vi, flat)
			flat[i] = orig - h
			down := lossAt(vi, flat)
			flat[i] = orig
			numeric := (up - down) / (2 * h)
			diff := math.Abs(numeric - float64(grad[i]))
			if diff > 2e-3+3e-2*math.Abs(float64(grad[i])) {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", v.name, i, grad[i], numeric)
			}
			worst = max(worst, diff)
			checked++
		}
	}
	t.Logf("%d gradient elements of %d variables checked; largest absolute difference %.2g", checked, len(vars), worst)
}

// flatten returns a float32 tensor's values in row-major order.
func flatten(t *tf.Tensor) []float32 {
	var out []float32
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case float32:
			out = append(out, v)
		case []float32:
			out = append(out, v...)
		case [][]float32:
			for _, r := range v {
				walk(r)
			}
		case [][][]float32:
			for _, r := range v {
				walk(r)
			}
		case [][][][]float32:
			for _, r := range v {
				walk(r)
			}
		}
	}
	walk(t.Value())
	return out
}

// sampleIndices picks up to k distinct indices of [0, n).
func sampleIndices(n, k int, rng *rand.Rand) []int {
	if n <= k {
		return sequential(n)
	}
	return rng.Perm(n)[:k]
}
