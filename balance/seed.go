package balance

import (
	"hash/fnv"
	"math/rand/v2"
)

// AugSeed is the augmentation seed of one example: a hash of the run seed,
// the sample id and the copy number. It depends on nothing else (not on the
// order of samples, the strategy or the other cells), so the same example
// gets the same augmentation in every plan that contains it.
func AugSeed(seed uint64, sampleID string, copy int32) uint64 {
	x := splitmix64(seed)
	x = splitmix64(x ^ hashString(sampleID))
	return splitmix64(x ^ uint64(uint32(copy)))
}

// cellRand is the random source for choices inside one cell (which members
// get the extra copy, which are dropped). Seeding by the cell key keeps one
// cell's draws independent of the cells around it.
func cellRand(seed uint64, key string) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), hashString(key)))
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// splitmix64 is the finaliser of SplitMix64 (Steele et al. 2014): a cheap
// bijection that spreads nearby inputs (copy 1, copy 2) far apart.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
