package balance

import (
	"math/rand/v2"

	"fairage/internal/seedmix"
)

// AugSeed is the augmentation seed of one example: a hash of the run seed,
// the sample id and the copy number. It depends on nothing else (not on the
// order of samples, the strategy or the other cells), so the same example
// gets the same augmentation in every plan that contains it.
func AugSeed(seed uint64, sampleID string, copy int32) uint64 {
	x := seedmix.Mix(seed)
	x = seedmix.Mix(x ^ seedmix.String(sampleID))
	return seedmix.Mix(x ^ uint64(uint32(copy)))
}

// cellRand is the random source for choices inside one cell (which members
// get the extra copy, which are dropped). Seeding by the cell key keeps one
// cell's draws independent of the cells around it.
func cellRand(seed uint64, key string) *rand.Rand {
	return rand.New(rand.NewPCG(seedmix.Mix(seed), seedmix.String(key)))
}
