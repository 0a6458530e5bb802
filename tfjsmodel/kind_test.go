package tfjsmodel

import (
	"context"
	"math"
	"strings"
	"testing"

	"fairage/preprocess"
	"fairage/regressor"
)

func TestKindAndPresetsRegistered(t *testing.T) {
	if _, err := regressor.Lookup("tfjs"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"faceres-age", "gear-age", "ssrnet-age"} {
		p, err := regressor.LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != "tfjs" || p.License == "" || len(p.TrainedOn) == 0 || p.Doc == "" {
			t.Errorf("preset %s: %+v lacks kind, licence, training data or doc", name, p)
		}
		own := Presets[name]
		if err := errorsJoin(own.Preprocess.Validate(), own.Decoding.Validate()); err != nil {
			t.Errorf("preset %s declares an invalid preprocessing or decoding: %v", name, err)
		}
	}
	if _, err := LookupPreset("nope"); err == nil || !strings.Contains(err.Error(), "faceres-age, gear-age, ssrnet-age") {
		t.Errorf("unknown preset: %v", err)
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// TestKindSettings: without a preset the preprocessing must be declared,
// and the error names the key.
func TestKindSettings(t *testing.T) {
	s := &KindSettings{Decoding: preprocess.DefaultOutput()}
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if _, err := s.InputSize(""); err == nil || !strings.Contains(err.Error(), "model.tfjs.preprocess.height") {
		t.Errorf("undeclared preprocessing: %v", err)
	}
	if n, err := s.InputSize("gear-age"); err != nil || n != 198 {
		t.Errorf("gear-age input size %d, %v", n, err)
	}
}

// tinyModel takes 2×2 RGB images to the sum of their channel means.
func tinyModel(t *testing.T) string {
	var tp topo
	tp.nodes = append(tp.nodes, placeholder("x", -1, 2, 2, 3))
	// axes is a Const with its value inline (no weight), as tfjs-converter
	// keeps small int32 constants.
	tp.nodes = append(tp.nodes,
		map[string]any{"name": "axes", "op": "Const", "attr": map[string]any{"dtype": map[string]any{"type": "DT_INT32"},
			"value": map[string]any{"tensor": map[string]any{"dtype": "DT_INT32", "tensorShape": map[string]any{"dim": []map[string]any{{"size": "2"}}},
				"intVal": []int{1, 2}}}}},
		node("m", "Mean", []string{"x", "axes"}, map[string]any{"T": typ(), "Tidx": map[string]any{"type": "DT_INT32"}, "keep_dims": map[string]any{"b": false}}))
	tp.add("w", []int{3, 1}, []float32{1, 1, 1})
	tp.nodes = append(tp.nodes, node("out", "MatMul", []string{"m:0", "w"}, map[string]any{"T": typ()}))
	return tp.write(t, func(m map[string]any) {
		m["signature"] = map[string]any{
			"inputs":  map[string]any{"x": map[string]any{"name": "x:0", "dtype": "DT_FLOAT"}},
			"outputs": map[string]any{"age": map[string]any{"name": "out:0", "dtype": "DT_FLOAT"}},
		}
	})
}

func TestOpenChecksDeclaration(t *testing.T) {
	path := tinyModel(t)
	good := inputSpec(2, preprocess.RGB, nil, 1)
	years := preprocess.Output{Decode: preprocess.Years, Reduce: preprocess.Expected}
	m, err := Open(path, good, years, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x := good.NewTensor(2)
	for i := range x.F32 {
		x.F32[i] = float32(i % 12) // channel means 4.5, 5.5, 6.5
	}
	res, err := m.Predict(context.Background(), x, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || math.Abs(r.Age-16.5) > 1e-5 {
			t.Errorf("image %d: %+v, want age 16.5", i, r)
		}
	}
	d := m.Describe()
	if d.Input != "x:0" || d.Output != "out:0" || d.Digest == "" {
		t.Errorf("description %+v", d)
	}

	nchw := good
	nchw.Layout = preprocess.NCHW
	wrongSize := inputSpec(3, preprocess.RGB, nil, 1)
	classes := preprocess.Output{Decode: preprocess.Classes, ClassAges: []float64{10, 20}, Reduce: preprocess.Expected}
	for _, tc := range []struct {
		name string
		pre  preprocess.Spec
		out  preprocess.Output
		opts Options
		want string
	}{
		{"nchw", nchw, years, DefaultOptions(), "NHWC float32"},
		{"wrong size", wrongSize, years, DefaultOptions(), "[N 3 3 3]"},
		{"wrong width", good, classes, DefaultOptions(), "2 class_ages"},
		{"no such output", good, years, Options{BatchSize: 1, Output: "nowhere:0"}, `no node "nowhere"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(path, tc.pre, tc.out, tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q lacks %q or the file", err, tc.want)
			}
		})
	}
}
