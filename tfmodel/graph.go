package tfmodel

import (
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// Pixel normalisation done in the graph: ImageNet's per-channel mean and
// standard deviation in 0-255 units, the usual input scaling of ResNets.
var (
	pixelMean = []float32{123.675, 116.28, 103.53}
	pixelStd  = []float32{58.395, 57.12, 57.375}
)

// graph is the TensorFlow graph of one model: inputs, variables, the
// inference tower, and (once Fit has run) the training part.
type graph struct {
	g        *tf.Graph
	root     *op.Scope
	cfg      ModelConfig
	vs       *varStore
	images   tf.Output // uint8 [batch, size, size, 3], fed
	input    tf.Output // normalised float32 images
	stepSeed tf.Output // [2]int64 dropout seed, fed per training step
	infer    *towerOut
	initVars *tf.Operation // initialises the model variables (not optimizer state)

	training  *trainGraph
	dist      *distPlan // non-nil when training runs on a cluster (replicas.go)
	savers    map[string]*saver
	assigners map[string]*assigner
}

// towerOut is what a forward pass produces.
type towerOut struct {
	features tf.Output       // the head's input: the backbone's output, [batch, d]
	scaled   tf.Output       // sigmoid output in [0, 1], [batch]
	years    tf.Output       // scaled × AgeMax
	updates  []*tf.Operation // batch-norm moving-statistics updates (training towers)
	bnStats  []bnStat        // instead of updates, in a replica (replicas.go)
}

// buildGraph builds inputs, variables and the inference tower for cfg.
func buildGraph(cfg ModelConfig) (*graph, error) { return buildGraphOn(cfg, "") }

// buildGraphOn is buildGraph with the variables (and their initialisers,
// reads and optimizer slots) placed on paramDevice ("": TensorFlow's choice),
// for data-parallel training on a cluster (replicas.go).
func buildGraphOn(cfg ModelConfig, paramDevice string) (*graph, error) {
	g := tf.NewGraph()
	root := op.NewScopeWithGraph(g)
	gr := &graph{g: g, root: root, cfg: cfg, vs: newVarStore(root.WithDevice(paramDevice), cfg.Seed),
		savers: map[string]*saver{}, assigners: map[string]*assigner{}}

	s := root.SubScope("input")
	size := int64(cfg.InputSize)
	gr.images = op.Placeholder(s.SubScope("images"), tf.Uint8, op.PlaceholderShape(tf.MakeShape(-1, size, size, 3)))
	x := op.Cast(s, gr.images, tf.Float)
	norm := inputNormFor(cfg.Arch)
	x = op.Sub(s, x, op.Const(s.SubScope("mean"), norm.Mean))
	gr.input = op.Div(s, x, op.Const(s.SubScope("std"), norm.Std))
	gr.stepSeed = op.Placeholder(s.SubScope("step_seed"), tf.Int64, op.PlaceholderShape(tf.MakeShape(2)))

	var err error
	if gr.infer, err = gr.tower(inferMode); err != nil {
		return nil, err
	}
	var inits []*tf.Operation
	for _, v := range gr.vs.list {
		inits = append(inits, v.init)
	}
	gr.initVars = op.NoOp(root.SubScope("init_model").WithControlDependencies(inits...))
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("build %s graph: %w", cfg.Arch, cleanScopeErr(err))
	}
	return gr, nil
}

// tower builds one forward pass in mode m over the shared variables.
func (gr *graph) tower(m mode) (*towerOut, error) {
	return gr.towerOn(&tower{mode: m, arch: gr.cfg.Arch, vs: gr.vs, dropSeed: gr.stepSeed},
		gr.root.SubScope(m.name), gr.input)
}

// towerOn builds tower t's forward pass on the normalised images input, in
// scope s (a replica passes its shard and a scope placed on its worker).
func (gr *graph) towerOn(t *tower, s *op.Scope, input tf.Output) (*towerOut, error) {
	m := t.mode
	backbone := layer{t: t, s: s, part: partBackbone}.in("backbone")
	features := backbones[string(gr.cfg.Arch)](backbone, input, gr.cfg)
	out := gr.headOn(t, s, features)
	if t.err != nil {
		return nil, fmt.Errorf("build %s tower: %w", m.name, t.err)
	}
	if err := gr.root.Err(); err != nil {
		return nil, fmt.Errorf("build %s tower: %w", m.name, cleanScopeErr(err))
	}
	out.updates, out.bnStats = t.updates, t.bnStats
	return out, nil
}

// headOn builds the head of tower t on features, in scope s.
func (gr *graph) headOn(t *tower, s *op.Scope, features tf.Output) *towerOut {
	hd := layer{t: t, s: s, part: partHead}.in("head")
	scaled := head(hd, features, gr.cfg)
	years := op.Mul(s.SubScope("years"), scaled, op.Const(s.SubScope("age_max"), float32(gr.cfg.AgeMax)))
	return &towerOut{features: features, scaled: scaled, years: years}
}

// modelVars are the network's variables (what a model checkpoint holds).
func (gr *graph) modelVars() []*variable {
	return gr.vs.filter(func(v *variable) bool { return v.part != partOptimizer })
}
