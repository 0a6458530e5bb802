package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"

	"fairage/internal/atomicfile"
)

// metricJSON is one row of metrics.json: the metrics table's columns, with
// null for undefined values.
type metricJSON struct {
	Attribute string   `json:"attribute"`
	Group     *string  `json:"group"`
	Metric    string   `json:"metric"`
	Estimate  *float64 `json:"estimate"`
	Lower     *float64 `json:"lower"`
	Upper     *float64 `json:"upper"`
	N         int64    `json:"n"`
	Flags     string   `json:"flags"`
}

// MarshalMetricsJSON encodes the metrics table as a flat JSON array of
// records, one per attribute/group/metric, the same rows and columns as
// metrics.arrow (pandas.read_json(path) reads it as the table). Undefined
// values are null.
func MarshalMetricsJSON(r *Result) ([]byte, error) {
	rows := MetricRows(r)
	out := make([]metricJSON, len(rows))
	num := func(v float64) *float64 {
		if !finite(v) {
			return nil
		}
		return &v
	}
	for i, row := range rows {
		out[i] = metricJSON{Attribute: row.Attribute, Metric: row.Metric, Estimate: num(row.Estimate),
			Lower: num(row.Lower), Upper: num(row.Upper), N: row.N, Flags: row.Flags}
		if row.Group != "" {
			g := row.Group
			out[i].Group = &g
		}
	}
	// One record per line keeps the file diffable and greppable.
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, rec := range out {
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode metrics.json: %w", err)
		}
		buf.WriteString("  ")
		buf.Write(b)
		if i < len(out)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}

// WriteMetricsJSON writes metrics.json (MarshalMetricsJSON) atomically.
func WriteMetricsJSON(path string, r *Result) error {
	b, err := MarshalMetricsJSON(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}
