package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// colsBudget bounds the columns matrix of one chunk, in values: the batch is
// cut into chunks of samples whose im2col matrix stays in cache while the
// GEMM reads it.
const colsBudget = 1 << 18

// minChunks is the number of chunks a batch is cut into at least, when it
// has that many samples, so that the workers share the chunks evenly.
const minChunks = 8

// opKind names the pass a convOp runs.
type opKind uint8

const (
	opConvForward opKind = iota
	opConvBackward
	opTransposeForward
	opTransposeBackward
)

// convOp is one call of a convolution pass. For the forward passes y is
// the output; for the backward passes it is the output gradient.
type convOp struct {
	kind                   opKind
	g                      Conv2D
	n                      int
	x, w, b, y, dx, dw, db []float32
	nb, chunks             int  // samples per chunk and chunk count
	serial                 bool // workers run their GEMMs serially
}

// ConvWorkspace holds the scratch memory of the convolution passes: one
// columns matrix and one channel-major matrix per worker and the per-chunk
// partial weight and bias gradients. Buffers grow to the largest call and
// are reused, so a steady state of calls allocates nothing. The zero value
// is ready to use; a workspace must not be used by two calls at once.
type ConvWorkspace struct {
	op           convOp
	scratch      []convScratch
	partW, partB []float32
	next, ids    atomic.Int64
	wg           sync.WaitGroup
}

// convScratch is one worker's chunk memory.
type convScratch struct {
	cols, mat []float32
}

// chunkSamples returns how many samples of a batch of n one chunk holds: as
// many as fit colsBudget, at most ⌈n/minChunks⌉, at least one. It depends on
// the geometry and n alone, which fixes every summation order.
func chunkSamples(g *Conv2D, n int) int {
	per := g.patch() * g.OutH * g.OutW
	return max(1, min(colsBudget/per, ceilDiv(n, minChunks)))
}

// run executes op, splitting its batch into chunks. With two or more
// workers, the chunks are shared between the caller and pool goroutines,
// each running serial GEMMs; otherwise the caller runs them in turn with
// Gemm's own parallel split. Both give bit-identical results: a chunk's
// values do not depend on who computes it, and the partial weight and bias
// gradients of the chunks are summed in chunk order.
func (ws *ConvWorkspace) run(op convOp) {
	if op.n == 0 {
		ws.zeroGradients(&op)
		return
	}
	op.nb = chunkSamples(&op.g, op.n)
	op.chunks = ceilDiv(op.n, op.nb)
	workers := min(runtime.GOMAXPROCS(0), op.chunks, maxThreads)
	op.serial = workers > 1
	ws.op = op
	if len(ws.scratch) < workers {
		ws.scratch = append(ws.scratch, make([]convScratch, workers-len(ws.scratch))...)
	}
	backward := op.kind == opConvBackward || op.kind == opTransposeBackward
	if backward {
		ws.partW = grow(ws.partW, op.chunks*op.g.WeightSize())
		ws.partB = grow(ws.partB, op.chunks*ws.biasLen())
	}
	if workers > 1 {
		convPool.once.Do(startConvPool)
		ws.next.Store(0)
		ws.ids.Store(0)
		ws.wg.Add(workers - 1)
		for range workers - 1 {
			convPool.tasks <- ws
		}
		ws.work(0)
		ws.wg.Wait()
	} else {
		for c := range op.chunks {
			ws.chunk(c, 0)
		}
	}
	if backward {
		ws.reduce()
	}
	ws.op = convOp{}
}

// biasLen is the length of the bias gradient of the pending op.
func (ws *ConvWorkspace) biasLen() int {
	if ws.op.kind == opTransposeBackward {
		return ws.op.g.InC
	}
	return ws.op.g.OutC
}

// zeroGradients sets the gradients of a backward op on an empty batch.
func (ws *ConvWorkspace) zeroGradients(op *convOp) {
	clear(op.dw)
	clear(op.db)
}

// reduce sums the per-chunk partial gradients into dw and db in chunk order.
func (ws *ConvWorkspace) reduce() {
	op := &ws.op
	sw, sb := op.g.WeightSize(), ws.biasLen()
	copy(op.dw, ws.partW[:sw])
	if op.db != nil {
		copy(op.db, ws.partB[:sb])
	}
	for c := 1; c < op.chunks; c++ {
		pw := ws.partW[c*sw : (c+1)*sw]
		dw := op.dw[:sw]
		for i, v := range pw {
			dw[i] += v
		}
		if op.db != nil {
			pb := ws.partB[c*sb : (c+1)*sb]
			db := op.db[:sb]
			for i, v := range pb {
				db[i] += v
			}
		}
	}
}

// convPool is the persistent pool of goroutines that run chunks besides the
// caller; they block on the channel between calls.
var convPool struct {
	once  sync.Once
	tasks chan *ConvWorkspace
}

func startConvPool() {
	n := min(runtime.NumCPU(), maxThreads) - 1
	convPool.tasks = make(chan *ConvWorkspace, max(n, 1))
	for range n {
		go func() {
			for ws := range convPool.tasks {
				ws.work(int(ws.ids.Add(1)))
				ws.wg.Done()
			}
		}()
	}
}

// work runs chunks as worker id until none is left.
func (ws *ConvWorkspace) work(id int) {
	for {
		c := int(ws.next.Add(1)) - 1
		if c >= ws.op.chunks {
			return
		}
		ws.chunk(c, id)
	}
}

// gemm runs one GEMM of a chunk: serially when the workers share the
// chunks, else with Gemm's parallel split (the same result either way).
func (ws *ConvWorkspace) gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if !ws.op.serial {
		Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
		return
	}
	g := gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	if err := g.check(); err != nil {
		panic(err.Error())
	}
	j := jobs.get()
	j.prepare(active, &g, 1, false)
	j.work(0)
	j.release()
}

// chunk runs chunk c of the pending op as worker id.
func (ws *ConvWorkspace) chunk(c, id int) {
	op := &ws.op
	g := &op.g
	s0 := c * op.nb
	nb := min(op.nb, op.n-s0)
	p, kk := g.OutH*g.OutW, g.patch()
	l := nb * p
	sc := &ws.scratch[id]
	sc.cols = grow(sc.cols, kk*op.nb*p)
	sc.mat = grow(sc.mat, g.OutC*op.nb*p)
	cols, mat := sc.cols[:kk*l], sc.mat[:g.OutC*l]
	inSide := func(t []float32) []float32 { return t[s0*g.InSize() : (s0+nb)*g.InSize()] }
	outSide := func(t []float32) []float32 { return t[s0*g.OutSize() : (s0+nb)*g.OutSize()] }
	sw := g.WeightSize()
	switch op.kind {
	case opConvForward:
		im2col(g, inSide(op.x), nb, cols)
		ws.gemm(false, false, g.OutC, l, kk, op.w, kk, cols, l, mat, l)
		fromChannelMajor(mat, nb, g.OutC, p, op.b, outSide(op.y))
	case opConvBackward:
		toChannelMajor(outSide(op.y), nb, g.OutC, p, mat)
		if op.db != nil {
			rowSums(mat, l, ws.partB[c*g.OutC:(c+1)*g.OutC])
		}
		im2col(g, inSide(op.x), nb, cols)
		ws.gemm(false, true, g.OutC, kk, l, mat, l, cols, l, ws.partW[c*sw:(c+1)*sw], kk)
		if op.dx != nil {
			ws.gemm(true, false, kk, l, g.OutC, op.w, kk, mat, l, cols, l)
			dx := inSide(op.dx)
			clear(dx)
			col2im(g, cols, nb, dx)
		}
	case opTransposeForward:
		toChannelMajor(outSide(op.x), nb, g.OutC, p, mat)
		ws.gemm(true, false, kk, l, g.OutC, op.w, kk, mat, l, cols, l)
		y := inSide(op.y)
		clear(y)
		col2im(g, cols, nb, y)
		if op.b != nil {
			addChannelBias(y, nb, g.InH*g.InW, op.b[:g.InC])
		}
	case opTransposeBackward:
		dy := inSide(op.y)
		if op.db != nil {
			channelSums(dy, nb, g.InH*g.InW, ws.partB[c*g.InC:(c+1)*g.InC])
		}
		im2col(g, dy, nb, cols)
		toChannelMajor(outSide(op.x), nb, g.OutC, p, mat)
		ws.gemm(false, true, g.OutC, kk, l, mat, l, cols, l, ws.partW[c*sw:(c+1)*sw], kk)
		if op.dx != nil {
			ws.gemm(false, false, g.OutC, l, kk, op.w, kk, cols, l, mat, l)
			fromChannelMajor(mat, nb, g.OutC, p, nil, outSide(op.dx))
		}
	}
}
