package tfmodel

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"

	"fairage/regressor"
)

// Mixed precision goes through TensorFlow's own graph rewrite (Grappler's
// auto_mixed_precision passes, switched on in the session's ConfigProto)
// rather than casts built into the graph here: the rewrite knows which
// kernels have fast bfloat16/float16 versions on the device (oneDNN on
// the CPU, cuDNN on a GPU), keeps variables, the optimizer and batch-norm
// statistics in float32 (FusedBatchNormV3's scale, offset, mean and
// variance stay float32), inserts the casts at the boundaries, and leaves
// the graph we build, and so the checkpoints, in float32. (It also paints
// the element-wise ops after the last matrix product, so the output unit,
// the sigmoid and the per-sample errors run in the reduced type; the loss's
// batch mean and everything fetched stay float32.) A checkpoint
// trained in bf16 loads into a float32 run, and Python, unchanged.
//
// What each setting does here:
//
//	fp32  no rewrite.
//	bf16  auto_mixed_precision_onednn_bfloat16: ops on the CPU. Native on
//	      CPUs with avx512_bf16 or amx_bf16; elsewhere oneDNN emulates
//	      bfloat16 (a warning says so: slower than float32). Ops on a GPU
//	      stay float32 (TensorFlow's GPU rewrite targets float16).
//	fp16  auto_mixed_precision: float16 on a GPU with fast float16 (compute
//	      capability 7.0 or newer), or on a CPU with AMX-FP16. On a CPU
//	      without amx_fp16 TensorFlow would leave the graph in float32
//	      without a word, so that is an error here. (Its CPU emulation,
//	      auto_mixed_precision_cpu, computes in float32 and only imitates
//	      float16 rounding; it is slower and not offered.) Training in
//	      float16 has no loss scaling here: tiny gradients can underflow.
//	auto  fp16 with a GPU; else fp32. bf16 was the intended choice on a
//	      CPU with native bfloat16, but on M5 / UTKFace it made the test
//	      MAE significantly worse (6.90 → 7.30 years, Holm p = 0.005) and
//	      trained no faster on avx512_bf16, so auto does not pick it. The
//	      choice and its reason are logged and recorded.

// Precision is a model's arithmetic (train.precision, evaluate.precision).
type Precision = regressor.Precision

// Hardware is what precision resolution looks at: the CPU's feature flags
// (as /proc/cpuinfo lists them), the GPUs TensorFlow sees, and whether
// oneDNN is on (TF_ENABLE_ONEDNN_OPTS=0 turns it, and with it the bf16
// rewrite, off).
type Hardware struct {
	CPUFlags []string
	GPUs     []string
	OneDNN   bool
}

func (h Hardware) has(flag string) bool { return slices.Contains(h.CPUFlags, flag) }

// nativeBF16 names the CPU flag that gives native bfloat16 ("" for none).
func (h Hardware) nativeBF16() string {
	for _, f := range []string{"amx_bf16", "avx512_bf16"} {
		if h.has(f) {
			return f
		}
	}
	return ""
}

// PrecisionChoice is a resolved precision: what was asked, what runs, why,
// and what the user should know about it (Warning, "" for nothing).
type PrecisionChoice struct {
	Setting  Precision `json:"setting"`
	Resolved Precision `json:"resolved"`
	Reason   string    `json:"reason"`
	Warning  string    `json:"warning,omitempty"`
}

// String is the resolved precision with its reason, for logs and
// descriptions.
func (c PrecisionChoice) String() string {
	if c.Setting == regressor.PrecisionAuto {
		return fmt.Sprintf("%s (auto: %s)", c.Resolved, c.Reason)
	}
	return fmt.Sprintf("%s (%s)", c.Resolved, c.Reason)
}

// ResolvePrecision decides what a setting runs as on hw. It is a pure
// function of its arguments (the tests give it made-up machines); key names
// the setting in errors (train.precision, evaluate.precision).
func ResolvePrecision(key string, p Precision, hw Hardware) (PrecisionChoice, error) {
	c := PrecisionChoice{Setting: p, Resolved: p}
	gpu := len(hw.GPUs) > 0
	bf16 := hw.nativeBF16()
	switch p {
	case "", regressor.PrecisionFP32:
		c.Setting, c.Resolved, c.Reason = regressor.PrecisionFP32, regressor.PrecisionFP32, "float32 throughout"
	case regressor.PrecisionAuto:
		switch {
		case gpu:
			c.Resolved, c.Reason = regressor.PrecisionFP16, "a GPU is present ("+strings.Join(hw.GPUs, ", ")+"); TensorFlow's GPU rewrite uses float16"
		case bf16 != "":
			// Measured (docs/results.md): M5 on UTKFace trained in bf16 lost
			// 0.40 years of test MAE against fp32 with the same seed (6.90 →
			// 7.30, paired permutation test, Holm p = 0.005), and training
			// was no faster on avx512_bf16; bf16 stays an explicit choice.
			c.Resolved, c.Reason = regressor.PrecisionFP32, "the CPU has "+bf16+", but bf16 training measured significantly worse (M5 on UTKFace: test MAE 6.90 fp32 vs 7.30 bf16, Holm p = 0.005); set bf16 explicitly to use it"
		default:
			c.Resolved, c.Reason = regressor.PrecisionFP32, "no GPU, and the CPU has neither avx512_bf16 nor amx_bf16 (bf16 would be emulated, slower than fp32)"
		}
	case regressor.PrecisionBF16:
		if !hw.OneDNN {
			return c, fmt.Errorf("%s: bf16 needs TensorFlow's oneDNN CPU kernels, which TF_ENABLE_ONEDNN_OPTS=0 turns off; unset it or use fp32", key)
		}
		c.Reason = "TensorFlow's oneDNN bfloat16 rewrite on the CPU"
		if bf16 != "" {
			c.Reason += " (native: the CPU has " + bf16 + ")"
		} else {
			c.Warning = "the CPU has neither avx512_bf16 nor amx_bf16: oneDNN emulates bfloat16, which is slower than fp32"
		}
		if gpu {
			c.Warning = strings.TrimPrefix(c.Warning+"; ", "; ") + "a GPU is present, but TensorFlow's bf16 rewrite covers CPU ops only: ops on the GPU stay float32 (use fp16 or auto there)"
		}
	case regressor.PrecisionFP16:
		switch {
		case gpu:
			c.Reason = "TensorFlow's float16 rewrite on the GPU (" + strings.Join(hw.GPUs, ", ") + ")"
		case hw.has("amx_fp16") && hw.OneDNN:
			c.Reason = "TensorFlow's float16 rewrite on the CPU (the CPU has amx_fp16)"
		default:
			alt := "fp32"
			if bf16 != "" && hw.OneDNN {
				alt = "bf16 (this CPU has " + bf16 + ") or fp32"
			}
			return c, fmt.Errorf("%s: fp16 needs a GPU or a CPU with AMX-FP16 (amx_fp16), and this machine has neither: TensorFlow would silently keep float32 (its CPU float16 emulation computes in float32 and is slower); use %s", key, alt)
		}
	default:
		return c, fmt.Errorf("%s: %q is not one of %s", key, p, strings.Join(p.Values(), ", "))
	}
	return c, nil
}

// rewrite switches on the Grappler pass that implements c in cfg.
func (c PrecisionChoice) rewrite(cfg *corepb.ConfigProto) {
	var rw corepb.RewriterConfig
	switch c.Resolved {
	case regressor.PrecisionBF16:
		rw.AutoMixedPrecisionOnednnBfloat16 = corepb.RewriterConfig_ON
	case regressor.PrecisionFP16:
		rw.AutoMixedPrecision = corepb.RewriterConfig_ON
	default:
		return
	}
	if cfg.GraphOptions == nil {
		cfg.GraphOptions = &corepb.GraphOptions{}
	}
	cfg.GraphOptions.RewriteOptions = &rw
}

// DetectHardware reads this machine's CPU flags and the GPUs TensorFlow
// sees (once per process: it starts an empty session to list devices).
var DetectHardware = sync.OnceValue(func() Hardware {
	hw := Hardware{OneDNN: oneDNNEnabled(os.Getenv("TF_ENABLE_ONEDNN_OPTS"))}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		hw.CPUFlags = parseCPUFlags(string(b))
	}
	hw.GPUs = gpuDevices()
	return hw
})

// AutoPrecisionDigest is what an auto setting resolves to on this machine,
// for a stage's fingerprint ("precision auto=bf16"); "" for any other
// setting, whose meaning does not depend on the machine.
func AutoPrecisionDigest(key string, p Precision) (string, error) {
	if p != regressor.PrecisionAuto {
		return "", nil
	}
	c, err := ResolvePrecision(key, p, DetectHardware())
	if err != nil {
		return "", err
	}
	return "precision auto=" + string(c.Resolved), nil
}

// parseCPUFlags returns the flags of the first processor in a
// /proc/cpuinfo text (x86 "flags", arm64 "Features"), sorted.
func parseCPUFlags(cpuinfo string) []string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if k := strings.TrimSpace(key); k == "flags" || k == "Features" {
			flags := strings.Fields(val)
			slices.Sort(flags)
			return slices.Compact(flags)
		}
	}
	return nil
}

// oneDNNEnabled mirrors TensorFlow's reading of TF_ENABLE_ONEDNN_OPTS on
// x86 Linux, where its oneDNN kernels are on unless the variable is false.
func oneDNNEnabled(env string) bool {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "0", "false", "off", "no":
		return false
	}
	return true
}

// gpuDevices lists the GPUs an empty session sees (none when the library
// lacks CUDA support or finds none).
func gpuDevices() []string {
	sess, err := tf.NewSession(tf.NewGraph(), nil)
	if err != nil {
		return nil
	}
	defer sess.Close()
	devs, err := sess.ListDevices()
	if err != nil {
		return nil
	}
	var gpus []string
	for _, d := range devs {
		if strings.EqualFold(d.Type, "GPU") {
			gpus = append(gpus, d.Name)
		}
	}
	return gpus
}

// resolvedPrecision resolves the precision of a model being opened: the
// TrainConfig's when training, else the one given WithPrecision. fp32
// never probes the machine.
func (o *options) resolvedPrecision() (PrecisionChoice, error) {
	key, p := "evaluate.precision", o.precision
	if o.train != nil {
		key, p = "train.precision", o.train.Precision
	}
	if !p.Reduced() {
		return ResolvePrecision(key, p, Hardware{})
	}
	c, err := ResolvePrecision(key, p, DetectHardware())
	if err == nil && o.train != nil && c.Resolved == regressor.PrecisionFP16 {
		c.Warning = strings.TrimPrefix(c.Warning+"; ", "; ") + "float16 training runs without loss scaling here: gradients below float16's range (about 6e-8) become zero; bf16 has float32's range and needs none"
	}
	return c, err
}

// logPrecision says what a reduced or automatic precision resolved to, and
// warns where it will be slow or partial; fp32 by choice says nothing.
func logPrecision(log *slog.Logger, c PrecisionChoice) {
	if c.Setting == regressor.PrecisionAuto {
		log.Info(fmt.Sprintf("precision auto: %s because %s", c.Resolved, c.Reason))
	} else if c.Resolved != regressor.PrecisionFP32 {
		log.Info(fmt.Sprintf("precision %s: %s", c.Resolved, c.Reason))
	}
	if c.Warning != "" {
		log.Warn("precision " + string(c.Setting) + ": " + c.Warning)
	}
}
