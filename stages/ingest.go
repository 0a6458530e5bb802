package stages

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"fairage/config"
	"fairage/dataset"
	"fairage/internal/atomicfile"
	"fairage/pipeline"
)

// ingestDef reads the shared data settings (not data.workers, which
// never changes the output) and only the chosen adapter's sub-section, so
// a config extending another (configs/utkface.yaml extends the synthetic
// pipeline.yaml) keeps its ingest when only another adapter's settings
// change.
var ingestDef = stageDef{
	name: stageIngest,
	reads: func(c *Config) []any {
		reads := []any{&c.Data.Adapter, &c.Data.Root, &c.Data.Ingest}
		if sel, err := c.Data.Selected(); err == nil {
			reads = append(reads, sel)
		}
		return reads
	},
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		sel, _ := v.Data.Selected() // validated at load
		// Version 3: ids from cleaned paths, duplicate files (same path or
		// same bytes) rejected, data.min_side. Version 4: the samples
		// table's subject column.
		return ingestStage{stageBase: stageBase{name: stageIngest, version: "4", decls: d},
			opts: v.Data.Ingest, env: v.Data.Env(), source: sel}
	},
}

// ingestStage reads the dataset, validates every row, and packs the
// decoded, resized images.
type ingestStage struct {
	stageBase
	opts   dataset.IngestOptions
	env    dataset.OpenEnv
	source dataset.AdapterConfig
}

// ingestReport is ingest.json.
type ingestReport struct {
	Source   string                `json:"source"`
	Rows     int                   `json:"rows_in"`
	Samples  int                   `json:"samples"`
	Rejected int                   `json:"rejected"`
	ByReason []dataset.ReasonCount `json:"rejected_by_reason"`
}

// InputDigest fingerprints the dataset files: metadata by content, images
// by name, size and modification time.
func (s ingestStage) InputDigest(ctx context.Context) (string, error) {
	files, err := s.source.InputFiles(ctx, s.env)
	if err != nil {
		return "", err
	}
	return pipeline.FilesDigest(files, 64<<20)
}

func (s ingestStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts := s.opts
	src, err := s.source.Open(ctx, s.env)
	if err != nil {
		return pipeline.Stats{}, err
	}
	tr := sc.Progress("ingest", "img", src.Len())
	samples, rejected, err := dataset.Ingest(ctx, src, opts, outPath(sc, imagesFile), tr)
	// The rejection list of a failed ingest goes beside the run, since the
	// stage output is discarded on failure; a stale one from an earlier
	// failure must not be mistaken for this run's.
	list, _ := filepath.Abs(filepath.Join(sc.RunDir, "ingest-rejected.csv"))
	var tooMany *dataset.TooManyRejectionsError
	if errors.As(err, &tooMany) {
		// The manifest records what was counted, not 0/0/0.
		stats := pipeline.Stats{RowsIn: int64(src.Len()), RowsOut: int64(len(samples)), Rejected: int64(len(rejected))}
		werr := writeRejectionsCSV(list, rejected)
		if werr == nil {
			_, werr = os.Stat(list)
		}
		if werr != nil {
			return stats, fmt.Errorf("%w\n(the list of rejections could not be written: %v)", err, werr)
		}
		return stats, fmt.Errorf("%w\nall %d rejections: %s", err, len(rejected), list)
	}
	if err != nil {
		return pipeline.Stats{}, err
	}
	os.Remove(list)
	byReason := dataset.CountByReason(rejected)
	if len(rejected) > 0 {
		fmt.Fprintf(sc.Log, "ingest: warning: %d of %d rows rejected (%s); see %s in the ingest output\n",
			len(rejected), src.Len(), dataset.FormatReasonCounts(byReason), rejectedFile)
	}
	if err := dataset.WriteSamples(outPath(sc, samplesFile), samples); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WriteRejections(outPath(sc, rejectedFile), rejected); err != nil {
		return pipeline.Stats{}, err
	}
	rep := ingestReport{Source: src.Name(), Rows: src.Len(), Samples: len(samples), Rejected: len(rejected), ByReason: byReason}
	if err := writeJSON(outPath(sc, "ingest.json"), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(src.Len()), RowsOut: int64(len(samples)), Rejected: int64(len(rejected))}, nil
}

func writeRejectionsCSV(path string, rows []dataset.Rejection) error {
	return atomicfile.WriteBuffered(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		w.Write([]string{"source", "row", "id", "reason", "detail"})
		for _, r := range rows {
			w.Write([]string{r.Source, strconv.FormatInt(r.Row, 10), r.ID, r.Reason, r.Detail})
		}
		w.Flush()
		return w.Error()
	})
}
