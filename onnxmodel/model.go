// Package onnxmodel runs age models stored as ONNX files with ONNX Runtime
// (through github.com/yalue/onnxruntime_go), fed by the declared
// preprocessing of package preprocess and decoded by its Output. It owns
// loading the runtime library, checking a graph's inputs and outputs
// against the declaration, batched inference, and the presets: off-the-shelf
// models whose files scripts/setup-onnx.sh installs (Presets).
//
// The ONNX Runtime shared library is loaded at run time, not linked: it
// comes from build/onnxruntime (make setup-onnx) or $FAIRAGE_ONNXRUNTIME_LIB.
package onnxmodel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"fairage/dataset"
	"fairage/internal/progress"
	"fairage/preprocess"
)

// Optimization is ONNX Runtime's graph optimisation level. Levels above
// disable_all fuse operators, which can change outputs in the last bits.
type Optimization string

// Graph optimisation levels.
const (
	OptimizeNone     Optimization = "disable_all"
	OptimizeBasic    Optimization = "basic"
	OptimizeExtended Optimization = "extended"
	OptimizeAll      Optimization = "all"
)

// Values lists the accepted values.
func (Optimization) Values() []string {
	return []string{string(OptimizeNone), string(OptimizeBasic), string(OptimizeExtended), string(OptimizeAll)}
}

func (o Optimization) level() (ort.GraphOptimizationLevel, error) {
	switch o {
	case OptimizeNone:
		return ort.GraphOptimizationLevelDisableAll, nil
	case OptimizeBasic:
		return ort.GraphOptimizationLevelEnableBasic, nil
	case OptimizeExtended:
		return ort.GraphOptimizationLevelEnableExtended, nil
	case OptimizeAll:
		return ort.GraphOptimizationLevelEnableAll, nil
	}
	return 0, fmt.Errorf("graph_optimization: %q is not one of %s", o, strings.Join(o.Values(), ", "))
}

// Options are the runtime settings of an ONNX model.
type Options struct {
	Library           string       `yaml:"library" doc:"ONNX Runtime shared library (default: $FAIRAGE_ONNXRUNTIME_LIB, else build/onnxruntime from make setup-onnx)" path:"config" fingerprint:"-"`
	Input             string       `yaml:"input" doc:"input tensor name (default: the graph's only input)"`
	Output            string       `yaml:"output" doc:"output tensor name (default: the graph's only output)"`
	IntraOpThreads    int          `yaml:"intra_op_threads" doc:"threads inside one operator (0: ONNX Runtime's default, one per core)" range:"[0,1024]" fingerprint:"-"`
	InterOpThreads    int          `yaml:"inter_op_threads" doc:"threads running independent operators (0: ONNX Runtime's default)" range:"[0,1024]" fingerprint:"-"`
	BatchSize         int          `yaml:"batch_size" doc:"images per inference call" range:"[1,65536]" fingerprint:"-"`
	GraphOptimization Optimization `yaml:"graph_optimization" doc:"ONNX Runtime graph optimisation: disable_all, basic, extended or all (fusions may change outputs in the last bits)"`
}

// DefaultOptions returns batches of 32, ONNX Runtime's default threads and
// full graph optimisation.
func DefaultOptions() Options { return Options{BatchSize: 32, GraphOptimization: OptimizeAll} }

// Validate checks the options; each problem names its key.
func (o Options) Validate() error {
	var errs []error
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		errs = append(errs, fmt.Errorf("intra_op_threads (%d) and inter_op_threads (%d) must not be negative", o.IntraOpThreads, o.InterOpThreads))
	}
	if o.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch_size: %d must be at least 1", o.BatchSize))
	}
	if _, err := o.GraphOptimization.level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TensorInfo describes one input or output of a graph. A dimension the
// graph leaves open (a symbolic batch) is -1.
type TensorInfo struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	Type  string  `json:"type"` // float32, uint8, ...; sequence, map, ... for non-tensors
}

func (t TensorInfo) String() string {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			dims[i] = "?"
		} else {
			dims[i] = fmt.Sprint(d)
		}
	}
	return fmt.Sprintf("%s [%s] %s", t.Name, strings.Join(dims, " "), t.Type)
}

func tensorInfo(i ort.InputOutputInfo) TensorInfo {
	t := TensorInfo{Name: i.Name, Shape: append([]int64(nil), i.Dimensions...)}
	if i.OrtValueType != ort.ONNXTypeTensor {
		t.Type = strings.ToLower(strings.TrimPrefix(i.OrtValueType.String(), "ONNXType"))
		t.Shape = nil
		return t
	}
	switch i.DataType {
	case ort.TensorElementDataTypeFloat:
		t.Type = "float32"
	case ort.TensorElementDataTypeDouble:
		t.Type = "float64"
	case ort.TensorElementDataTypeFloat16:
		t.Type = "float16"
	case ort.TensorElementDataTypeUint8:
		t.Type = "uint8"
	case ort.TensorElementDataTypeInt8:
		t.Type = "int8"
	case ort.TensorElementDataTypeInt32:
		t.Type = "int32"
	case ort.TensorElementDataTypeInt64:
		t.Type = "int64"
	case ort.TensorElementDataTypeBool:
		t.Type = "bool"
	case ort.TensorElementDataTypeString:
		t.Type = "string"
	default:
		t.Type = strings.ToLower(strings.TrimPrefix(i.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
	}
	return t
}

// Model is an opened ONNX model with its declared preprocessing and
// output decoding. Predict may be called from several goroutines.
type Model struct {
	path, sha256    string
	version, lib    string
	pre             preprocess.Spec
	out             preprocess.Output
	opts            Options
	inputs, outputs []TensorInfo
	in, res         TensorInfo
	fixedBatch      int // the graph's batch size when it fixes one, else 0
	sess            *ort.DynamicAdvancedSession
}

// Open loads the ONNX model at path, checks that pre can produce its input
// and that out matches its output, and starts an inference session.
func Open(path string, pre preprocess.Spec, out preprocess.Output, opts Options) (*Model, error) {
	var errs []error
	for _, err := range []error{pre.Check("preprocess"), out.Check("output"), opts.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ONNX model %s: %w", path, errors.Join(errs...))
	}
	sum, err := hashFile(path)
	if err != nil {
		return nil, err
	}
	version, err := Init(opts.Library)
	if err != nil {
		return nil, err
	}
	m := &Model{path: path, sha256: sum, version: version, pre: pre, out: out, opts: opts}
	env.Lock()
	m.lib = env.lib
	env.Unlock()

	so, err := m.sessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, fmt.Errorf("%s is not an ONNX model ONNX Runtime %s can load: %v", path, version, trimORT(err))
	}
	for _, i := range ins {
		m.inputs = append(m.inputs, tensorInfo(i))
	}
	for _, o := range outs {
		m.outputs = append(m.outputs, tensorInfo(o))
	}
	if m.in, err = pick(path, "input", opts.Input, m.inputs); err != nil {
		return nil, err
	}
	if m.res, err = pick(path, "output", opts.Output, m.outputs); err != nil {
		return nil, err
	}
	if err := m.checkInput(); err != nil {
		return nil, err
	}
	if err := m.checkOutput(); err != nil {
		return nil, err
	}
	m.sess, err = ort.NewDynamicAdvancedSession(path, []string{m.in.Name}, []string{m.res.Name}, so)
	if err != nil {
		return nil, fmt.Errorf("ONNX model %s: starting a session: %v", path, trimORT(err))
	}
	return m, nil
}

func (m *Model) sessionOptions() (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime session options: %w", err)
	}
	level, _ := m.opts.GraphOptimization.level() // validated
	for _, err := range []error{
		so.SetIntraOpNumThreads(m.opts.IntraOpThreads),
		so.SetInterOpNumThreads(m.opts.InterOpThreads),
		so.SetGraphOptimizationLevel(level),
	} {
		if err != nil {
			so.Destroy()
			return nil, fmt.Errorf("ONNX Runtime session options: %w", err)
		}
	}
	return so, nil
}

// trimORT drops the binding's wrapper phrases from an ONNX Runtime error.
func trimORT(err error) string {
	msg := err.Error()
	for _, p := range []string{"Error loading temporary session: ", "Error creating C session: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ONNX model: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return "", fmt.Errorf("ONNX model %s: %w", path, err)
	} else if st.IsDir() {
		return "", fmt.Errorf("ONNX model %s is a folder, not an .onnx file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("ONNX model %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pick chooses the tensor named want, or the only one when want is empty.
func pick(path, what, want string, all []TensorInfo) (TensorInfo, error) {
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
		return TensorInfo{}, fmt.Errorf("ONNX model %s has %d %ss (%s): name the one to use with the %s option", path, len(all), what, list(), what)
	}
	for _, t := range all {
		if t.Name == want {
			return t, nil
		}
	}
	return TensorInfo{}, fmt.Errorf("ONNX model %s has no %s %q; its %ss are: %s", path, what, want, what, list())
}

// checkInput verifies that the declared preprocessing produces a tensor the
// graph accepts: element type, rank, and every dimension the graph fixes.
func (m *Model) checkInput() error {
	in, s := m.in, m.pre
	want := s.Shape(-1)
	if in.Type != string(s.DType) {
		return fmt.Errorf("ONNX model %s: input %s takes %s, but the preprocessing declares dtype %s", m.path, in, in.Type, s.DType)
	}
	batch, ok := s.Feeds(in.Shape)
	if !ok {
		return fmt.Errorf("ONNX model %s: input %s cannot be fed by the declared preprocessing (%s), which makes [N %d %d %d]; declare the model's own size, layout and colour",
			m.path, in, s, want[1], want[2], want[3])
	}
	m.fixedBatch = batch
	return nil
}

func (m *Model) checkOutput() error {
	o := m.res
	if o.Type != "float32" && o.Type != "float64" {
		return fmt.Errorf("ONNX model %s: output %s is not a float32 or float64 tensor", m.path, o)
	}
	if len(o.Shape) == 0 {
		return fmt.Errorf("ONNX model %s: output %s has no batch dimension", m.path, o)
	}
	width := int64(1)
	for _, d := range o.Shape[1:] {
		if d < 0 {
			width = -1 // fixed when the graph runs
			break
		}
		width *= d
	}
	if err := m.out.CheckWidth(width); err != nil {
		return fmt.Errorf("ONNX model %s: output %s: %w (%s)", m.path, o, err, m.out)
	}
	return nil
}

// Close ends the session. The runtime library stays loaded for the process.
func (m *Model) Close() error {
	if m.sess == nil {
		return nil
	}
	err := m.sess.Destroy()
	m.sess = nil
	return err
}

// Inputs lists the graph's inputs.
func (m *Model) Inputs() []TensorInfo { return m.inputs }

// Outputs lists the graph's outputs.
func (m *Model) Outputs() []TensorInfo { return m.outputs }

// Input is the input tensor the model is fed through.
func (m *Model) Input() TensorInfo { return m.in }

// Output is the output tensor ages are decoded from.
func (m *Model) Output() TensorInfo { return m.res }

// Preprocess is the declared preprocessing.
func (m *Model) Preprocess() preprocess.Spec { return m.pre }

// Decoding is the declared output decoding.
func (m *Model) Decoding() preprocess.Output { return m.out }

// Description is what a run records about an ONNX model: enough to know
// exactly what produced its predictions.
type Description struct {
	Kind              string     `json:"kind"`
	Path              string     `json:"path"`
	SHA256            string     `json:"sha256"`
	Runtime           string     `json:"runtime"`
	Library           string     `json:"library"`
	Input             TensorInfo `json:"input"`
	Output            TensorInfo `json:"output"`
	Preprocess        string     `json:"preprocess"`
	Decode            string     `json:"decode"`
	IntraOpThreads    int        `json:"intra_op_threads"`
	InterOpThreads    int        `json:"inter_op_threads"`
	BatchSize         int        `json:"batch_size"`
	GraphOptimization string     `json:"graph_optimization"`
}

// Describe returns the model's description for the run manifest.
func (m *Model) Describe() Description {
	return Description{Kind: "onnx", Path: m.path, SHA256: m.sha256, Runtime: "ONNX Runtime " + m.version, Library: m.lib,
		Input: m.in, Output: m.res, Preprocess: m.pre.String(), Decode: m.out.String(),
		IntraOpThreads: m.opts.IntraOpThreads, InterOpThreads: m.opts.InterOpThreads,
		BatchSize: m.opts.BatchSize, GraphOptimization: string(m.opts.GraphOptimization)}
}

// Result is the age of one image, or why it has none.
type Result = preprocess.Result

// Predict runs the model over a preprocessed batch (any size: it is split
// into calls of Options.BatchSize, or of the graph's fixed batch), checking
// ctx between calls. tracker (nil for none) advances per image. An error
// is returned for what concerns the whole model (a wrong output shape,
// the runtime failing); per-image problems are in the results.
func (m *Model) Predict(ctx context.Context, t preprocess.Tensor, tracker progress.Tracker) ([]Result, error) {
	s := m.pre
	if len(t.Shape) != 4 || t.Shape[0] < 0 {
		return nil, fmt.Errorf("ONNX model %s: the batch has shape %v, not [N C H W] or [N H W C]", m.path, t.Shape)
	}
	n := t.Len()
	if want := s.Shape(n); !equal(t.Shape, want) || (s.DType == preprocess.Uint8 && len(t.U8) != n*s.PerImage()) ||
		(s.DType == preprocess.Float32 && len(t.F32) != n*s.PerImage()) {
		return nil, fmt.Errorf("ONNX model %s: the batch has shape %v, the model's preprocessing (%s) makes %v", m.path, t.Shape, s, want)
	}
	tracker = progress.OrDiscard(tracker)
	results := make([]Result, 0, n)
	step := m.step()
	per := s.PerImage()
	for lo := 0; lo < n; lo += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(n, lo+step)
		var rows []Result
		var err error
		if s.DType == preprocess.Uint8 {
			rows, err = runChunk(m, t.U8[lo*per:hi*per], hi-lo)
		} else {
			rows, err = runChunk(m, t.F32[lo*per:hi*per], hi-lo)
		}
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
		tracker.Add(hi - lo)
	}
	return results, nil
}

func (m *Model) step() int {
	if m.fixedBatch > 0 {
		return m.fixedBatch
	}
	return m.opts.BatchSize
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

// runChunk runs n images (data holds exactly their values) in one call.
func runChunk[T float32 | uint8](m *Model, data []T, n int) ([]Result, error) {
	if m.sess == nil {
		return nil, fmt.Errorf("ONNX model %s is closed", m.path)
	}
	b := n
	if m.fixedBatch > 0 && n < m.fixedBatch {
		// A graph with a fixed batch gets zero images appended; their rows
		// are dropped below.
		b = m.fixedBatch
		padded := make([]T, b*m.pre.PerImage())
		copy(padded, data)
		data = padded
	}
	in, err := ort.NewTensor(ort.NewShape(m.pre.Shape(b)...), data)
	if err != nil {
		return nil, fmt.Errorf("ONNX model %s: input tensor: %w", m.path, err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := m.sess.Run([]ort.Value{in}, outs); err != nil {
		return nil, fmt.Errorf("ONNX model %s: running a batch of %d: %v", m.path, b, strings.TrimPrefix(err.Error(), "Error running network: "))
	}
	defer outs[0].Destroy()
	shape := outs[0].GetShape()
	var values []float32
	switch v := outs[0].(type) {
	case *ort.Tensor[float32]:
		values = v.GetData()
	case *ort.Tensor[float64]:
		d := v.GetData()
		values = make([]float32, len(d))
		for i, x := range d {
			values[i] = float32(x)
		}
	default:
		return nil, fmt.Errorf("ONNX model %s: output %q is a %T, not a float tensor", m.path, m.res.Name, outs[0])
	}
	width := m.out.Width()
	if len(shape) == 0 || shape[0] != int64(b) || len(values) != b*width {
		return nil, fmt.Errorf("ONNX model %s: output %q has shape %v for a batch of %d; the declared decoding (%s) expects [%d %d]",
			m.path, m.res.Name, []int64(shape), b, m.out, b, width)
	}
	rows, err := m.out.Results(m.out.Split(values, n))
	if err != nil {
		return nil, fmt.Errorf("ONNX model %s: %w", m.path, err)
	}
	return rows, nil
}

// PredictPacked runs the model over packed images (at exactly the model's
// input size) at the given positions, preprocessing one call's batch at a
// time so memory stays bounded.
func (m *Model) PredictPacked(ctx context.Context, pk *dataset.Packed, index []int, tracker progress.Tracker) ([]Result, error) {
	if err := m.pre.CheckPacked(pk); err != nil {
		return nil, fmt.Errorf("ONNX model %s: %w", m.path, err)
	}
	return preprocess.PackedBatches(ctx, m.pre, pk, index, m.step(), func(t preprocess.Tensor) ([]Result, error) {
		return m.Predict(ctx, t, tracker)
	})
}

// PredictFiles runs the model over original image files, decoded and
// resized by the declared preprocessing on workers goroutines (0:
// GOMAXPROCS) while the previous batch runs. fileErrs[i] is set for a file
// that could not be read or decoded (its result is then meaningless).
func (m *Model) PredictFiles(ctx context.Context, paths []string, workers int, tracker progress.Tracker) (results []Result, fileErrs []error, err error) {
	tracker = progress.OrDiscard(tracker)
	defer tracker.Finish()
	type batch struct {
		t    preprocess.Tensor
		errs []error
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	step := m.step()
	// One batch is decoded ahead of the one running.
	ready := make(chan batch, 1)
	go func() {
		defer close(ready)
		for lo := 0; lo < len(paths); lo += step {
			t, errs, err := preprocess.LoadFiles(ctx, m.pre, paths[lo:min(len(paths), lo+step)], workers)
			select {
			case ready <- batch{t, errs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for b := range ready {
		if b.err != nil {
			return nil, nil, b.err
		}
		rows, err := m.Predict(ctx, b.t, tracker)
		if err != nil {
			return nil, nil, err
		}
		results = append(results, rows...)
		fileErrs = append(fileErrs, b.errs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return results, fileErrs, nil
}
