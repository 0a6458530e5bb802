// Package faceapimodel rebuilds face-api's weights-only networks in a
// TensorFlow graph from their TF.js weights, so fairage can run them
// natively. face-api ships these nets as weights manifests without a graph
// (the graph lives in its TypeScript source), unlike the graph models of
// the tfjs kind. It owns AgeGenderNet (src/ageGenderNet/: a TinyXception
// feature extractor with an age and a gender head), offered as the preset
// face-api-age; it knows nothing of stages or the runner.
package faceapimodel

import (
	"bytes"
	"encoding/binary"
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"

	"fairage/weights"
)

// AgeGenderInput is the square input side of AgeGenderNet: face-api
// resizes every face to 112×112 (TinyXception.forwardInput).
const AgeGenderInput = 112

// ageGenderMainBlocks is the number of middle-flow blocks face-api builds
// AgeGenderNet with (new TinyXception(2)).
const ageGenderMainBlocks = 2

// AgeGenderGraph is AgeGenderNet as a TensorFlow graph: Input takes
// float32 [N, 112, 112, 3] RGB already normalised as face-api does
// ((byte − mean RGB [122.782, 117.001, 104.298]) / 255), Age is the
// regressed age in years [N] and Gender the softmax over (male, female)
// [N, 2], face-api's order.
type AgeGenderGraph struct {
	Graph  *tf.Graph
	Input  tf.Output
	Age    tf.Output
	Gender tf.Output
}

// BuildAgeGender builds the graph from face-api's age_gender_model
// weights, following src/xception/TinyXception.ts and
// src/ageGenderNet/AgeGenderNet.ts layer by layer. A tensor the network
// needs that the weights lack, a shape that differs from face-api's, or a
// weight the network does not use is an error naming the tensor.
func BuildAgeGender(w *weights.Set) (*AgeGenderGraph, error) {
	b := &builder{s: op.NewScope(), w: w, used: map[string]bool{}}
	x := op.Placeholder(b.s.SubScope("input"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, AgeGenderInput, AgeGenderInput, 3)))

	out := b.relu(b.conv("entry_flow/conv_in", x, 2))
	out = b.reductionBlock("entry_flow/reduction_block_0", out, false)
	out = b.reductionBlock("entry_flow/reduction_block_1", out, true)
	for i := range ageGenderMainBlocks {
		out = b.mainBlock(fmt.Sprintf("middle_flow/main_block_%d", i), out)
	}
	out = b.reductionBlock("exit_flow/reduction_block", out, true)
	out = b.relu(b.separable("exit_flow/separable_conv", out))

	if b.err != nil {
		return nil, b.err
	}
	// 7×7 features, a 7×7/2 'valid' average pool: one 512-d vector.
	pooled := op.AvgPool(b.s.SubScope("pool"), out, []int64{1, 7, 7, 1}, []int64{1, 2, 2, 1}, "VALID")
	flat := op.Reshape(b.s.SubScope("flat"), pooled, op.Const(b.s.SubScope("flat_shape"), []int64{-1, 512}))
	age := op.Reshape(b.s.SubScope("age"), b.dense("fc/age", flat, 1), op.Const(b.s.SubScope("age_shape"), []int64{-1}))
	gender := op.Softmax(b.s.SubScope("gender"), b.dense("fc/gender", flat, 2))
	if b.err != nil {
		return nil, b.err
	}
	for _, name := range w.Names() {
		if !b.used[name] {
			return nil, fmt.Errorf("AgeGenderNet weights: tensor %q is not part of the network (another model's weights?)", name)
		}
	}
	g, err := b.s.Finalize()
	if err != nil {
		return nil, fmt.Errorf("AgeGenderNet graph: %w", err)
	}
	return &AgeGenderGraph{Graph: g, Input: x, Age: age, Gender: gender}, nil
}

// builder adds layers to a scope and remembers the first error, so the
// network reads top to bottom like face-api's source.
type builder struct {
	s    *op.Scope
	w    *weights.Set
	used map[string]bool
	err  error
}

// reductionBlock: [ReLU] → separable conv → ReLU → separable conv → 3×3/2
// max pool, plus a 1×1/2 expansion convolution of the block's input.
func (b *builder) reductionBlock(name string, x tf.Output, activateInput bool) tf.Output {
	out := x
	if activateInput {
		out = b.relu(x)
	}
	out = b.separable(name+"/separable_conv0", out)
	out = b.separable(name+"/separable_conv1", b.relu(out))
	expansion := b.conv(name+"/expansion_conv", x, 2)
	if b.err != nil {
		return x
	}
	out = op.MaxPool(b.s.SubScope("pool"), out, []int64{1, 3, 3, 1}, []int64{1, 2, 2, 1}, "SAME")
	return op.AddV2(b.s.SubScope("add"), out, expansion)
}

// mainBlock: three ReLU → separable conv steps plus the identity.
func (b *builder) mainBlock(name string, x tf.Output) tf.Output {
	out := b.separable(name+"/separable_conv0", b.relu(x))
	out = b.separable(name+"/separable_conv1", b.relu(out))
	out = b.separable(name+"/separable_conv2", b.relu(out))
	if b.err != nil {
		return x
	}
	return op.AddV2(b.s.SubScope("add"), out, x)
}

// conv is a 'same' convolution plus bias (face-api's conv()).
func (b *builder) conv(name string, x tf.Output, stride int64) tf.Output {
	f := b.constant(name+"/filters", 0, 0, channels(x), -1)
	if b.err != nil {
		return x
	}
	out := op.Conv2D(b.s.SubScope("conv"), x, f, []int64{1, stride, stride, 1}, "SAME")
	bias := b.constant(name+"/bias", channels(out))
	if b.err != nil {
		return x
	}
	return op.BiasAdd(b.s.SubScope("bias"), out, bias)
}

// separable is tf.separableConv2d (depthwise 3×3 'same', then pointwise
// 1×1) plus bias: face-api's depthwiseSeparableConv.
func (b *builder) separable(name string, x tf.Output) tf.Output {
	in := channels(x)
	dw := b.constant(name+"/depthwise_filter", 3, 3, in, 1)
	pw := b.constant(name+"/pointwise_filter", 1, 1, in, -1)
	if b.err != nil {
		return x
	}
	out := op.DepthwiseConv2dNative(b.s.SubScope("depthwise"), x, dw, []int64{1, 1, 1, 1}, "SAME")
	out = op.Conv2D(b.s.SubScope("pointwise"), out, pw, []int64{1, 1, 1, 1}, "VALID")
	bias := b.constant(name+"/bias", channels(out))
	if b.err != nil {
		return x
	}
	return op.BiasAdd(b.s.SubScope("bias"), out, bias)
}

// dense is face-api's fullyConnectedLayer: x·W + b.
func (b *builder) dense(name string, x tf.Output, units int64) tf.Output {
	w := b.constant(name+"/weights", channels(x), units)
	if b.err != nil {
		return x
	}
	return op.BiasAdd(b.s.SubScope("bias"), op.MatMul(b.s.SubScope("matmul"), x, w), b.constant(name+"/bias", units))
}

func (b *builder) relu(x tf.Output) tf.Output {
	if b.err != nil {
		return x
	}
	return op.Relu(b.s.SubScope("relu"), x)
}

// constant returns the named weight as a Const, checking its shape: a
// dimension of 0 (kernel sides of conv, whose size face-api takes from the
// weights) or −1 (output channels) accepts any value.
func (b *builder) constant(name string, want ...int64) tf.Output {
	fail := func(err error) tf.Output {
		if b.err == nil {
			b.err = err
		}
		return tf.Output{}
	}
	if b.err != nil {
		return fail(b.err)
	}
	t, ok := b.w.Tensor(name)
	if !ok {
		return fail(fmt.Errorf("AgeGenderNet weights: tensor %q is missing", name))
	}
	if t.DType != "float32" || len(t.Data) != t.Len() {
		return fail(fmt.Errorf("AgeGenderNet weights: tensor %q is %s, the network needs float32 values", name, t.DType))
	}
	if len(t.Shape) != len(want) {
		return fail(fmt.Errorf("AgeGenderNet weights: tensor %q has shape %v, the network needs %d dimensions %v", name, t.Shape, len(want), want))
	}
	shape := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
		if want[i] > 0 && shape[i] != want[i] {
			return fail(fmt.Errorf("AgeGenderNet weights: tensor %q has shape %v, the network needs %v (−1 or 0: any)", name, t.Shape, want))
		}
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, t.Data); err != nil {
		return fail(err)
	}
	v, err := tf.ReadTensor(tf.Float, shape, &buf)
	if err != nil {
		return fail(fmt.Errorf("AgeGenderNet weights: tensor %q: %w", name, err))
	}
	b.used[name] = true
	return op.Const(b.s.SubScope(sanitize(name)), v)
}

// channels is the size of the last dimension of x.
func channels(x tf.Output) int64 {
	if x.Op == nil {
		return -1
	}
	s := x.Shape()
	n := s.NumDimensions()
	if n <= 0 {
		return -1
	}
	return s.Size(n - 1)
}

// sanitize turns a weight name into a scope name (TF op names allow
// letters, digits, '.', '_', '-' and '/' after the first character).
func sanitize(name string) string {
	out := []byte(name)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '/' || c == '-' || c == '.') {
			out[i] = '_'
		}
	}
	return string(out)
}
