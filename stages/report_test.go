package stages

import (
	"strings"
	"testing"
)

// A head-only run from scratch must tell its reader that the frozen
// backbone is random; one on a pretrained backbone (as in the study) and
// an all-layers run have nothing to add. A packaged model trained on the
// audited dataset gets a warning that its errors are not held out.
func TestTrainingNotes(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string // substring of the single note; "" for no note
	}{
		{"head_only", []string{"train.strategy=head_only"}, "randomly initialised backbone measures little"},
		{"head_then_all", []string{"train.strategy=head_then_all"}, "only the all-layers phase learns features"},
		{"all_layers", []string{"train.strategy=all_layers"}, ""},
		{"pretrained head_only", []string{"train.strategy=head_only", "model.arch=face_resnet", "model.pretrained=face-api", "model.width_multiplier=1", "data.image_size=150"}, ""},
		{"preset trained on the audited data", []string{"model.preset=face-api-age", "data.adapter=utkface"}, "trained on utkface"},
		{"preset trained elsewhere", []string{"model.preset=face-api-age"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(repoFile(t, "pipeline.yaml"), LoadOptions{Sets: tc.sets})
			if err != nil {
				t.Fatal(err)
			}
			f := factsOf(cfg.Config)
			notes := append(f.trainingNotes(), f.overlapNotes()...)
			switch {
			case tc.want == "" && len(notes) != 0:
				t.Errorf("notes %q, want none", notes)
			case tc.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.want)):
				t.Errorf("notes %q, want one saying %q", notes, tc.want)
			}
		})
	}
}

// A preset run trains nothing, so its report says nothing of the config's
// training, but it keeps what the overlap warning needs.
func TestPresetReportKeepsOverlapFacts(t *testing.T) {
	cfg, err := Load(repoFile(t, "pipeline.yaml"), LoadOptions{Sets: []string{"model.preset=face-api-age", "data.adapter=utkface"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range Graph(cfg.Config).Stages() {
		rs, ok := st.(reportStage)
		if !ok {
			continue
		}
		if rs.facts.lr != 0 || rs.facts.strategy != "" {
			t.Errorf("report of a preset shows training facts %+v", rs.facts)
		}
		if notes := rs.facts.overlapNotes(); len(notes) != 1 || !strings.Contains(notes[0], "trained on utkface") {
			t.Errorf("overlap notes %q, want the training-data warning", notes)
		}
		return
	}
	t.Fatal("no report stage in the graph")
}
