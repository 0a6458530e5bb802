package tfmodel

import (
	"fmt"
	"slices"
)

func init() { backbones[ArchFaceResNet] = faceResNet }

// InputNorm is the pixel normalisation a backbone expects, done in the
// graph on 0-255 RGB values: (x − Mean) / Std per channel. It is part of
// the network (model.json records it) because pretrained weights only mean
// something with the normalisation they were trained with.
type InputNorm struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// inputNormFor is the normalisation of arch: ImageNet's mean and standard
// deviation for the ResNets (as torchvision and Keras normalise them),
// face-api's mean RGB then /255 for face_resnet (src/ops/normalize.ts and
// FaceRecognitionNet.ts).
func inputNormFor(arch Arch) InputNorm {
	if arch == ArchFaceResNet {
		return InputNorm{Mean: []float32{122.782, 117.001, 104.298}, Std: []float32{255, 255, 255}}
	}
	return InputNorm{Mean: pixelMean, Std: pixelStd}
}

func (n InputNorm) equal(o InputNorm) bool {
	return slices.Equal(n.Mean, o.Mean) && slices.Equal(n.Std, o.Std)
}

func (n InputNorm) String() string {
	return fmt.Sprintf("mean %v, std %v", n.Mean, n.Std)
}

// validateBackbone checks the fields that depend on the architecture:
// pretrained weights exist for it, the features exist in it, the input
// is large enough.
func (c ModelConfig) validateBackbone() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("model.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	// Allowed values are checked by the field declarations (spec.Check);
	// these are the rules between fields.
	if c.Pretrained != "none" {
		if src, ok := pretrained[c.Pretrained]; ok && src.arch != c.Arch {
			bad("pretrained", "%s weights exist for arch %s only, not %s (use model.pretrained: none to train %s from scratch)",
				c.Pretrained, src.arch, c.Arch, c.Arch)
		}
	}
	if c.Features == "descriptor" && c.Arch != ArchFaceResNet {
		bad("features", "descriptor exists only for arch %s (%s has pooled features only)", ArchFaceResNet, c.Arch)
	}
	if c.Arch == ArchFaceResNet {
		if err := checkFaceResNetInput(c.InputSize); err != nil {
			bad("input_size", "%v", err)
		}
		if c.WidthMultiplier != 1 {
			bad("width_multiplier", "%v: face_resnet has fixed widths (32-64-128-256); leave it at 1", c.WidthMultiplier)
		}
	}
	return errs
}

// sameBackbone lists how c and other differ in backbone settings that a
// checkpoint depends on.
func (c ModelConfig) sameBackbone(other ModelConfig) []string {
	var diffs []string
	if c.Pretrained != other.Pretrained {
		diffs = append(diffs, fmt.Sprintf("pretrained %s vs %s", c.Pretrained, other.Pretrained))
	}
	if c.Features != other.Features {
		diffs = append(diffs, fmt.Sprintf("features %s vs %s", c.Features, other.Features))
	}
	return diffs
}

// backboneDefaults fills the backbone fields that model.json files written
// before they existed lack, and refuses a file whose recorded input
// normalisation is not the one this code applies to its architecture.
func (mf *modelFile) backboneDefaults(dir string) error {
	if mf.Model.Pretrained == "" {
		mf.Model.Pretrained = "none"
	}
	if mf.Model.Features == "" {
		mf.Model.Features = "pooled"
	}
	if mf.Input != nil {
		if want := inputNormFor(mf.Model.Arch); !mf.Input.equal(want) {
			return fmt.Errorf("load checkpoint %s: %s records input normalisation %s, but %s networks here normalise with %s",
				dir, modelFileName, mf.Input, mf.Model.Arch, want)
		}
	}
	if mf.Model.Pretrained != "none" && mf.Weights == nil {
		return fmt.Errorf("load checkpoint %s: %s says model.pretrained %s but records no pretrained_weights", dir, modelFileName, mf.Model.Pretrained)
	}
	return nil
}
