package tfmodel

import (
	"strconv"
	"strings"
)

// Stages of a backbone, for TrainConfig.FreezeStages. Every backbone has
// numStages: stage 1 is the stem (the first convolution and its pooling),
// stages 2-5 the groups of residual blocks, one per resolution (resnetXX:
// stage1-stage4; face_resnet: its 32-, 64-, 128- and 256-channel blocks).
// Freezing the first N keeps their variables (and batch-norm statistics)
// as they are while the later stages and the head train.
const numStages = 5

// stageOf maps a variable name to its backbone stage (0: not in a stage,
// e.g. a head variable), per architecture.
var stageOf = map[Arch]func(name string) int{
	"resnet18":     resnetStage,
	"resnet34":     resnetStage,
	"resnet50":     resnetStage,
	ArchFaceResNet: faceResNetStage,
}

// resnetStage: backbone/stem/... is stage 1, backbone/stageK/... is K+1.
func resnetStage(name string) int {
	rest, ok := strings.CutPrefix(name, "backbone/")
	if !ok {
		return 0
	}
	if strings.HasPrefix(rest, "stem/") {
		return 1
	}
	if s, ok := strings.CutPrefix(rest, "stage"); ok {
		if i := strings.IndexByte(s, '/'); i > 0 {
			if k, err := strconv.Atoi(s[:i]); err == nil {
				return k + 1
			}
		}
	}
	return 0
}

// frozenIn reports whether the layer or variable called name is in one of
// the first n stages of arch.
func frozenIn(arch Arch, n int, name string) bool {
	if n <= 0 {
		return false
	}
	st := stageOf[arch](name)
	return st > 0 && st <= n
}
