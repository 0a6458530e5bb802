package stages

import "fairage/pipeline"

// runSection holds settings of the run as a whole.
var runSection = pipeline.Section{
	Name: "run",
	Doc:  "The run as a whole: its name (the folder under runs/) and the seed every stage derives its randomness from.",
	Fields: []pipeline.Field{
		{Key: "run.name", Kind: pipeline.KindString, Default: "default", Doc: "Run folder name under the runs folder (runs/<name>)."},
		{Key: "run.seed", Kind: pipeline.KindInt, Default: 42, Min: pipeline.Num(0), Doc: "Seed for every random choice; the same seed and config give the same outputs."},
	},
}
