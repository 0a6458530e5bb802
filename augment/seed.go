package augment

import (
	"strconv"

	"fairage/internal/seedmix"
)

// EpochSeed mixes an augmentation seed with the epoch, so that online
// augmentation draws new parameters every epoch and offline augmentation
// (OfflineEpoch) is one fixed draw.
func EpochSeed(seed uint64, epoch int) uint64 {
	return seedmix.Mix(seed ^ seedmix.Mix(uint64(int64(epoch))))
}

// CopyID is the id of a plan row's image in an offline file: the sample id
// for copy 0, "id#copy" for the copies.
func CopyID(sampleID string, copy int32) string {
	if copy == 0 {
		return sampleID
	}
	return sampleID + "#" + strconv.Itoa(int(copy))
}
