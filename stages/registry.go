package stages

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"fairage/config"
	"fairage/pipeline"
	"fairage/tfmodel"

	// Model kinds register themselves.
	_ "fairage/faceapimodel"
	_ "fairage/onnxmodel"
	_ "fairage/savedmodel"
	_ "fairage/tfjsmodel"
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
	infer  bool // the infer stage runs between ingest and split
}

// samplesStage is the stage whose samples.arrow split reads: ingest's, or
// infer's when it fills attributes.
func (g graphInfo) samplesStage() string {
	if g.infer {
		return stageInfer
	}
	return stageIngest
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
	info.infer = !info.audit && cfg.Infer.Expression.Enabled
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
	defs := []stageDef{ingestDef}
	if info.infer {
		defs = append(defs, inferDef)
	}
	defs = append(defs, splitDef)
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

// revisionKey names the code's git commit in a manifest's versions.
const revisionKey = "fairage_revision"

// Versions reports component versions for the run manifest, with the git
// commit of the code: the build's (vcs.revision, "+dirty" when it had
// uncommitted changes) or, when the binary lacks it (go run, go test),
// the working tree's (git rev-parse HEAD), so every run says which code
// made it.
func Versions() map[string]string {
	v := map[string]string{"tensorflow": tfmodel.Version()}
	if c := revision(); c != "" {
		v[revisionKey] = c
	}
	return v
}

// revision is the code's commit, "" when neither the build nor git knows.
var revision = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "+dirty"
			}
			return rev
		}
	}
	// The checkout the binary was built in (bin/pipeline), else the
	// working folder's, whichever is a checkout of this module: a user's
	// own repository around the runs folder is not the code's.
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	for _, d := range dirs {
		top, err := exec.Command("git", "-C", d, "rev-parse", "--show-toplevel").Output()
		if err != nil {
			continue
		}
		mod, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(top)), "go.mod"))
		if err != nil || !strings.HasPrefix(string(mod), "module fairage\n") {
			continue
		}
		out, err := exec.Command("git", "-C", d, "rev-parse", "HEAD").Output()
		if err != nil {
			continue
		}
		rev := strings.TrimSpace(string(out))
		if exec.Command("git", "-C", d, "diff", "--quiet", "HEAD").Run() != nil {
			rev += "+dirty"
		}
		return rev
	}
	return ""
})
