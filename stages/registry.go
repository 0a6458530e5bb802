package stages

import "fairage/pipeline"

// Schema is the complete config schema: every key a pipeline.yaml may hold.
func Schema() *pipeline.Schema {
	return pipeline.MustSchema(runSection)
}

// Graph returns the stages of a run in order.
func Graph() *pipeline.Graph {
	g, err := pipeline.NewGraph()
	if err != nil {
		// The graph is fixed in code; any test that builds it catches this.
		panic(err)
	}
	return g
}

// Versions reports component versions for the run manifest.
func Versions() map[string]string { return map[string]string{} }
