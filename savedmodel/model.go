// Package savedmodel runs TensorFlow SavedModels (Keras model.export(),
// tf.saved_model.save, or pipeline export) as age models through the Go
// bindings, fed by the declared preprocessing of package preprocess and
// decoded by its Output; and writes the SavedModel files of a graph built
// elsewhere (Write, used by tfmodel's export).
//
// It owns reading saved_model.pb (MetaGraph tags, signatures and the graph
// tensors they map to) so that a wrong tag, signature or tensor is named
// with the ones that exist before TensorFlow loads anything, checking the
// signature against the declaration, and batched inference. It does not
// build networks (tfmodel does) or decode images (preprocess does).
package savedmodel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"fairage/dataset"
	"fairage/internal/progress"
	"fairage/preprocess"
)

// Options say which part of a SavedModel to run and how.
type Options struct {
	Tags      []string // MetaGraph tags (default [serve])
	Signature string   // signature key (default serving_default)
	// Input and Output pick the signature's tensors by key or by graph
	// tensor name ("op:0"); empty: the signature's only one.
	Input, Output  string
	BatchSize      int // images per session run (default 32)
	IntraOpThreads int // 0: TensorFlow's choice
	InterOpThreads int
}

func (o Options) withDefaults() Options {
	if len(o.Tags) == 0 {
		o.Tags = []string{ServeTag}
	}
	if o.Signature == "" {
		o.Signature = DefaultSigKey
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	return o
}

// Model is a loaded SavedModel with its declared preprocessing and output
// decoding. Predict may be called from several goroutines; runs are
// serialised.
type Model struct {
	dir, digest string
	pre         preprocess.Spec
	out         preprocess.Output
	opts        Options
	in, res     Tensor
	fixedBatch  int
	mu          sync.Mutex
	sm          *tf.SavedModel
	feed, fetch tf.Output
}

// Inspect reads dir's saved_model.pb and returns the signature's chosen
// input and output, with an error naming what exists when a tag set,
// signature or tensor is not there. It loads nothing into TensorFlow.
func Inspect(dir string, opts Options) (in, out Tensor, err error) {
	opts = opts.withDefaults()
	sm, err := readProto(dir)
	if err != nil {
		return Tensor{}, Tensor{}, err
	}
	mg, err := metaGraph(dir, sm, opts.Tags)
	if err != nil {
		return Tensor{}, Tensor{}, err
	}
	sig, ok := mg.GetSignatureDef()[opts.Signature]
	if !ok {
		keys := slices.Sorted(maps.Keys(mg.GetSignatureDef()))
		if len(keys) == 0 {
			return Tensor{}, Tensor{}, fmt.Errorf("SavedModel %s has no signatures (it cannot be served; export it with a serving signature)", dir)
		}
		return Tensor{}, Tensor{}, fmt.Errorf("SavedModel %s has no signature %q (model.savedmodel.signature); its signatures are %s", dir, opts.Signature, strings.Join(keys, ", "))
	}
	if in, err = pick(dir, opts.Signature, "input", opts.Input, sig.GetInputs()); err != nil {
		return Tensor{}, Tensor{}, err
	}
	if out, err = pick(dir, opts.Signature, "output", opts.Output, sig.GetOutputs()); err != nil {
		return Tensor{}, Tensor{}, err
	}
	return in, out, nil
}

// pick chooses a signature tensor by key or graph tensor name, or the
// only one when want is empty.
func pick(dir, sig, what, want string, m map[string]*corepb.TensorInfo) (Tensor, error) {
	all := sortedTensors(m)
	list := func() string {
		s := make([]string, len(all))
		for i, t := range all {
			s[i] = t.String()
		}
		return strings.Join(s, "; ")
	}
	if want == "" {
		if len(all) == 1 {
			return all[0], nil
		}
		return Tensor{}, fmt.Errorf("SavedModel %s: signature %s has %d %ss (%s): name the one to use with model.savedmodel.%s", dir, sig, len(all), what, list(), what)
	}
	for _, t := range all {
		if t.Key == want || t.Name == want || t.Name == want+":0" {
			return t, nil
		}
	}
	return Tensor{}, fmt.Errorf("SavedModel %s: signature %s has no %s %q (model.savedmodel.%s); its %ss are: %s", dir, sig, what, want, what, what, list())
}

// Open checks that pre can produce the signature's input and that out
// matches its output, then loads the SavedModel into a TensorFlow session.
func Open(dir string, pre preprocess.Spec, out preprocess.Output, opts Options) (*Model, error) {
	opts = opts.withDefaults()
	if err := errors.Join(pre.Check("preprocess"), out.Check("decoding")); err != nil {
		return nil, fmt.Errorf("SavedModel %s: %w", dir, err)
	}
	in, res, err := Inspect(dir, opts)
	if err != nil {
		return nil, err
	}
	m := &Model{dir: dir, pre: pre, out: out, opts: opts, in: in, res: res}
	if err := m.checkInput(); err != nil {
		return nil, err
	}
	if err := m.checkOutput(); err != nil {
		return nil, err
	}
	if m.digest, err = digestDir(dir); err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts.IntraOpThreads, opts.InterOpThreads)
	if err != nil {
		return nil, err
	}
	m.sm, err = tf.LoadSavedModel(dir, opts.Tags, so)
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: TensorFlow %s cannot load it: %v", dir, tf.Version(), err)
	}
	if m.feed, err = m.output(in); err != nil {
		m.Close()
		return nil, err
	}
	if m.fetch, err = m.output(res); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// output finds the graph tensor a signature entry names.
func (m *Model) output(t Tensor) (tf.Output, error) {
	name, idx := t.Name, 0
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		n, err := strconv.Atoi(name[i+1:])
		if err != nil {
			return tf.Output{}, fmt.Errorf("SavedModel %s: signature tensor %s has a malformed name", m.dir, t)
		}
		name, idx = name[:i], n
	}
	op := m.sm.Graph.Operation(name)
	if op == nil || idx >= op.NumOutputs() {
		return tf.Output{}, fmt.Errorf("SavedModel %s: signature tensor %s is not in the loaded graph", m.dir, t)
	}
	return op.Output(idx), nil
}

func sessionOptions(intra, inter int) (*tf.SessionOptions, error) {
	cfg, err := proto.Marshal(&corepb.ConfigProto{
		IntraOpParallelismThreads: int32(intra),
		InterOpParallelismThreads: int32(inter),
		// As in tfmodel: each session keeps its own pools, so a session's
		// results do not depend on which session the process started first.
		UsePerSessionThreads: true,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session config: %w", err)
	}
	return &tf.SessionOptions{Config: cfg}, nil
}

// checkInput verifies that the declared preprocessing produces a tensor
// the signature accepts: element type, rank, and every fixed dimension.
func (m *Model) checkInput() error {
	in, s := m.in, m.pre
	want := s.Shape(-1)
	wantType := map[preprocess.DType]tf.DataType{preprocess.Float32: tf.Float, preprocess.Uint8: tf.Uint8}[s.DType]
	if in.DType != wantType {
		return fmt.Errorf("SavedModel %s: input %s takes %s, but the preprocessing declares dtype %s (model.savedmodel.preprocess.dtype)", m.dir, in, dtypeName(in.DType), s.DType)
	}
	if in.Shape == nil {
		return nil // unknown rank: the graph checks when it runs
	}
	batch, ok := s.Feeds(in.Shape)
	if !ok {
		return fmt.Errorf("SavedModel %s: input %s cannot be fed by the declared preprocessing (%s), which makes [N %d %d %d]; declare the model's own size, layout and colour (model.savedmodel.preprocess)",
			m.dir, in, s, want[1], want[2], want[3])
	}
	m.fixedBatch = batch
	return nil
}

func (m *Model) checkOutput() error {
	o := m.res
	if o.DType != tf.Float && o.DType != tf.Double {
		return fmt.Errorf("SavedModel %s: output %s is not a float32 or float64 tensor", m.dir, o)
	}
	if o.Shape == nil {
		return nil
	}
	if len(o.Shape) == 0 {
		return fmt.Errorf("SavedModel %s: output %s is a scalar, without a batch dimension", m.dir, o)
	}
	width := int64(1)
	for _, d := range o.Shape[1:] {
		if d < 0 {
			width = -1
			break
		}
		width *= d
	}
	if err := m.out.CheckWidth(width); err != nil {
		return fmt.Errorf("SavedModel %s: output %s: %w (%s)", m.dir, o, err, m.out)
	}
	return nil
}

// digestDir hashes the files of a SavedModel folder (names and bytes, in
// order), so the manifest says exactly which model ran.
func digestDir(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("SavedModel %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Close ends the session.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sm == nil {
		return nil
	}
	err := m.sm.Session.Close()
	m.sm = nil
	return err
}

// Input is the signature input the model is fed through.
func (m *Model) Input() Tensor { return m.in }

// Output is the signature output ages are decoded from.
func (m *Model) Output() Tensor { return m.res }

// Preprocess is the declared preprocessing.
func (m *Model) Preprocess() preprocess.Spec { return m.pre }

// Decoding is the declared output decoding.
func (m *Model) Decoding() preprocess.Output { return m.out }

// Dir is the SavedModel folder.
func (m *Model) Dir() string { return m.dir }

// Digest is the SHA-256 over the folder's files.
func (m *Model) Digest() string { return m.digest }

// Result is the age of one image, or why it has none.
type Result = preprocess.Result

func (m *Model) step() int {
	if m.fixedBatch > 0 {
		return m.fixedBatch
	}
	return m.opts.BatchSize
}

// Predict runs the model over a preprocessed batch (any size: it is split
// into runs of Options.BatchSize, or of the signature's fixed batch),
// checking ctx between runs. tracker (nil for none) advances per image.
func (m *Model) Predict(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([]Result, error) {
	s := m.pre
	n := t.Len()
	if want := s.Shape(n); !slices.Equal(t.Shape, want) || (s.DType == preprocess.Uint8 && len(t.U8) != n*s.PerImage()) ||
		(s.DType == preprocess.Float32 && len(t.F32) != n*s.PerImage()) {
		return nil, fmt.Errorf("SavedModel %s: the batch has shape %v, the model's preprocessing (%s) makes %v", m.dir, t.Shape, s, want)
	}
	tracker = progress.OrDiscard(tracker)
	results := make([]Result, 0, n)
	step, per := m.step(), s.PerImage()
	for lo := 0; lo < n; lo += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(n, lo+step)
		var raw []byte
		if s.DType == preprocess.Uint8 {
			raw = t.U8[lo*per : hi*per]
		} else {
			raw = f32Bytes(t.F32[lo*per : hi*per])
		}
		rows, err := m.run(raw, hi-lo)
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
		tracker.Add(hi - lo)
	}
	return results, nil
}

// f32Bytes views v as bytes in host order, which is TensorFlow's (no
// copy: tf.ReadTensor copies once into the tensor).
func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// run feeds n images (raw holds exactly their values) in one session run.
func (m *Model) run(raw []byte, n int) ([]Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sm == nil {
		return nil, fmt.Errorf("SavedModel %s is closed", m.dir)
	}
	b := n
	if m.fixedBatch > 0 && n < m.fixedBatch {
		// A signature with a fixed batch gets zero images appended; their
		// rows are dropped below.
		b = m.fixedBatch
		padded := make([]byte, len(raw)/n*b)
		copy(padded, raw)
		raw = padded
	}
	dt := tf.Float
	if m.pre.DType == preprocess.Uint8 {
		dt = tf.Uint8
	}
	in, err := tf.ReadTensor(dt, m.pre.Shape(b), bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: input tensor: %w", m.dir, err)
	}
	outs, err := m.sm.Session.Run(map[tf.Output]*tf.Tensor{m.feed: in}, []tf.Output{m.fetch}, nil)
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: running a batch of %d through %s: %v", m.dir, b, m.res.Name, err)
	}
	values, shape, err := floats(outs[0])
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: output %s: %w", m.dir, m.res, err)
	}
	width := m.out.Width()
	if len(shape) == 0 || shape[0] != int64(b) || len(values) != b*width {
		return nil, fmt.Errorf("SavedModel %s: output %s has shape %v for a batch of %d; the declared decoding (%s) expects [%d %d]",
			m.dir, m.res, shape, b, m.out, b, width)
	}
	rows, err := m.out.Results(m.out.Split(values, n))
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: %w", m.dir, err)
	}
	return rows, nil
}

// floats reads a float32 or float64 tensor's values (as float32, the
// decoding's type) and shape.
func floats(t *tf.Tensor) ([]float32, []int64, error) {
	var buf bytes.Buffer
	if _, err := t.WriteContentsTo(&buf); err != nil {
		return nil, nil, err
	}
	b := buf.Bytes()
	switch t.DataType() {
	case tf.Float:
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, t.Shape(), nil
	case tf.Double:
		v := make([]float32, len(b)/8)
		for i := range v {
			v[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return v, t.Shape(), nil
	}
	return nil, nil, fmt.Errorf("a %s tensor, not float32 or float64", dtypeName(t.DataType()))
}

// PredictPacked runs the model over packed images (at exactly the model's
// input size) at the given positions, preprocessing one batch at a time so
// memory stays bounded.
func (m *Model) PredictPacked(ctx context.Context, pk *dataset.Packed, index []int, tracker progress.Tracker) ([]Result, error) {
	if err := m.pre.CheckPacked(pk); err != nil {
		return nil, fmt.Errorf("SavedModel %s: %w", m.dir, err)
	}
	return preprocess.PackedBatches(ctx, m.pre, pk, index, m.step(), func(t preprocess.Tensor) ([]Result, error) {
		return m.Predict(ctx, t, tracker)
	})
}
