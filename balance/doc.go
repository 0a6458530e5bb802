// Package balance decides which training examples a model sees and with what
// loss weight, so that demographic groups (and, with label-distribution
// smoothing, ages) are represented evenly.
//
// It counts the training samples per configured attribute, marginally and
// jointly, and turns the counts into a plan: one row per example to draw
// (the original as copy 0, oversampled duplicates as copies 1, 2, ...), each
// with a loss weight normalised to mean 1 and an augmentation seed derived
// from (run seed, sample id, copy). It also returns the group distribution
// before and after balancing, and notes for the report about every decision
// that changes the data (merged or skipped cells, unknown values, raking
// convergence, heavy oversampling).
//
// Strategies: none, oversample (joint cells, or every marginal by bounded
// iterative proportional fitting), undersample (joint cells), reweight
// (w = n/(k·n_g) over joint cells, or raking weights over marginals), and
// label-distribution smoothing of the age target (Yang et al. 2021), which
// combines with any of them.
//
// The package is pure: samples in, plan rows and group counts out. It knows
// nothing of the runner, the config loader, images or TensorFlow; the
// balance stage adapter maps the `balance:` YAML section onto Options and
// writes the outputs as Arrow tables.
package balance
