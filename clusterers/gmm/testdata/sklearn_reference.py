#!/usr/bin/python3
"""Reference values for clusterers/gmm from scikit-learn's GaussianMixture.

Produced with scikit-learn 1.2.1, numpy 1.24.2, scipy 1.10.1 (Debian
python3-sklearn), run from clusterers/gmm as

    /usr/bin/python3 testdata/sklearn_reference.py

It writes testdata/blobs.csv and testdata/separated.csv (150 rows each of
three 2-D Gaussian blobs, overlapping and well separated, rounded to float32
because the Go side receives float32 embeddings) and
testdata/sklearn_reference.json. The Go tests only read those three files;
nothing here runs in `go test` or CI.

Cases:
  em_full, em_diag: EM from given weights_init / means_init / precisions_init
      (the same start is given to the Go side), so that EM itself is compared
      independently of the k-means initialisation: converged weights, means,
      covariances, lower_bound_, n_iter_, predict_proba and score_samples on
      the data and on a few new points.
  default_full, default_diag: GaussianMixture(3, random_state=0) with the
      default init_params="kmeans" on blobs.csv: lower_bound_ (the Go side's
      default Fit must reach the same log-likelihood within 1e-3 relative;
      its labels may differ on a few rows between overlapping blobs, since
      the k-means starts differ and EM stops at tol 1e-3).
  separated_full, separated_diag: the same on separated.csv: labels of
      fit_predict, compared with the Go side's default Fit exactly up to a
      permutation of the components.
"""
import json
import os

import numpy as np
import scipy
import sklearn
from sklearn.mixture import GaussianMixture

here = os.path.dirname(os.path.abspath(__file__))


def blobs(name, centres, seed):
    """Writes testdata/NAME: 60, 50 and 40 rows around the three centres,
    rounded to float32, and returns them widened exactly to float64."""
    rng = np.random.RandomState(seed)
    covs = [[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 1.5]], [[1.2, -0.4], [-0.4, 0.6]]]
    x = np.vstack([rng.multivariate_normal(m, c, size=n) for m, c, n in zip(centres, covs, [60, 50, 40])])
    x = x.astype(np.float32)
    with open(os.path.join(here, name), "w") as f:
        f.write("x,y\n")
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    # What both sides cluster: the float32 values, widened exactly.
    return np.loadtxt(os.path.join(here, name), delimiter=",", skiprows=1, dtype=np.float32).astype(np.float64)


# Overlapping blobs: EM has genuinely soft posteriors.
X = blobs("blobs.csv", [[-2.5, 0.0], [1.5, 1.5], [1.5, -1.5]], 20240611)
# Separated blobs: every good fit gives the same labels.
S = blobs("separated.csv", [[-4.0, 0.0], [3.0, 3.0], [3.0, -3.0]], 20240611)

new_points = np.array([[0.0, 0.0], [-4.0, 0.5], [3.0, 0.0], [10.0, 10.0], [3.25, -2.875]])  # exact in float32

k, d = 3, 2
weights_init = np.array([0.5, 0.25, 0.25])
means_init = np.array([[-1.0, 0.0], [1.0, 1.0], [1.0, -1.0]])
cov_init_full = np.array([2.0 * np.eye(d)] * k)  # precisions 0.5·I, exact
cov_init_diag = np.full((k, d), 2.0)

out = {
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "new_points": new_points.tolist(),
}

for cov_type, cov_init in [("full", cov_init_full), ("diag", cov_init_diag)]:
    prec_init = np.linalg.inv(cov_init) if cov_type == "full" else 1.0 / cov_init
    gm = GaussianMixture(
        n_components=k,
        covariance_type=cov_type,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        weights_init=weights_init,
        means_init=means_init,
        precisions_init=prec_init,
    ).fit(X)
    out["em_" + cov_type] = {
        "covariance": cov_type,
        "tol": 1e-3,
        "reg_covar": 1e-6,
        "max_iter": 100,
        "weights_init": weights_init.tolist(),
        "means_init": means_init.tolist(),
        "covariances_init": cov_init.tolist(),
        "weights": gm.weights_.tolist(),
        "means": gm.means_.tolist(),
        "covariances": gm.covariances_.tolist(),
        "lower_bound": float(gm.lower_bound_),
        "n_iter": int(gm.n_iter_),
        "converged": bool(gm.converged_),
        "predict_proba": gm.predict_proba(X).tolist(),
        "score_samples": gm.score_samples(X).tolist(),
        "predict_proba_new": gm.predict_proba(new_points).tolist(),
        "score_samples_new": gm.score_samples(new_points).tolist(),
    }

for cov_type in ["full", "diag"]:
    for name, data in [("default_", X), ("separated_", S)]:
        gm = GaussianMixture(n_components=k, covariance_type=cov_type, random_state=0)
        labels = gm.fit_predict(data)
        out[name + cov_type] = {
            "covariance": cov_type,
            "labels": labels.tolist(),
            "lower_bound": float(gm.lower_bound_),
            "n_iter": int(gm.n_iter_),
        }

with open(os.path.join(here, "sklearn_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
