package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every config error is found before anything runs and exits 2 with a
// message naming its file, variable or flag and its key: the table holds
// the configs an adversarial review found passing validate (or exiting 1)
// before settings were typed.
func TestValidateCatchesBadConfigsBeforeAnythingRuns(t *testing.T) {
	dir := t.TempDir()
	base := defaultConfig(t)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	overlay := func(name, text string) string { return write(name, "extends: "+base+"\n"+text) }
	write("cyc1.yaml", "extends: cyc2.yaml\n")
	write("cyc2.yaml", "extends: cyc1.yaml\n")
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"intersection of an unknown attribute", []string{"validate", overlay("i.yaml", "analysis: {intersections: [gender*skin]}\n")}, nil,
			[]string{"i.yaml: analysis.intersections", `"skin" is not an attribute`}},
		{"unknown gate", []string{"validate", overlay("g.yaml", "analysis: {gates: {foo_bias: {max: 1}}}\n")}, nil,
			[]string{"g.yaml: analysis.gates.foo_bias", `unknown metric "foo_bias"`}},
		{"balance target", []string{"validate", overlay("b.yaml", "balance: {target: banana}\n")}, nil,
			[]string{"b.yaml: balance.target", "banana"}},
		{"input size vs packed size", []string{"validate", overlay("s.yaml", "model: {input_size: 64}\ndata: {image_size: 32}\n")}, nil,
			[]string{"s.yaml: model.input_size: 64 differs from data.image_size 32"}},
		{"fractions", []string{"validate", overlay("f.yaml", "split: {train: 0.8}\n")}, nil,
			[]string{"f.yaml: split.train", "sum to 1.1, not 1"}},
		{"age range", []string{"validate", overlay("a.yaml", "data: {age_min: 100, age_max: 50}\n")}, nil,
			[]string{"a.yaml: data.age_min: 100 must be below data.age_max (50)"}},
		{"YAML syntax", []string{"validate", write("y.yaml", "train: [unclosed\n")}, nil,
			[]string{"y.yaml: not valid YAML"}},
		{"extends cycle", []string{"validate", filepath.Join(dir, "cyc1.yaml")}, nil,
			[]string{"extends forms a cycle", "cyc1.yaml → " + filepath.Join(dir, "cyc2.yaml") + " → " + filepath.Join(dir, "cyc1.yaml")}},
		{"missing base", []string{"validate", write("child.yaml", "extends: nobase.yaml\n")}, nil,
			[]string{"child.yaml: extends", "nobase.yaml", "no such file"}},
		{"mistyped variable", []string{"validate", base}, []string{"FAIRAGE_TRAIN_EPOCH=3"},
			[]string{"environment FAIRAGE_TRAIN_EPOCH: not a setting", "FAIRAGE_TRAIN_EPOCHS"}},
		{"empty range", []string{"run", base, "--runs", dir, "--from", "report", "--until", "split"}, nil,
			[]string{"--from report --until split selects no stage"}},
		{"reserved run name", []string{"validate", overlay("r.yaml", "run: {name: .cache}\n")}, nil,
			[]string{"r.yaml: run.name", "reserved"}},
		{"dropout at its bound", []string{"validate", base, "--set", "model.dropout=1"}, nil,
			[]string{"--set: model.dropout: 1 is outside [0, 1)"}},
		{"batch beyond its bound", []string{"validate", base, "--set", "train.batch_size=70000"}, nil,
			[]string{"--set: train.batch_size: 70000 is outside [1, 65536]"}},
		{"unknown adapter", []string{"validate", base, "--set", "data.adapter=imdb"}, nil,
			[]string{"--set: data.adapter", `"imdb" is not one of appa-real, csv, synthetic, utkface`}},
		{"unknown model kind", []string{"validate", base, "--set", "model.kind=vgg"}, nil,
			[]string{"model.kind", `"vgg" is not one of`}},
		{"unknown key", []string{"validate", overlay("k.yaml", "train: {epoch: 3}\n")}, nil,
			[]string{"k.yaml", `unknown key "train.epoch"`, "train.epochs"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			_, err, code := execute(t, tc.args...)
			if code != exitConfig || err == nil {
				t.Fatalf("exit %d (%v), want %d", code, err, exitConfig)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "default")); err == nil {
		t.Error("a refused run created its run folder")
	}
}
