package weights

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fairage/internal/modelsdir"
)

// le builds little-endian shard bytes.
type le []byte

func (b le) f32(vs ...float32) le {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func (b le) i32(vs ...int32) le {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

func (b le) u16(vs ...uint16) le {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func (b le) u8(vs ...byte) le { return append(b, vs...) }

func f(v float64) *float64 { return &v }

// write puts the manifest and shards into a fresh folder and returns the
// manifest's path.
func write(t *testing.T, m any, shards map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	var b []byte
	switch m := m.(type) {
	case string:
		b = []byte(m)
	default:
		var err error
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "model-weights_manifest.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range shards {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestDecode: every dtype and quantisation, mixed in one group whose
// tensors straddle two shards, plus a second group.
func TestDecode(t *testing.T) {
	u8 := &Quantization{DType: "uint8", Scale: f(0.5), Min: f(-1)}
	u16 := &Quantization{DType: "uint16", Scale: f(0.001), Min: f(2)}
	m := Manifest{
		{Paths: []string{"a1.bin", "a2.bin"}, Weights: []Entry{
			{Name: "plain/f32", Shape: []int{2, 2}, DType: "float32"},
			{Name: "plain/i32", Shape: []int{3}, DType: "int32"},
			{Name: "plain/bool", Shape: []int{3}, DType: "bool"},
			{Name: "q/u8", Shape: []int{4}, DType: "float32", Quantization: u8},
			{Name: "q/u16", Shape: []int{2}, DType: "float32", Quantization: u16},
			{Name: "q/f16", Shape: []int{7}, DType: "float32", Quantization: &Quantization{DType: "float16"}},
			{Name: "q/u8int", Shape: []int{3}, DType: "int32", Quantization: &Quantization{DType: "uint8", Scale: f(0.5), Min: f(-0.75)}},
			{Name: "scalar", Shape: []int{}, DType: "float32"},
		}},
		{Paths: []string{"b.bin"}, Weights: []Entry{
			{Name: "other/empty", Shape: []int{0, 3}, DType: "float32"},
			{Name: "other/x", Shape: []int{1}, DType: "int32"},
		}},
	}
	all := le{}.f32(1.5, -2, 3.25, 1e-30).i32(-7, 0, 1<<30).u8(1, 0, 1).u8(0, 1, 2, 255).u16(0, 65535).
		// float16: 1, -2, 65504 (max), smallest subnormal, +Inf, -0, 0.333
		u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000, 0x3555).
		u8(0, 1, 4).f32(42)
	split := 13 // inside plain/i32
	path := write(t, m, map[string][]byte{"a1.bin": all[:split], "a2.bin": all[split:], "b.bin": le{}.i32(9)})

	s, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		shape []int
		data  []float32
		ints  []int32
	}{
		"plain/f32":   {[]int{2, 2}, []float32{1.5, -2, 3.25, 1e-30}, nil},
		"plain/i32":   {[]int{3}, nil, []int32{-7, 0, 1 << 30}},
		"plain/bool":  {[]int{3}, nil, []int32{1, 0, 1}},
		"q/u8":        {[]int{4}, []float32{-1, -0.5, 0, 126.5}, nil},
		"q/u16":       {[]int{2}, []float32{2, float32(65535*0.001 + 2)}, nil},
		"q/f16":       {[]int{7}, []float32{1, -2, 65504, float32(math.Pow(2, -24)), float32(math.Inf(1)), float32(math.Copysign(0, -1)), 0.33325195}, nil},
		"q/u8int":     {[]int{3}, nil, []int32{-1, 0, 1}}, // round(-0.75)=-1, round(-0.25)=0, round(1.25)=1
		"scalar":      {[]int{}, []float32{42}, nil},
		"other/empty": {[]int{0, 3}, []float32{}, nil},
		"other/x":     {[]int{1}, nil, []int32{9}},
	}
	if got := s.Names(); !slices.Equal(got, []string{"plain/f32", "plain/i32", "plain/bool", "q/u8", "q/u16", "q/f16", "q/u8int", "scalar", "other/empty", "other/x"}) {
		t.Errorf("names %v not in manifest order", got)
	}
	for name, w := range want {
		tn, ok := s.Tensor(name)
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if !slices.Equal(tn.Shape, w.shape) {
			t.Errorf("%s: shape %v, want %v", name, tn.Shape, w.shape)
		}
		if w.data != nil {
			if len(tn.Data) != len(w.data) {
				t.Errorf("%s: %d values, want %d", name, len(tn.Data), len(w.data))
				continue
			}
			for i := range w.data {
				if math.Float32bits(tn.Data[i]) != math.Float32bits(w.data[i]) {
					t.Errorf("%s[%d] = %v, want %v", name, i, tn.Data[i], w.data[i])
				}
			}
		}
		if w.ints != nil && !slices.Equal(tn.Ints, w.ints) {
			t.Errorf("%s = %v, want %v", name, tn.Ints, w.ints)
		}
	}
	if len(s.Files) != 4 || s.Files[0].Path != path {
		t.Errorf("files read %+v, want the manifest and 3 shards", s.Files)
	}
	if len(s.Digest()) != 64 {
		t.Errorf("digest %q", s.Digest())
	}
}

// TestDigestChanges: one changed byte of a shard changes the digest.
func TestDigestChanges(t *testing.T) {
	m := Manifest{{Paths: []string{"w.bin"}, Weights: []Entry{{Name: "w", Shape: []int{2}, DType: "float32"}}}}
	a, err := ReadManifest(write(t, m, map[string][]byte{"w.bin": le{}.f32(1, 2)}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadManifest(write(t, m, map[string][]byte{"w.bin": le{}.f32(1, 3)}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest() == b.Digest() {
		t.Error("different shards, same digest")
	}
}

// TestErrors: each malformed input fails with a message naming the tensor
// or file and what is wrong.
func TestErrors(t *testing.T) {
	one := func(e Entry) Manifest { return Manifest{{Paths: []string{"w.bin"}, Weights: []Entry{e}}} }
	f32 := func(name string, shape ...int) Entry { return Entry{Name: name, Shape: shape, DType: "float32"} }
	tests := []struct {
		name   string
		m      any
		shards map[string][]byte
		want   []string
	}{
		{"bad json", `{"weights": []}`, nil, []string{"parse", "expected a JSON list"}},
		{"missing shard", Manifest{{Paths: []string{"w.bin", "gone.bin"}, Weights: []Entry{f32("k", 2)}}},
			map[string][]byte{"w.bin": le{}.f32(1)}, []string{"gone.bin", "no such file"}},
		{"short shard", Manifest{{Paths: []string{"w.bin"}, Weights: []Entry{f32("a", 1), f32("conv/kernel", 3, 3)}}},
			map[string][]byte{"w.bin": le{}.f32(1, 2, 3)}, []string{`"conv/kernel"`, "w.bin", "runs past the end", "too short"}},
		{"long shard", one(f32("b", 2)), map[string][]byte{"w.bin": le{}.f32(1, 2, 3)},
			[]string{`"b"`, "w.bin", "4 bytes left over", "too long"}},
		{"unknown dtype", one(Entry{Name: "t", Shape: []int{1}, DType: "float64"}), map[string][]byte{"w.bin": le{}.f32(0, 0)},
			[]string{`"t"`, `unknown dtype "float64"`}},
		{"string dtype", one(Entry{Name: "s", Shape: []int{1}, DType: "string"}), map[string][]byte{"w.bin": {}},
			[]string{`"s"`, "string is not supported"}},
		{"unknown quantization", one(Entry{Name: "q", Shape: []int{1}, DType: "float32", Quantization: &Quantization{DType: "int4"}}),
			map[string][]byte{"w.bin": {0}}, []string{`"q"`, `unknown quantization dtype "int4"`}},
		{"affine without scale", one(Entry{Name: "q", Shape: []int{1}, DType: "float32", Quantization: &Quantization{DType: "uint8", Min: f(0)}}),
			map[string][]byte{"w.bin": {0}}, []string{`"q"`, "without scale and min"}},
		{"float16 on int32", one(Entry{Name: "q", Shape: []int{1}, DType: "int32", Quantization: &Quantization{DType: "float16"}}),
			map[string][]byte{"w.bin": {0, 0}}, []string{`"q"`, "float16 applies to float32"}},
		{"negative shape", one(f32("neg", 2, -1)), map[string][]byte{"w.bin": {}}, []string{`"neg"`, "negative dimension"}},
		{"huge shape", one(f32("huge", 1<<20, 1<<20, 1<<20)), map[string][]byte{"w.bin": {}}, []string{`"huge"`, "more than"}},
		{"no shape", one(Entry{Name: "noshape", DType: "float32"}), map[string][]byte{"w.bin": {}}, []string{`"noshape"`, "no shape"}},
		{"fractional shape", `[{"paths":["w.bin"],"weights":[{"name":"x","shape":[1.5],"dtype":"float32"}]}]`, nil, []string{"parse"}},
		{"duplicate", Manifest{{Paths: []string{"w.bin"}, Weights: []Entry{f32("d", 1), f32("d", 1)}}},
			map[string][]byte{"w.bin": le{}.f32(1, 2)}, []string{`"d"`, "twice"}},
		{"no paths", Manifest{{Weights: []Entry{f32("p", 1)}}}, nil, []string{`"p"`, "no shard paths"}},
		{"bad bool", one(Entry{Name: "flag", Shape: []int{2}, DType: "bool"}), map[string][]byte{"w.bin": {1, 7}},
			[]string{`"flag"`, "w.bin", "bool value 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadManifest(write(t, tt.m, tt.shards))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := ReadManifest(filepath.Join(t.TempDir(), "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json: no such file") {
		t.Errorf("missing manifest: %v", err)
	}
}

// TestHalfToFloat checks the half-float conversion against float32
// arithmetic for every finite non-negative half value.
func TestHalfToFloat(t *testing.T) {
	for h := range uint16(0x7c00) {
		exp, frac := int(h>>10), float64(h&0x3ff)
		var want float64
		if exp == 0 {
			want = frac * math.Pow(2, -24)
		} else {
			want = (1 + frac/1024) * math.Pow(2, float64(exp-15))
		}
		if got := halfToFloat(h); float64(got) != want {
			t.Fatalf("half %#04x: %v, want %v", h, got, want)
		}
		if got := halfToFloat(h | 0x8000); float64(got) != -want || !math.Signbit(float64(got)) {
			t.Fatalf("half %#04x: %v, want %v", h|0x8000, got, -want)
		}
	}
	if v := halfToFloat(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("half NaN gave %v", v)
	}
}

// TestFaceAPIManifest reads the real face-recognition weights of
// @vladmandic/face-api (installed by `make setup-models`): 117 tensors, all
// uint8-quantised float32, the documented shapes, values inside each
// tensor's quantisation range.
func TestFaceAPIManifest(t *testing.T) {
	path, err := modelsdir.Path("face-api/model/face_recognition_model-weights_manifest.json")
	if err != nil {
		t.Skipf("face-api weights not installed (%v); skipping", err)
	}
	s, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 117 {
		t.Errorf("%d tensors, want 117", s.Len())
	}
	shapes := map[string][]int{
		"conv32_down/conv/filters":             {7, 7, 3, 32},
		"conv32_down/scale/weights":            {32},
		"conv64_down/conv1/conv/filters":       {3, 3, 32, 64},
		"conv256_down_out/conv2/conv/filters":  {3, 3, 256, 256},
		"conv256_down_out/conv2/scale/biases":  {256},
		"fc":                                   {256, 128},
		"conv128_2/conv1/conv/bias":            {128},
		"conv32_3/conv2/scale/weights":         {32},
		"conv256_down/conv1/conv/filters":      {3, 3, 128, 256},
		"conv256_1/conv2/conv/filters":         {3, 3, 256, 256},
		"conv64_3/conv2/scale/biases":          {64},
		"conv128_down/conv1/conv/filters":      {3, 3, 64, 128},
		"conv128_down/conv2/conv/filters":      {3, 3, 128, 128},
		"conv256_down_out/conv1/conv/filters":  {3, 3, 256, 256},
		"conv256_down_out/conv1/scale/weights": {256},
	}
	for name, want := range shapes {
		tn, ok := s.Tensor(name)
		if !ok {
			t.Errorf("tensor %s missing", name)
			continue
		}
		if !slices.Equal(tn.Shape, want) || len(tn.Data) != tn.Len() {
			t.Errorf("%s: shape %v with %d values, want %v", name, tn.Shape, len(tn.Data), want)
		}
	}
	raw, _ := os.ReadFile(path)
	m, _ := ParseManifest(raw)
	kinds := map[string]int{}
	for _, e := range m[0].Weights {
		q := e.Quantization
		if q == nil {
			kinds[e.DType]++
			continue
		}
		kinds[e.DType+"/"+q.DType]++
		tn, _ := s.Tensor(e.Name)
		lo, hi := float32(*q.Min), float32(*q.Min+255**q.Scale)
		for _, v := range tn.Data {
			if v < lo-1e-6 || v > hi+1e-6 {
				t.Fatalf("%s: value %v outside its quantisation range [%v, %v]", e.Name, v, lo, hi)
			}
		}
	}
	// The file mixes byte widths: most tensors uint8-quantised, the 64-channel
	// stage's filters plain float32.
	if kinds["float32/uint8"] != 109 || kinds["float32"] != 8 {
		t.Errorf("tensor kinds %v, want 109 float32/uint8 and 8 float32", kinds)
	}
	t.Logf("%d tensors from %d files, digest %s", s.Len(), len(s.Files), s.Digest())
}
