package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/deepclust/deepclust/model"
	"github.com/deepclust/deepclust/sdk"
)

// loadedModel is a model ready to assign batches, with its centroids when
// distances are asked for.
type loadedModel struct {
	m         *model.Model
	centroids sdk.Tensor
}

// modelKey names a loaded model in the pool.
type modelKey struct {
	dir, isolation string
	distance       bool
}

// pool keeps the models the DoFn instances of this worker process loaded
// and gave back, so that a model is loaded once per worker and concurrent
// bundles (which cannot share one model: encoders keep buffers) each take
// their own.
var pool = struct {
	sync.Mutex
	free map[modelKey][]*loadedModel
}{free: map[modelKey][]*loadedModel{}}

// acquireModel takes a loaded model from the pool or loads one.
func acquireModel(ctx context.Context, k modelKey) (*loadedModel, error) {
	pool.Lock()
	if free := pool.free[k]; len(free) > 0 {
		l := free[len(free)-1]
		pool.free[k] = free[:len(free)-1]
		pool.Unlock()
		return l, nil
	}
	pool.Unlock()
	dir, err := localDir(ctx, k.dir)
	if err != nil {
		return nil, err
	}
	m, err := model.Load(ctx, dir, model.Options{Log: io.Discard, Isolation: k.isolation})
	if err != nil {
		return nil, err
	}
	l := &loadedModel{m: m}
	if k.distance {
		if l.centroids, err = m.Centroids(ctx); err != nil {
			m.Close()
			return nil, fmt.Errorf("--distance: %w", err)
		}
	}
	return l, nil
}

// releaseModel gives a model back to the pool.
func releaseModel(k modelKey, l *loadedModel) {
	if l == nil {
		return
	}
	pool.Lock()
	pool.free[k] = append(pool.free[k], l)
	pool.Unlock()
}

// localDir returns a local copy of a model directory: dir itself when it
// is local, else a copy of every file under it in a temporary directory.
func localDir(ctx context.Context, dir string) (string, error) {
	if !strings.Contains(dir, "://") {
		return dir, nil
	}
	st, err := storageFor(dir)
	if err != nil {
		return "", err
	}
	files, err := st.List(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp("", "deepclust-beam-model-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, strings.TrimSuffix(dir, "/")), "/")
		if err := copyOut(ctx, st, f.Path, filepath.Join(tmp, filepath.FromSlash(rel))); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("model %s: %w", dir, err)
		}
	}
	return tmp, nil
}

func copyOut(ctx context.Context, st Storage, from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	r, err := st.Open(ctx, from)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// assign embeds and assigns one batch as deepclust predict does: the
// model's Predict, each row's distance to its cluster's centroid when the
// centroids are loaded, and the soft assignments when asked for.
func (l *loadedModel) assign(ctx context.Context, x sdk.Tensor, soft bool) (*model.Prediction, []float32, error) {
	pr, err := l.m.Predict(ctx, x)
	if err != nil {
		return nil, nil, err
	}
	if soft && pr.Soft.Empty() {
		return nil, nil, fmt.Errorf("--soft: clusterer %q gives no soft assignments (dec and gmm do)", l.m.Config().Last().Clusterer.Label())
	}
	if !soft {
		pr.Soft = sdk.Tensor{}
	}
	var dist []float32
	if !l.centroids.Empty() {
		k := int32(l.centroids.Rows())
		dist = make([]float32, pr.Z.Rows())
		for i, c := range pr.Labels {
			if c < 0 || c >= k {
				return nil, nil, fmt.Errorf("clusterer Assign: row %d has cluster %d, outside [0, %d)", i, c, k)
			}
			dist[i] = euclidean(pr.Z.Row(i), l.centroids.Row(int(c)))
		}
	}
	return pr, dist, nil
}

// euclidean is ‖a − b‖₂, accumulated in float64 (as deepclust predict's).
func euclidean(a, b []float32) float32 {
	var s float64
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return float32(math.Sqrt(s))
}
