package tfmodel

import (
	"context"
	"testing"
)

// TestArchitectures: at width 1 each backbone has exactly the trainable
// parameter count of the reference implementation (torchvision's ResNets
// without the classifier: convolutions without bias, batch-norm scale and
// offset), and at a small width each one trains and predicts.
func TestArchitectures(t *testing.T) {
	tests := []struct {
		arch       string
		wantParams int64
	}{
		{"resnet18", 11_176_512},
		{"resnet34", 21_284_672},
		{"resnet50", 23_508_032},
	}
	data := makeData(t, 8, 32, 21)
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			full := DefaultModelConfig()
			full.Arch = Arch(tt.arch)
			gr, err := buildGraph(full)
			if err != nil {
				t.Fatal(err)
			}
			var params int64
			for _, v := range gr.vs.filter(func(v *variable) bool { return v.trained && v.part == partBackbone }) {
				params += bytesOf([]*variable{v}) / 4
			}
			if params != tt.wantParams {
				t.Errorf("%s backbone has %d trainable parameters, want %d", tt.arch, params, tt.wantParams)
			}

			cfg := smallModel(32)
			cfg.Arch = Arch(tt.arch)
			tc := smallTrain()
			tc.Epochs = 1
			m, err := New(cfg, quiet(WithTraining(tc))...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if _, err := m.Fit(context.Background(), data, data, nil, nil); err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range pred {
				if !(p >= 0 && p <= cfg.AgeMax) {
					t.Errorf("prediction %d is %v, outside [0, age_max]", i, p)
				}
			}
		})
	}
}
