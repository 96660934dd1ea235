package arrowsafe

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Bounds on what reading an input may allocate (see Limit).
const (
	// MinLimit is the allocation limit of a small input.
	MinLimit = 256 << 20
	// LimitFactor times the input's size is the limit of a large one.
	LimitFactor = 64
	// StreamLimit is the limit for an input of unknown size (stdin).
	StreamLimit = 4 << 30
)

// Limit is the most that reading an input of size bytes may hold in Arrow
// buffers at once (and so in any one buffer): LimitFactor times its size,
// at least MinLimit; StreamLimit when the size is unknown (negative).
// Decompression and wider in-memory types make a batch larger than its
// bytes on disk, but not by more than that.
func Limit(size int64) int64 {
	if size < 0 {
		return StreamLimit
	}
	if size > (1<<62)/LimitFactor {
		return 1 << 62
	}
	return max(MinLimit, LimitFactor*size)
}

// AllocError is the panic of a limited allocator asked for more than its
// limit; the readers recover it and return it as their error.
type AllocError struct {
	// Size is the allocation asked for, Live what was held already.
	Size, Live int64
	// Limit is the allocator's limit.
	Limit int64
}

// Error implements error.
func (e *AllocError) Error() string {
	return fmt.Sprintf("declares a buffer of %s (with %s held already), more than the %s limit for its size: corrupt input", bytesString(e.Size), bytesString(e.Live), bytesString(e.Limit))
}

// limitedAllocator is a memory.Allocator that panics with an *AllocError
// instead of allocating past its limit, so that a corrupt length cannot
// make the runtime run out of memory. Its panics happen in the goroutine
// that asked, which is always the reader's own (see Open).
type limitedAllocator struct {
	mem   memory.Allocator
	limit int64
	live  atomic.Int64
}

// NewLimitedAllocator returns an allocator over mem that refuses to hold
// more than limit bytes at once, by panicking with an *AllocError.
func NewLimitedAllocator(mem memory.Allocator, limit int64) memory.Allocator {
	return &limitedAllocator{mem: mem, limit: limit}
}

func (a *limitedAllocator) check(grow int64) {
	live := a.live.Load()
	if grow < 0 || grow > a.limit || live+grow > a.limit {
		panic(&AllocError{Size: grow, Live: live, Limit: a.limit})
	}
}

// Allocate implements memory.Allocator.
func (a *limitedAllocator) Allocate(size int) []byte {
	a.check(int64(size))
	b := a.mem.Allocate(size)
	a.live.Add(int64(len(b)))
	return b
}

// Reallocate implements memory.Allocator.
func (a *limitedAllocator) Reallocate(size int, b []byte) []byte {
	if size < 0 {
		a.check(int64(size))
	}
	if grow := int64(size - len(b)); grow > 0 {
		a.check(grow)
	}
	old := len(b)
	b = a.mem.Reallocate(size, b)
	a.live.Add(int64(len(b) - old))
	return b
}

// Free implements memory.Allocator.
func (a *limitedAllocator) Free(b []byte) {
	a.live.Add(-int64(len(b)))
	a.mem.Free(b)
}

// bytesString formats a byte count with a binary unit.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
