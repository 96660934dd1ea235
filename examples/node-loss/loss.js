'use strict';
// The "compact" loss: weight × the soft-assignment-weighted squared
// distance of each embedding to the cluster centres,
//
//   L = w/N Σ_i Σ_j q_ij ‖z_i − μ_j‖²
//   ∂L/∂z_i = 2w/N Σ_j q_ij (z_i − μ_j)     ∂L/∂μ_j = −2w/N Σ_i q_ij (z_i − μ_j)
//
// It pulls each embedding towards the centres it belongs to, and the
// centres towards their members. Without centroids or soft assignments
// (pretraining) it is 0 and has no gradients.

// evalCompact takes {z, centroids, soft} tensors ({shape, data} or null)
// and the weight, and returns {value, gradZ, gradCentroids}.
function evalCompact({ z, centroids, soft }, weight) {
  if (!z || !centroids || !soft) return { value: 0, gradZ: null, gradCentroids: null };
  const [n, d] = z.shape;
  const k = centroids.shape[0];
  if (centroids.shape[1] !== d || soft.shape[0] !== n || soft.shape[1] !== k) {
    throw new Error(`shapes z ${z.shape}, centroids ${centroids.shape}, soft ${soft.shape} do not fit`);
  }
  const gz = new Float32Array(n * d);
  const gm = new Float32Array(k * d);
  const scale = (2 * weight) / n;
  let value = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const q = soft.data[i * k + j];
      if (q === 0) continue;
      for (let c = 0; c < d; c++) {
        const diff = z.data[i * d + c] - centroids.data[j * d + c];
        value += q * diff * diff;
        gz[i * d + c] += scale * q * diff;
        gm[j * d + c] -= scale * q * diff;
      }
    }
  }
  return {
    value: (weight * value) / n,
    gradZ: { shape: [n, d], data: gz },
    gradCentroids: { shape: [k, d], data: gm },
  };
}

module.exports = { evalCompact };
