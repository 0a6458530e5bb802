// Package stages is where the whole flow of a fairage run can be read: one
// file per stage (ingest, split, balance, augment, train, evaluate, analyze,
// report), each declaring its config section and adapting a domain package
// (dataset, balance, augment, tfmodel, analysis, reports) to the runner. It
// is the only package that knows all of them.
package stages
