package tfmodel

import (
	"context"
	"fmt"
	"math"

	"fairage/regressor"
)

// The native kind: model.kind resnet. Its settings are the model section's
// own fields (ModelConfig); it trains here, or loads a model folder saved
// by Save (model.from).
func init() {
	regressor.Register(regressor.Kind{
		Name:        "resnet",
		Doc:         "The native ResNet regressor built in TensorFlow from Go: trained by the train stage, or loaded from a trained run (model.from).",
		Trainable:   true,
		ReadsImages: true,
		Precision:   true,
		Open:        openKind,
		New:         newKind,
	})
}

// kindModel adapts a ResNet to regressor.Trainable.
type kindModel struct {
	*ResNet
	source string
}

func openKind(_ context.Context, env regressor.Env) (regressor.Model, error) {
	r, err := Load(env.From, kindOptions(env)...)
	if err != nil {
		return nil, err
	}
	return kindModel{r, env.From}, nil
}

func newKind(_ context.Context, env regressor.Env, train any) (regressor.Trainable, error) {
	cfg, ok := env.Settings.(*ModelConfig)
	if !ok {
		return nil, fmt.Errorf("tfmodel: model settings of type %T", env.Settings)
	}
	tc, ok := train.(TrainConfig)
	if !ok {
		return nil, fmt.Errorf("tfmodel: train settings of type %T", train)
	}
	r, err := New(*cfg, append(kindOptions(env), WithTraining(tc))...)
	if err != nil {
		return nil, err
	}
	return kindModel{r, ""}, nil
}

func kindOptions(env regressor.Env) []Option {
	opts := []Option{WithThreads(env.Threads.IntraOp, env.Threads.InterOp), WithPrecision(env.Precision)}
	if env.BatchSize > 0 {
		opts = append(opts, WithBatchSize(env.BatchSize))
	}
	if env.Progress != nil {
		opts = append(opts, WithProgress(env.Progress))
	}
	return opts
}

// Predict predicts every example; a non-finite output is a rejected row.
func (m kindModel) Predict(ctx context.Context, data regressor.Data) (regressor.Output, error) {
	ages, err := m.ResNet.Predict(ctx, data)
	if err != nil {
		return regressor.Output{}, err
	}
	out := regressor.Output{Ages: ages}
	for i, a := range ages {
		if math.IsNaN(a) || math.IsInf(a, 0) {
			ex := data.Examples[i]
			out.Rejected = append(out.Rejected, regressor.Rejection{Index: i})
			out.Rejected[len(out.Rejected)-1].ID = ex.ID
			out.Rejected[len(out.Rejected)-1].Source = m.source
			out.Rejected[len(out.Rejected)-1].Reason = regressor.ReasonNonFinite
			out.Rejected[len(out.Rejected)-1].Detail = fmt.Sprintf("the network output %v", a)
		}
	}
	return out, nil
}

// Describe says what network this is and how it reads its input.
func (m kindModel) Describe() regressor.Description {
	c := m.cfg
	return regressor.Description{Kind: "resnet", Source: m.source, InputSize: c.InputSize,
		Preprocessing: fmt.Sprintf("packed %d×%d RGB uint8, normalised in the graph by ImageNet's mean and standard deviation", c.InputSize, c.InputSize),
		Output:        fmt.Sprintf("%s ×%g, sigmoid × %g years", c.Arch, c.WidthMultiplier, c.AgeMax),
		Precision:     m.precisionNote()}
}

// precisionNote is the session's precision, and the training one when it
// differs (a bf16-trained model evaluated in fp32); "" for fp32 all
// along, so fp32 descriptions read as before precision existed.
func (m kindModel) precisionNote() string {
	if m.prec.Setting == regressor.PrecisionFP32 && m.trainedIn == nil {
		return ""
	}
	s := m.prec.String()
	if t := m.trainedIn; t != nil && t.Resolved != m.prec.Resolved {
		s += "; trained in " + string(t.Resolved)
	}
	return s
}
