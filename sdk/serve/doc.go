// Package serve is the process side of the deepclust plugin protocol: it
// serves a plugin over hashicorp/go-plugin's gRPC transport (Encoder,
// Clusterer, Loss: one typed call a plugin's main makes), and gives the host
// the matching client (NewClient). Tensors cross the process boundary as
// Arrow IPC stream bytes of record batches (EncodeTensor, DecodeTensor).
//
// docs/protocol.md is the complete wire contract, for writing a plugin in a
// language other than Go. Unit tests of a plugin need only package sdk,
// which depends on nothing outside the standard library.
package serve
