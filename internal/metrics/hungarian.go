package metrics

import (
	"fmt"
	"math"
)

// Hungarian solves the linear assignment problem on an r×c cost matrix: it
// pairs rows with distinct columns, min(r, c) pairs in all, so that the sum
// of the chosen costs is smallest. rowToCol[i] is the column given to row i,
// or -1 when r > c and row i is left out; total is the summed cost. It runs
// the shortest-augmenting-path form of the Hungarian algorithm with dual
// potentials in O(min(r,c)²·max(r,c)) time. Ragged rows and non-finite costs
// are errors.
func Hungarian(cost [][]float64) (rowToCol []int, total float64, err error) {
	r := len(cost)
	if r == 0 {
		return []int{}, 0, nil
	}
	c := len(cost[0])
	for i, row := range cost {
		if len(row) != c {
			return nil, 0, fmt.Errorf("hungarian: cost row %d has %d columns, row 0 has %d", i, len(row), c)
		}
		for j, x := range row {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, 0, fmt.Errorf("hungarian: cost[%d][%d] is %v", i, j, x)
			}
		}
	}
	rowToCol = make([]int, r)
	for i := range rowToCol {
		rowToCol[i] = -1
	}
	if c == 0 {
		return rowToCol, 0, nil
	}
	if r <= c {
		for j, i := range assignRowsToCols(r, c, func(i, j int) float64 { return cost[i][j] }) {
			if i >= 0 {
				rowToCol[i] = j
			}
		}
	} else {
		// Transpose so that the side being matched completely is the shorter one.
		copy(rowToCol, assignRowsToCols(c, r, func(i, j int) float64 { return cost[j][i] }))
	}
	for i, j := range rowToCol {
		if j >= 0 {
			total += cost[i][j]
		}
	}
	return rowToCol, total, nil
}

// assignRowsToCols matches every one of n rows to a distinct column out of
// m ≥ n, minimising the summed cost a(i, j), and returns colToRow: the row
// matched to each column, or -1.
func assignRowsToCols(n, m int, a func(i, j int) float64) []int {
	// Potentials u (rows) and v (columns) keep a(i,j) − u_i − v_j ≥ 0, with
	// equality on matched pairs. Index 0 is a virtual column/row; p[j] is the
	// 1-based row matched to column j and way[j] the previous column on the
	// shortest augmenting path.
	u := make([]float64, n+1)
	v := make([]float64, m+1)
	p := make([]int, m+1)
	way := make([]int, m+1)
	minv := make([]float64, m+1)
	used := make([]bool, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			delta := math.Inf(1)
			j1 := 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				if cur := a(i0-1, j-1) - u[i0] - v[j]; cur < minv[j] {
					minv[j] = cur
					way[j] = j0
				}
				if minv[j] < delta {
					delta = minv[j]
					j1 = j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	colToRow := make([]int, m)
	for j := 1; j <= m; j++ {
		colToRow[j-1] = p[j] - 1
	}
	return colToRow
}
