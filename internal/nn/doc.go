// Package nn holds the building blocks the autoencoder encoders share: the
// optimisers with their config fields, and the activations.
//
// Adam (Kingma & Ba 2015, Algorithm 1) with L2 penalty λ, step t:
//
//	g ← g + λθ,  m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
//	θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t).
//
// SGD with momentum μ (PyTorch form): v ← μ·v + g + λθ, θ ← θ − lr·v.
//
// Activations: ReLU max(0, a), leaky ReLU a for a > 0 and s·a otherwise,
// sigmoid 1/(1+e^(−a)), linear a. Their derivatives are computed from the
// outputs y: ReLU 1[y > 0], leaky ReLU 1 or s, sigmoid y·(1−y).
package nn
