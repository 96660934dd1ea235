// Package sdk is the core of what a deepclust plugin author imports: the
// float32 Tensor every plugin call carries, the three plugin roles (Encoder,
// Clusterer and Loss) with the per-batch exchange of the training loop, and
// the self-description a plugin gives of itself (name, kind, version and
// typed config fields with defaults, bounds and required flags).
//
// It depends on the standard library only, so a plugin's unit tests can
// import it without gRPC. Serving a plugin as a process is the job of
// package sdk/serve (serve.Encoder, serve.Clusterer, serve.Loss); the
// conformance checks are in sdk/conformance, and sdk/sdktest runs them from
// go test.
//
// One training batch flows as follows:
//
//	enc.Forward(x)                    -> z, x̂
//	clu.Loss(z, indices)              -> L_c, ∂L_c/∂z, centroids, soft assignments
//	loss_k.Eval(x, x̂, z, centroids)   -> L_k, ∂L_k/∂z, ∂L_k/∂x̂, ∂L_k/∂μ
//	enc.Backward(β∂L_c/∂z + Σα_k∂L_k/∂z, Σα_k∂L_k/∂x̂)   (backprop and optimiser step)
//	clu.Step(Σα_k∂L_k/∂μ)                                (cluster-parameter update)
//
// and between epochs the clusterer sees all embeddings through Update.
package sdk
