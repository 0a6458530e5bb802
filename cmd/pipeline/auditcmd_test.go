package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fairage/analysis"
)

// auditTable writes a table of 600 predictions with its own attributes:
// skin tone V and VI have larger errors, camera one value per person,
// brightness numeric, and a NaN, a 1e300 and a non-number prediction.
func auditTable(t *testing.T) string {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("id,age,prediction,skin_tone,camera,brightness,person\n")
	tones := []string{"I", "II", "III", "IV", "V", "VI"}
	for i := 0; i < 600; i++ {
		age := 1 + r.Float64()*80
		tone := tones[i%len(tones)]
		sd := 3.0
		if tone == "V" || tone == "VI" {
			sd = 7
		}
		pred := fmt.Sprintf("%.2f", age+r.NormFloat64()*sd)
		switch i {
		case 10:
			pred = "NaN"
		case 11:
			pred = "1e300"
		case 12:
			pred = "n/a?"
		}
		fmt.Fprintf(&b, "r%d,%.1f,%s,%s,cam%d,%.3f,p%d\n", i, age, pred, tone, (i/2)%2, r.Float64(), i/2)
	}
	path := filepath.Join(t.TempDir(), "preds.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pipeline audit reads a table without images: every output is written,
// the table's own columns are the attributes, unusable rows are counted
// with reasons, and nothing undefined reaches the JSON.
func TestAuditTable(t *testing.T) {
	table, runs := auditTable(t), t.TempDir()
	out, err, code := execute(t, "audit", table, "--runs", runs, "--y-true", "age", "--y-pred", "prediction", "--id", "id",
		"--subject", "person", "--attributes", "skin_tone,camera,brightness,age_group", "--intersections", "skin_tone*camera",
		"--bin", "brightness=0.3,0.6", "--set", "analysis.bootstrap.resamples=50", "--set", "analysis.permutation.resamples=50")
	if err != nil || code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	dir := filepath.Join(runs, "preds-audit")
	for _, f := range []string{"load/predictions.arrow", "load/rejected.arrow", "analyze/summary.json", "analyze/metrics.arrow",
		"analyze/metrics.json", "analyze/metrics.parquet", "analyze/predictions.parquet", "report/report.html", "report/report.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	res, err := analysis.ReadSummary(filepath.Join(dir, "analyze", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range res.Attributes {
		names = append(names, a.Key)
	}
	if got := strings.Join(names, " "); got != "skin_tone camera brightness age_group skin_tone_x_camera" {
		t.Errorf("attributes %s", got)
	}
	if tone := res.Attribute("skin_tone"); tone == nil || tone.Worst != "V" && tone.Worst != "VI" {
		t.Errorf("skin tone: worst %+v", tone)
	}
	if b := res.Attribute("brightness"); b == nil || len(b.Groups) != 3 || b.Groups[0].Name != "<0.3" {
		t.Errorf("brightness bins %+v", b)
	}
	if res.Settings.Rows != 597 || len(res.Rejected) != 2 {
		t.Errorf("rows %d, rejected %+v (NaN and 1e300 are the analysis's; the non-number is the load's)", res.Settings.Rows, res.Rejected)
	}
	if res.WithinSubject == nil || res.WithinSubject.Subjects != 299 {
		t.Errorf("within-subject %+v", res.WithinSubject)
	}
	for _, f := range []string{"analyze/summary.json", "analyze/metrics.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		var v any
		// A bare NaN or Inf would not parse.
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("%s is not plain JSON: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report", "report.html"))
	if !strings.Contains(string(html), "could not be loaded") {
		t.Error("the report does not say that a row could not be loaded")
	}
}

// Bad input is a clear error with exit code 2, naming the flag and
// listing the file's columns.
func TestAuditBadInput(t *testing.T) {
	table, runs := auditTable(t), t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--y-true", "age", "--y-pred", "pred", "--attributes", "skin"},
			[]string{`--y-pred: audit.y_pred: preds.csv has no column "pred" (columns: id, age, prediction, skin_tone, camera, brightness, person)`,
				`--attributes: analysis.attributes[0]: "skin" is not a column of preds.csv`}},
		{[]string{"--y-true", "age", "--y-pred", "prediction"}, []string{"--attributes: give the columns to audit by (columns of preds.csv: id, age"}},
		{[]string{"--y-true", "age", "--y-pred", "prediction", "--attributes", "camera", "--bin", "brightness"}, []string{`--bin "brightness": expected COL=e1,e2`}},
		{[]string{"--y-true", "age", "--y-pred", "prediction", "--attributes", "camera", "--set", "analysis.split=test"}, []string{"analysis.split: test selects rows by their split"}},
	} {
		_, err, code := execute(t, append([]string{"audit", table, "--runs", runs}, tc.args...)...)
		for _, w := range tc.want {
			if code != exitConfig || err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: exit %d, error %v; want %q", tc.args, code, err, w)
			}
		}
	}
	_, err, code := execute(t, "audit", filepath.Join(t.TempDir(), "none.csv"), "--attributes", "a")
	if code != exitConfig || err == nil || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("missing file: exit %d, %v", code, err)
	}
}
