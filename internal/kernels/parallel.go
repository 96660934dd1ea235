package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Calls with fewer multiply-adds than serialMACs run on the calling goroutine
// alone: handing work to a helper costs a few microseconds.
const serialMACs = 1 << 20

// maxThreads bounds the goroutines one Gemm call uses.
const maxThreads = 64

// workspace is one participant's packing memory, kept between calls.
type workspace struct {
	a, b, tile []float32
}

// job is one Gemm call split over threads participants. Participant t
// computes a band of whole micro-tiles: rows [t·tm/T, (t+1)·tm/T) of the
// tile grid when splitRows, else the same share of tile columns. Bands
// start on the global tile grid and the depth is cut by kcFor(k) alone, so
// every element sees the same operations whatever threads is.
type job struct {
	args      gemmArgs
	kern      *microKernel
	kc        int
	threads   int
	splitRows bool

	// With splitRows, the participants pack each kc×nc block of op(B) into
	// shared[step%2] together, wait at bar, then each packs its own rows
	// of op(A). Two buffers let the next block be packed while a slower
	// participant still reads the previous one.
	shared [2][]float32
	bar    barrier
	done   barrier
	ws     [maxThreads]workspace
}

// jobs is a free list of jobs with their packing buffers. Unlike a
// sync.Pool it is never emptied by the garbage collector, so steady-state
// calls allocate nothing; it holds at most as many jobs as ever ran at once.
var jobs jobList

type jobList struct {
	mu   sync.Mutex
	free []*job
}

// get returns a pooled job, or a new one when none is free.
func (l *jobList) get() *job {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		j := l.free[n-1]
		l.free = l.free[:n-1]
		return j
	}
	return newJob()
}

// put returns j to the free list.
func (l *jobList) put(j *job) {
	l.mu.Lock()
	l.free = append(l.free, j)
	l.mu.Unlock()
}

// newJob returns an empty job with its barriers' condition variables bound.
func newJob() *job {
	j := new(job)
	j.bar.cond.L = &j.bar.mu
	j.done.cond.L = &j.done.mu
	return j
}

// task hands participant tid of j to a helper goroutine.
type task struct {
	j   *job
	tid int
}

// helpers is the persistent pool of goroutines that run the participants
// other than the caller. A caller may only queue as many tasks as it took
// tokens, and a helper gives its token back before it signals completion,
// so a queued task always finds a helper and no participant waits at a
// barrier for one that cannot start.
var helpers struct {
	once   sync.Once
	tokens chan struct{}
	tasks  chan task
}

func startHelpers() {
	n := min(runtime.NumCPU(), maxThreads) - 1
	helpers.tokens = make(chan struct{}, n)
	helpers.tasks = make(chan task, n)
	for range n {
		helpers.tokens <- struct{}{}
		go helperLoop()
	}
}

// helperLoop runs queued participants forever. Between calls it polls for
// a while before it parks, since encoders issue Gemm calls back to back.
func helperLoop() {
	for {
		t, ok := task{}, false
		for range spinRounds {
			select {
			case t = <-helpers.tasks:
				ok = true
			default:
				runtime.Gosched()
			}
			if ok {
				break
			}
		}
		if !ok {
			t = <-helpers.tasks
		}
		t.j.work(t.tid)
		helpers.tokens <- struct{}{}
		t.j.done.arrive()
	}
}

// reserveHelpers takes up to n idle helpers without waiting.
func reserveHelpers(n int) int {
	helpers.once.Do(startHelpers)
	got := 0
	for got < n {
		select {
		case <-helpers.tokens:
			got++
		default:
			return got
		}
	}
	return got
}

// gemm runs g (validated, m, n, k ≥ 1, alpha ≠ 0) with micro-kernel kern.
func gemm(kern *microKernel, g *gemmArgs) {
	tilesM, tilesN := ceilDiv(g.m, kern.mr), ceilDiv(g.n, kern.nr)
	want := 1
	if g.m*g.n*g.k >= serialMACs {
		want = runtime.GOMAXPROCS(0)
	}
	splitRows := tilesM >= tilesN || tilesM >= 4*want
	if splitRows {
		want = min(want, tilesM)
	} else {
		want = min(want, tilesN)
	}
	got := 0
	if want > 1 {
		got = reserveHelpers(want - 1)
	}
	j := jobs.get()
	j.prepare(kern, g, got+1, splitRows)
	for t := 1; t <= got; t++ {
		helpers.tasks <- task{j: j, tid: t}
	}
	j.work(0)
	j.done.wait()
	j.release()
}

// prepare sets j up to run g on threads participants (threads ≤ the tiles
// along the split dimension).
func (j *job) prepare(kern *microKernel, g *gemmArgs, threads int, splitRows bool) {
	j.args = *g
	j.kern = kern
	j.kc = kern.chunk(g.k)
	j.threads = threads
	j.splitRows = splitRows && threads > 1
	if j.splitRows {
		size := roundUp(min(g.n, ncMax), kern.nr) * kern.steps(j.kc)
		for s := range j.shared {
			j.shared[s] = grow(j.shared[s], size)
		}
		j.bar.reset(threads)
	}
	j.done.reset(threads)
}

// release drops j's references to the caller's matrices and pools it.
func (j *job) release() {
	j.args = gemmArgs{}
	j.kern = nil
	jobs.put(j)
}

// grow returns s resliced to n elements, reallocating only when too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// band returns participant tid's share [lo, hi) of count units of size unit,
// clipped to limit.
func band(count, unit, limit, tid, threads int) (lo, hi int) {
	lo = min(tid*count/threads*unit, limit)
	hi = min((tid+1)*count/threads*unit, limit)
	return lo, hi
}

// work computes participant tid's band of C.
func (j *job) work(tid int) {
	g, kern := &j.args, j.kern
	ws := &j.ws[tid]
	ws.tile = grow(ws.tile, kern.mr*kern.nr)
	if j.splitRows {
		r0, r1 := band(ceilDiv(g.m, kern.mr), kern.mr, g.m, tid, j.threads)
		j.workRows(ws, tid, r0, r1)
		return
	}
	c0, c1 := band(ceilDiv(g.n, kern.nr), kern.nr, g.n, tid, j.threads)
	j.workCols(ws, c0, c1)
}

// workCols computes columns [c0, c1) of C, all rows, packing its own blocks.
func (j *job) workCols(ws *workspace, c0, c1 int) {
	g, kern := &j.args, j.kern
	for jc := c0; jc < c1; jc += ncMax {
		nb := min(ncMax, c1-jc)
		for pc := 0; pc < g.k; pc += j.kc {
			kb := min(j.kc, g.k-pc)
			ws.b = grow(ws.b, roundUp(nb, kern.nr)*kern.steps(kb))
			kern.packB(ws.b, g.b, g.ldb, g.transB, pc, kb, jc, nb)
			j.rowBlocks(ws, 0, g.m, jc, nb, pc, kb, ws.b)
		}
	}
}

// workRows computes rows [r0, r1) of C, all columns, sharing packed op(B)
// with the other participants.
func (j *job) workRows(ws *workspace, tid, r0, r1 int) {
	g, kern := &j.args, j.kern
	step := 0
	for jc := 0; jc < g.n; jc += ncMax {
		nb := min(ncMax, g.n-jc)
		for pc := 0; pc < g.k; pc += j.kc {
			kb := min(j.kc, g.k-pc)
			ks := kern.steps(kb)
			bp := j.shared[step%2][:roundUp(nb, kern.nr)*ks]
			step++
			p0, p1 := band(ceilDiv(nb, kern.nr), kern.nr, nb, tid, j.threads)
			for jp := p0; jp < p1; jp += kern.nr {
				kern.packBPanel(bp[jp*ks:][:kern.nr*ks], g.b, g.ldb, g.transB, pc, kb, jc+jp, min(kern.nr, nb-jp))
			}
			j.bar.wait()
			j.rowBlocks(ws, r0, r1, jc, nb, pc, kb, bp)
		}
	}
}

// rowBlocks packs rows [r0, r1) of op(A) at depth [pc, pc+kb) block by block
// and multiplies them with the packed kb×nb block bp of op(B) at column jc.
// The first column block (jc = 0) also adds the rows' sums to the
// epilogue's RowSumsA: each row belongs to one participant there, and its
// depth chunks come in ascending order.
func (j *job) rowBlocks(ws *workspace, r0, r1, jc, nb, pc, kb int, bp []float32) {
	g, kern := &j.args, j.kern
	beta := g.beta
	if pc > 0 {
		beta = 1
	}
	last := pc+kb == g.k
	for ic := r0; ic < r1; ic += mcMax {
		mb := min(mcMax, r1-ic)
		if jc == 0 && g.epi != nil && g.epi.RowSumsA != nil {
			addRowSums(g.epi.RowSumsA[ic:ic+mb], g.a, g.lda, g.transA, ic, mb, pc, kb)
		}
		ws.a = grow(ws.a, roundUp(mb, kern.mr)*kern.steps(kb))
		kern.packA(ws.a, g.a, g.lda, g.transA, ic, mb, pc, kb, g.alpha)
		j.macroTile(ws, ic, mb, jc, nb, kb, beta, bp, last)
	}
}

// macroTile runs the micro-kernel over the mb×nb block of C at (ic, jc)
// from packed op(A) rows in ws.a and packed op(B) columns in bp. Tiles that
// stick out of C are computed into ws.tile and copied in. After the last
// depth chunk the epilogue runs on each tile while it is in L1.
func (j *job) macroTile(ws *workspace, ic, mb, jc, nb, kb int, beta float32, bp []float32, last bool) {
	g, kern := &j.args, j.kern
	if kern.grid != nil {
		j.gridTiles(ws, ic, mb, jc, nb, kb, beta, bp, last)
		return
	}
	epi := g.epi.tileWork(last)
	mr, nr, ldc := kern.mr, kern.nr, g.ldc
	ks := kern.steps(kb)
	for jr := 0; jr < nb; jr += nr {
		bpan := bp[jr*ks:][:nr*ks]
		cols := min(nr, nb-jr)
		for ir := 0; ir < mb; ir += mr {
			apan := ws.a[ir*ks:][:mr*ks]
			rows := min(mr, mb-ir)
			off := (ic+ir)*ldc + jc + jr
			if rows == mr && cols == nr {
				kern.run(kb, apan, bpan, g.c[off:], ldc, beta)
			} else {
				kern.run(kb, apan, bpan, ws.tile, nr, 0)
				addTile(g.c[off:], ldc, ws.tile, nr, rows, cols, beta)
			}
			if epi != nil {
				epi.apply(g.c[off:], ldc, rows, cols, ic+ir, jc+jr)
			}
		}
	}
}

// addTile sets the rows×cols block c to t + beta·c (t has row stride ldt).
func addTile(c []float32, ldc int, t []float32, ldt, rows, cols int, beta float32) {
	for r := range rows {
		crow := c[r*ldc:][:cols]
		trow := t[r*ldt:][:cols]
		if beta == 0 {
			copy(crow, trow)
			continue
		}
		for x, v := range trow {
			crow[x] = v + beta*crow[x]
		}
	}
}

// gridStrip bounds the columns of one grid call, so that the strip of C it
// produces is still in L2 when the epilogue runs over it.
const gridStrip = 512

// gridTiles is macroTile for a grid kernel (beta ∈ {0, 1}): the full tiles
// in strips of gridStrip columns straight into C, then the right and bottom
// edges through ws.tile.
func (j *job) gridTiles(ws *workspace, ic, mb, jc, nb, kb int, beta float32, bp []float32, last bool) {
	g, kern := &j.args, j.kern
	epi := g.epi.tileWork(last)
	mr, nr, ldc := kern.mr, kern.nr, g.ldc
	ks := kern.steps(kb)
	mt, nt := mb/mr, nb/nr
	if mt > 0 {
		for j0 := 0; j0 < nt*nr; j0 += gridStrip {
			w := min(gridStrip, nt*nr-j0)
			off := ic*ldc + jc + j0
			kern.grid(ks, ws.a, bp[j0*ks:], g.c[off:], ldc, mt, w/nr, beta)
			if epi != nil {
				epi.apply(g.c[off:], ldc, mt*mr, w, ic, jc+j0)
			}
		}
		if cols := nb - nt*nr; cols > 0 {
			ws.tile = grow(ws.tile, mt*mr*nr)
			kern.grid(ks, ws.a, bp[nt*nr*ks:], ws.tile, nr, mt, 1, 0)
			off := ic*ldc + jc + nt*nr
			addTile(g.c[off:], ldc, ws.tile, nr, mt*mr, cols, beta)
			if epi != nil {
				epi.apply(g.c[off:], ldc, mt*mr, cols, ic, jc+nt*nr)
			}
		}
	}
	if rows := mb - mt*mr; rows > 0 {
		np := ceilDiv(nb, nr)
		ws.tile = grow(ws.tile, mr*np*nr)
		kern.grid(ks, ws.a[mt*mr*ks:], bp, ws.tile, np*nr, 1, np, 0)
		off := (ic+mt*mr)*ldc + jc
		addTile(g.c[off:], ldc, ws.tile, np*nr, rows, nb, beta)
		if epi != nil {
			epi.apply(g.c[off:], ldc, rows, nb, ic+mt*mr, jc)
		}
	}
}

// spinRounds bounds how many times a waiting participant yields before it
// blocks: a Gemm step is short, and waking a parked goroutine costs more
// than the wait itself.
const spinRounds = 500

// barrier is a reusable rendezvous of n participants that spins (yielding
// the processor) before it blocks.
type barrier struct {
	n     int32
	count atomic.Int32
	gen   atomic.Uint32
	mu    sync.Mutex
	cond  sync.Cond
}

// reset prepares b for n participants; no one may be using it.
func (b *barrier) reset(n int) {
	b.n = int32(n)
	b.count.Store(0)
}

// arrive records one participant without waiting and returns the
// generation it arrived in; the last one to arrive starts the next.
func (b *barrier) arrive() uint32 {
	// Read everything before arriving: once the others see this arrival the
	// barrier may be reset for the next call.
	gen, n := b.gen.Load(), b.n
	if b.count.Add(1) == n {
		b.count.Store(0)
		b.mu.Lock()
		b.gen.Add(1)
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	return gen
}

// wait arrives and returns once all n participants have arrived.
func (b *barrier) wait() {
	gen := b.arrive()
	for range spinRounds {
		if b.gen.Load() != gen {
			return
		}
		runtime.Gosched()
	}
	b.mu.Lock()
	for b.gen.Load() == gen {
		b.cond.Wait()
	}
	b.mu.Unlock()
}
