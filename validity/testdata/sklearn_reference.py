# Reference values for validity's tests: scikit-learn 1.2.1 (Debian's
# python3-sklearn) on a fixed dataset. Run from this directory with
#   /usr/bin/python3 sklearn_reference.py
# It writes blobs.csv (x0..x4 as float32 values, then two labellings) and
# prints the scores pasted into validity_test.go.
import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score, davies_bouldin_score, calinski_harabasz_score

x, y = make_blobs(n_samples=300, n_features=5, centers=4, cluster_std=1.5, random_state=7)
x = x.astype(np.float32).astype(np.float64)
rng = np.random.RandomState(3)
# A worse labelling: 20% of the rows moved to a random cluster, and one
# singleton cluster (label 9).
noisy = y.copy()
flip = rng.rand(len(y)) < 0.2
noisy[flip] = rng.randint(0, 4, flip.sum())
noisy[17] = 9
with open("blobs.csv", "w") as f:
    f.write("x0,x1,x2,x3,x4,truth,noisy\n")
    for row, a, b in zip(x, y, noisy):
        f.write(",".join(repr(float(np.float32(v))) for v in row) + f",{a},{b}\n")
for name, lab in (("truth", y), ("noisy", noisy)):
    print(f'{name}: silhouette {silhouette_score(x, lab)!r} davies_bouldin {davies_bouldin_score(x, lab)!r} calinski_harabasz {calinski_harabasz_score(x, lab)!r}')
