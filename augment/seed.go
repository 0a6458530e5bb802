package augment

import "strconv"

// EpochSeed mixes an augmentation seed with the epoch, so that online
// augmentation draws new parameters every epoch and offline augmentation
// (OfflineEpoch) is one fixed draw.
func EpochSeed(seed uint64, epoch int) uint64 {
	return splitmix64(seed ^ splitmix64(uint64(int64(epoch))))
}

// CopyID is the id of a plan row's image in an offline file: the sample id
// for copy 0, "id#copy" for the copies.
func CopyID(sampleID string, copy int32) string {
	if copy == 0 {
		return sampleID
	}
	return sampleID + "#" + strconv.Itoa(int(copy))
}

// splitmix64 is the SplitMix64 finaliser (Steele et al. 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
