// Package seedmix derives independent random seeds from a run's seed and
// names or indices, so that every random stream (a balance cell, an
// augmented copy, a bootstrap resample, a layer's weights) is reproducible
// on its own, whatever else runs or in what order.
package seedmix

import "hash/fnv"

// Mix is the finaliser of SplitMix64 (Steele et al. 2014): a cheap
// bijection that spreads nearby inputs (copy 1, copy 2) far apart.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// String hashes s to 64 bits (FNV-1a), to seed a stream by a name.
func String(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
