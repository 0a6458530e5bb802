package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"fairage/audit"
	"fairage/config"
	"fairage/pipeline"
	"fairage/stages"
)

// auditFlags are pipeline audit's own flags, each standing for a config key.
type auditFlags struct {
	configFlags
	configPath, name                         string
	yTrue, yPred, id, subject, split         string
	attributes, intersections, bins, missing []string
	maxReject                                float64
}

func newAuditCmd() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit FILE --y-true COL --y-pred COL --attributes a,b,c",
		Short: "Audit any predictions table (CSV, TSV, Parquet, Arrow) for bias, without images",
		Long: `Audit the predictions in FILE, a table with one row per prediction: the
true and predicted ages and any columns to group by (skin tone, dataset,
camera…). No images are read and no model is run: the stages are load,
analyze and report, in runs/<name>/ (default name: <file stem>-audit), with
the same report, summary.json, metrics and gates (exit code 3) as a
pipeline run. Numeric attributes are binned with --bin COL=e1,e2; age_group
is always binned from the true age (analysis.age_edges).

The same audit can be written in a config (the audit: section, with the
attributes in analysis.attributes) and run with pipeline run; --config
starts from such a config (its analysis, report and gate settings) and the
flags override it.

  pipeline audit preds.csv --y-true age --y-pred prediction --attributes skin_tone,camera --intersections skin_tone*camera`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, &f, args[0]) },
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "config", "", "start from this config (its audit:, analysis: and report: sections)")
	fl.StringVar(&f.yTrue, "y-true", "y_true", "column with the true age")
	fl.StringVar(&f.yPred, "y-pred", "y_pred", "column with the predicted age")
	fl.StringSliceVar(&f.attributes, "attributes", nil, "columns to audit by, comma-separated (age_group: bins of the true age)")
	fl.StringSliceVar(&f.intersections, "intersections", nil, "joint groupings such as a*b, comma-separated")
	fl.StringVar(&f.id, "id", "", "column with a row id (default: the row number)")
	fl.StringVar(&f.subject, "subject", "", "column identifying the person, for within-subject comparisons")
	fl.StringVar(&f.split, "split", "", "column with each row's split (then --set analysis.split=test audits one)")
	fl.StringArrayVar(&f.bins, "bin", nil, "bin a numeric attribute: COL=e1,e2,… (repeatable)")
	fl.StringSliceVar(&f.missing, "missing", nil, "texts read as unknown (default NA, N/A, null, None)")
	fl.Float64Var(&f.maxReject, "max-reject-fraction", 0.1, "fail when more than this fraction of rows cannot be loaded")
	fl.StringVar(&f.name, "name", "", "run name (default: <file stem>-audit, or the config's run.name)")
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags, file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return &config.Error{File: file, Problems: []string{fmt.Sprintf("FILE: %v", err)}}
	}
	changed := cmd.Flags().Changed
	if !changed("attributes") && !changed("intersections") && f.configPath == "" {
		hint := ""
		if h, err := audit.Header(abs); err == nil {
			hint = fmt.Sprintf(" (columns of %s: %s)", filepath.Base(file), strings.Join(h, ", "))
		}
		return &pipeline.UsageError{Err: fmt.Errorf("--attributes: give the columns to audit by%s", hint)}
	}
	flags := []config.Flag{{Name: "FILE", Key: "audit.file", Value: yamlString(abs)}}
	str := func(flag, key, v string) {
		if changed(flag) || f.configPath == "" {
			flags = append(flags, config.Flag{Name: "--" + flag, Key: key, Value: yamlString(v)})
		}
	}
	str("y-true", "audit.y_true", f.yTrue)
	str("y-pred", "audit.y_pred", f.yPred)
	str("id", "audit.id", f.id)
	str("subject", "audit.subject", f.subject)
	str("split", "audit.split", f.split)
	list := func(flag, key string, v []string) {
		if changed(flag) {
			flags = append(flags, config.Flag{Name: "--" + flag, Key: key, Value: yamlList(v)})
		}
	}
	list("attributes", "analysis.attributes", f.attributes)
	list("intersections", "analysis.intersections", f.intersections)
	list("missing", "audit.missing", f.missing)
	if changed("max-reject-fraction") {
		flags = append(flags, config.Flag{Name: "--max-reject-fraction", Key: "audit.max_reject_fraction", Value: fmt.Sprint(f.maxReject)})
	}
	if len(f.bins) > 0 {
		bins := map[string][]float64{}
		for _, b := range f.bins {
			col, edges, ok := strings.Cut(b, "=")
			var vals []float64
			for _, e := range strings.Split(edges, ",") {
				var v float64
				if _, err := fmt.Sscan(strings.TrimSpace(e), &v); err != nil {
					ok = false
					break
				}
				vals = append(vals, v)
			}
			if !ok || col == "" {
				return &pipeline.UsageError{Err: fmt.Errorf("--bin %q: expected COL=e1,e2,… with numbers, e.g. brightness=0.3,0.6", b)}
			}
			bins[strings.TrimSpace(col)] = vals
		}
		b, _ := json.Marshal(bins)
		flags = append(flags, config.Flag{Name: "--bin", Key: "audit.bins", Value: string(b)})
	}
	sets := f.sets
	if f.configPath == "" {
		// Without a config every row is audited unless --set says otherwise.
		sets = append([]string{"analysis.split=all"}, sets...)
	}
	cfg, err := stages.Load(f.configPath, stages.LoadOptions{Sets: sets, Env: os.Environ(), Flags: flags})
	if err != nil {
		return err
	}
	warnDeprecated(cmd, cfg)
	name := f.name
	if name == "" {
		name = cfg.Run.Name
		if cfg.Source.Where("run.name") == "" {
			name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + "-audit"
		}
	}
	if err := pipeline.CheckRunName(name); err != nil {
		return &config.Error{File: file, Problems: []string{"--name: " + err.Error()}}
	}
	cfg.Run.Name = name
	opts := f.runOptions(cfg)
	r := &pipeline.Runner{Graph: stages.Graph(cfg.Config)}
	m, err := r.Run(cmd.Context(), opts)
	if m != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "audit %s %s: %s\n", m.Name, m.Status, filepath.Join(opts.RunDir(), stages.ReportHTML))
	}
	return err
}

// yamlString quotes s for a YAML value (a column may be called "yes").
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// yamlList writes a flag's comma-separated values as a YAML list.
func yamlList(v []string) string {
	for i := range v {
		v[i] = strings.TrimSpace(v[i])
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// warnDeprecated prints the settings a config spelt the old way.
func warnDeprecated(cmd *cobra.Command, cfg *stages.Loaded) {
	for _, d := range cfg.Analysis.Deprecated {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", d)
	}
}
