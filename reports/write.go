package reports

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"fairage/internal/atomicfile"
)

// Files lists what Write or WriteComparison wrote.
type Files struct {
	Markdown string   // report.md or compare.md
	HTML     string   // report.html or compare.html (self-contained)
	Figures  []string // figures beside the Markdown, which links them
	Data     []string // machine-readable copies (compare.json, compare.csv)
}

// Write renders a run's report into dir: report.md (figures in
// dir/figures/, linked) and a self-contained report.html. Each file is
// written atomically.
func Write(dir string, run Run, opts Options) (Files, error) {
	pg, err := preparePage(&run, opts)
	if err != nil {
		return Files{}, err
	}
	files := Files{Markdown: filepath.Join(dir, "report.md"), HTML: filepath.Join(dir, "report.html")}
	for _, s := range pg.Charts {
		for _, c := range s.Charts {
			path := filepath.Join(dir, filepath.FromSlash(c.File()))
			if err := atomicfile.WriteBytes(path, c.SVG); err != nil {
				return Files{}, fmt.Errorf("report figure: %w", err)
			}
			files.Figures = append(files.Figures, path)
		}
	}
	if pg.Contact.PNG != nil {
		path := filepath.Join(dir, filepath.FromSlash(pg.Contact.File()))
		if err := atomicfile.WriteBytes(path, pg.Contact.PNG); err != nil {
			return Files{}, fmt.Errorf("report figure: %w", err)
		}
		files.Figures = append(files.Figures, path)
	}
	if err := writePages(files, "report", pg); err != nil {
		return Files{}, err
	}
	return files, nil
}

// writePages writes the Markdown and HTML renderings of pg, from the
// templates name.md.tmpl and name.html.tmpl, atomically.
func writePages(files Files, name string, pg any) error {
	if err := atomicfile.WriteBuffered(files.Markdown, func(w io.Writer) error {
		return renderMarkdown(w, name+".md.tmpl", pg)
	}); err != nil {
		return err
	}
	return atomicfile.WriteBuffered(files.HTML, func(w io.Writer) error {
		return renderHTML(w, name+".html.tmpl", pg)
	})
}

// RenderMarkdown writes a run's report.md to w (figures are linked as
// figures/*.svg; Write also writes them).
func RenderMarkdown(w io.Writer, run Run, opts Options) error {
	pg, err := preparePage(&run, opts)
	if err != nil {
		return err
	}
	return renderMarkdown(w, "report.md.tmpl", pg)
}

// RenderHTML writes a run's self-contained report.html to w.
func RenderHTML(w io.Writer, run Run, opts Options) error {
	pg, err := preparePage(&run, opts)
	if err != nil {
		return err
	}
	return renderHTML(w, "report.html.tmpl", pg)
}

// preparePage validates the input and builds the page with its charts.
func preparePage(run *Run, opts Options) (page, error) {
	if err := opts.Validate(); err != nil {
		return page{}, fmt.Errorf("report options: %w", err)
	}
	if run.Analysis == nil {
		return page{}, errors.New("report: the run has no analysis result")
	}
	pg := buildPage(run, opts)
	charts, err := buildCharts(run, opts)
	if err != nil {
		return page{}, fmt.Errorf("report charts: %w", err)
	}
	pg.Charts = charts
	pg.TOC = buildTOC(&pg)
	if pg.Contact, err = loadContactSheet(run.ContactSheet); err != nil {
		return page{}, fmt.Errorf("report: %w", err)
	}
	return pg, nil
}
