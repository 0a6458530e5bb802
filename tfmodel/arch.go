package tfmodel

import (
	"fmt"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// The networks, readable top to bottom like their Keras definitions. Widths
// are the ResNet paper's 64-128-256-512, scaled by
// ModelConfig.WidthMultiplier; padding is SAME, so any input size works.

// backbones maps ModelConfig.Arch to its builder.
var backbones = map[string]func(l layer, x tf.Output, cfg ModelConfig) tf.Output{
	"resnet18": resnet18,
	"resnet34": resnet34,
	"resnet50": resnet50,
}

func resnet18(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	return resnet(l, x, cfg, []int{2, 2, 2, 2}, basicBlock)
}

func resnet34(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	return resnet(l, x, cfg, []int{3, 4, 6, 3}, basicBlock)
}

func resnet50(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	return resnet(l, x, cfg, []int{3, 4, 6, 3}, bottleneckBlock)
}

// block is a residual block of the given base width; stride 2 halves the
// resolution.
type block func(l layer, x tf.Output, width, stride int, cfg ModelConfig) tf.Output

// resnet is the stem, four stages of blocks (the first block of stages 2-4
// downsamples) and global average pooling: the pooled features.
func resnet(l layer, x tf.Output, cfg ModelConfig, blocks []int, b block) tf.Output {
	x = stem(l.in("stem"), x, cfg)
	for stage, n := range blocks {
		width := scaledWidth(64<<stage, cfg.WidthMultiplier)
		for i := range n {
			stride := 1
			if stage > 0 && i == 0 {
				stride = 2
			}
			x = b(l.in(fmt.Sprintf("stage%d/block%d", stage+1, i+1)), x, width, stride, cfg)
		}
	}
	return l.globalAvgPool(x)
}

// stem: 7×7/2 convolution, batch norm, ReLU, 3×3/2 max pool.
func stem(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	x = l.conv("conv", x, scaledWidth(64, cfg.WidthMultiplier), 7, 2)
	x = l.relu(l.bn("bn", x, cfg.BNMomentum))
	return l.maxPool(x, 3, 2)
}

// basicBlock (resnet18/34): two 3×3 convolutions plus the shortcut, which
// is projected by a 1×1 convolution when the shape changes.
func basicBlock(l layer, x tf.Output, width, stride int, cfg ModelConfig) tf.Output {
	m := cfg.BNMomentum
	y := l.relu(l.bn("bn1", l.conv("conv1", x, width, 3, stride), m))
	y = l.bn("bn2", l.conv("conv2", y, width, 3, 1), m)
	return l.relu(l.add(y, shortcut(l, x, width, stride, m)))
}

// bottleneckBlock (resnet50): 1×1 reduce, 3×3 (carrying the stride, as in
// ResNet v1.5), 1×1 expand to 4× width, plus the shortcut.
func bottleneckBlock(l layer, x tf.Output, width, stride int, cfg ModelConfig) tf.Output {
	m := cfg.BNMomentum
	y := l.relu(l.bn("bn1", l.conv("conv1", x, width, 1, 1), m))
	y = l.relu(l.bn("bn2", l.conv("conv2", y, width, 3, stride), m))
	y = l.bn("bn3", l.conv("conv3", y, 4*width, 1, 1), m)
	return l.relu(l.add(y, shortcut(l, x, 4*width, stride, m)))
}

func shortcut(l layer, x tf.Output, width, stride int, momentum float64) tf.Output {
	if stride == 1 && channels(x) == int64(width) {
		return x
	}
	return l.bn("shortcut_bn", l.conv("shortcut", x, width, 1, stride), momentum)
}

// head is the study's regression head on the pooled features: dense+ReLU
// layers each followed by dropout, then one unit through a sigmoid. It
// returns the prediction scaled to [0, 1] (× AgeMax gives years).
func head(l layer, x tf.Output, cfg ModelConfig) tf.Output {
	for i, units := range cfg.Head {
		x = l.dropout(l.relu(l.dense(fmt.Sprintf("dense%d", i+1), x, units, heDense)), cfg.Dropout)
	}
	z := l.dense("output", x, 1, glorotDense)
	s := l.s.SubScope("prediction")
	return op.Reshape(s, op.Sigmoid(s, z), op.Const(s.SubScope("shape"), []int32{-1}))
}
