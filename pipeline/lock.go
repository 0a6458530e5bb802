package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fileLock is an advisory lock (flock) on a file; the kernel drops it when
// the process dies, so a killed run never leaves a stale lock.
type fileLock struct{ f *os.File }

// errLocked is returned by tryLock when another process holds the lock.
var errLocked = errors.New("locked")

func openLockFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// tryLock takes the lock without waiting and writes who (the holder's
// pid and run, for the messages of runs that find it taken) into the lock
// file; or it fails with errLocked naming the holder.
func tryLock(path, who string) (*fileLock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w by another run (%s): %s", errLocked, lockHolder(path), path)
	}
	f.Truncate(0)
	f.WriteAt([]byte(who+"\n"), 0)
	return &fileLock{f: f}, nil
}

// lockHolder describes who holds a lock, from what it wrote in the file.
func lockHolder(path string) string {
	b, _ := os.ReadFile(path)
	who := strings.TrimSpace(string(b))
	switch {
	case who == "":
		return "pid unknown"
	case !strings.HasPrefix(who, "pid "):
		return "pid " + who // lock files of older builds hold just the pid
	}
	return who
}

// holderLabel is what a lock file says about this process.
func holderLabel(run string) string {
	return "pid " + strconv.Itoa(os.Getpid()) + ", run " + run
}

// waitLock takes the lock, waiting for another holder to finish; it gives
// up when ctx ends, so Ctrl-C works while waiting. onWait is called once
// if the lock is still taken after a short grace period (so a lock held
// for an instant is not announced), with the holder.
func waitLock(ctx context.Context, path, who string, onWait func(holder string)) (*fileLock, error) {
	const grace = time.Second
	start := time.Now()
	announced := false
	delay := 10 * time.Millisecond
	for {
		l, err := tryLock(path, who)
		if err == nil || !errors.Is(err, errLocked) {
			return l, err
		}
		if !announced && time.Since(start) >= grace && onWait != nil {
			onWait(lockHolder(path))
			announced = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

func (l *fileLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
