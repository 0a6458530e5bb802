package reports

import (
	"flag"
	"path/filepath"
	"testing"
)

var sampleDir = flag.String("sample", "", "write the fixture's report and comparison into this folder (for scripts/report-check.sh)")

// TestSample writes the fixture reports to -sample DIR so a person (or
// scripts/report-check.sh) can look at them; skipped without the flag.
func TestSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("no -sample folder")
	}
	if _, err := Write(*sampleDir, fixtureRun(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteComparison(filepath.Join(*sampleDir, "compare"), fixtureComparison(t), DefaultOptions()); err != nil {
		t.Fatal(err)
	}
}
