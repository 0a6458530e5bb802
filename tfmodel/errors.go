package tfmodel

import (
	"errors"
	"fmt"
	"strings"
)

// errClosed is returned by every method after Close.
var errClosed = errors.New("tfmodel: model is closed")

// guard turns a panic from the TensorFlow bindings (they panic on some
// malformed inputs) into an error naming what was being done, so callers
// get a sentence instead of a crash. Use as: defer guard(&err, "predict").
func guard(err *error, what string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("tfmodel: %s: TensorFlow bindings failed: %v", what, p)
	}
}

// cleanScopeErr drops the Go stack trace that op.Scope appends to graph
// construction errors: the message is for users, the trace is noise.
func cleanScopeErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, " (Stacktrace:"); i >= 0 {
		return errors.New(msg[:i])
	}
	return err
}
