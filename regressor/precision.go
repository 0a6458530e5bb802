package regressor

// Precision is the arithmetic a model's runtime uses for its heavy
// operations (train.precision, evaluate.precision). Reduced precisions are
// mixed: weights, optimizer state, the loss and checkpoints stay float32;
// only convolutions, matrix products and the element-wise work around
// them run in the narrower type. Which kinds honour it is Kind.Precision.
type Precision string

// The precisions.
const (
	// PrecisionFP32 runs everything in float32 (the default).
	PrecisionFP32 Precision = "fp32"
	// PrecisionBF16 runs the heavy operations in bfloat16 (float32's
	// range, 8 bits of mantissa): fast on CPUs with AVX-512 BF16 or AMX.
	PrecisionBF16 Precision = "bf16"
	// PrecisionFP16 runs them in float16: fast on GPUs (and CPUs with
	// AMX-FP16).
	PrecisionFP16 Precision = "fp16"
	// PrecisionAuto picks from the machine: see the kind's documentation.
	PrecisionAuto Precision = "auto"
)

// Values lists the precisions.
func (Precision) Values() []string {
	return []string{string(PrecisionFP32), string(PrecisionBF16), string(PrecisionFP16), string(PrecisionAuto)}
}

// Reduced reports whether p asks for something other than float32 (auto
// may still resolve to float32).
func (p Precision) Reduced() bool { return p != "" && p != PrecisionFP32 }
