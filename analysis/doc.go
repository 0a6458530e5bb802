// Package analysis audits an age regressor's predictions for bias. It owns
// the metric definitions of ARCHITECTURE.md §5: per-group error metrics
// (n, MAE, RMSE, mean signed error, median absolute error), the original
// study's bias score (mean over all unordered pairs of |MAE_gi − MAE_gj|)
// beside the max−min gap and the min/max ratio, stratified bootstrap
// percentile intervals, permutation tests between groups and between two
// runs on the same samples, Holm correction, and pass/fail gates; the
// age-adjusted disparity (group MAEs standardised to one age distribution,
// tested by permuting labels within age bins), within-subject comparisons
// where rows carry subject ids, and the screening of values that are not
// ages (rejected with a reason, or flagged as implausible). FORMAT.md
// documents the outputs.
//
// It works on a predictions table from any source ([]dataset.Prediction)
// and knows nothing of the runner, the config loader or TensorFlow: the
// analyze stage maps the `analysis:` YAML section into Options, calls
// Analyze, writes the outputs with WriteMetrics and WriteSummary, and
// returns Result.GateError to fail the run when a gate fails.
//
// Determinism: every random draw comes from a PCG stream seeded by the
// configured seed, the name of the attribute and the resample number, so a
// result depends on the seed alone, never on the number of workers or the
// order in which they finish.
package analysis
