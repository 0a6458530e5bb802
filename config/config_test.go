package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/internal/spec"
)

// ruleConfig exercises every kind of setting the loader decodes.
type ruleConfig struct {
	Run   ruleRun   `yaml:"run" doc:"the run"`
	Train ruleTrain `yaml:"train" doc:"training"`
	Data  ruleData  `yaml:"data" doc:"data"`
}

type ruleRun struct {
	Name string `yaml:"name" doc:"run name"`
	Seed int    `yaml:"seed" range:"[0,inf)" doc:"seed"`
}

type lossName string

func (lossName) Values() []string { return []string{"mae", "mse"} }

type attrName string

func (attrName) Values() []string { return []string{"gender", "ethnicity"} }

type ruleGate struct {
	Max *float64 `yaml:"max" doc:"upper bound"`
	Min *float64 `yaml:"min" doc:"lower bound"`
}

type pair struct{ Lo, Hi float64 }

func (p *pair) FromConfig(raw any) error {
	lo, hi, err := spec.Pair(raw)
	p.Lo, p.Hi = lo, hi
	return err
}
func (p pair) ToConfig() any { return []any{p.Lo, p.Hi} }

type ruleTrain struct {
	Epochs      int                            `yaml:"epochs" range:"[1,1000]" doc:"epochs"`
	LR          float64                        `yaml:"lr" range:"[0,inf)" doc:"rate"`
	Loss        lossName                       `yaml:"loss" doc:"loss"`
	RestoreBest bool                           `yaml:"restore_best" doc:"restore"`
	Head        []int                          `yaml:"head" range:"[1,inf)" doc:"head"`
	Edges       []float64                      `yaml:"edges" doc:"edges"`
	By          []attrName                     `yaml:"by" doc:"by"`
	Gates       map[string]ruleGate            `yaml:"gates" doc:"gates"`
	Groups      map[string]map[string]float64  `yaml:"groups" doc:"user-keyed"`
	Span        pair                           `yaml:"span" doc:"a pair"`
	Workers     int                            `yaml:"workers" fingerprint:"-" doc:"speed only"`
	Nested      ruleNested                     `yaml:"nested" doc:"a nested section"`
	Hidden      string                         `yaml:"-"`
	Values      map[string]map[string][]string `yaml:"values" doc:"deep user-keyed"`
}

type ruleNested struct {
	Sigma float64 `yaml:"sigma" range:"(0,inf)" doc:"sigma"`
}

type ruleData struct {
	Root  string `yaml:"root" path:"config" doc:"a path"`
	Other string `yaml:"other" path:"config" doc:"a defaulted path"`
}

func (c *ruleConfig) Validate() error {
	errs := []error{spec.Check("run", &c.Run), spec.Check("train", &c.Train)}
	if c.Train.Epochs > 500 && c.Train.LR > 0.1 {
		errs = append(errs, fmt.Errorf("train.lr: %g is too high for %d epochs", c.Train.LR, c.Train.Epochs))
	}
	return errors.Join(errs...)
}

func defaults() *ruleConfig {
	return &ruleConfig{
		Run:   ruleRun{Name: "demo", Seed: 7},
		Train: ruleTrain{Epochs: 10, LR: 1e-4, Loss: "mae", RestoreBest: true, Head: []int{512, 256}, Edges: []float64{0, 20}, By: []attrName{"gender"}, Nested: ruleNested{Sigma: 2}},
		Data:  ruleData{Other: "rel/default"},
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadText(t *testing.T, text string, opts Options) (*ruleConfig, *Source, error) {
	t.Helper()
	p := writeFile(t, t.TempDir(), "pipeline.yaml", text)
	c := defaults()
	src, err := Load(p, c, opts)
	return c, src, err
}

func TestConfigRulesNameTheKey(t *testing.T) {
	env := func(kv ...string) Options { return Options{Env: kv, EnvPrefix: "FAIRAGE"} }
	cases := []struct {
		name, yaml string
		opts       Options
		want       []string // substrings of the error
	}{
		{"unknown key", "run: {nmae: x}\n", Options{}, []string{`unknown key "run.nmae"`, "run.name", "pipeline.yaml"}},
		{"unknown section", "trian: {epochs: 3}\n", Options{}, []string{`unknown key "trian"`, "sections: data, run, train"}},
		{"unknown nested", "train: {nested: {sigmaa: 1}}\n", Options{}, []string{`unknown key "train.nested.sigmaa"`, "train.nested.sigma"}},
		{"hidden field", "train: {hidden: x}\n", Options{}, []string{`unknown key "train.hidden"`}},
		{"section as scalar", "run: 5\n", Options{}, []string{"run: expected a mapping of run settings"}},
		{"int wrong type", "train: {epochs: many}\n", Options{}, []string{"train.epochs", `expected an integer, got "many"`}},
		{"int fractional", "train: {epochs: 2.5}\n", Options{}, []string{"train.epochs", "expected an integer"}},
		{"int below range", "train: {epochs: 0}\n", Options{}, []string{"train.epochs: 0 is outside [1, 1000]"}},
		{"int above range", "train: {epochs: 5000}\n", Options{}, []string{"train.epochs: 5000 is outside [1, 1000]"}},
		{"float wrong type", "train: {lr: fast}\n", Options{}, []string{"train.lr", "expected a number"}},
		{"float below range", "train: {lr: -1}\n", Options{}, []string{"train.lr: -1 is outside [0, ∞)"}},
		{"open bound", "train: {nested: {sigma: 0}}\n", Options{}, []string{"train.nested.sigma: 0 is outside (0, ∞)"}},
		{"enum", "train: {loss: huber}\n", Options{}, []string{"train.loss", `"huber" is not one of mae, mse`}},
		{"bool", "train: {restore_best: perhaps}\n", Options{}, []string{"train.restore_best", "expected true or false"}},
		{"int list item", "train: {head: [512, zero]}\n", Options{}, []string{"train.head", "item 2", "expected an integer"}},
		{"int list range", "train: {head: [512, 0]}\n", Options{}, []string{"train.head: item 2, 0 is outside [1, ∞)"}},
		{"float list", "train: {edges: [0, x]}\n", Options{}, []string{"train.edges", "item 2", "expected a number"}},
		{"enum list", "train: {by: [gender, age]}\n", Options{}, []string{"train.by: item 2", `"age" is not one of gender, ethnicity`}},
		{"list given a map", "train: {by: {a: 1}}\n", Options{}, []string{"train.by", "expected a list"}},
		{"map given a list", "train: {gates: [1, 2]}\n", Options{}, []string{"train.gates", "expected a mapping"}},
		{"struct in map unknown key", "train: {gates: {mae: {maximum: 8}}}\n", Options{}, []string{"train.gates", "mae", `unknown key "maximum"`, "max, min"}},
		{"struct in map type", "train: {gates: {mae: {max: high}}}\n", Options{}, []string{"train.gates", "mae", "max", "expected a number"}},
		{"pair", "train: {span: [1]}\n", Options{}, []string{"train.span", "expected [min, max], got 1 numbers"}},
		{"cross rule", "train: {epochs: 600, lr: 0.5}\n", Options{}, []string{"pipeline.yaml: train.lr: 0.5 is too high"}},
		{"set unknown", "", Options{Sets: []string{"train.epoch=3"}}, []string{"--set train.epoch", "unknown key", "train.epochs"}},
		{"set malformed", "", Options{Sets: []string{"train.epochs"}}, []string{`--set "train.epochs": expected key=value`}},
		{"set wrong type", "", Options{Sets: []string{"train.epochs=lots"}}, []string{"--set: train.epochs", "expected an integer"}},
		{"env wrong type", "", env("FAIRAGE_TRAIN_EPOCHS=ten"), []string{"environment FAIRAGE_TRAIN_EPOCHS", "train.epochs", "expected an integer"}},
		{"env unknown", "", env("FAIRAGE_TRAIN_EPOCH=3"), []string{"environment FAIRAGE_TRAIN_EPOCH: not a setting", "did you mean FAIRAGE_TRAIN_EPOCHS?"}},
		{"not yaml", "train: [unclosed\n", Options{}, []string{"not valid YAML"}},
		{"not a mapping", "- a\n- b\n", Options{}, []string{"expected a mapping of sections"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadText(t, tc.yaml, tc.opts)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("got %v (%T), want a *config.Error", err, err)
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
	_, _, err := loadText(t, "train: {epochs: 0, loss: x}\nrun: {bogus: 1}\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "3 problems") {
		t.Fatalf("want all three problems, got %v", err)
	}
}

func TestConfigOtherEnvAndNoPrefix(t *testing.T) {
	if _, _, err := loadText(t, "", Options{Env: []string{"FAIRAGE_CACHE=/x", "OTHER=1"}, EnvPrefix: "FAIRAGE", OtherEnv: []string{"FAIRAGE_CACHE"}}); err != nil {
		t.Fatalf("a listed non-setting variable: %v", err)
	}
	if _, _, err := loadText(t, "", Options{Env: []string{"FAIRAGE_TRAIN_EPOCH=3"}}); err != nil {
		t.Fatalf("without a prefix the environment is not read: %v", err)
	}
}

func TestConfigDefaultsOverridesAndPrecedence(t *testing.T) {
	c, src, err := loadText(t, "train: {epochs: 5, by: [ethnicity]}\n", Options{
		Env:       []string{"FAIRAGE_TRAIN_LR=0.01", "FAIRAGE_TRAIN_EPOCHS=6", "FAIRAGE_TRAIN_BY=gender,ethnicity", "OTHER=1"},
		EnvPrefix: "FAIRAGE",
		Sets:      []string{"train.epochs=7", "train.head=[64, 32]", "train.gates={mae: {max: 8}}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Epochs != 7 {
		t.Errorf("--set should beat env and file: epochs = %d", c.Train.Epochs)
	}
	if c.Train.LR != 0.01 || src.Where("train.lr") != "environment FAIRAGE_TRAIN_LR" {
		t.Errorf("env should beat default: lr = %v from %q", c.Train.LR, src.Where("train.lr"))
	}
	if fmt.Sprint(c.Train.By) != "[gender ethnicity]" {
		t.Errorf("env list: %v", c.Train.By)
	}
	if fmt.Sprint(c.Train.Head) != "[64 32]" {
		t.Errorf("--set list: %v", c.Train.Head)
	}
	if c.Train.Loss != "mae" || !c.Train.RestoreBest || c.Run.Seed != 7 {
		t.Errorf("defaults not applied: %s", YAML(c))
	}
	if g, ok := c.Train.Gates["mae"]; !ok || g.Max == nil || *g.Max != 8 || g.Min != nil {
		t.Errorf("--set map: %+v", c.Train.Gates)
	}
	if !strings.Contains(YAML(c), "epochs: 7") {
		t.Errorf("YAML dump misses the resolved value:\n%s", YAML(c))
	}
}

// Keys of user-keyed mappings keep their case and dots, which viper alone
// would lose.
func TestUserKeysKeepTheirCase(t *testing.T) {
	c, _, err := loadText(t, "train:\n  groups: {Ethnicity: {Group_A: 0.5, 'v1.0': 0.5, 'a^b': 1}}\n  values: {gender: {M: [Male], f: [x]}}\n",
		Options{Sets: []string{"train.groups.Ethnicity.Group_B=0.25"}})
	if err != nil {
		t.Fatal(err)
	}
	g := c.Train.Groups["Ethnicity"]
	if g["Group_A"] != 0.5 || g["v1.0"] != 0.5 || g["a^b"] != 1 || g["Group_B"] != 0.25 {
		t.Fatalf("groups %v", c.Train.Groups)
	}
	if v := c.Train.Values["gender"]; fmt.Sprint(v["M"]) != "[Male]" || fmt.Sprint(v["f"]) != "[x]" {
		t.Fatalf("values %v", c.Train.Values)
	}
}

func TestConfigExtendsOverlaysABase(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "base.yaml", "train: {epochs: 5, loss: mse, head: [8, 4], groups: {e: {a: 1}}}\nrun: {name: base}\n")
	os.MkdirAll(filepath.Join(dir, "exp"), 0o755)
	over := writeFile(t, filepath.Join(dir, "exp"), "m1.yaml", "extends: ../base.yaml\nrun: {name: m1}\ntrain: {epochs: 9, groups: {e: {b: 2}}}\n")
	c := defaults()
	src, err := Load(over, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Run.Name != "m1" || c.Train.Epochs != 9 || c.Train.Loss != "mse" {
		t.Fatalf("overlay: %s", YAML(c))
	}
	if g := c.Train.Groups["e"]; g["a"] != 1 || g["b"] != 2 {
		t.Errorf("mappings merge across extends: %v", c.Train.Groups)
	}
	if len(src.Chain) != 2 || src.Where("train.epochs") != over || !strings.HasSuffix(src.Where("train.loss"), "base.yaml") {
		t.Fatalf("chain %v, epochs from %s, loss from %s", src.Chain, src.Where("train.epochs"), src.Where("train.loss"))
	}
}

func TestExtendsProblemsAreConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cyc1.yaml", "extends: cyc2.yaml\n")
	writeFile(t, dir, "cyc2.yaml", "extends: cyc1.yaml\n")
	writeFile(t, dir, "child.yaml", "extends: nobase.yaml\n")
	writeFile(t, dir, "bad.yaml", "extends: 3\n")
	cases := []struct {
		file string
		want []string
	}{
		{"cyc1.yaml", []string{"cycle", "cyc1.yaml → " + filepath.Join(dir, "cyc2.yaml") + " → " + filepath.Join(dir, "cyc1.yaml")}},
		{"child.yaml", []string{"child.yaml: extends", "nobase.yaml"}},
		{"missing.yaml", []string{"missing.yaml"}},
		{"bad.yaml", []string{"extends: expected the path of a base config"}},
	}
	for _, tc := range cases {
		_, err := Load(filepath.Join(dir, tc.file), defaults(), Options{})
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Errorf("%s: %v is not a *config.Error", tc.file, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.file, err, w)
			}
		}
	}
}

func TestPathResolvesAgainstTheFileThatSetIt(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "configs"), 0o755)
	os.MkdirAll(filepath.Join(dir, "experiments"), 0o755)
	writeFile(t, filepath.Join(dir, "configs"), "base.yaml", "data: {root: ../data/faces}\n")
	over := writeFile(t, filepath.Join(dir, "experiments"), "m1.yaml", "extends: ../configs/base.yaml\n")
	c := defaults()
	if _, err := Load(over, c, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Data.Root, filepath.Join(dir, "configs", "..", "data", "faces"); filepath.Clean(got) != filepath.Clean(want) {
		t.Errorf("data.root = %s, want %s", got, want)
	}
	if c.Data.Other != "rel/default" {
		t.Errorf("default path changed: %s", c.Data.Other)
	}
	c = defaults()
	Load(over, c, Options{Sets: []string{"data.root=/abs/x"}})
	if c.Data.Root != "/abs/x" {
		t.Errorf("--set absolute path: %s", c.Data.Root)
	}
}

func TestDigestFollowsDeclarationsAndSkipsSpeedSettings(t *testing.T) {
	a, _, _ := loadText(t, "run: {name: a}\n", Options{})
	b, _, _ := loadText(t, "run: {name: b}\ntrain: {workers: 8}\n", Options{})
	c, _, _ := loadText(t, "run: {seed: 99}\n", Options{})
	digest := func(cfg *ruleConfig, ptrs func(*ruleConfig) []any) string {
		d, err := Declare(cfg, ptrs(cfg)...)
		if err != nil {
			t.Fatal(err)
		}
		return DeclDigest(d)
	}
	train := func(c *ruleConfig) []any { return []any{&c.Train} }
	seed := func(c *ruleConfig) []any { return []any{&c.Run.Seed} }
	if digest(a, train) != digest(b, train) {
		t.Error("train digest changed with a fingerprint:\"-\" setting")
	}
	if digest(a, seed) != digest(b, seed) {
		t.Error("a single-key digest changed with another key")
	}
	if digest(a, seed) == digest(c, seed) {
		t.Error("run.seed digest did not change with the seed")
	}
	if _, err := Declare(a, new(int)); err == nil {
		t.Error("a pointer outside the config was declared")
	}
}

func TestRestrictKeepsOnlyTheDeclared(t *testing.T) {
	c, _, err := loadText(t, "train: {epochs: 9, gates: {mae: {max: 1}}}\nrun: {name: r}\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Declare(c, &c.Train.Epochs, &c.Run)
	if err != nil {
		t.Fatal(err)
	}
	v := Restrict(c, d)
	if v.Train.Epochs != 9 || v.Run.Name != "r" || v.Run.Seed != 7 {
		t.Errorf("declared settings not copied: %+v", v)
	}
	if v.Train.LR != 0 || v.Train.Gates != nil || v.Train.Loss != "" {
		t.Errorf("undeclared settings visible: %+v", v.Train)
	}
	if got := strings.Join(DeclLeaves(d, true), " "); got != "run.name run.seed train.epochs" {
		t.Errorf("leaves %s", got)
	}
}

func TestDecodeRoundTripsNested(t *testing.T) {
	c, _, err := loadText(t, "train: {groups: {Eth: {A: 1}}, span: [2, 3], gates: {mae: {max: 4}}}\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	back := defaults()
	if err := Decode(Nested(c), back, "manifest.json"); err != nil {
		t.Fatal(err)
	}
	if YAML(back) != YAML(c) {
		t.Fatalf("round trip differs:\n%s\nvs\n%s", YAML(back), YAML(c))
	}
}

func TestReferenceListsEveryLeaf(t *testing.T) {
	ref := Reference(defaults(), "FAIRAGE")
	for _, want := range []string{"## `train`", "| `train.epochs` | integer | `10` | [1, 1000] | epochs |", "`train.loss` | string | `\"mae\"` | mae, mse",
		"`train.nested.sigma`", "`data.root` | string | `\"\"` | path, relative to the config file", "`train.span` | value"} {
		if !strings.Contains(ref, want) {
			t.Errorf("reference lacks %q:\n%s", want, ref)
		}
	}
	if strings.Contains(ref, "hidden") {
		t.Error("reference lists a yaml:\"-\" field")
	}
}
