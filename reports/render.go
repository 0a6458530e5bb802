package reports

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templateFS embed.FS

// The templates are parsed once; a parse error is a build defect that the
// package's tests catch, so Must is appropriate here.
var (
	mdTemplates = texttemplate.Must(texttemplate.New("md").Funcs(texttemplate.FuncMap{
		"md":    mdEscape,
		"fence": fence,
		"slug":  slug,
	}).ParseFS(templateFS, "templates/*.md.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("html").Funcs(htmltemplate.FuncMap{
		"css": func() htmltemplate.CSS { return htmltemplate.CSS(styleCSS) },
	}).ParseFS(templateFS, "templates/*.html.tmpl"))
	styleCSS = mustRead("templates/style.css")
)

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot fail at run time
	}
	return string(b)
}

// slug is the anchor a Markdown renderer (GitHub's) gives a heading:
// lower case, spaces as '-', other punctuation dropped.
func slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ' || r == '-':
			b.WriteByte('-')
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 0x7f && r != '×' && r != '−':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// fence wraps text in a Markdown code fence longer than any run of
// backticks inside it, so the text cannot close the fence early.
func fence(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	return f + "\n" + strings.TrimRight(text, "\n") + "\n" + f
}

// renderMarkdown executes a Markdown template and collapses runs of blank
// lines, which the templates' optional sections leave behind (fenced code
// keeps its blank lines: config text is written verbatim).
func renderMarkdown(w io.Writer, name string, data any) error {
	var buf bytes.Buffer
	if err := mdTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	var out bytes.Buffer
	inFence, blank := "", 0
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case inFence != "":
			if trimmed == inFence {
				inFence = ""
			}
		case strings.HasPrefix(trimmed, "```"):
			inFence = trimmed
		case trimmed == "":
			if blank++; blank > 1 {
				continue
			}
		default:
			blank = 0
		}
		if trimmed != "" {
			blank = 0
		}
		out.WriteString(line)
	}
	_, err := w.Write(out.Bytes())
	return err
}

func renderHTML(w io.Writer, name string, data any) error {
	if err := htmlTemplates.ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return nil
}
