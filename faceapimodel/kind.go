package faceapimodel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"fairage/internal/modelsdir"
	"fairage/internal/spec"
	"fairage/regressor"
)

// Net names a face-api network this package rebuilds.
type Net string

// AgeGenderNet is face-api's age (and gender) network.
const AgeGenderNet Net = "age_gender"

// Values lists the networks.
func (Net) Values() []string { return []string{string(AgeGenderNet)} }

// KindSettings are the settings of model kind face-api (model.face-api).
type KindSettings struct {
	Net Net `yaml:"net" doc:"Which face-api network model.from's weights manifest holds: age_gender (AgeGenderNet, TinyXception, 112×112)."`
}

// Validate checks the settings.
func (s *KindSettings) Validate() error { return spec.Check("model.face-api", s) }

// InputSize is the square side AgeGenderNet reads.
func (s *KindSettings) InputSize(string) (int, error) { return AgeGenderInput, nil }

// presetAge is the packaged AgeGenderNet.
const presetAge = "face-api-age"

func init() {
	regressor.Register(regressor.Kind{
		Name:        "face-api",
		Doc:         "A face-api weights-only network rebuilt in a TensorFlow graph from its TF.js weights (model.from: the weights manifest, or model.preset face-api-age).",
		ReadsImages: true,
		Settings:    func() regressor.Settings { return &KindSettings{Net: AgeGenderNet} },
		Open:        openKind,
	})
	regressor.RegisterPreset(regressor.Preset{Name: presetAge, Kind: "face-api",
		Doc: "face-api's AgeGenderNet (@vladmandic/face-api 1.7.15: TinyXception features, 112×112 RGB, (byte − mean RGB)/255, regressed age in years), rebuilt in Go from its weights",
		// face-api's README: the age and gender model was trained on
		// UTKFace among other datasets, so its UTKFace figures are not
		// held out.
		License:   "MIT (face-api and its weights)",
		TrainedOn: []string{"utkface"},
		InputSize: func() (int, error) { return AgeGenderInput, nil },
		Files: func() ([]string, error) {
			m, err := modelsdir.Path(AgeGenderManifest)
			if err != nil {
				return nil, err
			}
			bin, err := modelsdir.Path("face-api/model/age_gender_model.bin")
			if err != nil {
				return nil, err
			}
			return []string{m, bin}, nil
		}})
}

func openKind(_ context.Context, env regressor.Env) (regressor.Model, error) {
	if env.Preset == "" && env.From == "" {
		return nil, errors.New("model.from: kind face-api needs the weights manifest (…-weights_manifest.json), or model.preset face-api-age")
	}
	if env.Preset != "" && env.Preset != presetAge {
		return nil, fmt.Errorf("model.preset: %s is not a face-api preset", env.Preset)
	}
	m, err := OpenAgeGender(env.From, Options{BatchSize: env.BatchSize, IntraOp: env.Threads.IntraOp, InterOp: env.Threads.InterOp})
	if err != nil {
		return nil, err
	}
	return &kindModel{m: m, preset: env.Preset, env: env}, nil
}

// kindModel adapts AgeGender to regressor.Model.
type kindModel struct {
	m      *AgeGender
	preset string
	env    regressor.Env
}

// Predict runs the net on the examples' packed images; a non-finite age
// is a rejected row.
func (k *kindModel) Predict(ctx context.Context, data regressor.Data) (regressor.Output, error) {
	return regressor.PredictPacked(ctx, data, k.m.Manifest(), k.env.Progress, k.m.PredictPacked,
		func(age float64) (float64, string, string) {
			if math.IsNaN(age) {
				return age, regressor.ReasonNonFinite, "AgeGenderNet returned a non-finite age"
			}
			return age, "", ""
		})
}

// Describe says what ran and how it read its input.
func (k *kindModel) Describe() regressor.Description {
	return regressor.Description{Kind: "face-api", Source: k.m.Manifest(), InputSize: AgeGenderInput,
		Preprocessing: AgeGenderSpec().String(), Output: "years (AgeGenderNet's regressed age)",
		Runtime: "TensorFlow (graph rebuilt in Go from face-api's weights)", Digest: k.m.Digest(), Preset: k.preset}
}

// Close ends the session.
func (k *kindModel) Close() error { return k.m.Close() }
