package stages

import (
	"fmt"

	"fairage/config"
	"fairage/pipeline"
	"fairage/tfmodel"

	// Model kinds register themselves.
	_ "fairage/onnxmodel"
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
}

// Graph returns the stages a config runs, in order. Training runs when the
// model kind is trainable and model.from is empty; otherwise the balance,
// augment and train stages are left out, and the graph says why.
func Graph(cfg *Config) *pipeline.Graph {
	info := graphInfo{trains: cfg.trains()}
	defs := []stageDef{ingestDef, splitDef}
	if info.trains {
		defs = append(defs, balanceDef, augmentDef, trainDef)
	}
	defs = append(defs, evaluateDef, analyzeDef, reportDef)
	var st []pipeline.Stage
	for _, d := range defs {
		st = append(st, d.make(cfg, info))
	}
	g, err := pipeline.NewGraph(st...)
	if err != nil {
		// The graph is fixed in code; any test that builds it catches this.
		panic(err)
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
