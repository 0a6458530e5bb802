package stages

import (
	"fairage/pipeline"
	"fairage/tfmodel"
)

// Schema is the complete config schema: every key a pipeline.yaml may hold.
// Each section is declared in its stage's file.
func Schema() *pipeline.Schema {
	return pipeline.MustSchema(runSection, dataSection, splitSection, balanceSection, augmentSection,
		modelSection, trainSection, evaluateSection, analysisSection, reportSection)
}

// Graph returns the stages a config runs, in order. Training runs unless the
// config audits an existing model (evaluate.model) or an external
// predictions file (evaluate.backend: predictions).
func Graph(cfg *pipeline.Config) *pipeline.Graph {
	mode := evaluationMode(cfg)
	st := []pipeline.Stage{newIngestStage(cfg), newSplitStage()}
	reportInputs := []string{stageEvaluate, stageAnalyze}
	if mode == evalTrained {
		st = append(st, newBalanceStage(), newAugmentStage(), newTrainStage())
		reportInputs = append(reportInputs, stageBalance, stageAugment, stageTrain)
	}
	st = append(st, newEvaluateStage(mode), newAnalyzeStage(), newReportStage(reportInputs))
	g, err := pipeline.NewGraph(st...)
	if err != nil {
		// The graph is fixed in code; any test that builds it catches this.
		panic(err)
	}
	return g
}

// Versions reports component versions for the run manifest.
func Versions() map[string]string {
	return map[string]string{"tensorflow": tfmodel.Version()}
}
