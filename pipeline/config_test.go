package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var ruleSchema = MustSchema(
	Section{Name: "run", Fields: []Field{
		{Key: "run.name", Kind: KindString, Default: "demo"},
		{Key: "run.seed", Kind: KindInt, Default: 7, Min: Num(0)},
	}},
	Section{Name: "train", Fields: []Field{
		{Key: "train.epochs", Kind: KindInt, Default: 10, Min: Num(1), Max: Num(1000)},
		{Key: "train.lr", Kind: KindFloat, Default: 1e-4, Min: Num(0)},
		{Key: "train.loss", Kind: KindString, Default: "mae", Enum: []string{"mae", "mse"}},
		{Key: "train.restore_best", Kind: KindBool, Default: true},
		{Key: "train.head", Kind: KindInts, Default: []int{512, 256}, Min: Num(1)},
		{Key: "train.edges", Kind: KindFloats, Default: []float64{0, 20}},
		{Key: "train.by", Kind: KindStrings, Default: []string{"gender"}, Enum: []string{"gender", "ethnicity"}},
		{Key: "train.gates", Kind: KindMap, Optional: true},
		{Key: "train.needed", Kind: KindString, Optional: false, Default: nil, Doc: "a required key"},
	}},
)

func loadText(t *testing.T, text string, opts LoadOptions) (*Config, error) {
	t.Helper()
	p := writeFile(t, t.TempDir(), "pipeline.yaml", text)
	return Load(p, ruleSchema, opts)
}

func TestConfigRulesNameTheKey(t *testing.T) {
	const ok = "train: {needed: yes}\n"
	cases := []struct {
		name, yaml string
		opts       LoadOptions
		want       []string // substrings of the error
	}{
		{"unknown key", ok + "run: {nmae: x}\n", LoadOptions{}, []string{`unknown key "run.nmae"`, "run.name", "pipeline.yaml"}},
		{"unknown section", ok + "trian: {epochs: 3}\n", LoadOptions{}, []string{`unknown key "trian.epochs"`, "sections: run, train"}},
		{"section as scalar", ok + "run: 5\n", LoadOptions{}, []string{"run: expected a mapping"}},
		{"int wrong type", "train: {needed: y, epochs: many}\n", LoadOptions{}, []string{"train.epochs", `expected an integer, got "many"`}},
		{"int fractional", "train: {needed: y, epochs: 2.5}\n", LoadOptions{}, []string{"train.epochs", "expected an integer"}},
		{"int below min", "train: {needed: y, epochs: 0}\n", LoadOptions{}, []string{"train.epochs", "below the minimum 1"}},
		{"int above max", "train: {needed: y, epochs: 5000}\n", LoadOptions{}, []string{"train.epochs", "above the maximum 1000"}},
		{"float wrong type", "train: {needed: y, lr: fast}\n", LoadOptions{}, []string{"train.lr", "expected a number"}},
		{"float below min", "train: {needed: y, lr: -1}\n", LoadOptions{}, []string{"train.lr", "below the minimum 0"}},
		{"enum", "train: {needed: y, loss: huber}\n", LoadOptions{}, []string{"train.loss", `"huber" is not one of mae, mse`}},
		{"bool", "train: {needed: y, restore_best: perhaps}\n", LoadOptions{}, []string{"train.restore_best", "expected true or false"}},
		{"int list item", "train: {needed: y, head: [512, zero]}\n", LoadOptions{}, []string{"train.head", "item 2", "expected an integer"}},
		{"int list range", "train: {needed: y, head: [512, 0]}\n", LoadOptions{}, []string{"train.head", "item 2", "below the minimum"}},
		{"float list", "train: {needed: y, edges: [0, x]}\n", LoadOptions{}, []string{"train.edges", "item 2", "expected a number"}},
		{"string list enum", "train: {needed: y, by: [gender, age]}\n", LoadOptions{}, []string{"train.by", "item 2", `"age" is not one of gender, ethnicity`}},
		{"list given a map", "train: {needed: y, by: {a: 1}}\n", LoadOptions{}, []string{"train.by", "expected a list"}},
		{"map given a list", "train: {needed: y, gates: [1, 2]}\n", LoadOptions{}, []string{"train.gates", "expected a mapping"}},
		{"required", "run: {name: x}\n", LoadOptions{}, []string{"train.needed is required"}},
		{"set unknown", ok, LoadOptions{Sets: []string{"train.epoch=3"}}, []string{"--set train.epoch", "unknown key", "train.epochs"}},
		{"set malformed", ok, LoadOptions{Sets: []string{"train.epochs"}}, []string{`--set "train.epochs": expected key=value`}},
		{"set wrong type", ok, LoadOptions{Sets: []string{"train.epochs=lots"}}, []string{"--set: train.epochs", "expected an integer"}},
		{"env wrong type", ok, LoadOptions{Env: []string{"FAIRAGE_TRAIN_EPOCHS=ten"}}, []string{"environment FAIRAGE_TRAIN_EPOCHS", "train.epochs", "expected an integer"}},
		{"not yaml", "train: [unclosed\n", LoadOptions{}, []string{"not valid YAML"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadText(t, tc.yaml, tc.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	_, err := loadText(t, "train: {needed: y, epochs: 0, loss: x}\nrun: {bogus: 1}\n", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "3 problems") {
		t.Fatalf("want all three problems, got %v", err)
	}
}

func TestConfigDefaultsOverridesAndPrecedence(t *testing.T) {
	c, err := loadText(t, "train: {needed: y, epochs: 5, by: [ethnicity]}\n", LoadOptions{
		Env:  []string{"FAIRAGE_TRAIN_LR=0.01", "FAIRAGE_TRAIN_EPOCHS=6", "FAIRAGE_TRAIN_BY=gender,ethnicity", "OTHER=1"},
		Sets: []string{"train.epochs=7", "train.head=[64, 32]", "train.gates={mae: {max: 8}}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("train.epochs") != 7 {
		t.Errorf("--set should beat env and file: epochs = %d", c.Int("train.epochs"))
	}
	if c.Float("train.lr") != 0.01 {
		t.Errorf("env should beat default: lr = %v", c.Float("train.lr"))
	}
	if got := c.Strings("train.by"); strings.Join(got, ",") != "gender,ethnicity" {
		t.Errorf("env list: %v", got)
	}
	if got := c.Ints("train.head"); len(got) != 2 || got[0] != 64 {
		t.Errorf("--set list: %v", got)
	}
	if c.String("train.loss") != "mae" || !c.Bool("train.restore_best") || c.Int("run.seed") != 7 {
		t.Errorf("defaults not applied: %s", c.YAML())
	}
	if g := c.Map("train.gates"); g == nil || g["mae"] == nil {
		t.Errorf("--set map: %v", g)
	}
	if !strings.Contains(c.YAML(), "epochs: 7") {
		t.Errorf("YAML dump misses the resolved value:\n%s", c.YAML())
	}
}

func TestConfigMapKeysAreFree(t *testing.T) {
	c, err := loadText(t, "train: {needed: y, gates: {ethnicity_bias: {max: 1.0}, mae: {max: 8}}}\n", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Map("train.gates")) != 2 {
		t.Fatalf("gates: %v", c.Map("train.gates"))
	}
}

func TestConfigExtendsOverlaysABase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "base.yaml", "train: {needed: y, epochs: 5, loss: mse, head: [8, 4]}\nrun: {name: base}\n")
	os.MkdirAll(filepath.Join(dir, "exp"), 0o755)
	over := writeFile(t, filepath.Join(dir, "exp"), "m1.yaml", "extends: ../base.yaml\nrun: {name: m1}\ntrain: {epochs: 9}\n")
	c, err := Load(over, ruleSchema, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.String("run.name") != "m1" || c.Int("train.epochs") != 9 || c.String("train.loss") != "mse" {
		t.Fatalf("overlay: %s", c.YAML())
	}
	if len(c.Chain) != 2 {
		t.Fatalf("chain %v", c.Chain)
	}
	writeFile(t, dir, "a.yaml", "extends: b.yaml\n")
	writeFile(t, dir, "b.yaml", "extends: a.yaml\n")
	if _, err := Load(filepath.Join(dir, "a.yaml"), ruleSchema, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("extends cycle: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), ruleSchema, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestDigestChangesOnlyWithItsSection(t *testing.T) {
	a, _ := loadText(t, "train: {needed: y}\nrun: {name: a}\n", LoadOptions{})
	b, _ := loadText(t, "train: {needed: y}\nrun: {name: b}\n", LoadOptions{})
	if a.Digest("train") != b.Digest("train") {
		t.Error("train digest changed with run.name")
	}
	if a.Digest("run") == b.Digest("run") {
		t.Error("run digest did not change with run.name")
	}
	if a.Digest("run.seed") != b.Digest("run.seed") {
		t.Error("a single-key digest changed with another key")
	}
	c, _ := loadText(t, "train: {needed: y}\nrun: {seed: 99}\n", LoadOptions{})
	if a.Digest("run.seed") == c.Digest("run.seed") {
		t.Error("run.seed digest did not change with the seed")
	}
	// A dotted name covers a key and its subtree, never a longer word.
	if a.Digest("run.se") != c.Digest("run.se") {
		t.Error(`"run.se" matched run.seed`)
	}
}

func TestPathResolvesAgainstTheFileThatSetIt(t *testing.T) {
	dir := t.TempDir()
	schema := MustSchema(Section{Name: "data", Fields: []Field{
		{Key: "data.root", Kind: KindString, Default: ""},
		{Key: "data.other", Kind: KindString, Default: "rel/default"},
	}})
	os.MkdirAll(filepath.Join(dir, "configs"), 0o755)
	os.MkdirAll(filepath.Join(dir, "experiments"), 0o755)
	writeFile(t, filepath.Join(dir, "configs"), "base.yaml", "data: {root: ../data/faces}\n")
	over := writeFile(t, filepath.Join(dir, "experiments"), "m1.yaml", "extends: ../configs/base.yaml\n")
	c, err := Load(over, schema, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Path("data.root"), filepath.Join(dir, "configs", "..", "data", "faces"); filepath.Clean(got) != filepath.Clean(want) {
		t.Errorf("data.root = %s, want %s", got, want)
	}
	if c.Path("data.other") != "rel/default" {
		t.Errorf("default path changed: %s", c.Path("data.other"))
	}
	c, _ = Load(over, schema, LoadOptions{Sets: []string{"data.root=/abs/x"}})
	if c.Path("data.root") != "/abs/x" {
		t.Errorf("--set absolute path: %s", c.Path("data.root"))
	}
}
