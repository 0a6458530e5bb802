package regressor

import (
	"context"
	"errors"
	"math"

	"fairage/dataset"
	"fairage/internal/progress"
)

// PackedPredictor predicts from packed images at the given positions,
// returning one result per position (a model kind's own result type).
type PackedPredictor[R any] func(ctx context.Context, pk *dataset.Packed, index []int, tracker progress.Tracker) ([]R, error)

// PredictPacked is the Predict that every image model kind shares: it runs
// predict on the packed images of data's examples, with a progress tracker
// from newTracker (nil: none), and turns each result into an age, or into a
// rejected row naming source when result gives a reason (a non-finite or
// invalid output), so that no such row is ever averaged in.
func PredictPacked[R any](ctx context.Context, data Data, source string, newTracker func(label, unit string, total int) progress.Tracker,
	predict PackedPredictor[R], result func(R) (age float64, reason, detail string)) (Output, error) {
	if data.Images == nil {
		return Output{}, errors.New(source + ": no images to predict from")
	}
	index := make([]int, len(data.Examples))
	for i, ex := range data.Examples {
		index[i] = ex.Index
	}
	var tr progress.Tracker
	if newTracker != nil {
		tr = newTracker("predict", "img", len(index))
		defer tr.Finish()
	}
	res, err := predict(ctx, data.Images, index, tr)
	if err != nil {
		return Output{}, err
	}
	if len(res) != len(index) {
		return Output{}, errors.New(source + ": the model returned a different number of results than images")
	}
	out := Output{Ages: make([]float64, len(res))}
	for i, r := range res {
		age, reason, detail := result(r)
		out.Ages[i] = age
		if reason != "" {
			out.Ages[i] = math.NaN()
			out.Rejected = append(out.Rejected, Rejection{Index: i, Rejection: dataset.Rejection{
				Source: source, ID: data.Examples[i].ID, Reason: reason, Detail: detail}})
		}
	}
	return out, nil
}
