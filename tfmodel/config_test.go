package tfmodel

import (
	"strings"
	"testing"
)

func TestModelConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ModelConfig)
		want   string // substring of the error; "" for valid
	}{
		{"default", func(*ModelConfig) {}, ""},
		{"empty head", func(c *ModelConfig) { c.Head = nil }, ""},
		{"arch", func(c *ModelConfig) { c.Arch = "resnet99" }, `model.arch: "resnet99" is not one of resnet18, resnet34, resnet50`},
		{"input size", func(c *ModelConfig) { c.InputSize = 5000 }, "model.input_size: 5000 is outside [0, 4096]"},
		{"width", func(c *ModelConfig) { c.WidthMultiplier = 0 }, "model.width_multiplier"},
		{"head units", func(c *ModelConfig) { c.Head = []int{8, 0} }, "model.head: item 2, 0 is outside [1, 65536]"},
		{"dropout", func(c *ModelConfig) { c.Dropout = 1 }, "model.dropout"},
		{"age max", func(c *ModelConfig) { c.AgeMax = -1 }, "model.age_max"},
		{"momentum", func(c *ModelConfig) { c.BNMomentum = 1 }, "model.bn_momentum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultModelConfig()
			tt.change(&c)
			checkErr(t, c.Validate(), tt.want)
		})
	}
}

func TestTrainConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*TrainConfig)
		want   string
	}{
		{"default", func(*TrainConfig) {}, ""},
		{"loss", func(c *TrainConfig) { c.Loss = "huber" }, `train.loss: "huber" is not one of mae, mse`},
		{"strategy", func(c *TrainConfig) { c.Strategy = "some" }, "train.strategy"},
		{"phase lr", func(c *TrainConfig) { c.HeadPhase.LR = 0 }, "train.head_phase.lr"},
		{"adam lr unused by head_then_all", func(c *TrainConfig) { c.Adam.LR = 0 }, ""},
		{"adam lr", func(c *TrainConfig) { c.Strategy, c.Adam.LR = "all_layers", 0 }, "train.lr"},
		{"epochs", func(c *TrainConfig) { c.Strategy, c.Epochs = "head_only", 0 }, "train.epochs"},
		{"beta1", func(c *TrainConfig) { c.Adam.Beta1 = 1 }, "train.beta1"},
		{"batch", func(c *TrainConfig) { c.BatchSize = 0 }, "train.batch_size"},
		{"plateau monitor", func(c *TrainConfig) { c.ReduceOnPlateau.Monitor = "acc" }, "train.reduce_on_plateau.monitor"},
		{"plateau off", func(c *TrainConfig) { c.ReduceOnPlateau.Patience = 0 }, ""},
		{"early monitor", func(c *TrainConfig) { c.EarlyStopping.Monitor = "" }, "train.early_stopping.monitor"},
		{"prefetch", func(c *TrainConfig) { c.Prefetch = 0 }, "train.prefetch"},
		{"resume", func(c *TrainConfig) { c.Resume = true }, "train.resume: needs train.checkpoint_dir"},
		{"threads", func(c *TrainConfig) { c.Threads.IntraOp = -1 }, "train.threads.intra_op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultTrainConfig()
			tt.change(&c)
			checkErr(t, c.Validate(), tt.want)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}
