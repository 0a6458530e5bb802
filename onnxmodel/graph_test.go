package onnxmodel

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The tests build their small ONNX graphs here, from the ONNX protobuf
// schema (onnx.proto field numbers), so that no binary model is stored and
// each error case has a graph made for it. They run on the real ONNX
// Runtime.

const (
	elemFloat = 1
	elemUint8 = 2
	elemInt64 = 7
)

type pb []byte

func (b pb) tag(num int, t protowire.Type) pb {
	return protowire.AppendTag(b, protowire.Number(num), t)
}
func (b pb) str(num int, s string) pb {
	return protowire.AppendString(b.tag(num, protowire.BytesType), s)
}
func (b pb) msg(num int, m pb) pb { return protowire.AppendBytes(b.tag(num, protowire.BytesType), m) }
func (b pb) varint(num int, v int64) pb {
	return protowire.AppendVarint(b.tag(num, protowire.VarintType), uint64(v))
}

// dim is a graph dimension: an int64 size, or a string naming a symbolic one.
type dim any

// valueInfo is a ValueInfoProto of a tensor; dims nil leaves the shape out.
func valueInfo(name string, elem int, dims ...dim) pb {
	var shape pb
	for _, d := range dims {
		switch v := d.(type) {
		case string:
			shape = shape.msg(1, pb{}.str(2, v))
		default:
			shape = shape.msg(1, pb{}.varint(1, int64(v.(int))))
		}
	}
	tensor := pb{}.varint(1, int64(elem))
	if dims != nil {
		tensor = tensor.msg(2, shape)
	}
	return pb{}.str(1, name).msg(2, pb{}.msg(1, tensor))
}

type node struct {
	op      string
	in, out []string
	attrs   []pb
}

func attrInts(name string, v ...int64) pb {
	a := pb{}.str(1, name).varint(20, 7) // type INTS
	for _, x := range v {
		a = a.varint(8, x)
	}
	return a
}

func attrInt(name string, v int64) pb { return pb{}.str(1, name).varint(20, 2).varint(3, v) } // type INT

// model encodes a ModelProto (IR version 8, default opset 13).
func model(nodes []node, inputs, outputs []pb) []byte {
	g := pb{}
	for i, n := range nodes {
		nb := pb{}
		for _, s := range n.in {
			nb = nb.str(1, s)
		}
		for _, s := range n.out {
			nb = nb.str(2, s)
		}
		nb = nb.str(3, n.op+string(rune('a'+i))).str(4, n.op)
		for _, a := range n.attrs {
			nb = nb.msg(5, a)
		}
		g = g.msg(1, nb)
	}
	g = g.str(2, "test")
	for _, v := range inputs {
		g = g.msg(11, v)
	}
	for _, v := range outputs {
		g = g.msg(12, v)
	}
	return pb{}.varint(1, 8).str(2, "fairage-test").msg(7, g).msg(8, pb{}.str(1, "").varint(2, 13))
}

// Test graphs, all over 2×2 images with 3 channels.
var graphs = map[string][]byte{
	// mean of every value of each image: [N,3,2,2] → [N]
	"mean": model([]node{{op: "ReduceMean", in: []string{"x"}, out: []string{"y"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}}},
		[]pb{valueInfo("x", elemFloat, "N", 3, 2, 2)}, []pb{valueInfo("y", elemFloat, "N")}),
	// log of that mean: NaN for a negative mean, −Inf for zero
	"logmean": model([]node{
		{op: "ReduceMean", in: []string{"x"}, out: []string{"m"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}},
		{op: "Log", in: []string{"m"}, out: []string{"y"}},
	}, []pb{valueInfo("x", elemFloat, "N", 3, 2, 2)}, []pb{valueInfo("y", elemFloat, "N")}),
	// softmax over the 12 values: [N,12] class probabilities
	"softmax": model([]node{
		{op: "Flatten", in: []string{"x"}, out: []string{"f"}, attrs: []pb{attrInt("axis", 1)}},
		{op: "Softmax", in: []string{"f"}, out: []string{"p"}, attrs: []pb{attrInt("axis", 1)}},
	}, []pb{valueInfo("x", elemFloat, "N", 3, 2, 2)}, []pb{valueInfo("p", elemFloat, "N", 12)}),
	// the values as they are; open height and width leave the output
	// width open until the graph runs
	"flatten_open": model([]node{{op: "Flatten", in: []string{"x"}, out: []string{"f"}, attrs: []pb{attrInt("axis", 1)}}},
		[]pb{valueInfo("x", elemFloat, "N", 3, "H", "W")}, []pb{valueInfo("f", elemFloat, "N", "K")}),
	// two inputs and two outputs
	"two": model([]node{
		{op: "Add", in: []string{"a", "b"}, out: []string{"s"}},
		{op: "ReduceMean", in: []string{"s"}, out: []string{"y"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}},
		{op: "ReduceMax", in: []string{"s"}, out: []string{"z"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}},
	}, []pb{valueInfo("a", elemFloat, "N", 3, 2, 2), valueInfo("b", elemFloat, "N", 3, 2, 2)},
		[]pb{valueInfo("y", elemFloat, "N"), valueInfo("z", elemFloat, "N")}),
	// uint8 NHWC input, normalised in the graph
	"uint8": model([]node{
		{op: "Cast", in: []string{"x"}, out: []string{"f"}, attrs: []pb{attrInt("to", elemFloat)}},
		{op: "ReduceMean", in: []string{"f"}, out: []string{"y"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}},
	}, []pb{valueInfo("x", elemUint8, "N", 2, 2, 3)}, []pb{valueInfo("y", elemFloat, "N")}),
	// a graph that fixes the batch at 2
	"batch2": model([]node{{op: "ReduceMean", in: []string{"x"}, out: []string{"y"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}}},
		[]pb{valueInfo("x", elemFloat, 2, 3, 2, 2)}, []pb{valueInfo("y", elemFloat, 2)}),
	// an integer output
	"int64": model([]node{
		{op: "ReduceMean", in: []string{"x"}, out: []string{"m"}, attrs: []pb{attrInts("axes", 1, 2, 3), attrInt("keepdims", 0)}},
		{op: "Cast", in: []string{"m"}, out: []string{"y"}, attrs: []pb{attrInt("to", elemInt64)}},
	}, []pb{valueInfo("x", elemFloat, "N", 3, 2, 2)}, []pb{valueInfo("y", elemInt64, "N")}),
}

// graphFile writes a test graph into a temporary folder.
func graphFile(t *testing.T, name string) string {
	t.Helper()
	g, ok := graphs[name]
	if !ok {
		t.Fatalf("no test graph %q", name)
	}
	path := filepath.Join(t.TempDir(), name+".onnx")
	if err := os.WriteFile(path, g, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// needRuntime skips a test when the ONNX Runtime library is not installed.
func needRuntime(t *testing.T) {
	t.Helper()
	if _, err := LibraryPath(""); err != nil {
		t.Skipf("ONNX Runtime not installed (%v)", err)
	}
	if _, err := Init(""); err != nil {
		t.Fatal(err)
	}
}

func nearly(a, b float64) bool { return math.Abs(a-b) <= 1e-5*max(1, math.Abs(b)) }
