package analysis

import "fairage/dataset"

// handFixture is a small table whose metrics are computed by hand in the
// tests. Errors e = ŷ − y:
//
//	id gender ethnicity y_true y_pred  e
//	1  female asian     10     12     +2
//	2  female asian     25     23     −2
//	3  female black     45     49     +4
//	4  female black     65     61     −4
//	5  male   asian     15     16     +1
//	6  male   white     30     29     −1
//	7  male   white     50     51     +1
//	8  male   (unknown) 70     69     −1
//
// Expression is unknown everywhere.
func handFixture() []dataset.Prediction {
	row := func(id, g, eth string, y, yhat float64) dataset.Prediction {
		return dataset.Prediction{ID: id, Split: dataset.SplitTest, YTrue: y, YPred: yhat, Gender: g, Ethnicity: eth}
	}
	return []dataset.Prediction{
		row("1", "female", "asian", 10, 12),
		row("2", "female", "asian", 25, 23),
		row("3", "female", "black", 45, 49),
		row("4", "female", "black", 65, 61),
		row("5", "male", "asian", 15, 16),
		row("6", "male", "white", 30, 29),
		row("7", "male", "white", 50, 51),
		row("8", "male", "", 70, 69),
	}
}

// handOptions analyses the fixture without resampling.
func handOptions() Options {
	o := DefaultOptions()
	o.Intersections = []Intersection{{dataset.AttrGender, dataset.AttrEthnicity}}
	o.MinGroupSize = 2
	o.Bootstrap.Resamples = 0
	o.Permutation.Resamples = 0
	return o
}
