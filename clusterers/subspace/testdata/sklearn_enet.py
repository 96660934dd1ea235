#!/usr/bin/python3
"""Reference values for clusterers/subspace's elastic-net solver from
scikit-learn's ElasticNet.

Produced with scikit-learn 1.2.1 and numpy 1.24.2 (Debian python3-sklearn),
run from clusterers/subspace as

    /usr/bin/python3 testdata/sklearn_enet.py

It writes testdata/sklearn_enet.json; the Go test only reads it.

Each case is a design A (n_samples × n_features, rounded to float32 since
the Go side holds atoms in float32; the atoms are A's columns), a target y
and ElasticNet(alpha, l1_ratio, fit_intercept=False, tol=1e-12,
max_iter=1000000), which minimises

    1/(2 n_samples) ‖y − A w‖² + alpha·l1_ratio‖w‖₁ + ½ alpha(1 − l1_ratio)‖w‖²,

i.e. the Go solver's ½‖y − A w‖² + l1‖w‖₁ + ½ l2‖w‖² with
l1 = n_samples·alpha·l1_ratio and l2 = n_samples·alpha·(1 − l1_ratio).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import ElasticNet

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(20240618)
cases = []
for name, n_samples, n_features, alpha, l1_ratio in [
    ("tall_lasso", 30, 8, 0.05, 1.0),
    ("tall_enet", 30, 8, 0.05, 0.5),
    ("wide_enet", 12, 40, 0.02, 0.9),
    ("wide_ridge_heavy", 12, 40, 0.1, 0.1),
    ("subspace_like", 20, 60, 0.005, 0.9),
]:
    A = rng.randn(n_samples, n_features).astype(np.float32)
    if name == "subspace_like":
        # Unit-length atoms from a 6-dimensional subspace, y on it too.
        basis = np.linalg.qr(rng.randn(n_samples, 6))[0]
        A = (basis @ rng.randn(6, n_features)).astype(np.float32)
        A /= np.linalg.norm(A, axis=0)
        A = A.astype(np.float32)
    y = rng.randn(n_samples)
    if name == "subspace_like":
        y = basis @ rng.randn(6)
        y /= np.linalg.norm(y)
    A64 = A.astype(np.float64)
    m = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-12, max_iter=1000000).fit(A64, y)
    cases.append({
        "name": name,
        "atoms": A64.T.tolist(),  # one atom (column of A) per row
        "y": y.tolist(),
        "l1": n_samples * alpha * l1_ratio,
        "l2": n_samples * alpha * (1 - l1_ratio),
        "coef": m.coef_.tolist(),
        "n_iter": int(m.n_iter_),
    })
with open(os.path.join(here, "sklearn_enet.json"), "w") as f:
    json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
