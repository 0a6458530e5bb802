package stages

import (
	"fmt"
	"path/filepath"

	"fairage/config"
	"fairage/pipeline"
	"fairage/tfmodel"
)

// stageDef declares one stage: which settings it reads (pointers into the
// config) and how it is built from a view of the config that holds only
// those settings, so a stage cannot depend on a setting it did not
// declare (and its fingerprint covers everything it reads).
type stageDef struct {
	name  string
	reads func(c *Config) []any
	build func(view *Config, decls []config.Decl, g graphInfo) pipeline.Stage
}

// graphInfo is what a stage may know of the graph around it (not of the
// config): which stages feed it.
type graphInfo struct {
	trains bool // the graph has the training stages
	audit  bool // the graph audits a table (audit.file): load, not ingest … evaluate
}

// predictionsStage is the stage whose predictions.arrow the analysis reads.
func (g graphInfo) predictionsStage() string {
	if g.audit {
		return stageLoad
	}
	return stageEvaluate
}

// Graph returns the stages a config runs, in order. Training runs when the
// model kind is trainable and model.from is empty; otherwise the balance,
// augment and train stages are left out, and the graph says why.
//
// With audit.file set the graph audits that table instead: load, analyze
// and report, and every image stage is left out, saying so.
func Graph(cfg *Config) *pipeline.Graph {
	info := graphInfo{trains: cfg.trains(), audit: cfg.Audit.Enabled()}
	defs := graphDefs(info)
	var st []pipeline.Stage
	for _, d := range defs {
		st = append(st, d.make(cfg, info))
	}
	g, err := pipeline.NewGraph(st...)
	if err != nil {
		// The graph is fixed in code; any test that builds it catches this.
		panic(err)
	}
	if info.audit {
		why := fmt.Sprintf("an audit of the predictions table %s (audit.file): no images, no model", filepath.Base(cfg.Audit.File))
		for _, name := range []string{stageIngest, stageSplit, stageBalance, stageAugment, stageTrain, stageEvaluate} {
			g.Omit(pipeline.Omitted{Name: name, Reason: why, After: stageLoad})
		}
		return g
	}
	if !info.trains {
		why := fmt.Sprintf("nothing to train for kind %s", cfg.Model.Kind)
		if cfg.kind().Trainable {
			why = fmt.Sprintf("model.from gives a trained model (%s)", cfg.Model.From)
		}
		g.Omit(pipeline.Omitted{Name: stageBalance, Reason: why, After: stageSplit},
			pipeline.Omitted{Name: stageAugment, Reason: why, After: stageSplit},
			pipeline.Omitted{Name: stageTrain, Reason: why, After: stageSplit})
	}
	return g
}

// graphDefs lists the stage definitions of a graph, in run order.
func graphDefs(info graphInfo) []stageDef {
	if info.audit {
		return []stageDef{loadDef, analyzeDef, reportDef}
	}
	defs := []stageDef{ingestDef, splitDef}
	if info.trains {
		defs = append(defs, balanceDef, augmentDef, trainDef)
	}
	return append(defs, evaluateDef, analyzeDef, reportDef)
}

// make declares the stage's settings in cfg and builds it from a view
// holding only those.
func (d stageDef) make(cfg *Config, info graphInfo) pipeline.Stage {
	decls, err := config.Declare(cfg, d.reads(cfg)...)
	if err != nil {
		panic(fmt.Sprintf("stage %s: %v", d.name, err)) // a declaration bug; tests build every graph
	}
	return d.build(config.Restrict(cfg, decls), decls, info)
}

// Versions reports component versions for the run manifest.
func Versions() map[string]string {
	return map[string]string{"tensorflow": tfmodel.Version()}
}
