package tfmodel

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/regressor"
)

// TestResolvePrecision: the documented table, on made-up machines.
func TestResolvePrecision(t *testing.T) {
	plain := Hardware{CPUFlags: []string{"avx2", "avx512f", "fma", "sse4_2"}, OneDNN: true}
	zen4 := Hardware{CPUFlags: []string{"avx2", "avx512_bf16", "avx512f"}, OneDNN: true}
	spr := Hardware{CPUFlags: []string{"amx_bf16", "amx_tile", "avx512_bf16"}, OneDNN: true}
	gnr := Hardware{CPUFlags: []string{"amx_bf16", "amx_fp16", "amx_tile"}, OneDNN: true}
	gpu := Hardware{CPUFlags: plain.CPUFlags, GPUs: []string{"/device:GPU:0"}, OneDNN: true}
	noDNN := Hardware{CPUFlags: zen4.CPUFlags}
	tests := []struct {
		name    string
		p       Precision
		hw      Hardware
		want    Precision
		reason  string // substring of Reason
		warning string // substring of Warning ("" for none)
		err     string // substring of the error ("" for none)
	}{
		{"default", "", plain, "fp32", "float32", "", ""},
		{"fp32", "fp32", zen4, "fp32", "float32", "", ""},
		{"auto avx512_bf16", "auto", zen4, "fp32", "bf16 training measured significantly worse", "", ""},
		{"auto amx", "auto", spr, "fp32", "the CPU has amx_bf16, but bf16 training measured", "", ""},
		{"auto plain CPU", "auto", plain, "fp32", "neither avx512_bf16 nor amx_bf16", "", ""},
		{"auto GPU", "auto", gpu, "fp16", "a GPU is present (/device:GPU:0)", "", ""},
		{"auto oneDNN off", "auto", noDNN, "fp32", "bf16 training measured significantly worse", "", ""},
		{"bf16 native", "bf16", zen4, "bf16", "native: the CPU has avx512_bf16", "", ""},
		{"bf16 emulated", "bf16", plain, "bf16", "oneDNN", "emulates bfloat16, which is slower", ""},
		{"bf16 with a GPU", "bf16", gpu, "bf16", "oneDNN", "ops on the GPU stay float32", ""},
		{"bf16 oneDNN off", "bf16", noDNN, "", "", "", "train.precision: bf16 needs TensorFlow's oneDNN"},
		{"fp16 GPU", "fp16", gpu, "fp16", "on the GPU", "", ""},
		{"fp16 AMX-FP16", "fp16", gnr, "fp16", "amx_fp16", "", ""},
		{"fp16 CPU", "fp16", zen4, "", "", "", "train.precision: fp16 needs a GPU or a CPU with AMX-FP16 (amx_fp16), and this machine has neither: TensorFlow would silently keep float32 (its CPU float16 emulation computes in float32 and is slower); use bf16 (this CPU has avx512_bf16) or fp32"},
		{"fp16 plain CPU", "fp16", plain, "", "", "", "; use fp32"},
		{"unknown", "int8", zen4, "", "", "", `train.precision: "int8" is not one of fp32, bf16, fp16, auto`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ResolvePrecision("train.precision", tt.p, tt.hw)
			checkErr(t, err, tt.err)
			if tt.err != "" {
				return
			}
			if c.Resolved != tt.want {
				t.Errorf("resolved %s, want %s (%s)", c.Resolved, tt.want, c.Reason)
			}
			if !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", c.Reason, tt.reason)
			}
			if tt.warning == "" && c.Warning != "" || !strings.Contains(c.Warning, tt.warning) {
				t.Errorf("warning %q, want one containing %q", c.Warning, tt.warning)
			}
		})
	}
}

func TestParseCPUFlags(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx512_bf16 avx2\n\nprocessor\t: 1\nflags\t\t: fpu\n"
	if got := strings.Join(parseCPUFlags(x86), " "); got != "avx2 avx512_bf16 fpu sse" {
		t.Errorf("x86 flags %q", got)
	}
	arm := "processor\t: 0\nFeatures\t: fp asimd bf16\n"
	if got := strings.Join(parseCPUFlags(arm), " "); got != "asimd bf16 fp" {
		t.Errorf("arm64 features %q", got)
	}
	if got := parseCPUFlags("no flags here"); got != nil {
		t.Errorf("no flags line: %q", got)
	}
	for env, want := range map[string]bool{"": true, "1": true, "0": false, "false": false, " OFF ": false} {
		if got := oneDNNEnabled(env); got != want {
			t.Errorf("TF_ENABLE_ONEDNN_OPTS=%q: oneDNN %v, want %v", env, got, want)
		}
	}
}

// TestPrecisionConfig: train.precision is checked against its values.
func TestPrecisionConfig(t *testing.T) {
	c := DefaultTrainConfig()
	if c.Precision != "fp32" {
		t.Errorf("default train.precision %q, want fp32", c.Precision)
	}
	c.Precision = "half"
	checkErr(t, c.Validate(), `train.precision: "half" is not one of fp32, bf16, fp16, auto`)
	if _, err := New(smallModel(16), quiet(WithPrecision("half"))...); err == nil ||
		!strings.Contains(err.Error(), `evaluate.precision: "half" is not one of`) {
		t.Errorf("WithPrecision(half): %v", err)
	}
	// fp32 writes model.json as before precision existed (no
	// trained_precision), so fp32 stage outputs keep their digests.
	m, err := New(smallModel(16), quiet(WithTraining(smallTrain()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, modelFileName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "precision") {
		t.Errorf("an fp32 model.json mentions precision:\n%s", b)
	}
	if got := (kindModel{ResNet: m}).Describe().Precision; got != "" {
		t.Errorf("fp32 description precision %q, want none", got)
	}
}

// needBF16 skips on machines where bf16 would be emulated (the test then
// measures oneDNN's emulation, not the feature) or unavailable.
func needBF16(t *testing.T) {
	t.Helper()
	hw := DetectHardware()
	if hw.nativeBF16() == "" || !hw.OneDNN {
		t.Skipf("this CPU has no native bfloat16 (avx512_bf16/amx_bf16) or oneDNN is off; flags: %d", len(hw.CPUFlags))
	}
}

// bf16Tolerance bounds |bf16 − fp32| per prediction of the same weights,
// in years: bfloat16 keeps 8 significant bits, so the sigmoid output
// (×100 years) alone is rounded to about 0.2-0.4 years, and the rounding
// of every convolution adds to it (measured: up to 0.44 years on the
// resnet18 setup, 0.03 on face_resnet; one prediction at 1.375 years on
// an otherwise identical run, mean 0.26, so the mean is bounded tightly
// and single predictions loosely).
const (
	bf16Tolerance     = 2.5
	bf16MeanTolerance = 0.5
)

// TestBF16Trains: a bf16 run of the small synthetic setup learns (loss
// falls, nothing NaN), for a fresh resnet18 and for the pretrained
// face_resnet fine-tuned on all layers; its checkpoint is float32 and
// loads into an fp32 model whose predictions differ from the bf16 ones by
// less than bf16Tolerance, and the two sessions really differ (the
// rewrite ran).
func TestBF16Trains(t *testing.T) {
	skipTrainingIfShort(t)
	needBF16(t)
	t.Run("resnet18", func(t *testing.T) {
		tc := smallTrain()
		tc.Epochs = 4
		checkBF16(t, smallModel(32), tc, makeData(t, 96, 32, 11), makeData(t, 32, 32, 12), 0.1)
	})
	t.Run("face_resnet pretrained", func(t *testing.T) {
		needFaceAPI(t)
		tc := smallTrain()
		// The rate an fp32 run of the same setup learns at (3e-3 saturates
		// the sigmoid in fp32 as in bf16).
		tc.Epochs, tc.Adam.LR, tc.BackboneLRScale, tc.BatchSize = 5, 5e-4, 0.1, 8
		checkBF16(t, faceModel("face-api", "descriptor"), tc, makeData(t, 32, 150, 13), makeData(t, 16, 150, 14), 0.05)
	})
}

// checkBF16 trains cfg in bf16 and wants the loss to fall by at least
// fall (a fraction of the first epoch's).
func checkBF16(t *testing.T, cfg ModelConfig, tc TrainConfig, data, valid regressor.Data, fall float64) {
	tc.Precision = regressor.PrecisionBF16
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Precision().Resolved; got != "bf16" {
		t.Fatalf("session precision %s, want bf16", got)
	}
	hist, err := m.Fit(context.Background(), data, valid, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		t.Logf("epoch %d: loss %.4f MAE %.2f val MAE %.2f, %.0f img/s", h.Epoch, h.Loss, h.MAE, h.ValMAE, h.ImagesPerSec)
		if math.IsNaN(h.Loss) || math.IsNaN(h.ValMAE) {
			t.Fatalf("epoch %d: NaN", h.Epoch)
		}
	}
	if first, last := hist[0].Loss, hist[len(hist)-1].Loss; !(last < first*(1-fall)) {
		t.Errorf("bf16 loss went from %.4f to %.4f, want a fall of at least %.0f%%", first, last, 100*fall)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	var mf modelFile
	b, err := os.ReadFile(filepath.Join(dir, modelFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	if mf.Precision == nil || mf.Precision.Resolved != "bf16" {
		t.Errorf("model.json trained_precision %+v, want bf16", mf.Precision)
	}

	// RestoreV2 reads every tensor as float32 and fails on any other type,
	// so loading into an fp32 model is the check that the checkpoint is.
	fp32, err := Load(dir, quiet()...)
	if err != nil {
		t.Fatal(err)
	}
	defer fp32.Close()
	bf16, err := Load(dir, quiet(WithPrecision(regressor.PrecisionBF16))...)
	if err != nil {
		t.Fatal(err)
	}
	defer bf16.Close()
	if got := bf16.TrainedIn(); got == nil || got.Resolved != "bf16" {
		t.Errorf("loaded model trained in %+v, want bf16", got)
	}
	p32, err := fp32.Predict(context.Background(), valid)
	if err != nil {
		t.Fatal(err)
	}
	p16, err := bf16.Predict(context.Background(), valid)
	if err != nil {
		t.Fatal(err)
	}
	var maxDiff, sumDiff float64
	for i := range p32 {
		d := math.Abs(p32[i] - p16[i])
		maxDiff, sumDiff = max(maxDiff, d), sumDiff+d
	}
	t.Logf("bf16 vs fp32 predictions of the same weights: max |Δ| %.3f years, mean %.3f; fp32 MAE %.2f, bf16 MAE %.2f",
		maxDiff, sumDiff/float64(len(p32)), meanAbsErr(p32, valid), meanAbsErr(p16, valid))
	if mean := sumDiff / float64(len(p32)); mean >= bf16MeanTolerance {
		t.Errorf("bf16 and fp32 predictions differ by %.3f years on average, want < %v", mean, bf16MeanTolerance)
	}
	if maxDiff >= bf16Tolerance {
		t.Errorf("bf16 and fp32 predictions differ by up to %.3f years, want < %v", maxDiff, bf16Tolerance)
	}
	if maxDiff == 0 {
		t.Errorf("bf16 and fp32 predictions are identical: the bf16 rewrite did not run")
	}
}
