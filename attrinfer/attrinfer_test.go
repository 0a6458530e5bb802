package attrinfer

import (
	"math"
	"strings"
	"testing"
)

var emotion = []string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}

func TestInfer(t *testing.T) {
	c := Config{Mapping: map[string]string{"happy": "happy", "neutral": "neutral"}, Other: "other", Threshold: 0.5}
	cases := []struct {
		name  string
		probs []float32
		want  Result
	}{
		{"clearly happy", []float32{0, 0, 0, 0.9, 0, 0, 0.1}, Result{"happy", 0.9, true}},
		// Five classes summing to 0.6 outweigh happy's 0.4.
		{"other summed over its classes", []float32{0.2, 0.1, 0.1, 0.4, 0.1, 0.1, 0}, Result{"other", 0.6, true}},
		{"below the threshold stays unknown", []float32{0.1, 0.05, 0.05, 0.35, 0.05, 0.05, 0.35}, Result{"", 0.35, false}},
		{"tie goes to the first class in order", []float32{0, 0, 0, 0.5, 0, 0, 0.5}, Result{"happy", 0.5, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Infer(emotion, tc.probs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Value != tc.want.Value || got.Known != tc.want.Known || math.Abs(got.Confidence-tc.want.Confidence) > 1e-6 {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := c.Infer(emotion, []float32{1, 0}); err == nil || !strings.Contains(err.Error(), "2 probabilities for 7 classes") {
		t.Errorf("short row: %v", err)
	}
}

func TestCheck(t *testing.T) {
	vocab := []string{"happy", "slightlyhappy", "neutral", "other"}
	cases := []struct {
		name string
		c    Config
		want []string
	}{
		{"valid", Config{Mapping: map[string]string{"happy": "happy", "neutral": "neutral"}, Other: "other", Threshold: 0.5}, nil},
		{"class count does not match the mapping", Config{Mapping: map[string]string{"happy": "happy", "neutral": "neutral"}, Threshold: 0.5},
			[]string{"infer.expression.mapping: the classifier has 7 classes but the mapping covers 2", "missing angry, disgust", "set infer.expression.other"}},
		{"unknown class", Config{Mapping: map[string]string{"joy": "happy"}, Other: "other"},
			[]string{`"joy" is not a class of the classifier (its 7 classes: angry, disgust`}},
		{"value outside the vocabulary", Config{Mapping: map[string]string{"sad": "sad"}, Other: "other"},
			[]string{`"sad" is not an allowed value (allowed: happy, slightlyhappy, neutral, other)`}},
		{"threshold above 1", Config{Other: "other", Threshold: 1.5}, []string{"infer.expression.threshold"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check("infer.expression", emotion, vocab)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
