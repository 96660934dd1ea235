// Package sdk is what a deepclust plugin author imports.
//
// It defines the float32 Tensor that every plugin call carries, the three plugin
// roles (Encoder, Clusterer and Loss) with the per-batch exchange of the training
// loop, the self-description a plugin gives of itself (name, kind, version and
// config fields), and Serve, the one call that serves a plugin over
// hashicorp/go-plugin's gRPC transport. Tensors cross the process boundary as
// Arrow IPC stream bytes of record batches.
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
