package tfmodel

import (
	"fmt"
	"strings"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// face_resnet is dlib's face-recognition ResNet (dlib_face_recognition_
// resnet_model_v1, trained to tell identities apart on about 3 million
// faces) as @vladmandic/face-api runs it (src/faceRecognitionNet/):
// 150×150 RGB in, a 256-d pooled feature vector, and a 128-d descriptor
// after a bias-free fully connected layer. It has no batch norm: dlib folded
// it into per-channel affine "scale" layers, which are trainable variables
// here. Layer and variable names are face-api's weight names under
// "backbone/", so pretrained weights map one to one.
//
// Shapes at 150×150: conv32_down 7×7/2 valid → 72, max pool 3×3/2 valid →
// 35, three 32-channel blocks, then each residualDown halves the side
// (17, 8, 4, 2). The 'valid' convolutions need at least 103×103 pixels.

// faceResNetMinInput is the smallest input side whose feature map stays at
// least 3×3 before the last downsampling convolution.
const faceResNetMinInput = 103

// faceResNet builds the backbone and returns the head's input: the pooled
// features, or the descriptor when cfg.Features is "descriptor".
func faceResNet(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	x = l.affineConv("conv32_down", x, 32, 7, 2, true)
	x = l.maxPoolValid(x, 3, 2)

	x = faceResidual(l.in("conv32_1"), x)
	x = faceResidual(l.in("conv32_2"), x)
	x = faceResidual(l.in("conv32_3"), x)

	x = faceResidualDown(l.in("conv64_down"), x, 64)
	x = faceResidual(l.in("conv64_1"), x)
	x = faceResidual(l.in("conv64_2"), x)
	x = faceResidual(l.in("conv64_3"), x)

	x = faceResidualDown(l.in("conv128_down"), x, 128)
	x = faceResidual(l.in("conv128_1"), x)
	x = faceResidual(l.in("conv128_2"), x)

	x = faceResidualDown(l.in("conv256_down"), x, 256)
	x = faceResidual(l.in("conv256_1"), x)
	x = faceResidual(l.in("conv256_2"), x)
	x = faceResidualDown(l.in("conv256_down_out"), x, 256)

	x = l.globalAvgPool(x) // "pooled": 256-d
	if cfg.Features == "descriptor" {
		x = l.matMul("fc", x, 128) // face-api's computeFaceDescriptor
	}
	return x
}

// faceResidual: two 3×3 'same' affine convolutions (ReLU after the first)
// plus the identity, then ReLU.
func faceResidual(l layer, x tf.Output) tf.Output {
	c := int(channels(x))
	y := l.affineConv("conv1", x, c, 3, 1, true)
	y = l.affineConv("conv2", y, c, 3, 1, false)
	return l.relu(l.add(y, x))
}

// faceResidualDown: a 3×3/2 'valid' affine convolution (ReLU) and a 3×3
// 'same' one, plus a shortcut that is the 2×2/2 average pool of the input,
// zero-padded from its channels to width. Where the side is even the main
// path comes out one pixel smaller than the pool and gets a zero row at the
// bottom and a zero column at the right, as in face-api.
func faceResidualDown(l layer, x tf.Output, width int) tf.Output {
	y := l.affineConv("conv1", x, width, 3, 2, true)
	y = l.affineConv("conv2", y, width, 3, 1, false)
	s := l.s.SubScope("shortcut")
	pooled := op.AvgPool(s, x, []int64{1, 2, 2, 1}, []int64{1, 2, 2, 1}, "VALID")
	ph, pw := spatial(pooled)
	yh, yw := spatial(y)
	if ph != yh || pw != yw {
		y = op.Pad(s.SubScope("pad_main"), y, op.Const(s.SubScope("main_paddings"),
			[][]int32{{0, 0}, {0, int32(ph - yh)}, {0, int32(pw - yw)}, {0, 0}}))
	}
	if extra := int64(width) - channels(pooled); extra > 0 {
		pooled = op.Pad(s.SubScope("pad_channels"), pooled, op.Const(s.SubScope("channel_paddings"),
			[][]int32{{0, 0}, {0, 0}, {0, 0}, {0, int32(extra)}}))
	}
	return l.relu(l.add(y, pooled))
}

// affineConv is face-api's convLayer: convolution with bias, then the
// per-channel affine scale (x·weights + biases), then ReLU if relu. Stride
// 1 pads SAME; stride 2 (convDown) is VALID. Variables: conv/filters
// [k, k, in, filters], conv/bias, scale/weights, scale/biases.
//
// The scale is folded into the convolution, (x∗f + b)·w + c = x∗(f·w) +
// (b·w + c): the same function and gradients, but TensorFlow then fuses
// convolution, bias and ReLU into one kernel, and no pass over the
// activations is spent on the scale, forward or backward. Rounding differs
// from face-api's order in the last bits only (see the conformance test).
func (l layer) affineConv(name string, x tf.Output, filters, kernel, stride int, relu bool) tf.Output {
	l = l.in(name)
	in := channels(x)
	n := int64(filters)
	conv := l.in("conv")
	k := conv.variable("filters", []int64{int64(kernel), int64(kernel), in, n}, true, true, heNormal(int64(kernel*kernel)*in))
	b := conv.variable("bias", []int64{n}, true, false, constant(0))
	sc := l.in("scale")
	w := sc.variable("weights", []int64{n}, true, false, constant(1))
	c := sc.variable("biases", []int64{n}, true, false, constant(0))
	padding := "SAME"
	if stride != 1 {
		padding = "VALID"
	}
	folded := op.Mul(sc.s.SubScope("fold_filters"), k.read, w.read) // w broadcasts over the output channels
	bias := op.AddV2(sc.s.SubScope("fold_bias"), op.Mul(sc.s.SubScope("scale_bias"), b.read, w.read), c.read)
	y := op.Conv2D(conv.s, x, folded, []int64{1, int64(stride), int64(stride), 1}, padding)
	y = op.BiasAdd(conv.s, y, bias)
	if relu {
		y = l.relu(y)
	}
	return y
}

// maxPoolValid is max pooling without padding (face-api's 'valid').
func (l layer) maxPoolValid(x tf.Output, size, stride int) tf.Output {
	return op.MaxPool(l.s.SubScope("maxpool"), x,
		[]int64{1, int64(size), int64(size), 1}, []int64{1, int64(stride), int64(stride), 1}, "VALID")
}

// matMul is x·kernel without bias (variable name: the layer's own name, as
// face-api's "fc").
func (l layer) matMul(name string, x tf.Output, units int) tf.Output {
	in := channels(x)
	k := l.variable(name, []int64{in, int64(units)}, true, true, glorotUniform(in, int64(units)))
	return op.MatMul(l.s.SubScope(name), x, k.read)
}

// spatial is the static height and width of an NHWC tensor (0 when unknown).
func spatial(x tf.Output) (h, w int64) {
	if x.Op == nil {
		return 0, 0
	}
	sh := x.Shape()
	if sh.NumDimensions() != 4 {
		return 0, 0
	}
	return sh.Size(1), sh.Size(2)
}

// faceResNetStage numbers the variables of face_resnet for
// TrainConfig.FreezeStages: 1 the stem (conv32_down), 2-5 the 32-, 64-, 128-
// and 256-channel stages (fc counts with the last).
func faceResNetStage(name string) int {
	rest, ok := strings.CutPrefix(name, "backbone/")
	if !ok {
		return 0
	}
	for _, p := range []struct {
		prefix string
		stage  int
	}{{"conv32_down/", 1}, {"conv32_", 2}, {"conv64_", 3}, {"conv128_", 4}, {"conv256_", 5}, {"fc", 5}} {
		if _, ok := strings.CutPrefix(rest, p.prefix); ok {
			return p.stage
		}
	}
	return 0
}

// checkFaceResNetInput rejects input sizes the 'valid' layers cannot take.
func checkFaceResNetInput(size int) error {
	if size < faceResNetMinInput {
		return fmt.Errorf("%d pixels is too small for face_resnet: its 'valid' convolutions and poolings need at least %d (the pretrained weights expect 150)",
			size, faceResNetMinInput)
	}
	return nil
}
