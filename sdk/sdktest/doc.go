// Package sdktest is a conformance kit for deepclust plugins: a plugin
// author calls Encoder, Clusterer or Loss from an ordinary Go test.
//
// The checks are those of package sdk/conformance (which "deepclust plugin
// check" also runs against binaries in any language), one subtest per check.
// Each function runs them twice: "direct" calls the plugin's methods,
// "protocol" serves fresh instances with serve.RegisterServer
// on a real gRPC connection (go-plugin's test helper) and runs the same
// checks through the client adapters, so tensors cross as Arrow IPC bytes
// exactly as they do between processes.
//
// The Loss checks compare the returned ∂L/∂z, ∂L/∂x̂ and ∂L/∂μ, and the
// Clusterer checks the returned ∂L_c/∂z, with central finite differences,
//
//	∂L/∂v ≈ (L(v + h) − L(v − h)) / (2h),  h = 1e-2·max(1, |v|),
//
// on a few entries, and accept |fd − g| ≤ 2e-2·max(|fd|, |g|) + 1e-3
// (float32 inputs limit the precision of the difference quotient).
package sdktest
