package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/pipeline"
	"github.com/deepclust/deepclust/sdk"
	"github.com/deepclust/deepclust/validity"
)

// DefaultMaxPoints is the default number of points drawn on the map.
const DefaultMaxPoints = 4000

// Run is what a report shows. Clusters and Z are required; the rest is
// shown when set.
type Run struct {
	// Title heads the page, e.g. the output directory.
	Title string
	// Source describes the data.
	Source string
	// Clusters is every row's cluster, Z its embedding (n × d).
	Clusters []int32
	Z        sdk.Tensor
	// Truth holds the labels, nil without.
	Truth []int32
	// X holds the input samples of the same rows (n × sample shape) for
	// the image grid or the feature profile, and Features the names of
	// tabular columns; X may be empty.
	X        sdk.Tensor
	Features []string
	// Indices are those of the embeddings, InputIndices of the input.
	Indices, InputIndices *validity.Indices
	// Scores are ACC/NMI/ARI against Truth.
	Scores *pipeline.Scores
	// Fit is the fit's report (stages, histories); nil for a prediction.
	Fit *model.Report
	// Seconds are the run's timings.
	Seconds map[string]float64
	// Config is the resolved config (YAML).
	Config string
	// Seed draws the map's sample.
	Seed uint64
	// MaxPoints bounds the points of the map (≤ 0: DefaultMaxPoints).
	MaxPoints int
}

// palette holds 20 distinguishable colours (Tableau 20), cycled.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
	"#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"}

func colour(i int) string { return palette[((i%len(palette))+len(palette))%len(palette)] }

// Write renders the report of r as HTML to w.
func Write(w io.Writer, r Run) error {
	n := len(r.Clusters)
	if n == 0 || r.Z.Rows() != n || len(r.Z.Shape) != 2 {
		return fmt.Errorf("report: %d clusters for embeddings of shape %v", n, r.Z.Shape)
	}
	if r.Truth != nil && len(r.Truth) != n {
		return fmt.Errorf("report: %d labels for %d rows", len(r.Truth), n)
	}
	if !r.X.Empty() && r.X.Shape[0] != n {
		return fmt.Errorf("report: %d input rows for %d rows", r.X.Shape[0], n)
	}
	if r.MaxPoints <= 0 {
		r.MaxPoints = DefaultMaxPoints
	}
	b := bufio.NewWriter(w)
	p := &page{w: b, r: r}
	p.build()
	if p.err != nil {
		return p.err
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("report: writing: %w", err)
	}
	return nil
}

// page renders one report.
type page struct {
	w   *bufio.Writer
	r   Run
	err error
	// ids are the clusters in order; size their sizes; of maps a
	// cluster to its position.
	ids  []int32
	size []int
	of   map[int32]int
}

func (p *page) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

func esc(s string) string { return html.EscapeString(s) }

const style = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:400px;font-size:12px}
.note{color:#666;font-size:12px}.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
svg{background:#fff}.strip{image-rendering:pixelated;display:block;margin:2px 0}
`

func (p *page) build() {
	p.clusterIDs()
	p.printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	p.printf("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n")
	p.printf("<title>deepclust report: %s</title><style>%s</style></head><body>\n", esc(p.r.Title), style)
	p.printf("<h1>deepclust report: %s</h1>\n", esc(p.r.Title))
	p.summary()
	p.indices()
	p.kSelection()
	p.paramSelections()
	p.sizes()
	p.scatterMap()
	p.images()
	p.profile()
	p.training()
	p.confusion()
	if p.r.Config != "" {
		p.printf("<section id=\"config\"><h2>Resolved config</h2><pre>%s</pre></section>\n", esc(p.r.Config))
	}
	p.printf("</body></html>\n")
}

func (p *page) clusterIDs() {
	p.of = map[int32]int{}
	for _, c := range p.r.Clusters {
		if _, ok := p.of[c]; !ok {
			p.of[c] = 0
			p.ids = append(p.ids, c)
		}
	}
	slices.Sort(p.ids)
	p.size = make([]int, len(p.ids))
	for i, c := range p.ids {
		p.of[c] = i
	}
	for _, c := range p.r.Clusters {
		p.size[p.of[c]]++
	}
}

func (p *page) summary() {
	r := p.r
	p.printf("<section id=\"summary\"><h2>Summary</h2><table>")
	p.printf("<tr><th class=l>data</th><td class=l>%s</td></tr>", esc(r.Source))
	p.printf("<tr><th class=l>rows n</th><td class=l>%d</td></tr><tr><th class=l>clusters k</th><td class=l>%d</td></tr>", len(r.Clusters), len(p.ids))
	p.printf("<tr><th class=l>embedding width</th><td class=l>%d</td></tr>", r.Z.Cols())
	if r.Scores != nil {
		p.printf("<tr><th class=l>ACC / NMI / ARI</th><td class=l>%.4f / %.4f / %.4f</td></tr>", r.Scores.ACC, r.Scores.NMI, r.Scores.ARI)
	}
	p.printf("</table>")
	if len(r.Seconds) > 0 {
		p.printf("<h3>Timings</h3><table><tr><th class=l>phase</th><th>seconds</th></tr>")
		keys := make([]string, 0, len(r.Seconds))
		for k := range r.Seconds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p.printf("<tr><td class=l>%s</td><td>%.2f</td></tr>", esc(k), r.Seconds[k])
		}
		p.printf("</table>")
	}
	if r.Fit != nil && len(r.Fit.Stages) > 0 {
		p.printf("<h3>Stages</h3><table><tr><th class=l>stage</th><th>seconds</th><th>cached</th><th>embedding width</th><th>pretrain loss</th><th>k-means ACC</th><th>k-means NMI</th></tr>")
		for _, s := range r.Fit.Stages {
			acc, nmi := "", ""
			if s.Scores != nil {
				acc, nmi = fmt.Sprintf("%.4f", s.Scores.ACC), fmt.Sprintf("%.4f", s.Scores.NMI)
			}
			p.printf("<tr><td class=l>%s</td><td>%.1f</td><td>%v</td><td>%d</td><td>%.5g</td><td>%s</td><td>%s</td></tr>", esc(s.Name), s.Seconds["total"], s.Cached, s.EmbeddingDim, s.PretrainLoss, acc, nmi)
		}
		p.printf("</table>")
	}
	p.printf("</section>\n")
}

func (p *page) indices() {
	if p.r.Indices == nil && p.r.InputIndices == nil {
		return
	}
	p.printf("<section id=\"indices\"><h2>Internal validity indices</h2>")
	p.printf("<p class=note>Computed without labels. Silhouette: in [−1, 1], higher is better; Davies–Bouldin: ≥ 0, lower is better; Calinski–Harabasz: higher is better.</p>")
	p.printf("<table><tr><th class=l>on</th><th>silhouette</th><th>silhouette rows</th><th>Davies–Bouldin</th><th>Calinski–Harabasz</th></tr>")
	row := func(name string, ix *validity.Indices) {
		if ix == nil {
			return
		}
		rows := fmt.Sprintf("%d (all)", ix.SilhouetteRows)
		if ix.Sampled {
			rows = fmt.Sprintf("%d (seeded sample)", ix.SilhouetteRows)
		}
		p.printf("<tr><td class=l>%s</td><td>%.4f</td><td>%s</td><td>%.4f</td><td>%.1f</td></tr>", name, ix.Silhouette, rows, ix.DaviesBouldin, ix.CalinskiHarabasz)
	}
	row("final embeddings", p.r.Indices)
	row("input features", p.r.InputIndices)
	p.printf("</table></section>\n")
}

func (p *page) kSelection() {
	if p.r.Fit == nil || p.r.Fit.KSelection == nil {
		return
	}
	s := p.r.Fit.KSelection
	p.printf("<section id=\"k-selection\"><h2>Choosing k: %s</h2>", esc(s.Criterion))
	p.printf("<p>k: auto chose <b>k = %d</b> (the %s %s over k = %d … %d). %s</p>", s.K, map[string]string{"max": "largest", "min": "smallest"}[s.Best], esc(s.Criterion), s.Ks[0], s.Ks[len(s.Ks)-1], esc(s.Note))
	xs := make([]float64, len(s.Ks))
	for i, k := range s.Ks {
		xs[i] = float64(k)
	}
	p.lineChart(s.Criterion+" by k", "k", []series{{name: s.Criterion, x: xs, y: s.Values, colour: colour(0)}}, float64(s.K))
	p.printf("</section>\n")
}

// paramSelections shows, for every stage whose clusterer chose
// hyper-parameters itself, each choice: a table of every candidate's
// criterion value (the chosen one in bold) and, from three candidates, a
// chart of the criterion against the candidates.
func (p *page) paramSelections() {
	if p.r.Fit == nil {
		return
	}
	opened := false
	for _, st := range p.r.Fit.Stages {
		for _, s := range st.ParamSelections {
			if !opened {
				p.printf("<section id=\"param-selection\"><h2>Chosen hyper-parameters</h2>")
				opened = true
			}
			p.printf("<p>stage %s: <b>%s = %s</b>, the %s %s of %d candidates. %s</p>", esc(st.Name), esc(s.Param), esc(strconv.FormatFloat(s.Chosen, 'g', -1, 64)),
				map[string]string{"max": "largest", "min": "smallest"}[s.Best], esc(s.Criterion), len(s.Candidates), esc(s.Note))
			p.printf("<div class=row><table><tr><th>%s</th><th>%s</th></tr>", esc(s.Param), esc(s.Criterion))
			for i, c := range s.Candidates {
				if i >= len(s.Values) {
					break
				}
				b, e := "", ""
				if c == s.Chosen {
					b, e = "<b>", "</b>"
				}
				p.printf("<tr><td>%s%s%s</td><td>%s%.4g%s</td></tr>", b, strconv.FormatFloat(c, 'g', -1, 64), e, b, s.Values[i], e)
			}
			p.printf("</table>")
			if len(s.Candidates) >= 3 && len(s.Values) == len(s.Candidates) {
				order := make([]int, len(s.Candidates))
				for i := range order {
					order[i] = i
				}
				slices.SortFunc(order, func(a, b int) int { return cmp.Compare(s.Candidates[a], s.Candidates[b]) })
				xs, ys := make([]float64, len(order)), make([]float64, len(order))
				for i, j := range order {
					xs[i], ys[i] = s.Candidates[j], s.Values[j]
				}
				p.lineChart(s.Criterion+" by "+s.Param, s.Param, []series{{name: s.Criterion, x: xs, y: ys, colour: colour(0)}}, s.Chosen)
			}
			p.printf("</div>")
		}
	}
	if opened {
		p.printf("</section>\n")
	}
}

func (p *page) sizes() {
	r := p.r
	// Per-cluster mean silhouette on a seeded sample.
	rows := validity.Sample(len(r.Clusters), 3000, r.Seed)
	sz, sl := validity.Take(r.Z, r.Clusters, rows)
	sil := map[int32][2]float64{}
	if s, err := validity.SilhouetteSamples(sz, sl); err == nil {
		for i, v := range s {
			a := sil[sl[i]]
			sil[sl[i]] = [2]float64{a[0] + v, a[1] + 1}
		}
	}
	n := float64(len(r.Clusters))
	p.printf("<section id=\"sizes\"><h2>Cluster sizes</h2><div class=row>")
	// Bar chart.
	maxSize := slices.Max(p.size)
	const bw, bh = 420, 18
	h := bh*len(p.ids) + 10
	p.printf("<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"cluster sizes\">", bw+120, h)
	for i, c := range p.ids {
		wd := float64(bw) * float64(p.size[i]) / float64(maxSize)
		p.printf("<text x=\"28\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%d</text><rect x=\"32\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\">%d</text>",
			i*bh+17, c, i*bh+5, wd, bh-4, colour(int(c)), 36+wd, i*bh+17, p.size[i])
	}
	p.printf("</svg><table><tr><th>cluster</th><th>size</th><th>share</th><th>mean silhouette</th></tr>")
	for i, c := range p.ids {
		s := ""
		if a := sil[c]; a[1] > 0 {
			s = fmt.Sprintf("%.3f", a[0]/a[1])
		}
		p.printf("<tr><td><span style=\"color:%s\">■</span> %d</td><td>%d</td><td>%.1f%%</td><td>%s</td></tr>", colour(int(c)), c, p.size[i], 100*float64(p.size[i])/n, s)
	}
	p.printf("</table></div><p class=note>Mean silhouette per cluster on a seeded sample of %d rows: a cluster near or below 0 overlaps its neighbours.</p></section>\n", len(rows))
}

// pca returns the first two principal directions of z (d × 2) and the
// mean, fitted on at most 20,000 seeded rows.
func pca(z sdk.Tensor, seed uint64) (dirs [2][]float64, mean []float64, varShare [2]float64) {
	d := z.Cols()
	rows := validity.Sample(z.Rows(), 20000, seed)
	mean = make([]float64, d)
	for _, i := range rows {
		for t, v := range z.Row(i) {
			mean[t] += float64(v)
		}
	}
	for t := range mean {
		mean[t] /= float64(len(rows))
	}
	cov := mat.NewSymDense(d, nil)
	x := make([]float64, d)
	for _, i := range rows {
		for t, v := range z.Row(i) {
			x[t] = float64(v) - mean[t]
		}
		cov.SymRankOne(cov, 1/float64(len(rows)), mat.NewVecDense(d, x))
	}
	var eig mat.EigenSym
	if d == 1 || !eig.Factorize(cov, true) {
		dirs[0] = make([]float64, d)
		dirs[0][0] = 1
		dirs[1] = make([]float64, d)
		if d > 1 {
			dirs[1][1] = 1
		}
		return dirs, mean, varShare
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var total float64
	for _, v := range vals {
		total += v
	}
	for j := range 2 {
		col := d - 1 - j // ascending eigenvalues
		dirs[j] = mat.Col(nil, col, &vecs)
		if total > 0 {
			varShare[j] = vals[col] / total
		}
	}
	return dirs, mean, varShare
}

func (p *page) scatterMap() {
	r := p.r
	dirs, mean, share := pca(r.Z, r.Seed)
	rows := validity.Sample(len(r.Clusters), r.MaxPoints, r.Seed)
	xy := make([][2]float64, len(rows))
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for k, i := range rows {
		for j := range 2 {
			var s float64
			for t, v := range r.Z.Row(i) {
				s += (float64(v) - mean[t]) * dirs[j][t]
			}
			xy[k][j] = s
			lo[j], hi[j] = min(lo[j], s), max(hi[j], s)
		}
	}
	p.printf("<section id=\"map\"><h2>Map of the embeddings</h2>")
	p.printf("<p class=note>Projection: PCA of the final embeddings (first two principal components, %.0f%% and %.0f%% of the variance), computed by deepclust; %d of %d points (seeded sample).</p><div class=row>",
		100*share[0], 100*share[1], len(rows), len(r.Clusters))
	draw := func(title string, col func(i int) int) {
		const size, pad = 460, 10
		sx := func(v float64, j int) float64 {
			if hi[j] == lo[j] {
				return size / 2
			}
			f := (v - lo[j]) / (hi[j] - lo[j])
			if j == 1 {
				f = 1 - f
			}
			return pad + f*(size-2*pad)
		}
		p.printf("<figure><figcaption>%s</figcaption><svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#ccc\"/>", title, size, size, size, size, title, size, size)
		// One path per colour keeps the file small.
		groups := map[int]*strings.Builder{}
		var order []int
		for k, i := range rows {
			c := col(i)
			g, ok := groups[c]
			if !ok {
				g = &strings.Builder{}
				groups[c] = g
				order = append(order, c)
			}
			fmt.Fprintf(g, "M%.1f %.1fh0", sx(xy[k][0], 0), sx(xy[k][1], 1))
		}
		slices.Sort(order)
		for _, c := range order {
			p.printf("<path d=\"%s\" stroke=\"%s\" stroke-width=\"3\" stroke-linecap=\"round\" stroke-opacity=\"0.7\"/>", groups[c].String(), colour(c))
		}
		p.printf("</svg></figure>")
	}
	draw("coloured by cluster", func(i int) int { return int(r.Clusters[i]) })
	if r.Truth != nil {
		draw("coloured by label", func(i int) int { return int(r.Truth[i]) })
	}
	p.printf("</div></section>\n")
}

// imageShape returns height, width and channels of an image sample shape.
func imageShape(shape []int) (h, w, c int, ok bool) {
	switch {
	case len(shape) == 2 && shape[0] > 1 && shape[1] > 1:
		return shape[0], shape[1], 1, true
	case len(shape) == 3 && (shape[0] == 1 || shape[0] == 3) && shape[1] > 1 && shape[2] > 1:
		return shape[1], shape[2], shape[0], true
	}
	return 0, 0, 0, false
}

// certainty returns every row's distance to its own cluster mean and the
// ratio d₁/d₂ of its distances to the nearest and second-nearest means.
func (p *page) certainty() (own, ratio []float64) {
	z := p.r.Z
	d, k := z.Cols(), len(p.ids)
	mu := make([]float64, k*d)
	for i, c := range p.r.Clusters {
		j := p.of[c]
		for t, v := range z.Row(i) {
			mu[j*d+t] += float64(v)
		}
	}
	for j := range k {
		for t := range d {
			mu[j*d+t] /= float64(p.size[j])
		}
	}
	n := len(p.r.Clusters)
	own, ratio = make([]float64, n), make([]float64, n)
	for i, c := range p.r.Clusters {
		d1, d2 := math.Inf(1), math.Inf(1)
		for j := range k {
			var s float64
			for t, v := range z.Row(i) {
				e := float64(v) - mu[j*d+t]
				s += e * e
			}
			s = math.Sqrt(s)
			if j == p.of[c] {
				own[i] = s
			}
			if s < d1 {
				d1, d2 = s, d1
			} else if s < d2 {
				d2 = s
			}
		}
		if d2 > 0 && !math.IsInf(d2, 1) {
			ratio[i] = d1 / d2
		}
	}
	return own, ratio
}

func (p *page) images() {
	r := p.r
	if r.X.Empty() {
		return
	}
	h, w, ch, ok := imageShape(r.X.Shape[1:])
	if !ok {
		return
	}
	const per = 8
	own, ratio := p.certainty()
	members := make([][]int, len(p.ids))
	for i, c := range r.Clusters {
		members[p.of[c]] = append(members[p.of[c]], i)
	}
	p.printf("<section id=\"images\"><h2>Images per cluster</h2><p class=note>Left: the %d samples nearest the cluster's mean embedding. Right: its %d least certain samples (distance ratio to the nearest and second-nearest cluster mean closest to 1).</p><table><tr><th>cluster</th><th>size</th><th class=l>nearest the centroid</th><th class=l>least certain</th></tr>", per, per)
	for j, c := range p.ids {
		m := members[j]
		near := slices.Clone(m)
		sort.SliceStable(near, func(a, b int) bool { return own[near[a]] < own[near[b]] })
		unsure := slices.Clone(m)
		sort.SliceStable(unsure, func(a, b int) bool { return ratio[unsure[a]] > ratio[unsure[b]] })
		p.printf("<tr><td><span style=\"color:%s\">■</span> %d</td><td>%d</td><td class=l>%s</td><td class=l>%s</td></tr>", colour(int(c)), c, p.size[j],
			strip(r.X, near[:min(per, len(near))], h, w, ch), strip(r.X, unsure[:min(per, len(unsure))], h, w, ch))
	}
	p.printf("</table></section>\n")
}

// strip renders the given samples side by side as one PNG <img>, each
// image scaled to [0, 1] by its own range.
func strip(x sdk.Tensor, rows []int, h, w, ch int) string {
	const gap = 2
	img := image.NewRGBA(image.Rect(0, 0, len(rows)*(w+gap), h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	size := h * w * ch
	for k, r := range rows {
		px := x.Data[r*size : (r+1)*size]
		lo, hi := slices.Min(px), slices.Max(px)
		scale := float32(1)
		if hi > lo {
			scale = 1 / (hi - lo)
		}
		for y := range h {
			for xx := range w {
				var c [3]uint8
				for q := range 3 {
					v := px[min(q, ch-1)*h*w+y*w+xx]
					c[q] = uint8(math.Round(float64((v - lo) * scale * 255)))
				}
				img.Set(k*(w+gap)+xx, y, color.RGBA{c[0], c[1], c[2], 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return fmt.Sprintf("<img class=strip alt=\"samples\" width=\"%d\" height=\"%d\" src=\"data:image/png;base64,%s\">", 2*img.Bounds().Dx(), 2*h, base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func (p *page) profile() {
	r := p.r
	if r.X.Empty() || len(r.X.Shape) != 2 {
		return
	}
	if _, _, _, ok := imageShape(r.X.Shape[1:]); ok {
		return
	}
	n, f, k := r.X.Rows(), r.X.Cols(), len(p.ids)
	mean, sd := make([]float64, f), make([]float64, f)
	cm := make([]float64, k*f)
	for i, c := range r.Clusters {
		row := r.X.Row(i)
		for t, v := range row {
			mean[t] += float64(v)
			cm[p.of[c]*f+t] += float64(v)
		}
	}
	for t := range f {
		mean[t] /= float64(n)
	}
	for i := range n {
		for t, v := range r.X.Row(i) {
			e := float64(v) - mean[t]
			sd[t] += e * e
		}
	}
	for t := range f {
		sd[t] = math.Sqrt(sd[t] / float64(n))
	}
	zs := make([]float64, k*f)
	spread := make([]float64, f)
	for j := range k {
		for t := range f {
			m := cm[j*f+t] / float64(p.size[j])
			if sd[t] > 0 {
				zs[j*f+t] = (m - mean[t]) / sd[t]
			}
			spread[t] += float64(p.size[j]) * zs[j*f+t] * zs[j*f+t]
		}
	}
	// At most 60 features: those whose cluster means differ most.
	feats := make([]int, f)
	for t := range feats {
		feats[t] = t
	}
	sort.SliceStable(feats, func(a, b int) bool { return spread[feats[a]] > spread[feats[b]] })
	shown := feats[:min(60, f)]
	slices.Sort(shown)
	name := func(t int) string {
		if t < len(r.Features) {
			return r.Features[t]
		}
		return fmt.Sprintf("x%d", t)
	}
	const cw, chh, left, top = 22, 18, 60, 110
	wd, ht := left+cw*len(shown)+10, top+chh*k+30
	p.printf("<section id=\"profile\"><h2>Feature profile per cluster</h2><p class=note>Each cell: the cluster's mean of a feature as a z-score against the whole data (red above the mean, blue below); %d of %d features shown, those whose cluster means differ most.</p>", len(shown), f)
	p.printf("<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"feature profile\">", wd, ht)
	for q, t := range shown {
		x := left + q*cw + cw/2
		p.printf("<text transform=\"translate(%d,%d) rotate(-60)\" font-size=\"11\">%s</text>", x, top-6, esc(name(t)))
	}
	for j, c := range p.ids {
		p.printf("<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%d</text>", left-6, top+j*chh+13, c)
		for q, t := range shown {
			v := zs[j*f+t]
			p.printf("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>cluster %d, %s: z = %.2f</title></rect>", left+q*cw, top+j*chh, cw-1, chh-1, diverging(v), c, esc(name(t)), v)
		}
	}
	p.printf("</svg></section>\n")
}

// diverging maps a z-score to blue (−2) … white (0) … red (+2).
func diverging(v float64) string {
	f := math.Max(-1, math.Min(1, v/2))
	if f >= 0 {
		g := uint8(255 * (1 - f))
		return fmt.Sprintf("#ff%02x%02x", g, g)
	}
	g := uint8(255 * (1 + f))
	return fmt.Sprintf("#%02x%02xff", g, g)
}

// series is one line of a chart.
type series struct {
	name   string
	x, y   []float64
	colour string
}

// lineChart draws series against a shared x axis; mark, when not NaN or 0,
// draws a vertical line at that x.
func (p *page) lineChart(title, xlabel string, ss []series, mark float64) {
	const w, h, left, right, top, bottom = 420, 220, 56, 12, 22, 34
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for i, x := range s.x {
			y := s.y[i]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			xlo, xhi, ylo, yhi = min(xlo, x), max(xhi, x), min(ylo, y), max(yhi, y)
		}
	}
	if math.IsInf(xlo, 1) {
		return
	}
	if xhi == xlo {
		xlo, xhi = xlo-1, xhi+1
	}
	if yhi == ylo {
		ylo, yhi = ylo-1, yhi+1
	}
	px := func(x float64) float64 { return left + (x-xlo)/(xhi-xlo)*(w-left-right) }
	py := func(y float64) float64 { return top + (1-(y-ylo)/(yhi-ylo))*(h-top-bottom) }
	p.printf("<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\"><text x=\"%d\" y=\"14\" font-size=\"12\">%s</text>", w, h, esc(title), left, esc(title))
	p.printf("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", left, h-bottom, w-right, h-bottom, left, top, left, h-bottom)
	for _, v := range []float64{ylo, (ylo + yhi) / 2, yhi} {
		p.printf("<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.4g</text>", left-4, py(v)+3, v)
	}
	for _, v := range []float64{xlo, (xlo + xhi) / 2, xhi} {
		p.printf("<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%.4g</text>", px(v), h-bottom+13, v)
	}
	p.printf("<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>", (left+w-right)/2, h-4, esc(xlabel))
	if mark != 0 && !math.IsNaN(mark) {
		p.printf("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>", px(mark), top, px(mark), h-bottom)
	}
	for si, s := range ss {
		var d strings.Builder
		pen := "M"
		for i, x := range s.x {
			y := s.y[i]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				pen = "M"
				continue
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", pen, px(x), py(y))
			pen = "L"
		}
		p.printf("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"/>", d.String(), s.colour)
		if len(s.x) <= 40 {
			for i, x := range s.x {
				if y := s.y[i]; !math.IsNaN(y) && !math.IsInf(y, 0) {
					p.printf("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>", px(x), py(y), s.colour)
				}
			}
		}
		if len(ss) > 1 {
			p.printf("<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"%s\">%s</text>", w-right-110, top+12*(si+1), s.colour, esc(s.name))
		}
	}
	p.printf("</svg>")
}

func (p *page) training() {
	fit := p.r.Fit
	if fit == nil || len(fit.Stages) == 0 {
		return
	}
	p.printf("<section id=\"training\"><h2>Training curves</h2>")
	for _, s := range fit.Stages {
		p.printf("<h3>Stage %s</h3><div class=row>", esc(s.Name))
		drawn := false
		if len(s.PretrainHistory) > 0 {
			xs := make([]float64, len(s.PretrainHistory))
			for i := range xs {
				xs[i] = float64(i + 1)
			}
			p.lineChart("pretraining loss per epoch", "epoch", []series{{name: "loss", x: xs, y: s.PretrainHistory, colour: colour(0)}}, 0)
			drawn = true
		}
		if h := s.History; len(h) > 1 {
			xs := make([]float64, len(h))
			loss, closs, change := make([]float64, len(h)), make([]float64, len(h)), make([]float64, len(h))
			named := map[string][]float64{}
			var acc, nmi []float64
			for i, e := range h {
				xs[i], loss[i], closs[i], change[i] = float64(e.Epoch), e.Loss, e.ClusterLoss, e.LabelChange
				for name, v := range e.Losses {
					if named[name] == nil {
						named[name] = make([]float64, len(h))
						for q := range named[name] {
							named[name][q] = math.NaN()
						}
					}
					named[name][i] = v
				}
				if e.Scores != nil {
					acc, nmi = append(acc, e.Scores.ACC), append(nmi, e.Scores.NMI)
				}
			}
			// Epoch 0 is cluster init: no training loss yet.
			loss[0], closs[0], change[0] = math.NaN(), math.NaN(), math.NaN()
			ls := []series{{name: "total", x: xs, y: loss, colour: colour(0)}, {name: "clustering L_c", x: xs, y: closs, colour: colour(1)}}
			names := make([]string, 0, len(named))
			for name := range named {
				names = append(names, name)
			}
			sort.Strings(names)
			for i, name := range names {
				ls = append(ls, series{name: name, x: xs, y: named[name], colour: colour(2 + i)})
			}
			p.lineChart("joint-training losses", "epoch", ls, 0)
			p.lineChart("label change between updates", "epoch", []series{{name: "label change", x: xs, y: change, colour: colour(3)}}, 0)
			if len(acc) == len(h) {
				p.lineChart("ACC and NMI (labels)", "epoch", []series{{name: "ACC", x: xs, y: acc, colour: colour(4)}, {name: "NMI", x: xs, y: nmi, colour: colour(5)}}, 0)
			}
			drawn = true
		}
		if !drawn {
			p.printf("<p class=note>No curves: %s.</p>", map[bool]string{true: "taken from the stage cache by a run that kept no per-epoch losses", false: "no pretraining and no joint training"}[s.Cached])
		}
		p.printf("</div>")
	}
	p.printf("</section>\n")
}

func (p *page) confusion() {
	r := p.r
	if r.Truth == nil {
		return
	}
	var labels []int32
	seen := map[int32]int{}
	for _, l := range r.Truth {
		if _, ok := seen[l]; !ok {
			seen[l] = 0
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	for i, l := range labels {
		seen[l] = i
	}
	k := len(p.ids)
	counts := make([]int, len(labels)*k)
	for i, c := range r.Clusters {
		counts[seen[r.Truth[i]]*k+p.of[c]]++
	}
	maxCount := slices.Max(counts)
	p.printf("<section id=\"confusion\"><h2>Confusion matrix</h2><p class=note>Rows: labels; columns: clusters; shade by count.</p><table><tr><th>label \\ cluster</th>")
	for _, c := range p.ids {
		p.printf("<th>%d</th>", c)
	}
	p.printf("</tr>")
	for i, l := range labels {
		p.printf("<tr><th>%d</th>", l)
		for j := range k {
			v := counts[i*k+j]
			a := 0.0
			if maxCount > 0 {
				a = float64(v) / float64(maxCount)
			}
			p.printf("<td style=\"background:rgba(31,119,180,%.2f)\">%d</td>", 0.85*a, v)
		}
		p.printf("</tr>")
	}
	p.printf("</table></section>\n")
}
