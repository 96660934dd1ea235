package sdktest

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/deepclust/deepclust/sdk"
)

// recorder is a testing.TB whose Fatalf records the failure and stops the
// goroutine, for checking that a check fails.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runFD runs finiteDifferences for L = Σ v² with the gradient scaled by
// factor and returns the recorded failure.
func runFD(t *testing.T, factor float32) string {
	v := sdk.Tensor{Shape: []int{4, 3}, Data: []float32{0.3, -1.2, 2.5, 0.01, -0.7, 1.1, 3.3, -2.2, 0.5, 0.9, -0.4, 1.7}}
	grad := sdk.NewTensor(4, 3)
	for i, x := range v.Data {
		grad.Data[i] = 2 * x * factor
	}
	f := func(v sdk.Tensor) float64 {
		var s float64
		for _, x := range v.Data {
			s += float64(x) * float64(x)
		}
		return s
	}
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		finiteDifferences(r, rand.New(rand.NewPCG(1, 2)), "z", v, grad, f)
	}()
	<-done
	return r.failure
}

func TestFiniteDifferencesAcceptsTheRightGradient(t *testing.T) {
	if msg := runFD(t, 1); msg != "" {
		t.Fatalf("exact gradient rejected: %s", msg)
	}
}

func TestFiniteDifferencesCatchesAWrongGradient(t *testing.T) {
	if msg := runFD(t, 1.1); msg == "" {
		t.Fatal("a gradient 10% off passed")
	}
}
