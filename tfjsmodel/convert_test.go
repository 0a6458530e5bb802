package tfjsmodel

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
)

// The tests build small graph models by hand, in the JSON tfjs-converter
// writes, run them through TensorFlow and compare with the same arithmetic
// done directly in Go (float64), so each rewrite is checked by its numbers.

type weight struct {
	name  string
	shape []int
	data  []float32
}

type topo struct {
	nodes   []map[string]any
	weights []weight
}

func str(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func typ() map[string]any { return map[string]any{"type": "DT_FLOAT"} }
func intAttr(i int) map[string]any {
	return map[string]any{"i": fmt.Sprint(i)}
}
func floatAttr(f float64) map[string]any { return map[string]any{"f": f} }
func ints(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func strs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

func placeholder(name string, shape ...int) map[string]any {
	dims := []map[string]any{}
	for _, d := range shape {
		dims = append(dims, map[string]any{"size": fmt.Sprint(d)})
	}
	return map[string]any{"name": name, "op": "Placeholder", "attr": map[string]any{"dtype": typ(), "shape": map[string]any{"shape": map[string]any{"dim": dims}}}}
}

func node(name, op string, in []string, attr map[string]any) map[string]any {
	if attr == nil {
		attr = map[string]any{}
	}
	return map[string]any{"name": name, "op": op, "input": in, "device": "/device:CPU:0", "attr": attr}
}

// add puts a weight into the model with its (emptied) Const node.
func (t *topo) add(name string, shape []int, data []float32) {
	dims := []map[string]any{}
	for _, d := range shape {
		dims = append(dims, map[string]any{"size": fmt.Sprint(d)})
	}
	t.nodes = append(t.nodes, map[string]any{"name": name, "op": "Const", "attr": map[string]any{
		"dtype": typ(), "value": map[string]any{"tensor": map[string]any{"dtype": "DT_FLOAT", "tensorShape": map[string]any{"dim": dims}}}}})
	t.weights = append(t.weights, weight{name, shape, data})
}

// write saves model.json and its shard in a new folder; mangle may edit
// the JSON object first.
func (t *topo) write(tb testing.TB, mangle func(m map[string]any)) string {
	tb.Helper()
	dir := tb.TempDir()
	var shard []byte
	var entries []map[string]any
	for _, w := range t.weights {
		for _, v := range w.data {
			shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(v))
		}
		entries = append(entries, map[string]any{"name": w.name, "shape": w.shape, "dtype": "float32"})
	}
	m := map[string]any{
		"format": "graph-model", "generatedBy": "test", "convertedBy": "hand",
		"modelTopology":   map[string]any{"node": t.nodes, "library": map[string]any{}, "versions": map[string]any{"producer": 808}},
		"weightsManifest": []map[string]any{{"paths": []string{"w.bin"}, "weights": entries}},
	}
	if mangle != nil {
		mangle(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), shard, 0o644); err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(dir, "model.json")
}

// run converts, imports and runs the model on x (fed to node "x"),
// fetching node "out".
func run(t *testing.T, path string, x []float32, shape []int64) (*Converted, []float32) {
	t.Helper()
	c, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Import()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	in, err := tf.NewTensor(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Reshape(shape); err != nil {
		t.Fatal(err)
	}
	xo, err := Op(g, "x")
	if err != nil {
		t.Fatal(err)
	}
	oo, err := Op(g, "out:0")
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.Run(map[tf.Output]*tf.Tensor{xo: in}, []tf.Output{oo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, flatten(res[0].Value())
}

func flatten(v any) []float32 {
	switch v := v.(type) {
	case float32:
		return []float32{v}
	case []float32:
		return v
	case [][]float32:
		var out []float32
		for _, r := range v {
			out = append(out, r...)
		}
		return out
	case [][][][]float32:
		var out []float32
		for _, a := range v {
			for _, b := range a {
				for _, c := range b {
					out = append(out, c...)
				}
			}
		}
		return out
	}
	panic(fmt.Sprintf("flatten %T", v))
}

// seq returns n values spread over [-1, 1), deterministic.
func seq(n int, phase float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.Sin(float64(i)*1.7 + phase))
	}
	return out
}

// conv is a VALID, stride-1 NHWC convolution (batch 1) in float64; with
// depthwise the filter is [kh, kw, c, m] and output channel c·m+k.
func conv(x []float32, h, w, c int, f []float32, kh, kw, co int, depthwise bool) ([]float64, int, int, int) {
	oh, ow := h-kh+1, w-kw+1
	outC := co
	if depthwise {
		outC = c * co
	}
	out := make([]float64, oh*ow*outC)
	for i := range oh {
		for j := range ow {
			for o := range outC {
				s := 0.0
				for a := range kh {
					for b := range kw {
						if depthwise {
							ci, m := o/co, o%co
							s += float64(x[((i+a)*w+j+b)*c+ci]) * float64(f[((a*kw+b)*c+ci)*co+m])
						} else {
							for ci := range c {
								s += float64(x[((i+a)*w+j+b)*c+ci]) * float64(f[((a*kw+b)*c+ci)*co+o])
							}
						}
					}
				}
				out[(i*ow+j)*outC+o] = s
			}
		}
	}
	return out, oh, ow, outC
}

func matmul(x []float32, n, k int, w []float32, m int) []float64 {
	out := make([]float64, n*m)
	for i := range n {
		for j := range m {
			s := 0.0
			for l := range k {
				s += float64(x[i*k+l]) * float64(w[l*m+j])
			}
			out[i*m+j] = s
		}
	}
	return out
}

// bias adds b per channel (the last axis), then applies act (alpha for
// Prelu, per channel).
func biasAct(v []float64, b []float32, act string, alpha []float32) []float64 {
	c := len(b)
	out := make([]float64, len(v))
	for i, x := range v {
		x += float64(b[i%c])
		switch act {
		case "Relu":
			x = math.Max(x, 0)
		case "Relu6":
			x = math.Min(math.Max(x, 0), 6)
		case "Sigmoid":
			x = 1 / (1 + math.Exp(-x))
		case "Tanh":
			x = math.Tanh(x)
		case "Elu":
			if x < 0 {
				x = math.Expm1(x)
			}
		case "LeakyRelu":
			if x < 0 {
				x *= 0.1
			}
		case "Prelu":
			if x < 0 {
				x *= float64(alpha[i%c])
			}
		}
		out[i] = x
	}
	return out
}

func near(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol {
			t.Fatalf("value %d: TensorFlow %.7g, direct %.7g (|Δ| %.2g)", i, got[i], want[i], d)
		}
	}
}

func fusedAttrs(ops []string, numArgs int, conv bool) map[string]any {
	a := map[string]any{"T": typ(), "fused_ops": strs(ops...), "num_args": intAttr(numArgs), "epsilon": floatAttr(0)}
	if conv {
		a["strides"], a["dilations"], a["padding"], a["data_format"] = ints(1, 1, 1, 1), ints(1, 1, 1, 1), str("VALID"), str("NHWC")
		a["explicit_paddings"] = map[string]any{"list": map[string]any{}}
	} else {
		a["transpose_a"], a["transpose_b"] = map[string]any{"b": false}, map[string]any{"b": false}
	}
	return a
}

// TestFusedRewrites: each fused op TF.js writes, as TensorFlow runs it
// after conversion, equals the direct arithmetic.
func TestFusedRewrites(t *testing.T) {
	const h, w, c = 5, 4, 3
	x := seq(h*w*c, 0.3)
	cases := []struct {
		op   string
		ops  []string
		note string // expected in Rewrites ("" for none)
	}{
		{"_FusedConv2D", []string{"BiasAdd"}, "added TArgs"},
		{"_FusedConv2D", []string{"BiasAdd", "Relu"}, "added TArgs"},
		{"_FusedConv2D", []string{"BiasAdd", "Relu6"}, "added TArgs"},
		{"_FusedConv2D", []string{"BiasAdd", "Prelu"}, "split _FusedConv2D [BiasAdd, Prelu]"},
		{"_FusedConv2D", []string{"BiasAdd", "Sigmoid"}, "split _FusedConv2D [BiasAdd, Sigmoid]"},
		{"FusedDepthwiseConv2dNative", []string{"BiasAdd"}, "split FusedDepthwiseConv2dNative [BiasAdd]"},
		{"FusedDepthwiseConv2dNative", []string{"BiasAdd", "Relu"}, "split FusedDepthwiseConv2dNative [BiasAdd, Relu]"},
		{"FusedDepthwiseConv2dNative", []string{"BiasAdd", "Prelu"}, "split FusedDepthwiseConv2dNative [BiasAdd, Prelu]"},
		{"FusedDepthwiseConv2dNative", []string{"BiasAdd", "LeakyRelu"}, "split FusedDepthwiseConv2dNative [BiasAdd, LeakyRelu]"},
		{"_FusedMatMul", []string{"BiasAdd"}, ""},
		{"_FusedMatMul", []string{"BiasAdd", "Relu"}, ""},
		{"_FusedMatMul", []string{"BiasAdd", "Prelu"}, "split _FusedMatMul [BiasAdd, Prelu]"},
		{"_FusedMatMul", []string{"BiasAdd", "Tanh"}, "split _FusedMatMul [BiasAdd, Tanh]"},
	}
	for _, tc := range cases {
		t.Run(tc.op+"_"+strings.Join(tc.ops, "_"), func(t *testing.T) {
			var tp topo
			var want []float64
			var shape []int64
			var feed []float32
			act := tc.ops[len(tc.ops)-1]
			numArgs := len(tc.ops)
			if act != "Prelu" {
				numArgs = 1
			}
			args := []string{"x", "f", "b"}
			if act == "Prelu" {
				args = append(args, "alpha")
			}
			switch tc.op {
			case "_FusedMatMul":
				const n, k, m = 3, 6, 4
				feed, shape = seq(n*k, 0.9), []int64{n, k}
				tp.nodes = append(tp.nodes, placeholder("x", -1, k))
				f, b, alpha := seq(k*m, 1.1), seq(m, 2.2), seq(m, 3.3)
				tp.add("f", []int{k, m}, f)
				tp.add("b", []int{m}, b)
				if act == "Prelu" {
					tp.add("alpha", []int{m}, alpha)
				}
				tp.nodes = append(tp.nodes, node("out", tc.op, args, fusedAttrs(tc.ops, numArgs, false)))
				want = biasAct(matmul(feed, n, k, f, m), b, act, alpha)
			default:
				feed, shape = x, []int64{1, h, w, c}
				tp.nodes = append(tp.nodes, placeholder("x", -1, h, w, c))
				depthwise := tc.op == "FusedDepthwiseConv2dNative"
				co := 2
				f := seq(2*2*c*co, 1.3)
				outC := co
				if depthwise {
					outC = c * co
				}
				b, alpha := seq(outC, 2.5), seq(outC, 0.7)
				tp.add("f", []int{2, 2, c, co}, f)
				tp.add("b", []int{outC}, b)
				if act == "Prelu" {
					tp.add("alpha", []int{outC}, alpha)
				}
				attrs := fusedAttrs(tc.ops, numArgs, true)
				if act == "LeakyRelu" {
					attrs["leakyrelu_alpha"] = floatAttr(0.1)
				}
				tp.nodes = append(tp.nodes, node("out", tc.op, args, attrs))
				v, _, _, _ := conv(x, h, w, c, f, 2, 2, co, depthwise)
				want = biasAct(v, b, act, alpha)
			}
			c, got := run(t, tp.write(t, nil), feed, shape)
			near(t, got, want, 1e-5)
			notes := strings.Join(c.Rewrites, "\n")
			if tc.note == "" && strings.Contains(notes, "TArgs") || tc.note != "" && !strings.Contains(notes, tc.note) {
				t.Errorf("rewrites %q, want a note %q", c.Rewrites, tc.note)
			}
			for _, n := range c.Def.Node {
				if _, ok := n.Attr["TArgs"]; ok && n.Op == "_FusedMatMul" {
					t.Errorf("_FusedMatMul %q got TArgs", n.Name)
				}
				if n.Device != "" {
					t.Errorf("node %q keeps device %q", n.Name, n.Device)
				}
			}
		})
	}
}

// TestPreluOp: TF.js's own Prelu op becomes core ops with its values,
// negative and positive inputs alike, and its consumers still read it.
func TestPreluOp(t *testing.T) {
	var tp topo
	tp.nodes = append(tp.nodes, placeholder("x", -1, 4))
	alpha := []float32{0.25, -0.5, 2, 0}
	tp.add("alpha", []int{4}, alpha)
	tp.nodes = append(tp.nodes, node("p", "Prelu", []string{"x", "alpha"}, map[string]any{"T": typ()}),
		node("out", "Identity", []string{"p:0"}, map[string]any{"T": typ()}))
	x := []float32{-2, -1, 3, -7, 0.5, 1, -3, 4}
	want := make([]float64, len(x))
	for i, v := range x {
		want[i] = float64(v)
		if v < 0 {
			want[i] = float64(v) * float64(alpha[i%4])
		}
	}
	c, got := run(t, tp.write(t, nil), x, []int64{2, 4})
	near(t, got, want, 0) // exact: x, or alpha·x
	if !strings.Contains(strings.Join(c.Rewrites, ";"), "Prelu") {
		t.Errorf("rewrites %q do not mention Prelu", c.Rewrites)
	}
}

// TestConvertErrors: every bad input is a clear error naming what is
// wrong, never a panic.
func TestConvertErrors(t *testing.T) {
	base := func() *topo {
		var tp topo
		tp.nodes = append(tp.nodes, placeholder("x", -1, 2))
		tp.add("w", []int{2, 2}, []float32{1, 2, 3, 4})
		tp.nodes = append(tp.nodes, node("out", "MatMul", []string{"x", "w"}, map[string]any{"T": typ()}))
		return tp2(tp)
	}
	cases := []struct {
		name    string
		edit    func(tp *topo)
		mangle  func(m map[string]any)
		files   func(dir string)
		want    []string
		import_ bool // the error comes from Import, not Convert
	}{
		{name: "layers model", mangle: func(m map[string]any) {
			m["format"] = "layers-model"
			m["modelTopology"] = map[string]any{"class_name": "Sequential", "config": map[string]any{}}
		}, want: []string{"layers model", "tensorflowjs_converter", "tfjs_graph_model"}},
		{name: "keras topology without format", mangle: func(m map[string]any) {
			delete(m, "format")
			m["modelTopology"] = map[string]any{"class_name": "Model", "config": map[string]any{}}
		}, want: []string{"layers model"}},
		{name: "missing shard", files: func(dir string) { os.Remove(filepath.Join(dir, "w.bin")) }, want: []string{"w.bin", "no such file"}},
		{name: "short shard", files: func(dir string) { os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 12), 0o644) },
			want: []string{`"w"`, "runs past the end", "w.bin"}},
		{name: "input that does not exist", edit: func(tp *topo) {
			tp.nodes = append(tp.nodes, node("y", "Relu", []string{"nowhere:0"}, map[string]any{"T": typ()}))
		}, want: []string{`node "y" (Relu) reads "nowhere:0"`, `no node "nowhere"`}},
		{name: "op TensorFlow lacks", edit: func(tp *topo) {
			tp.nodes = append(tp.nodes, node("z", "FancyTFJSOnlyOp", []string{"out"}, map[string]any{"T": typ()}))
		}, want: []string{`node "z"`, "op FancyTFJSOnlyOp", "does not have"}, import_: true},
		{name: "weight of the wrong shape", mangle: func(m map[string]any) {
			wm := m["weightsManifest"].([]map[string]any)
			wm[0]["weights"].([]map[string]any)[0]["shape"] = []int{4, 1}
		}, want: []string{`weight "w"`, "[4 1]", "[2 2]"}},
		{name: "Const without a value", mangle: func(m map[string]any) {
			m["weightsManifest"] = []map[string]any{}
		}, files: func(dir string) {}, want: []string{`Const node "w" has no value`}},
		{name: "unknown fused op", edit: func(tp *topo) {
			tp.add("b", []int{2}, []float32{1, 1})
			tp.nodes = append(tp.nodes, node("f", "_FusedMatMul", []string{"x", "w", "b"}, fusedAttrs([]string{"BiasAdd", "Swish"}, 1, false)))
		}, want: []string{`node "f" (_FusedMatMul)`, "Swish"}},
		{name: "weights manifest only", files: func(dir string) {
			os.WriteFile(filepath.Join(dir, "model.json"), []byte(`[{"paths": ["w.bin"], "weights": []}]`), 0o644)
		}, want: []string{"weights manifest", "without a graph"}},
		{name: "not JSON", mangle: nil, files: func(dir string) { os.WriteFile(filepath.Join(dir, "model.json"), []byte("<html>"), 0o644) },
			want: []string{"not a TF.js model.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp := base()
			if tc.edit != nil {
				tc.edit(tp)
			}
			path := tp.write(t, tc.mangle)
			if tc.files != nil {
				tc.files(filepath.Dir(path))
			}
			c, err := ReadModel(path)
			if tc.import_ {
				if err != nil {
					t.Fatalf("convert: %v", err)
				}
				_, err = c.Import()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file %s", err, path)
			}
		})
	}
}

func tp2(t topo) *topo { return &t }
