// Package tfjsmodel runs TensorFlow.js graph models (a model.json with its
// weight shards, as npm packages ship them) on the libtensorflow fairage
// links: model kind tfjs and the presets built on it.
//
// A graph model's modelTopology is a TensorFlow GraphDef written as JSON
// (the protobuf JSON mapping: string attributes base64, int64 as strings),
// and its weightsManifest holds the values of the Const nodes that
// tfjs-converter emptied. Convert turns the two back into one GraphDef with
// every weight inside its Const node, after rewriting what TF.js changed
// (see rewrite.go); Import loads that into a tf.Graph. The package owns the
// format and its rewrites; the weights' file format is package weights',
// and the images' preprocessing package preprocess'.
package tfjsmodel

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fairage/weights"

	graphpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	nodepb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	tensorpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	shapepb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typespb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/types_go_proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// Converted is a graph model turned into a self-contained GraphDef.
type Converted struct {
	// Source is the model.json it came from ("" when converted from bytes).
	Source string
	// Def holds every node, weights inside their Const nodes.
	Def *graphpb.GraphDef
	// Inputs and Outputs are the model's signature (tensor names such as
	// "input_1:0"), empty when model.json declares none.
	Inputs, Outputs []Signature
	// Rewrites says what was changed to make TensorFlow accept the graph,
	// one line per kind of change, for the run manifest.
	Rewrites []string
	// Files are the manifest and shards read, with their digests.
	Files []weights.File
}

// Signature is one input or output tensor a model.json declares.
type Signature struct {
	Key   string  // the signature's key (e.g. "age_output")
	Name  string  // the tensor, node[:index]
	DType string  // e.g. DT_FLOAT
	Shape []int64 // -1 for a free dimension; nil when unknown
}

// modelJSON is what this package reads of a model.json.
type modelJSON struct {
	Format              string                              `json:"format"`
	GeneratedBy         string                              `json:"generatedBy"`
	ConvertedBy         string                              `json:"convertedBy"`
	ModelTopology       json.RawMessage                     `json:"modelTopology"`
	WeightsManifest     json.RawMessage                     `json:"weightsManifest"`
	Signature           *signatureJSON                      `json:"signature"`
	UserDefinedMetadata *struct{ Signature *signatureJSON } `json:"userDefinedMetadata"`
}

type signatureJSON struct {
	Inputs  map[string]tensorInfoJSON `json:"inputs"`
	Outputs map[string]tensorInfoJSON `json:"outputs"`
}

type tensorInfoJSON struct {
	Name        string `json:"name"`
	DType       string `json:"dtype"`
	TensorShape struct {
		Dim []struct {
			Size json.Number `json:"size"`
		} `json:"dim"`
	} `json:"tensorShape"`
}

// ReadModel reads the graph model at path (a model.json) and its shards,
// resolved relative to its folder, and converts it.
func ReadModel(path string) (*Converted, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("TF.js model %s: no such file", path)
		}
		return nil, fmt.Errorf("TF.js model %s: %w", path, err)
	}
	c, err := Convert(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("TF.js model %s: %w", path, err)
	}
	c.Source = path
	c.Files = append([]weights.File{{Path: path, Size: int64(len(b)), SHA256: sha(b)}}, c.Files...)
	return c, nil
}

// Convert turns the bytes of a model.json into a GraphDef, reading its
// shards from dir.
func Convert(modelJSONBytes []byte, dir string) (*Converted, error) {
	var m modelJSON
	if b := bytes.TrimSpace(modelJSONBytes); len(b) > 0 && b[0] == '[' {
		return nil, errors.New("this is a weights manifest (a JSON list of shard groups) without a graph, not a graph model's model.json: " +
			"a weights-only model (such as face-api's nets) needs its network built in code")
	}
	if err := json.Unmarshal(modelJSONBytes, &m); err != nil {
		return nil, fmt.Errorf("not a TF.js model.json: %w", err)
	}
	if err := checkFormat(m); err != nil {
		return nil, err
	}
	def := &graphpb.GraphDef{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(m.ModelTopology, def); err != nil {
		return nil, fmt.Errorf("modelTopology is not a GraphDef in JSON: %w", err)
	}
	if len(def.Node) == 0 {
		return nil, errors.New("modelTopology has no nodes")
	}
	c := &Converted{Def: def}
	if len(m.WeightsManifest) == 0 {
		return nil, errors.New("no weightsManifest: a graph model lists its weight shards there")
	}
	manifest, err := weights.ParseManifest(m.WeightsManifest)
	if err != nil {
		return nil, fmt.Errorf("weightsManifest: %w", err)
	}
	set, err := weights.Load(dir, manifest)
	if err != nil {
		return nil, fmt.Errorf("weightsManifest: %w", err)
	}
	c.Files = set.Files
	if err := fillConsts(def, set, &c.Rewrites); err != nil {
		return nil, err
	}
	sig := m.Signature
	if sig == nil && m.UserDefinedMetadata != nil {
		sig = m.UserDefinedMetadata.Signature
	}
	if sig != nil {
		if c.Inputs, err = signatures("signature.inputs", sig.Inputs); err != nil {
			return nil, err
		}
		if c.Outputs, err = signatures("signature.outputs", sig.Outputs); err != nil {
			return nil, err
		}
	}
	// Device placements (tfjs-converter keeps "/device:CPU:0") would pin
	// the graph; TensorFlow places it itself.
	for _, n := range def.Node {
		n.Device = ""
	}
	if err := rewrite(def, &c.Rewrites); err != nil {
		return nil, err
	}
	if err := checkInputs(def); err != nil {
		return nil, err
	}
	return c, nil
}

// checkFormat tells a layers model (a Keras topology) from a graph model.
func checkFormat(m modelJSON) error {
	layers := errors.New("this is a TF.js layers model (a Keras topology with weights), not a graph model; " +
		"convert it to a graph model with tensorflowjs_converter --input_format=tfjs_layers_model --output_format=tfjs_graph_model, " +
		"or export the original Keras model as a SavedModel")
	switch m.Format {
	case "layers-model":
		return layers
	case "graph-model", "":
	default:
		return fmt.Errorf("format %q: only graph-model files are read", m.Format)
	}
	if len(m.ModelTopology) == 0 {
		return errors.New("no modelTopology: not a TF.js graph model")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(m.ModelTopology, &probe); err != nil {
		return fmt.Errorf("modelTopology is not a JSON object: %w", err)
	}
	if _, ok := probe["class_name"]; ok {
		return layers
	}
	if _, ok := probe["model_config"]; ok {
		return layers
	}
	if _, ok := probe["node"]; !ok {
		return errors.New("modelTopology has no node list: not a TF.js graph model")
	}
	return nil
}

func signatures(key string, in map[string]tensorInfoJSON) ([]Signature, error) {
	var out []Signature
	for _, k := range sortedKeys(in) {
		t := in[k]
		s := Signature{Key: k, Name: t.Name, DType: t.DType}
		for _, d := range t.TensorShape.Dim {
			v, err := d.Size.Int64()
			if err != nil {
				return nil, fmt.Errorf("%s.%s: dimension %q is not an integer", key, k, d.Size)
			}
			s.Shape = append(s.Shape, v)
		}
		if s.Name == "" {
			s.Name = k
		}
		out = append(out, s)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// fillConsts puts each weight into the Const node of its name, checking
// the node's declared dtype and shape against the manifest's.
func fillConsts(def *graphpb.GraphDef, set *weights.Set, notes *[]string) error {
	byName := map[string]*nodepb.NodeDef{}
	for _, n := range def.Node {
		if _, dup := byName[n.Name]; dup {
			return fmt.Errorf("modelTopology: two nodes are called %q", n.Name)
		}
		byName[n.Name] = n
	}
	filled := map[string]bool{}
	var unused []string
	for _, name := range set.Names() {
		t, _ := set.Tensor(name)
		n, ok := byName[name]
		if !ok {
			unused = append(unused, name)
			continue
		}
		if n.Op != "Const" {
			return fmt.Errorf("weight %q belongs to node %q, a %s, not a Const", name, name, n.Op)
		}
		tp, err := tensorProto(t)
		if err != nil {
			return fmt.Errorf("weight %q: %w", name, err)
		}
		if v := n.Attr["value"].GetTensor(); v != nil {
			if v.Dtype != typespb.DataType_DT_INVALID && v.Dtype != tp.Dtype {
				return fmt.Errorf("weight %q is %s in weightsManifest but its Const node declares %s", name, t.DType, v.Dtype)
			}
			if v.TensorShape != nil && !sameShape(v.TensorShape, t.Shape) {
				return fmt.Errorf("weight %q has shape %v in weightsManifest but its Const node declares %v", name, t.Shape, dims(v.TensorShape))
			}
		}
		n.Attr = withAttr(n.Attr, "value", tensorAttr(tp))
		n.Attr["dtype"] = typeAttr(tp.Dtype)
		filled[name] = true
	}
	for _, n := range def.Node {
		if n.Op != "Const" || filled[n.Name] {
			continue
		}
		v := n.Attr["value"].GetTensor()
		if v == nil || !hasValues(v) {
			return fmt.Errorf("Const node %q has no value: neither in modelTopology nor in weightsManifest (shards of another model?)", n.Name)
		}
	}
	if len(unused) > 0 {
		*notes = append(*notes, fmt.Sprintf("%d weights in weightsManifest match no node and are unused (TF.js ignores them too): %s",
			len(unused), strings.Join(firstFew(unused, 5), ", ")))
	}
	return nil
}

func hasValues(t *tensorpb.TensorProto) bool {
	return len(t.TensorContent) > 0 || len(t.FloatVal) > 0 || len(t.IntVal) > 0 || len(t.HalfVal) > 0 || len(t.DoubleVal) > 0 ||
		len(t.Int64Val) > 0 || len(t.BoolVal) > 0 || len(t.StringVal) > 0
}

func firstFew(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], "…")
}

func sameShape(s *shapepb.TensorShapeProto, shape []int) bool {
	if s.UnknownRank {
		return true
	}
	if len(s.Dim) != len(shape) {
		return false
	}
	for i, d := range s.Dim {
		if d.Size >= 0 && d.Size != int64(shape[i]) {
			return false
		}
	}
	return true
}

func dims(s *shapepb.TensorShapeProto) []int64 {
	out := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		out[i] = d.Size
	}
	return out
}

// tensorProto encodes a decoded weight as TensorFlow's TensorProto (raw
// little-endian content, as TensorFlow writes it).
func tensorProto(t *weights.Tensor) (*tensorpb.TensorProto, error) {
	shape := &shapepb.TensorShapeProto{}
	for _, d := range t.Shape {
		shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: int64(d)})
	}
	tp := &tensorpb.TensorProto{TensorShape: shape}
	le := binary.LittleEndian
	switch t.DType {
	case "float32":
		tp.Dtype = typespb.DataType_DT_FLOAT
		b := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			le.PutUint32(b[4*i:], math.Float32bits(v))
		}
		tp.TensorContent = b
	case "int32":
		tp.Dtype = typespb.DataType_DT_INT32
		b := make([]byte, 4*len(t.Ints))
		for i, v := range t.Ints {
			le.PutUint32(b[4*i:], uint32(v))
		}
		tp.TensorContent = b
	case "bool":
		tp.Dtype = typespb.DataType_DT_BOOL
		b := make([]byte, len(t.Ints))
		for i, v := range t.Ints {
			b[i] = byte(v)
		}
		tp.TensorContent = b
	default:
		return nil, fmt.Errorf("dtype %s cannot become a Const", t.DType)
	}
	return tp, nil
}

// checkInputs verifies that every input of every node names a node of the
// graph (TensorFlow's own message would name only the first).
func checkInputs(def *graphpb.GraphDef) error {
	names := map[string]bool{}
	for _, n := range def.Node {
		names[n.Name] = true
	}
	var errs []error
	for _, n := range def.Node {
		for _, in := range n.Input {
			src := nodeOf(in)
			if !names[src] {
				errs = append(errs, fmt.Errorf("node %q (%s) reads %q, but the graph has no node %q", n.Name, n.Op, in, src))
			}
		}
		if len(errs) >= 5 {
			errs = append(errs, errors.New("(further missing inputs not listed)"))
			break
		}
	}
	return errors.Join(errs...)
}

// nodeOf is the node of an input reference: "name", "name:1" or "^name".
func nodeOf(in string) string {
	in = strings.TrimPrefix(in, "^")
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		return in[:i]
	}
	return in
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
