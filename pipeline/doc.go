// Package pipeline owns how a fairage run is configured and executed: the
// config schema and its validation (viper underneath), the stage graph, the
// runner that skips stages whose fingerprint is unchanged, the
// content-addressed cache shared between runs, run locks, and the run
// manifest. It knows nothing of faces, models or metrics: stages (package
// stages) plug domain code into it.
package pipeline
