// Package weights reads model weights stored in the TensorFlow.js
// weights-manifest format: a JSON list of groups, each naming its shard files
// and the tensors stored in them, and the binary shards themselves.
//
// It owns the file format only: dtypes, quantisation, shard concatenation,
// size checks and digests of the files read. It knows nothing about any
// network; mapping tensor names onto a graph is the caller's job (tfmodel's
// face_resnet, the TF.js graph-model importer). Pure Go, no TensorFlow.
//
// The format, as tfjs-core's io.decodeWeights reads it: within a group the
// shards are concatenated in the order listed, and the tensors follow one
// another in manifest order with no padding. A tensor without quantization
// takes 4 bytes per value (float32, int32) or 1 (bool), little-endian. A
// quantised one stores uint8 or uint16 codes q (value = min + scale·q; int32
// tensors round that to the nearest integer) or raw IEEE half floats
// (float16, float32 tensors only). One manifest can mix all of these, so
// byte widths are per entry.
package weights

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Manifest is a parsed weights manifest: groups in file order.
type Manifest []Group

// Group is a set of tensors stored back to back across Paths.
type Group struct {
	Paths   []string `json:"paths"`   // shard files, relative to the manifest's folder
	Weights []Entry  `json:"weights"` // tensors, in storage order
}

// Entry describes one stored tensor.
type Entry struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"` // float32, int32 or bool (string and complex64 are not supported)
	Quantization *Quantization `json:"quantization,omitempty"`
}

// Quantization says how a tensor's values are encoded.
type Quantization struct {
	DType string   `json:"dtype"` // uint8, uint16 (affine: min + scale·q) or float16
	Scale *float64 `json:"scale,omitempty"`
	Min   *float64 `json:"min,omitempty"`
}

// Tensor is one decoded tensor.
type Tensor struct {
	Name  string
	Shape []int
	DType string    // float32, int32 or bool, as in the manifest
	Data  []float32 // float32 tensors: the (dequantised) values, row-major
	Ints  []int32   // int32 tensors, and bool ones as 0/1
}

// Len is the number of values of a tensor of this shape.
func (t *Tensor) Len() int { return elements(t.Shape) }

// File is one file read, with its digest.
type File struct {
	Path   string // as opened
	Size   int64
	SHA256 string // hex
}

// Set is the decoded contents of a manifest.
type Set struct {
	tensors map[string]*Tensor
	names   []string
	// Files lists the manifest (when read from a file) and every shard, in
	// the order read.
	Files []File
}

// Tensor returns the tensor called name.
func (s *Set) Tensor(name string) (*Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

// Names lists the tensors in manifest order.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Len is the number of tensors.
func (s *Set) Len() int { return len(s.names) }

// Digest is a sha256 over the digests of every file read, in order: one
// value that changes when any byte of the manifest or a shard does.
func (s *Set) Digest() string {
	h := sha256.New()
	for _, f := range s.Files {
		fmt.Fprintf(h, "%s %s\n", filepath.Base(f.Path), f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadManifest reads the manifest file at path (a JSON list of groups, as
// tfjs writes *-weights_manifest.json) and the shards it names, resolved
// relative to its folder.
func ReadManifest(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights manifest %s: %w", path, notExist(err))
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("weights manifest %s: %w", path, err)
	}
	s, err := Load(filepath.Dir(path), m)
	if err != nil {
		return nil, fmt.Errorf("weights manifest %s: %w", path, err)
	}
	s.Files = append([]File{{Path: path, Size: int64(len(b)), SHA256: sum(b)}}, s.Files...)
	return s, nil
}

// ParseManifest decodes and checks manifest JSON (a list of groups). A
// graph model's model.json carries the same list under weightsManifest.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse: %w (expected a JSON list of {paths, weights} groups)", err)
	}
	return m, m.check()
}

// maxElements bounds a tensor's size (16 GiB of float32), so a corrupt
// shape fails as such instead of overflowing.
const maxElements = 1 << 32

// check validates everything that does not need the shards.
func (m Manifest) check() error {
	seen := map[string]bool{}
	for gi, g := range m {
		if len(g.Paths) == 0 && len(g.Weights) > 0 {
			return fmt.Errorf("group %d (tensor %q first) lists no shard paths", gi+1, g.Weights[0].Name)
		}
		for _, e := range g.Weights {
			if e.Name == "" {
				return fmt.Errorf("group %d: a tensor has no name", gi+1)
			}
			if seen[e.Name] {
				return fmt.Errorf("tensor %q appears twice", e.Name)
			}
			seen[e.Name] = true
			if e.Shape == nil {
				return fmt.Errorf("tensor %q has no shape", e.Name)
			}
			n := 1
			for _, d := range e.Shape {
				if d < 0 {
					return fmt.Errorf("tensor %q: shape %v has a negative dimension", e.Name, e.Shape)
				}
				if d > 0 && n > maxElements/d {
					return fmt.Errorf("tensor %q: shape %v has more than %d elements", e.Name, e.Shape, maxElements)
				}
				n *= d
			}
			if _, err := e.width(); err != nil {
				return fmt.Errorf("tensor %q: %w", e.Name, err)
			}
		}
	}
	return nil
}

// width is the number of bytes one value of e takes in the shard.
func (e Entry) width() (int, error) {
	switch e.DType {
	case "float32", "int32", "bool":
	case "string", "complex64":
		return 0, fmt.Errorf("dtype %s is not supported (float32, int32 and bool are)", e.DType)
	default:
		return 0, fmt.Errorf("unknown dtype %q (expected float32, int32 or bool)", e.DType)
	}
	q := e.Quantization
	if q == nil {
		if e.DType == "bool" {
			return 1, nil
		}
		return 4, nil
	}
	switch q.DType {
	case "uint8", "uint16":
		if q.Scale == nil || q.Min == nil {
			return 0, fmt.Errorf("quantization %s without scale and min", q.DType)
		}
		if e.DType == "bool" {
			return 0, fmt.Errorf("quantization %s of a bool tensor is not defined", q.DType)
		}
		if q.DType == "uint8" {
			return 1, nil
		}
		return 2, nil
	case "float16":
		if e.DType != "float32" {
			return 0, fmt.Errorf("quantization float16 applies to float32 tensors, not %s", e.DType)
		}
		return 2, nil
	default:
		return 0, fmt.Errorf("unknown quantization dtype %q (expected uint8, uint16 or float16)", q.DType)
	}
}

// Load reads the shards of m from dir and decodes every tensor.
func Load(dir string, m Manifest) (*Set, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	s := &Set{tensors: map[string]*Tensor{}}
	for gi, g := range m {
		if err := s.loadGroup(dir, gi, g); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// shard is one file's place in a group's concatenated bytes.
type shard struct {
	path   string
	lo, hi int
}

func (s *Set) loadGroup(dir string, gi int, g Group) error {
	var buf bytes.Buffer
	var shards []shard
	for _, p := range g.Paths {
		path := filepath.Join(dir, filepath.FromSlash(p))
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("group %d: shard %s: %w", gi+1, path, notExist(err))
		}
		shards = append(shards, shard{path: path, lo: buf.Len(), hi: buf.Len() + len(b)})
		buf.Write(b)
		s.Files = append(s.Files, File{Path: path, Size: int64(len(b)), SHA256: sum(b)})
	}
	data := buf.Bytes()
	// where names the shard file holding byte off of the group.
	where := func(off int) string {
		for _, sh := range shards {
			if off < sh.hi {
				return sh.path
			}
		}
		return shards[len(shards)-1].path
	}
	off := 0
	for _, e := range g.Weights {
		w, _ := e.width() // checked
		n := elements(e.Shape) * w
		if off+n > len(data) {
			return fmt.Errorf("tensor %q (shape %v, %d bytes at offset %d of group %d) runs past the end of its shards: %s ends the group at %d bytes (shard too short, or not the file this manifest describes)",
				e.Name, e.Shape, n, off, gi+1, where(len(data)), len(data))
		}
		t, err := decode(e, data[off:off+n])
		if err != nil {
			return fmt.Errorf("tensor %q in %s: %w", e.Name, where(off), err)
		}
		s.tensors[e.Name] = t
		s.names = append(s.names, e.Name)
		off += n
	}
	if off != len(data) {
		last := "(none)"
		if len(g.Weights) > 0 {
			last = fmt.Sprintf("%q", g.Weights[len(g.Weights)-1].Name)
		}
		return fmt.Errorf("group %d: its shards hold %d bytes but its tensors take %d: %d bytes left over after the last tensor %s in %s (shard too long, or not the file this manifest describes)",
			gi+1, len(data), off, len(data)-off, last, where(off))
	}
	return nil
}

// decode turns one tensor's bytes into values.
func decode(e Entry, b []byte) (*Tensor, error) {
	n := elements(e.Shape)
	t := &Tensor{Name: e.Name, Shape: append([]int(nil), e.Shape...), DType: e.DType}
	le := binary.LittleEndian
	q := e.Quantization
	switch {
	case q == nil && e.DType == "float32":
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case q == nil && e.DType == "int32":
		t.Ints = make([]int32, n)
		for i := range t.Ints {
			t.Ints[i] = int32(le.Uint32(b[4*i:]))
		}
	case q == nil: // bool
		t.Ints = make([]int32, n)
		for i, v := range b[:n] {
			if v > 1 {
				return nil, fmt.Errorf("bool value %d at element %d (expected 0 or 1)", v, i)
			}
			t.Ints[i] = int32(v)
		}
	case q.DType == "float16":
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = halfToFloat(le.Uint16(b[2*i:]))
		}
	default: // uint8 or uint16 affine
		code := func(i int) float64 { return float64(b[i]) }
		if q.DType == "uint16" {
			code = func(i int) float64 { return float64(le.Uint16(b[2*i:])) }
		}
		// In float64 then rounded once, as tfjs does (a JavaScript number
		// stored into a Float32Array), so values match it bit for bit.
		scale, lo := *q.Scale, *q.Min
		if e.DType == "int32" {
			t.Ints = make([]int32, n)
			for i := range t.Ints {
				t.Ints[i] = int32(math.Floor(code(i)*scale + lo + 0.5)) // Math.round
			}
		} else {
			t.Data = make([]float32, n)
			for i := range t.Data {
				t.Data[i] = float32(code(i)*scale + lo)
			}
		}
	}
	return t, nil
}

// halfToFloat converts an IEEE 754 binary16 value to float32 exactly
// (subnormals, infinities and NaN included).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
	}
}

func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// notExist makes a missing file read as one.
func notExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	return err
}
