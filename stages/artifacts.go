package stages

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"fairage/config"
	"fairage/dataset"
	"fairage/internal/atomicfile"
	"fairage/pipeline"
)

// File names of the artifacts each stage writes into its output folder.
// Downstream stages find them through sc.Inputs[stage].
const (
	samplesFile      = "samples.arrow"      // ingest, split
	rejectedFile     = "rejected.arrow"     // ingest
	imagesFile       = "images.pack"        // ingest
	planFile         = "plan.arrow"         // balance
	distributionFile = "distribution.arrow" // balance
	trainImagesFile  = "train.pack"         // augment (offline mode)
	contactSheetFile = "contact_sheet.png"  // augment
	modelDir         = "model"              // train
	historyFile      = "history.arrow"      // train
	predictionsFile  = "predictions.arrow"  // evaluate
	metricsFile      = "metrics.arrow"      // analyze
	summaryFile      = "summary.json"       // analyze
)

// Stage names, in run order.
const (
	stageIngest   = "ingest"
	stageSplit    = "split"
	stageBalance  = "balance"
	stageAugment  = "augment"
	stageTrain    = "train"
	stageEvaluate = "evaluate"
	stageAnalyze  = "analyze"
	stageReport   = "report"
)

// inputPath is the path of an artifact of an input stage.
func inputPath(sc *pipeline.StageContext, stage, file string) string {
	return filepath.Join(sc.Inputs[stage], file)
}

// outPath is the path of an artifact in this stage's output folder.
func outPath(sc *pipeline.StageContext, file string) string {
	return filepath.Join(sc.OutDir, file)
}

// splitSamples reads the samples as the split stage assigned them.
func splitSamples(sc *pipeline.StageContext) ([]dataset.Sample, error) {
	return dataset.ReadSamples(inputPath(sc, stageSplit, samplesFile))
}

// writeJSON writes v, indented, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// stageBase carries what every stage declares, so each stage file only
// states what is particular to it.
type stageBase struct {
	name    string
	version string
	decls   []config.Decl
	inputs  []string
}

func (b stageBase) Name() string            { return b.name }
func (b stageBase) Version() string         { return b.version }
func (b stageBase) Settings() []config.Decl { return b.decls }
func (b stageBase) Inputs() []string        { return b.inputs }
