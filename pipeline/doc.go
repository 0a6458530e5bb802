// Package pipeline owns how a fairage run is configured and executed: the
// config schema and its validation (viper underneath), the stage graph, the
// runner that skips stages whose fingerprint is unchanged, the
// content-addressed cache shared between runs (each output's files are
// recorded with their digests when committed and checked whenever the
// output is reused, so a changed output is recomputed, never used), run
// and entry locks, and the run manifest. It knows nothing of faces, models
// or metrics: stages (package stages) plug domain code into it.
package pipeline
