package tfjsmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"fairage/dataset"
	"fairage/internal/progress"
	"fairage/preprocess"
	"fairage/weights"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Options are the runtime settings of an opened model.
type Options struct {
	// Input and Output name the tensors: a signature key (e.g.
	// "age_output") or a tensor name ("Identity:0"); empty: the
	// signature's only input or output.
	Input, Output string
	// BatchSize is the number of images per session run.
	BatchSize int
	// IntraOpThreads and InterOpThreads size TensorFlow's pools (0: its
	// choice).
	IntraOpThreads, InterOpThreads int
}

// DefaultOptions returns batches of 32 and TensorFlow's thread choice.
func DefaultOptions() Options { return Options{BatchSize: 32} }

// Model is a TF.js graph model imported into TensorFlow, with its declared
// preprocessing and output decoding. Predict may be called from several
// goroutines (a TensorFlow session is).
type Model struct {
	path    string
	digest  string
	conv    *Converted
	pre     preprocess.Spec
	out     preprocess.Output
	opts    Options
	inName  string
	outName string
	graph   *tf.Graph
	sess    *tf.Session
	in, res tf.Output
	width   int // values per output row
}

// Open converts and imports the graph model at path (a model.json),
// checks that pre produces its input and that out matches its output, and
// starts a session.
func Open(path string, pre preprocess.Spec, out preprocess.Output, opts Options) (*Model, error) {
	if err := errors.Join(pre.Check("preprocess"), out.Check("decoding")); err != nil {
		return nil, fmt.Errorf("TF.js model %s: %w", path, err)
	}
	if opts.BatchSize < 1 {
		return nil, fmt.Errorf("TF.js model %s: batch size %d must be at least 1", path, opts.BatchSize)
	}
	if pre.Layout != preprocess.NHWC || pre.DType != preprocess.Float32 {
		return nil, fmt.Errorf("TF.js model %s: TF.js graph models take NHWC float32 images; the preprocessing declares %s %s", path, pre.Layout, pre.DType)
	}
	c, err := ReadModel(path)
	if err != nil {
		return nil, err
	}
	return open(c, pre, out, opts)
}

func open(c *Converted, pre preprocess.Spec, out preprocess.Output, opts Options) (*Model, error) {
	m := &Model{path: c.Source, conv: c, pre: pre, out: out, opts: opts, digest: (&weights.Set{Files: c.Files}).Digest()}
	var err error
	if m.inName, err = c.pick("input", opts.Input, c.Inputs); err != nil {
		return nil, err
	}
	if m.outName, err = c.pick("output", opts.Output, c.Outputs); err != nil {
		return nil, err
	}
	if m.graph, err = c.Import(); err != nil {
		return nil, err
	}
	if m.in, err = Op(m.graph, m.inName); err != nil {
		return nil, fmt.Errorf("%s: input: %w", c.name(), err)
	}
	if m.res, err = Op(m.graph, m.outName); err != nil {
		return nil, fmt.Errorf("%s: output: %w", c.name(), err)
	}
	if err := m.checkInput(); err != nil {
		return nil, err
	}
	if err := m.checkOutput(); err != nil {
		return nil, err
	}
	cfg, err := proto.Marshal(&corepb.ConfigProto{
		IntraOpParallelismThreads: int32(opts.IntraOpThreads),
		InterOpParallelismThreads: int32(opts.InterOpThreads),
		// Each session its own pools, so its numbers do not depend on
		// which session the process started first.
		UsePerSessionThreads: true,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session config: %w", err)
	}
	if m.sess, err = tf.NewSession(m.graph, &tf.SessionOptions{Config: cfg}); err != nil {
		return nil, fmt.Errorf("%s: starting a TensorFlow session: %w", c.name(), err)
	}
	return m, nil
}

// pick resolves a signature key or tensor name; empty picks the only one.
func (c *Converted) pick(what, want string, sig []Signature) (string, error) {
	list := func() string {
		s := make([]string, len(sig))
		for i, t := range sig {
			s[i] = fmt.Sprintf("%s (%s %v)", t.Key, t.Name, t.Shape)
		}
		return strings.Join(s, "; ")
	}
	if want == "" {
		if len(sig) == 1 {
			return sig[0].Name, nil
		}
		if len(sig) == 0 {
			return "", fmt.Errorf("%s declares no signature: name the %s tensor (e.g. \"Identity:0\")", c.name(), what)
		}
		return "", fmt.Errorf("%s has %d %ss (%s): name the one to use", c.name(), len(sig), what, list())
	}
	for _, t := range sig {
		if t.Key == want || t.Name == want {
			return t.Name, nil
		}
	}
	return want, nil // a tensor outside the signature; Op checks it exists
}

// checkInput verifies that the declared preprocessing feeds the input.
func (m *Model) checkInput() error {
	if m.in.DataType() != tf.Float {
		return fmt.Errorf("%s: input %s is %v, not float32", m.conv.name(), m.inName, m.in.DataType())
	}
	shape, err := m.in.Shape().ToSlice()
	if err != nil {
		return nil // unknown rank: checked when it runs
	}
	want := m.pre.Shape(-1)
	bad := len(shape) != 4
	for i := 1; i < 4 && !bad; i++ {
		bad = shape[i] >= 0 && shape[i] != want[i]
	}
	if bad {
		return fmt.Errorf("%s: input %s has shape %v, but the declared preprocessing (%s) makes [N %d %d %d]; declare the model's own size and colour",
			m.conv.name(), m.inName, shape, m.pre, want[1], want[2], want[3])
	}
	return nil
}

func (m *Model) checkOutput() error {
	if m.res.DataType() != tf.Float {
		return fmt.Errorf("%s: output %s is %v, not float32", m.conv.name(), m.outName, m.res.DataType())
	}
	m.width = -1
	if shape, err := m.res.Shape().ToSlice(); err == nil && len(shape) >= 1 {
		w := int64(1)
		for _, d := range shape[1:] {
			if d < 0 {
				w = -1
				break
			}
			w *= d
		}
		m.width = int(w)
	}
	if err := m.out.CheckWidth(int64(m.width)); err != nil {
		return fmt.Errorf("%s: output %s: %w (%s)", m.conv.name(), m.outName, err, m.out)
	}
	return nil
}

// Close ends the session.
func (m *Model) Close() error {
	if m.sess == nil {
		return nil
	}
	err := m.sess.Close()
	m.sess = nil
	return err
}

// Preprocess is the declared preprocessing.
func (m *Model) Preprocess() preprocess.Spec { return m.pre }

// Decoding is the declared output decoding.
func (m *Model) Decoding() preprocess.Output { return m.out }

// Converted is the conversion the model was imported from.
func (m *Model) Converted() *Converted { return m.conv }

// Description is what a run records about a TF.js model.
type Description struct {
	Path       string   `json:"path"`
	Digest     string   `json:"sha256"` // over model.json and every shard
	Runtime    string   `json:"runtime"`
	Input      string   `json:"input"`
	Output     string   `json:"output"`
	Preprocess string   `json:"preprocess"`
	Decode     string   `json:"decode"`
	Rewrites   []string `json:"rewrites,omitempty"`
	BatchSize  int      `json:"batch_size"`
}

// Describe returns the model's description for the run manifest.
func (m *Model) Describe() Description {
	return Description{Path: m.path, Digest: m.digest, Runtime: "TensorFlow " + tf.Version() + " (TF.js graph model imported)",
		Input: m.inName, Output: m.outName, Preprocess: m.pre.String(), Decode: m.out.String(),
		Rewrites: m.conv.Rewrites, BatchSize: m.opts.BatchSize}
}

// Result is the age of one image, or why it has none.
type Result = preprocess.Result

// Outputs runs the graph over a preprocessed batch and returns its raw
// output rows (for conformance checks and class outputs).
func (m *Model) Outputs(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([][]float32, error) {
	if m.sess == nil {
		return nil, fmt.Errorf("%s is closed", m.conv.name())
	}
	n := t.Len()
	if want := m.pre.Shape(n); len(t.Shape) != 4 || !equal(t.Shape, want) || len(t.F32) != n*m.pre.PerImage() {
		return nil, fmt.Errorf("%s: the batch has shape %v, the model's preprocessing (%s) makes %v", m.conv.name(), t.Shape, m.pre, want)
	}
	tracker = progress.OrDiscard(tracker)
	per := m.pre.PerImage()
	rows := make([][]float32, 0, n)
	for lo := 0; lo < n; lo += m.opts.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(n, lo+m.opts.BatchSize)
		in, err := tf.NewTensor(t.F32[lo*per : hi*per])
		if err != nil {
			return nil, fmt.Errorf("%s: input tensor: %w", m.conv.name(), err)
		}
		if err := in.Reshape(m.pre.Shape(hi - lo)); err != nil {
			return nil, fmt.Errorf("%s: input tensor: %w", m.conv.name(), err)
		}
		res, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.in: in}, []tf.Output{m.res}, nil)
		if err != nil {
			msg := err.Error()
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			return nil, fmt.Errorf("%s: running a batch of %d: %s", m.conv.name(), hi-lo, msg)
		}
		shape := res[0].Shape()
		if len(shape) == 0 || shape[0] != int64(hi-lo) {
			return nil, fmt.Errorf("%s: output %s has shape %v for a batch of %d", m.conv.name(), m.outName, shape, hi-lo)
		}
		flat, err := floats(res[0])
		if err != nil {
			return nil, fmt.Errorf("%s: output %s: %w", m.conv.name(), m.outName, err)
		}
		w := len(flat) / (hi - lo)
		if w != m.out.Width() {
			return nil, fmt.Errorf("%s: output %s has %d values per row; the declared decoding (%s) expects %d",
				m.conv.name(), m.outName, w, m.out, m.out.Width())
		}
		for i := range hi - lo {
			rows = append(rows, flat[i*w:(i+1)*w])
		}
		tracker.Add(hi - lo)
	}
	return rows, nil
}

// floats reads a float32 tensor's values, row-major.
func floats(t *tf.Tensor) ([]float32, error) {
	if t.DataType() != tf.Float {
		return nil, fmt.Errorf("%v, not float32", t.DataType())
	}
	n := int64(1)
	for _, d := range t.Shape() {
		n *= d
	}
	var buf bytes.Buffer
	buf.Grow(int(4 * n))
	if _, err := t.WriteContentsTo(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) != int(4*n) {
		return nil, fmt.Errorf("%d bytes for %d values", len(b), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Predict runs the model over a preprocessed batch and decodes each row;
// per-image problems (a non-finite output) are in the results.
func (m *Model) Predict(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([]Result, error) {
	rows, err := m.Outputs(ctx, t, tracker)
	if err != nil {
		return nil, err
	}
	res, err := m.out.Results(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.conv.name(), err)
	}
	return res, nil
}

// PredictPacked runs the model over packed images (at exactly the model's
// input size) at the given positions, one batch in memory at a time.
func (m *Model) PredictPacked(ctx context.Context, pk *dataset.Packed, index []int, tracker progress.Tracker) ([]Result, error) {
	if err := m.pre.CheckPacked(pk); err != nil {
		return nil, fmt.Errorf("%s: %w", m.conv.name(), err)
	}
	return preprocess.PackedBatches(ctx, m.pre, pk, index, m.opts.BatchSize, func(t preprocess.Tensor) ([]Result, error) {
		return m.Predict(ctx, t, tracker)
	})
}
