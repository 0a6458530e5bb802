package tfmodel

import (
	"fmt"
	"math"
	"slices"

	"fairage/internal/seedmix"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// part says which group a variable belongs to: head_only training must never
// touch the backbone, and optimizer state is saved for Resume only.
type part int

const (
	partBackbone part = iota
	partHead
	partOptimizer
)

func (p part) String() string {
	return [...]string{"backbone", "head", "optimizer"}[p]
}

// variable is one resource variable: a VarHandleOp named by its checkpoint
// key, one shared ReadVariableOp that every tower uses, and its initialiser.
type variable struct {
	name    string // checkpoint key, e.g. "stage2/block1/conv1/kernel"
	shape   []int64
	dtype   tf.DataType
	part    part
	trained bool // gets gradients (not moving statistics or optimizer state)
	decayed bool // counted in the L2 weight decay (kernels)
	handle  tf.Output
	read    tf.Output
	init    *tf.Operation
}

// initFn builds a variable's initial value in scope s; seed is a [2]int64
// constant unique to the variable.
type initFn func(s *op.Scope, shape []int64, seed tf.Output) tf.Output

// varStore creates variables once and hands the same ones to every tower.
type varStore struct {
	scope  *op.Scope // "vars": variable ops are named vars/<key>
	seed   uint64
	list   []*variable
	byName map[string]*variable
}

func newVarStore(root *op.Scope, seed uint64) *varStore {
	return &varStore{scope: root.SubScope("vars"), seed: seed, byName: map[string]*variable{}}
}

// get returns the variable called name, creating it on first use. A second
// use must agree on the shape: that is how towers share weights.
func (vs *varStore) get(name string, shape []int64, p part, trained, decayed bool, init initFn) (*variable, error) {
	if v, ok := vs.byName[name]; ok {
		if !slices.Equal(v.shape, shape) {
			return nil, fmt.Errorf("variable %s: shape %v requested, %v exists", name, shape, v.shape)
		}
		return v, nil
	}
	s := vs.scope
	v := &variable{name: name, shape: slices.Clone(shape), dtype: tf.Float, part: p, trained: trained, decayed: decayed}
	h := s.AddOperation(tf.OpSpec{
		Type: "VarHandleOp",
		Name: name,
		Attrs: map[string]any{
			"dtype":       tf.Float,
			"shape":       tf.MakeShape(shape...),
			"shared_name": name,
		},
	})
	if s.Err() != nil {
		return nil, s.Err()
	}
	v.handle = h.Output(0)
	vs2 := s.SubScope(name)
	v.read = op.ReadVariableOp(vs2, v.handle, tf.Float)
	seed := op.Const(vs2.SubScope("seed"), []int64{int64(vs.seed), nameSeed(name)})
	v.init = op.AssignVariableOp(vs2.SubScope("init"), v.handle, init(vs2.SubScope("init_value"), shape, seed))
	if s.Err() != nil {
		return nil, s.Err()
	}
	vs.list = append(vs.list, v)
	vs.byName[name] = v
	return v, nil
}

// nameSeed derives a variable's random stream from its name, so adding a
// layer does not change the initial weights of the others.
func nameSeed(name string) int64 {
	return int64(seedmix.String(name) >> 1)
}

// filter returns the variables for which keep is true, in creation order.
func (vs *varStore) filter(keep func(*variable) bool) []*variable {
	var out []*variable
	for _, v := range vs.list {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

func shapeConst(s *op.Scope, shape []int64) tf.Output {
	return op.Const(s.SubScope("shape"), shape)
}

// heNormal is Keras's he_normal: a normal truncated at two standard
// deviations, rescaled so the variance is 2/fan_in (suits ReLU layers).
func heNormal(fanIn int64) initFn {
	return func(s *op.Scope, shape []int64, seed tf.Output) tf.Output {
		std := math.Sqrt(2/float64(fanIn)) / 0.87962566103423978
		n := op.StatelessTruncatedNormal(s, shapeConst(s, shape), seed)
		return op.Mul(s, n, op.Const(s.SubScope("std"), float32(std)))
	}
}

// glorotUniform is Keras's default dense initialiser, used for the output
// layer that feeds the sigmoid.
func glorotUniform(fanIn, fanOut int64) initFn {
	return func(s *op.Scope, shape []int64, seed tf.Output) tf.Output {
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		u := op.StatelessRandomUniform(s, shapeConst(s, shape), seed) // [0, 1)
		scaled := op.Mul(s, u, op.Const(s.SubScope("width"), float32(2*limit)))
		return op.Sub(s, scaled, op.Const(s.SubScope("limit"), float32(limit)))
	}
}

// constant fills the variable with value.
func constant(value float32) initFn {
	return func(s *op.Scope, shape []int64, _ tf.Output) tf.Output {
		return op.Fill(s, shapeConst(s, shape), op.Const(s.SubScope("value"), value))
	}
}
