package dataset

import "math"

// scaleMinMax maps every feature (column of the row-major n × cols data) to
// [0, 1]; a constant feature becomes 0.
func scaleMinMax(data []float32, cols int) {
	lo := make([]float32, cols)
	hi := make([]float32, cols)
	copy(lo, data[:cols])
	copy(hi, data[:cols])
	for r := cols; r < len(data); r += cols {
		for j, v := range data[r : r+cols] {
			lo[j] = min(lo[j], v)
			hi[j] = max(hi[j], v)
		}
	}
	inv := make([]float64, cols)
	for j := range inv {
		if hi[j] > lo[j] {
			inv[j] = 1 / (float64(hi[j]) - float64(lo[j]))
		}
	}
	for r := 0; r < len(data); r += cols {
		for j, v := range data[r : r+cols] {
			data[r+j] = float32((float64(v) - float64(lo[j])) * inv[j])
		}
	}
}

// scaleStandard gives every feature zero mean and unit (population)
// variance; a constant feature becomes 0. Statistics are accumulated in
// float64, two passes (mean, then squared deviations).
func scaleStandard(data []float32, cols int) {
	n := float64(len(data) / cols)
	mean := make([]float64, cols)
	for r := 0; r < len(data); r += cols {
		for j, v := range data[r : r+cols] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= n
	}
	inv := make([]float64, cols)
	for r := 0; r < len(data); r += cols {
		for j, v := range data[r : r+cols] {
			d := float64(v) - mean[j]
			inv[j] += d * d
		}
	}
	for j, ss := range inv {
		if sd := math.Sqrt(ss / n); sd > 0 {
			inv[j] = 1 / sd
		} else {
			inv[j] = 0
		}
	}
	for r := 0; r < len(data); r += cols {
		for j, v := range data[r : r+cols] {
			data[r+j] = float32((float64(v) - mean[j]) * inv[j])
		}
	}
}
