package tfjsmodel

import (
	"fmt"
	"slices"
	"strings"

	attrpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	graphpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	tensorpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	typespb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/types_go_proto"
)

// What tfjs-converter changes in a graph, and how it is undone here:
//
//   - _FusedConv2D loses its TArgs attribute (the converter strips it, and
//     TF.js ignores it); TensorFlow requires it: TArgs = [T] × num_args.
//     _FusedMatMul's op definition has no TArgs in the TensorFlow fairage
//     links (2.18), so it is left alone (adding it breaks the import).
//   - FusedDepthwiseConv2dNative exists only in TF.js: it becomes
//     DepthwiseConv2dNative, BiasAdd and the activation.
//   - Prelu exists only in TF.js, as an op of its own or as a fused
//     activation of _FusedConv2D / _FusedMatMul / FusedDepthwiseConv2dNative:
//     it becomes Relu(x) + alpha·(x − Relu(x)), which is exactly x for
//     x ≥ 0 and alpha·x below, as TF.js computes it.
//   - A fused op whose activation TensorFlow's kernel does not provide is
//     split the same way into its core op, BiasAdd and the activation.
//
// The last node of a rewrite keeps the original name, so every consumer
// (and a signature naming it) reads the same tensor.

// keepFused lists the fused-op sequences TensorFlow's CPU kernels of
// _FusedConv2D and _FusedMatMul run; anything else is split.
var keepFused = map[string][][]string{
	"_FusedConv2D": {{"BiasAdd"}, {"BiasAdd", "Relu"}, {"BiasAdd", "Relu6"}, {"BiasAdd", "Elu"}, {"BiasAdd", "LeakyRelu"}},
	"_FusedMatMul": {{"BiasAdd"}, {"BiasAdd", "Relu"}, {"BiasAdd", "Relu6"}, {"BiasAdd", "Elu"}, {"BiasAdd", "LeakyRelu"}},
}

// activations maps a fused activation to the TensorFlow op computing it
// (Prelu and LeakyRelu are built specially).
var activations = map[string]string{
	"Relu": "Relu", "Relu6": "Relu6", "Elu": "Elu", "Selu": "Selu", "Sigmoid": "Sigmoid", "Tanh": "Tanh",
	"LeakyRelu": "LeakyRelu", "Prelu": "",
}

// coreAttrs are the attributes each core op takes from its fused node.
var coreAttrs = map[string][]string{
	"Conv2D":                {"T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"},
	"DepthwiseConv2dNative": {"T", "strides", "padding", "explicit_paddings", "data_format", "dilations"},
	"MatMul":                {"T", "transpose_a", "transpose_b"},
}

// fusedCore is the core op of each fused op.
var fusedCore = map[string]string{
	"_FusedConv2D":               "Conv2D",
	"FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
	"_FusedMatMul":               "MatMul",
}

// rewrite applies the rewrites to def in place, appending one note per
// kind of change.
func rewrite(def *graphpb.GraphDef, notes *[]string) error {
	counts := map[string]int{}
	var out []*nodepb.NodeDef
	for _, n := range def.Node {
		switch n.Op {
		case "_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative":
			ops, err := fusedOps(n)
			if err != nil {
				return err
			}
			if n.Op != "FusedDepthwiseConv2dNative" && slices.ContainsFunc(keepFused[n.Op], func(k []string) bool { return slices.Equal(k, ops) }) {
				if n.Op == "_FusedConv2D" {
					if _, ok := n.Attr["TArgs"]; !ok {
						addTArgs(n)
						counts["added TArgs to _FusedConv2D"]++
					}
				}
				out = append(out, n)
				continue
			}
			split, err := unfuse(n, ops)
			if err != nil {
				return err
			}
			counts[fmt.Sprintf("split %s [%s] into core ops", n.Op, strings.Join(ops, ", "))]++
			out = append(out, split...)
		case "Prelu":
			data, control := splitInputs(n.Input)
			if len(data) != 2 {
				return fmt.Errorf("node %q (Prelu) has %d inputs; expected 2 (x, alpha)", n.Name, len(data))
			}
			counts["rewrote Prelu as Relu(x) + alpha·(x − Relu(x))"]++
			out = append(out, prelu(n.Name, data[0], data[1], n.Attr["T"], control)...)
		default:
			out = append(out, n)
		}
	}
	def.Node = out
	for _, k := range sortedKeys(counts) {
		*notes = append(*notes, fmt.Sprintf("%s: %d nodes", k, counts[k]))
	}
	return nil
}

// fusedOps reads a fused node's fused_ops and checks each is known.
func fusedOps(n *nodepb.NodeDef) ([]string, error) {
	var ops []string
	for _, s := range n.Attr["fused_ops"].GetList().GetS() {
		ops = append(ops, string(s))
	}
	for i, op := range ops {
		if op == "BiasAdd" && i == 0 {
			continue
		}
		if _, ok := activations[op]; ok && i == len(ops)-1 {
			continue
		}
		return nil, fmt.Errorf("node %q (%s) fuses [%s]: %s is not an operation this importer can unfuse (it knows BiasAdd followed by one of %s)",
			n.Name, n.Op, strings.Join(ops, ", "), op, strings.Join(sortedKeys(activations), ", "))
	}
	return ops, nil
}

// addTArgs sets TArgs = [T] × num_args.
func addTArgs(n *nodepb.NodeDef) {
	t := n.Attr["T"].GetType()
	k := int(n.Attr["num_args"].GetI())
	list := make([]typespb.DataType, k)
	for i := range list {
		list[i] = t
	}
	n.Attr["TArgs"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Type: list}}}
}

// unfuse splits a fused node into its core op, an optional BiasAdd and an
// optional activation; the last keeps the node's name.
func unfuse(n *nodepb.NodeDef, ops []string) ([]*nodepb.NodeDef, error) {
	data, control := splitInputs(n.Input)
	need := 2
	for _, op := range ops {
		if op == "BiasAdd" || op == "Prelu" {
			need++
		}
	}
	if len(data) != need {
		return nil, fmt.Errorf("node %q (%s) fuses [%s] and so needs %d inputs, but has %d", n.Name, n.Op, strings.Join(ops, ", "), need, len(data))
	}
	core := fusedCore[n.Op]
	t := n.Attr["T"]
	name := func(i int, suffix string) string {
		if i == len(ops)-1 {
			return n.Name
		}
		return n.Name + "/fairage_unfused/" + suffix
	}
	var out []*nodepb.NodeDef
	coreNode := &nodepb.NodeDef{Name: n.Name + "/fairage_unfused/core", Op: core, Input: append([]string{data[0], data[1]}, control...), Attr: map[string]*attrpb.AttrValue{}}
	if len(ops) == 0 {
		coreNode.Name = n.Name
	}
	for _, k := range coreAttrs[core] {
		if v, ok := n.Attr[k]; ok {
			coreNode.Attr[k] = v
		}
	}
	out = append(out, coreNode)
	prev, arg := coreNode.Name, 2
	for i, op := range ops {
		switch op {
		case "BiasAdd":
			b := &nodepb.NodeDef{Name: name(i, "bias"), Op: "BiasAdd", Input: []string{prev, data[arg]}, Attr: map[string]*attrpb.AttrValue{"T": t}}
			if df, ok := n.Attr["data_format"]; ok && core != "MatMul" {
				b.Attr["data_format"] = df
			}
			arg++
			out = append(out, b)
			prev = b.Name
		case "Prelu":
			nodes := prelu(name(i, "prelu"), prev, data[arg], t, nil)
			arg++
			out = append(out, nodes...)
			prev = nodes[len(nodes)-1].Name
		default:
			a := &nodepb.NodeDef{Name: name(i, strings.ToLower(op)), Op: activations[op], Input: []string{prev}, Attr: map[string]*attrpb.AttrValue{"T": t}}
			if op == "LeakyRelu" {
				alpha := float32(0.2) // TF.js's default
				if v, ok := n.Attr["leakyrelu_alpha"]; ok {
					alpha = v.GetF()
				}
				a.Attr["alpha"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_F{F: alpha}}
			}
			out = append(out, a)
			prev = a.Name
		}
	}
	return out, nil
}

// prelu builds Relu(x) + alpha·(x − Relu(x)) ending in a node called name.
func prelu(name, x, alpha string, t *attrpb.AttrValue, control []string) []*nodepb.NodeDef {
	if t == nil {
		t = typeAttr(typespb.DataType_DT_FLOAT)
	}
	at := func() map[string]*attrpb.AttrValue { return map[string]*attrpb.AttrValue{"T": t} }
	pos := &nodepb.NodeDef{Name: name + "/fairage_prelu/pos", Op: "Relu", Input: append([]string{x}, control...), Attr: at()}
	neg := &nodepb.NodeDef{Name: name + "/fairage_prelu/neg", Op: "Sub", Input: []string{x, pos.Name}, Attr: at()}
	scaled := &nodepb.NodeDef{Name: name + "/fairage_prelu/scaled", Op: "Mul", Input: []string{alpha, neg.Name}, Attr: at()}
	sum := &nodepb.NodeDef{Name: name, Op: "AddV2", Input: []string{pos.Name, scaled.Name}, Attr: at()}
	return []*nodepb.NodeDef{pos, neg, scaled, sum}
}

// splitInputs separates data inputs from control inputs ("^name").
func splitInputs(in []string) (data, control []string) {
	for _, s := range in {
		if strings.HasPrefix(s, "^") {
			control = append(control, s)
		} else {
			data = append(data, s)
		}
	}
	return data, control
}

func typeAttr(t typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: t}}
}

func tensorAttr(t *tensorpb.TensorProto) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: t}}
}

func withAttr(m map[string]*attrpb.AttrValue, k string, v *attrpb.AttrValue) map[string]*attrpb.AttrValue {
	if m == nil {
		m = map[string]*attrpb.AttrValue{}
	}
	m[k] = v
	return m
}
