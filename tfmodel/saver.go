package tfmodel

import (
	"strings"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// saver writes and reads a set of variables as a standard TensorFlow
// checkpoint (SaveV2/RestoreV2, keys = variable names), so tools like
// tf.train.load_checkpoint can read what Go wrote.
type saver struct {
	prefix  tf.Output // scalar string: checkpoint path prefix
	save    *tf.Operation
	restore *tf.Operation
}

// assigner sets a set of variables from fed values (in-memory snapshots,
// used to bring back the best epoch's weights).
type assigner struct {
	values []tf.Output
	assign *tf.Operation
}

func varsKey(vars []*variable) string {
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v.name
	}
	return strings.Join(names, "\n")
}

// saverFor returns (building once) the save/restore ops of vars.
func (gr *graph) saverFor(vars []*variable) (*saver, error) {
	key := varsKey(vars)
	if sv, ok := gr.savers[key]; ok {
		return sv, nil
	}
	s := gr.root.SubScope("saver")
	names := make([]string, len(vars))
	slices := make([]string, len(vars)) // "" = the whole tensor
	reads := make([]tf.Output, len(vars))
	dtypes := make([]tf.DataType, len(vars))
	for i, v := range vars {
		names[i], reads[i], dtypes[i] = v.name, v.read, v.dtype
	}
	sv := &saver{prefix: op.Placeholder(s.SubScope("prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))}
	nameT := op.Const(s.SubScope("names"), names)
	sliceT := op.Const(s.SubScope("slices"), slices)
	sv.save = op.SaveV2(s, sv.prefix, nameT, sliceT, reads)
	restored := op.RestoreV2(s, sv.prefix, nameT, sliceT, dtypes)
	assigns := make([]*tf.Operation, len(vars))
	for i, v := range vars {
		// validate_shape: a checkpoint of another shape must fail here,
		// not corrupt the variable.
		assigns[i] = op.AssignVariableOp(s.SubScope("assign"), v.handle, restored[i], op.AssignVariableOpValidateShape(true))
	}
	sv.restore = op.NoOp(s.SubScope("restore").WithControlDependencies(assigns...))
	if err := gr.root.Err(); err != nil {
		return nil, cleanScopeErr(err)
	}
	gr.savers[key] = sv
	return sv, nil
}

// assignerFor returns (building once) ops that set vars from fed tensors.
func (gr *graph) assignerFor(vars []*variable) (*assigner, error) {
	key := varsKey(vars)
	if a, ok := gr.assigners[key]; ok {
		return a, nil
	}
	s := gr.root.SubScope("assigner")
	a := &assigner{values: make([]tf.Output, len(vars))}
	assigns := make([]*tf.Operation, len(vars))
	for i, v := range vars {
		vs := s.SubScope("var")
		a.values[i] = op.Placeholder(vs, v.dtype, op.PlaceholderShape(tf.MakeShape(v.shape...)))
		assigns[i] = op.AssignVariableOp(vs, v.handle, a.values[i], op.AssignVariableOpValidateShape(true))
	}
	a.assign = op.NoOp(s.SubScope("assign").WithControlDependencies(assigns...))
	if err := gr.root.Err(); err != nil {
		return nil, cleanScopeErr(err)
	}
	gr.assigners[key] = a
	return a, nil
}
