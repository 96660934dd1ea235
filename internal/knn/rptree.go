package knn

import (
	"context"
	"math/rand/v2"

	"github.com/deepclust/deepclust/internal/sparse"
)

// tree is one random-projection tree: a permutation of the points in
// which every leaf is a contiguous range.
type tree struct {
	perm   []int32
	leaves [][2]int32
}

// buildTree splits all n points recursively (Dasgupta & Freund 2008, as
// pynndescent's euclidean_random_projection_split): a node of more than
// leafSize points is cut by the hyperplane halfway between two of its
// points drawn at random, points on the hyperplane going to a random
// side. A node that ends up on one side is split at random instead, and
// a node still too large at depth maxTreeDepth is cut into consecutive
// leaves. rng draws every choice; leaves are listed depth first.
func (s *searcher) buildTree(x []float32, rng *rand.Rand) *tree {
	n, d, leaf := s.n, s.d, s.opt.LeafSize
	row := func(i int32) []float32 { return x[int(i)*d : (int(i)+1)*d] }
	t := &tree{perm: make([]int32, n)}
	for i := range t.perm {
		t.perm[i] = int32(i)
	}
	side := make([]bool, n)
	normal := make([]float32, d)
	type node struct{ lo, hi, depth int }
	stack := []node{{0, n, 0}}
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		size := nd.hi - nd.lo
		if size <= leaf {
			t.leaves = append(t.leaves, [2]int32{int32(nd.lo), int32(nd.hi)})
			continue
		}
		if nd.depth >= maxTreeDepth {
			for lo := nd.lo; lo < nd.hi; lo += leaf {
				t.leaves = append(t.leaves, [2]int32{int32(lo), int32(min(nd.hi, lo+leaf))})
			}
			continue
		}
		idx := t.perm[nd.lo:nd.hi]
		sd := side[:size]
		a := rng.IntN(size)
		b := rng.IntN(size - 1)
		if b >= a {
			b++
		}
		pa, pb := row(idx[a]), row(idx[b])
		var offset float32
		for c := range d {
			normal[c] = pa[c] - pb[c]
			offset -= normal[c] * (pa[c] + pb[c]) / 2
		}
		left := 0
		for i, j := range idx {
			m := offset + dot32(normal, row(j))
			if m == 0 {
				sd[i] = rng.IntN(2) == 0
			} else {
				sd[i] = m > 0
			}
			if sd[i] {
				left++
			}
		}
		if left == 0 || left == size {
			left = 0
			for i := range sd {
				sd[i] = rng.IntN(2) == 0
				if sd[i] {
					left++
				}
			}
			if left == 0 || left == size {
				left = size / 2
				for i := range sd {
					sd[i] = i < left
				}
			}
		}
		// Stable partition: left side first, each side in its old order.
		buf := make([]int32, 0, size-left)
		w := 0
		for i, j := range idx {
			if sd[i] {
				idx[w] = j
				w++
			} else {
				buf = append(buf, j)
			}
		}
		copy(idx[w:], buf)
		mid := nd.lo + left
		stack = append(stack, node{mid, nd.hi, nd.depth + 1}, node{nd.lo, mid, nd.depth + 1})
	}
	return t
}

// initForest builds the forest, each tree from its own random stream, on
// the centred working copy: the first in input order, whose leaf order
// then reorders the copy, the others after that (in parallel, with the
// locality it brings).
// Then it offers every pair of points sharing a leaf to both their heaps,
// in blocks of leaves (trees in order, leaves depth first).
func (s *searcher) initForest(ctx context.Context) error {
	rng := func(t int) *rand.Rand { return rand.New(rand.NewPCG(mix64(s.opt.Seed^0x5eed7ee5), uint64(t))) }
	trees := make([]*tree, s.opt.Trees)
	s.centre()
	trees[0] = s.buildTree(s.x, rng(0))
	if err := ctx.Err(); err != nil {
		return err
	}
	s.reorder(trees[0].perm)
	trees[0].perm = make([]int32, s.n)
	for r := range trees[0].perm {
		trees[0].perm[r] = int32(r)
	}
	sparse.Parallel(len(trees)-1, func(t int) {
		if ctx.Err() == nil {
			trees[t+1] = s.buildTree(s.x, rng(t+1))
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	type leafRef struct {
		t      int
		lo, hi int32
	}
	var leaves []leafRef
	for t, tr := range trees {
		for _, l := range tr.leaves {
			if l[1]-l[0] > 1 {
				leaves = append(leaves, leafRef{t, l[0], l[1]})
			}
		}
	}
	for blo := 0; blo < len(leaves); blo += leafBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		block := leaves[blo:min(len(leaves), blo+leafBlock)]
		chunks := (len(block) + leafChunk - 1) / leafChunk
		s.generate(chunks, func(c int, e *emitter) {
			for _, l := range block[c*leafChunk : min(len(block), (c+1)*leafChunk)] {
				pts := trees[l.t].perm[l.lo:l.hi]
				if s.d >= gemmMinDim {
					m := len(pts)
					s.gather(e, pts)
					dots := e.dotRows(m, m, s.d)
					for a, p := range pts {
						for b := a + 1; b < m; b++ {
							e.pair(p, pts[b], gramDist(e.norms[a], e.norms[b], dots[a*m+b]))
						}
					}
					continue
				}
				for a, p := range pts {
					xp := s.row(p)
					for _, q := range pts[a+1:] {
						e.pair(p, q, sqDist32(xp, s.row(q)))
					}
				}
			}
		})
	}
	return nil
}

// dot32 is a·b in float32 (four interleaved partial sums).
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	t := 0
	for ; t+4 <= len(a); t += 4 {
		s0 += a[t] * b[t]
		s1 += a[t+1] * b[t+1]
		s2 += a[t+2] * b[t+2]
		s3 += a[t+3] * b[t+3]
	}
	for ; t < len(a); t++ {
		s0 += a[t] * b[t]
	}
	return (s0 + s1) + (s2 + s3)
}
