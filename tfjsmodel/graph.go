package tfjsmodel

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"google.golang.org/protobuf/proto"
)

func init() {
	// TensorFlow's C++ INFO lines (CPU feature notes, MLIR pass notices)
	// would interleave with progress output; warnings and errors still
	// show. Only when the user has not chosen a level (as in tfmodel).
	if _, set := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL"); !set {
		os.Setenv("TF_CPP_MIN_LOG_LEVEL", "1")
	}
}

// notRegistered is how TensorFlow's importer names an op it lacks.
var notRegistered = regexp.MustCompile(`Op type not registered '([^']+)'`)

// Import loads the converted graph into a new tf.Graph. An op TensorFlow
// lacks is named with the nodes that use it.
func (c *Converted) Import() (*tf.Graph, error) {
	b, err := proto.Marshal(c.Def)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the converted GraphDef: %w", c.name(), err)
	}
	g := tf.NewGraph()
	if err := g.Import(b, ""); err != nil {
		return nil, c.importError(err)
	}
	return g, nil
}

func (c *Converted) name() string {
	if c.Source != "" {
		return "TF.js model " + c.Source
	}
	return "TF.js model"
}

func (c *Converted) importError(err error) error {
	msg := err.Error()
	if m := notRegistered.FindStringSubmatch(msg); m != nil {
		var nodes []string
		for _, n := range c.Def.Node {
			if n.Op == m[1] {
				nodes = append(nodes, fmt.Sprintf("%q", n.Name))
			}
		}
		return fmt.Errorf("%s: node %s uses op %s, which TensorFlow %s does not have (a TF.js-only or custom op this importer has no rewrite for)",
			c.name(), strings.Join(firstFew(nodes, 3), ", "), m[1], tf.Version())
	}
	// TensorFlow's messages are one sentence with the node in it; keep
	// only the first line (the rest is a C++ hint).
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s: TensorFlow %s refused the converted graph: %s", c.name(), tf.Version(), msg)
}

// Op returns the graph's operation for a tensor name ("node" or
// "node:index") and the output index, with an error naming the tensor.
func Op(g *tf.Graph, tensor string) (tf.Output, error) {
	name, idx := tensor, 0
	if i := strings.LastIndexByte(tensor, ':'); i >= 0 {
		if _, err := fmt.Sscanf(tensor[i+1:], "%d", &idx); err != nil {
			return tf.Output{}, fmt.Errorf("tensor %q: %q after the colon is not an output index", tensor, tensor[i+1:])
		}
		name = tensor[:i]
	}
	op := g.Operation(name)
	if op == nil {
		return tf.Output{}, fmt.Errorf("the graph has no node %q", name)
	}
	if idx < 0 || idx >= op.NumOutputs() {
		return tf.Output{}, fmt.Errorf("tensor %q: node %q (%s) has %d outputs", tensor, name, op.Type(), op.NumOutputs())
	}
	return op.Output(idx), nil
}
