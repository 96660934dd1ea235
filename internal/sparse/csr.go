package sparse

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// chunkRows is the fixed number of rows per parallel work item.
const chunkRows = 1024

// CSR is an N×N sparse matrix in compressed sparse row form: the entries
// of row i are Val[RowPtr[i]:RowPtr[i+1]] in columns Col[RowPtr[i]:RowPtr[i+1]],
// columns strictly increasing within a row.
type CSR struct {
	N      int
	RowPtr []int
	Col    []int32
	Val    []float64
}

// Entry is one nonzero (Row, Col, Val) of a matrix being assembled.
type Entry struct {
	Row, Col int32
	Val      float64
}

// FromEntries assembles an n×n CSR matrix from entries, summing entries
// that share a position in the order they appear in entries and dropping
// positions whose sum is exactly zero. Positions outside [0, n) and
// non-finite values are errors.
func FromEntries(n int, entries []Entry) (*CSR, error) {
	for i, e := range entries {
		if e.Row < 0 || int(e.Row) >= n || e.Col < 0 || int(e.Col) >= n {
			return nil, fmt.Errorf("sparse: entry %d at (%d, %d) is outside a %d×%d matrix", i, e.Row, e.Col, n, n)
		}
		if math.IsNaN(e.Val) || math.IsInf(e.Val, 0) {
			return nil, fmt.Errorf("sparse: entry %d at (%d, %d) is %v", i, e.Row, e.Col, e.Val)
		}
	}
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int {
		if c := cmp.Compare(a.Row, b.Row); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
	m := &CSR{N: n, RowPtr: make([]int, n+1)}
	for s := 0; s < len(sorted); {
		e := sorted[s]
		sum := e.Val
		t := s + 1
		for ; t < len(sorted) && sorted[t].Row == e.Row && sorted[t].Col == e.Col; t++ {
			sum += sorted[t].Val
		}
		s = t
		if sum == 0 {
			continue
		}
		m.Col = append(m.Col, e.Col)
		m.Val = append(m.Val, sum)
		m.RowPtr[e.Row+1]++
	}
	for i := range n {
		m.RowPtr[i+1] += m.RowPtr[i]
	}
	return m, nil
}

// Dim returns N, the order of the matrix.
func (m *CSR) Dim() int { return m.N }

// MulVec sets y = A x; x and y have length N and must not overlap.
func (m *CSR) MulVec(y, x []float64) {
	ForEachChunk(m.N, chunkRows, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for p := m.RowPtr[i]; p < m.RowPtr[i+1]; p++ {
				s += m.Val[p] * x[m.Col[p]]
			}
			y[i] = s
		}
	})
}

// RowSums returns Σ_j A_ij for every row i.
func (m *CSR) RowSums() []float64 {
	d := make([]float64, m.N)
	for i := range m.N {
		for p := m.RowPtr[i]; p < m.RowPtr[i+1]; p++ {
			d[i] += m.Val[p]
		}
	}
	return d
}

// ScaleSym returns the matrix with entries s_i A_ij s_j, such as the
// normalised affinity D^{-1/2} A D^{-1/2} for s_i = d_i^{-1/2}.
func (m *CSR) ScaleSym(s []float64) *CSR {
	out := &CSR{N: m.N, RowPtr: slices.Clone(m.RowPtr), Col: slices.Clone(m.Col), Val: make([]float64, len(m.Val))}
	for i := range m.N {
		for p := m.RowPtr[i]; p < m.RowPtr[i+1]; p++ {
			out.Val[p] = m.Val[p] * (s[i] * s[m.Col[p]])
		}
	}
	return out
}

// Components labels the connected components of the undirected graph
// whose edges are the nonzero entries (A must be structurally symmetric).
// Components are numbered 0, 1, … in order of their lowest vertex; it
// returns the number of components and the component of every vertex.
func (m *CSR) Components() (count int, label []int32) {
	label = make([]int32, m.N)
	for i := range label {
		label[i] = -1
	}
	var stack []int32
	for s := range m.N {
		if label[s] >= 0 {
			continue
		}
		label[s] = int32(count)
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for p := m.RowPtr[i]; p < m.RowPtr[i+1]; p++ {
				if j := m.Col[p]; label[j] < 0 {
					label[j] = int32(count)
					stack = append(stack, j)
				}
			}
		}
		count++
	}
	return count, label
}

// Parallel calls f(i) for every i in [0, n) from up to GOMAXPROCS
// goroutines. f must write only memory owned by item i; results then do
// not depend on the scheduling.
func Parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// ForEachChunk calls f(lo, hi) for the fixed chunks [lo, hi) of size chunk
// covering [0, n), in parallel as Parallel does.
func ForEachChunk(n, chunk int, f func(lo, hi int)) {
	Parallel((n+chunk-1)/chunk, func(c int) {
		f(c*chunk, min(n, (c+1)*chunk))
	})
}
