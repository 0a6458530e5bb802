package savedmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	graphpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	shapepb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/types_go_proto"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"fairage/preprocess"
)

// The files of a SavedModel folder that this package reads and writes.
const (
	ProtoFile      = "saved_model.pb"
	VariablesDir   = "variables"
	VariablesName  = "variables" // checkpoint prefix inside VariablesDir
	AssetsDir      = "assets"
	MetadataFile   = "fairage.json" // in AssetsDir
	ServeTag       = "serve"
	DefaultSigKey  = "serving_default"
	predictMethod  = "tensorflow/serving/predict"
	metadataFormat = 1
)

// Metadata is assets/fairage.json: what a SavedModel written by fairage
// declares about its input and output, so that auditing it needs no
// guessing. A foreign SavedModel has none; its preprocessing is then
// declared in model.savedmodel.
type Metadata struct {
	Format     int               `json:"format"`
	Producer   string            `json:"producer"`
	Signature  string            `json:"signature"`
	Input      string            `json:"input"`  // signature input key
	Output     string            `json:"output"` // signature output key
	Preprocess preprocess.Spec   `json:"preprocess"`
	Decoding   preprocess.Output `json:"decoding"`
	// Model describes the network (architecture, sizes) for people.
	Model any `json:"model,omitempty"`
	// Source is the run or model folder it was exported from.
	Source     string `json:"source,omitempty"`
	TensorFlow string `json:"tensorflow"`
}

// ReadMetadata reads dir/assets/fairage.json; ok is false when the folder
// has none (a SavedModel made elsewhere).
func ReadMetadata(dir string) (m Metadata, ok bool, err error) {
	path := filepath.Join(dir, AssetsDir, MetadataFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Metadata{}, false, nil
	}
	if err != nil {
		return Metadata{}, false, fmt.Errorf("SavedModel metadata: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, false, fmt.Errorf("SavedModel metadata %s: %w", path, err)
	}
	if m.Format != metadataFormat {
		return Metadata{}, false, fmt.Errorf("SavedModel metadata %s: format %d, this version reads %d", path, m.Format, metadataFormat)
	}
	if err := errors.Join(m.Preprocess.Check("preprocess"), m.Decoding.Check("decoding")); err != nil {
		return Metadata{}, false, fmt.Errorf("SavedModel metadata %s: %w", path, err)
	}
	return m, true, nil
}

// readProto parses dir/saved_model.pb, saying plainly when dir is not a
// SavedModel folder at all.
func readProto(dir string) (*corepb.SavedModel, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("SavedModel: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("SavedModel %s is a file, not a SavedModel folder (one holding %s and %s/)", dir, ProtoFile, VariablesDir)
	}
	path := filepath.Join(dir, ProtoFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "saved_model.pbtxt")); err == nil {
			return nil, fmt.Errorf("SavedModel %s holds saved_model.pbtxt (text format), which the Go loader does not read; re-save it in binary form", dir)
		}
		return nil, fmt.Errorf("%s is not a SavedModel folder: it has no %s", dir, ProtoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("SavedModel %s: %w", dir, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(b, &sm); err != nil {
		return nil, fmt.Errorf("SavedModel %s: %s is not a SavedModel protocol buffer: %v", dir, ProtoFile, err)
	}
	if len(sm.MetaGraphs) == 0 {
		return nil, fmt.Errorf("SavedModel %s: %s holds no MetaGraph", dir, ProtoFile)
	}
	return &sm, nil
}

// metaGraph returns the MetaGraph whose tag set equals tags (as
// TensorFlow's loader matches them), listing the ones there are.
func metaGraph(dir string, sm *corepb.SavedModel, tags []string) (*corepb.MetaGraphDef, error) {
	want := slices.Sorted(slices.Values(tags))
	var have []string
	for _, mg := range sm.MetaGraphs {
		got := slices.Sorted(slices.Values(mg.GetMetaInfoDef().GetTags()))
		if slices.Equal(slices.Compact(got), slices.Compact(want)) {
			return mg, nil
		}
		have = append(have, "["+strings.Join(got, ", ")+"]")
	}
	return nil, fmt.Errorf("SavedModel %s has no MetaGraph tagged [%s] (model.savedmodel.tags); its tag sets are %s", dir, strings.Join(want, ", "), strings.Join(have, "; "))
}

// Tensor is one input or output of a signature: its key, the graph
// tensor it maps to, and its declared type and shape (nil shape: unknown
// rank; -1: an open dimension).
type Tensor struct {
	Key   string
	Name  string // "op:index"
	DType tf.DataType
	Shape []int64
}

func (t Tensor) String() string {
	dims := "unknown rank"
	if t.Shape != nil {
		parts := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			if d < 0 {
				parts[i] = "?"
			} else {
				parts[i] = fmt.Sprint(d)
			}
		}
		dims = "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("%s (%s %s %s)", t.Key, t.Name, dims, dtypeName(t.DType))
}

func tensorOf(key string, ti *corepb.TensorInfo) Tensor {
	t := Tensor{Key: key, Name: ti.GetName(), DType: tf.DataType(ti.GetDtype())}
	if ts := ti.GetTensorShape(); ts != nil && !ts.GetUnknownRank() {
		t.Shape = make([]int64, len(ts.GetDim()))
		for i, d := range ts.GetDim() {
			t.Shape[i] = d.GetSize()
		}
	}
	return t
}

func dtypeName(d tf.DataType) string {
	switch d {
	case tf.Float:
		return "float32"
	case tf.Double:
		return "float64"
	case tf.Half:
		return "float16"
	case tf.Uint8:
		return "uint8"
	case tf.Int8:
		return "int8"
	case tf.Int32:
		return "int32"
	case tf.Int64:
		return "int64"
	case tf.String:
		return "string"
	case tf.Bool:
		return "bool"
	}
	name := typespb.DataType(d).String()
	return strings.ToLower(strings.TrimPrefix(name, "DT_"))
}

// sortedTensors lists a signature map's tensors by key.
func sortedTensors(m map[string]*corepb.TensorInfo) []Tensor {
	out := make([]Tensor, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, tensorOf(k, m[k]))
	}
	return out
}

// Signature is what a producer declares for Write: the serving
// signature's one input and one output.
type Signature struct {
	Input, Output Tensor
}

// SaverOps names the ops of the graph that save and restore its
// variables: a scalar string filename placeholder, a tensor that is
// evaluated to save, and an op that restores.
type SaverOps struct {
	Filename, Save, Restore string
}

// Write writes dir/saved_model.pb (one MetaGraph tagged serve holding
// graph, the saver and signature under serving_default) and
// dir/assets/fairage.json; the caller writes dir/variables/ with the
// saver, so that the checkpoint keys are the graph's own.
func Write(dir string, graph []byte, sig Signature, saver SaverOps, meta Metadata) error {
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(graph, &gd); err != nil {
		return fmt.Errorf("SavedModel %s: the graph does not parse: %w", dir, err)
	}
	info := func(t Tensor) *corepb.TensorInfo {
		shape := &shapepb.TensorShapeProto{}
		for _, d := range t.Shape {
			shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
		}
		return &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: t.Name}, Dtype: typespb.DataType(t.DType), TensorShape: shape}
	}
	mg := &corepb.MetaGraphDef{
		MetaInfoDef: &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{ServeTag}, TensorflowVersion: tf.Version()},
		GraphDef:    &gd,
		SaverDef: &corepb.SaverDef{FilenameTensorName: saver.Filename, SaveTensorName: saver.Save, RestoreOpName: saver.Restore,
			MaxToKeep: 1, KeepCheckpointEveryNHours: 10000, Version: corepb.SaverDef_V2},
		SignatureDef: map[string]*corepb.SignatureDef{DefaultSigKey: {
			Inputs:     map[string]*corepb.TensorInfo{sig.Input.Key: info(sig.Input)},
			Outputs:    map[string]*corepb.TensorInfo{sig.Output.Key: info(sig.Output)},
			MethodName: predictMethod,
		}},
	}
	b, err := proto.Marshal(&corepb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*corepb.MetaGraphDef{mg}})
	if err != nil {
		return fmt.Errorf("SavedModel %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ProtoFile), b, 0o644); err != nil {
		return fmt.Errorf("SavedModel: %w", err)
	}
	meta.Format, meta.Producer, meta.TensorFlow = metadataFormat, "fairage", tf.Version()
	meta.Signature, meta.Input, meta.Output = DefaultSigKey, sig.Input.Key, sig.Output.Key
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("SavedModel %s: metadata: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, AssetsDir), 0o755); err != nil {
		return fmt.Errorf("SavedModel: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, AssetsDir, MetadataFile), append(mb, '\n'), 0o644); err != nil {
		return fmt.Errorf("SavedModel: %w", err)
	}
	return nil
}
