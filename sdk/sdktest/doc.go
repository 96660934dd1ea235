// Package sdktest is a conformance kit for deepclust plugins: a plugin
// author calls Encoder, Clusterer or Loss from an ordinary Go test.
//
// Each function runs its checks twice, as subtests: "direct" calls the
// plugin's methods, "protocol" serves fresh instances with sdk.RegisterServer
// on a real gRPC connection (go-plugin's test helper) and runs the same
// checks through the client adapters, so tensors cross as Arrow IPC bytes
// exactly as they do between processes.
//
// The Loss check compares the returned gradients with central finite
// differences,
//
//	∂L/∂v ≈ (L(v + h) − L(v − h)) / (2h),  h = 1e-2·max(1, |v|),
//
// on a few entries of z and x̂, and accepts |fd − g| ≤ 2e-2·max(|fd|, |g|) + 1e-3
// (float32 inputs limit the precision of the difference quotient).
package sdktest
