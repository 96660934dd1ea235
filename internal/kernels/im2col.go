package kernels

// The layout moves of the convolutions, for a chunk of nb samples and
// L = nb·OutH·OutW columns:
//
//	cols (InC·KH·KW × L): cols[(c,i,j), (s,oh,ow)] = x[s, c, oh·SH−PH+i, ow·SW−PW+j] (0 outside)
//	mat  (OutC × L):      mat[k, (s,p)] = y[s, k, p], the NCHW output with samples side by side
//
// im2col builds cols from x, col2im adds cols back into x (its adjoint),
// toChannelMajor and fromChannelMajor move between y and mat.

// axisRange returns the output positions [lo, hi) whose input coordinate
// o·stride − pad + off lies in [0, in).
func axisRange(in, out, stride, pad, off int) (lo, hi int) {
	lo = max(0, ceilDiv(max(pad-off, 0), stride))
	hi = min(out, (in-1+pad-off)/stride+1)
	if in-1+pad-off < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

// im2col writes the columns matrix of the nb samples of x (NCHW, InC side
// of g) into cols.
func im2col(g *Conv2D, x []float32, nb int, cols []float32) {
	inH, inW, outH, outW := g.InH, g.InW, g.OutH, g.OutW
	sh, sw, ph, pw := g.StrideH, g.StrideW, g.PadH, g.PadW
	p, q := outH*outW, inH*inW
	l := nb * p
	r := 0
	for c := range g.InC {
		for i := range g.KH {
			ohLo, ohHi := axisRange(inH, outH, sh, ph, i)
			for j := range g.KW {
				owLo, owHi := axisRange(inW, outW, sw, pw, j)
				width := owHi - owLo
				row := cols[r*l : (r+1)*l]
				r++
				for s := range nb {
					plane := x[(s*g.InC+c)*q : (s*g.InC+c+1)*q]
					dst := row[s*p : (s+1)*p]
					if width == 0 || ohLo == ohHi {
						clear(dst)
						continue
					}
					clear(dst[:ohLo*outW])
					clear(dst[ohHi*outW:])
					src := plane[(ohLo*sh-ph+i)*inW+owLo*sw-pw+j:]
					for oh := ohLo; oh < ohHi; oh++ {
						d := dst[oh*outW : (oh+1)*outW]
						for t := range owLo {
							d[t] = 0
						}
						for t := owHi; t < outW; t++ {
							d[t] = 0
						}
						d = d[owLo:owHi]
						switch sw {
						case 1:
							copy(d, src[:width])
						case 2:
							sr := src[:2*width-1]
							for t := range d {
								d[t] = sr[2*t]
							}
						default:
							for t := range d {
								d[t] = src[sw*t]
							}
						}
						if oh+1 < ohHi {
							src = src[sh*inW:]
						}
					}
				}
			}
		}
	}
}

// col2im adds the columns matrix cols into the nb samples of x (NCHW, InC
// side of g): the adjoint of im2col.
func col2im(g *Conv2D, cols []float32, nb int, x []float32) {
	inH, inW, outH, outW := g.InH, g.InW, g.OutH, g.OutW
	sh, sw, ph, pw := g.StrideH, g.StrideW, g.PadH, g.PadW
	p, q := outH*outW, inH*inW
	l := nb * p
	r := 0
	for c := range g.InC {
		for i := range g.KH {
			ohLo, ohHi := axisRange(inH, outH, sh, ph, i)
			for j := range g.KW {
				owLo, owHi := axisRange(inW, outW, sw, pw, j)
				width := owHi - owLo
				row := cols[r*l : (r+1)*l]
				r++
				if width == 0 || ohHi == ohLo {
					continue
				}
				for s := range nb {
					plane := x[(s*g.InC+c)*q : (s*g.InC+c+1)*q]
					src := row[s*p : (s+1)*p]
					d := plane[(ohLo*sh-ph+i)*inW+owLo*sw-pw+j:]
					for oh := ohLo; oh < ohHi; oh++ {
						sr := src[oh*outW+owLo : oh*outW+owHi]
						switch sw {
						case 1:
							dd := d[:width]
							for t, v := range sr {
								dd[t] += v
							}
						case 2:
							dd := d[:2*width-1]
							for t, v := range sr {
								dd[2*t] += v
							}
						default:
							for t, v := range sr {
								d[sw*t] += v
							}
						}
						if oh+1 < ohHi {
							d = d[sh*inW:]
						}
					}
				}
			}
		}
	}
}

// toChannelMajor copies nb samples of y (nb×ch×p) into mat (ch × nb·p).
func toChannelMajor(y []float32, nb, ch, p int, mat []float32) {
	l := nb * p
	for s := range nb {
		for k := range ch {
			copy(mat[k*l+s*p:k*l+(s+1)*p], y[(s*ch+k)*p:(s*ch+k+1)*p])
		}
	}
}

// fromChannelMajor writes mat (ch × nb·p) into y (nb×ch×p), adding b[k] to
// channel k when b is not nil.
func fromChannelMajor(mat []float32, nb, ch, p int, b, y []float32) {
	l := nb * p
	for s := range nb {
		for k := range ch {
			src := mat[k*l+s*p : k*l+(s+1)*p]
			dst := y[(s*ch+k)*p : (s*ch+k+1)*p]
			if b == nil {
				copy(dst, src)
				continue
			}
			bk := b[k]
			for t, v := range src {
				dst[t] = v + bk
			}
		}
	}
}

// addChannelBias adds b[k] to channel k of nb samples of y (nb×len(b)×p).
func addChannelBias(y []float32, nb, p int, b []float32) {
	ch := len(b)
	for s := range nb {
		for k, bk := range b {
			row := y[(s*ch+k)*p : (s*ch+k+1)*p]
			for t := range row {
				row[t] += bk
			}
		}
	}
}

// channelSums writes into sums[k] the sum of channel k over nb samples of y
// (nb×len(sums)×p), in float32, samples then positions in order.
func channelSums(y []float32, nb, p int, sums []float32) {
	ch := len(sums)
	clear(sums)
	for s := range nb {
		for k := range sums {
			acc := sums[k]
			for _, v := range y[(s*ch+k)*p : (s*ch+k+1)*p] {
				acc += v
			}
			sums[k] = acc
		}
	}
}

// rowSums writes into sums[k] the sum of row k of mat (len(sums) × l).
func rowSums(mat []float32, l int, sums []float32) {
	for k := range sums {
		var acc float32
		for _, v := range mat[k*l : (k+1)*l] {
			acc += v
		}
		sums[k] = acc
	}
}
