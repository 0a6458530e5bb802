package stages

import (
	"strings"
	"testing"
)

// A head-only run must tell its reader that the frozen backbone is random
// (fairage loads no pretrained weights); an all-layers run has nothing to
// add.
func TestTrainingNotes(t *testing.T) {
	tests := []struct {
		strategy string
		want     string // substring of the single note; "" for no note
	}{
		{"head_only", "randomly initialised backbone measures little"},
		{"head_then_all", "only the all-layers phase learns features"},
		{"all_layers", ""},
	}
	for _, tc := range tests {
		t.Run(tc.strategy, func(t *testing.T) {
			cfg, err := Load(repoFile(t, "pipeline.yaml"), LoadOptions{Sets: []string{"train.strategy=" + tc.strategy}})
			if err != nil {
				t.Fatal(err)
			}
			notes := factsOf(cfg.Config).trainingNotes()
			switch {
			case tc.want == "" && len(notes) != 0:
				t.Errorf("notes %q, want none", notes)
			case tc.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.want)):
				t.Errorf("notes %q, want one saying %q", notes, tc.want)
			}
		})
	}
}
