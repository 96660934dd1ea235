// Package pluginpb holds the deepclust plugin protocol (plugin.proto) and the
// Go code protoc generates from it: the Encoder, Clusterer and Loss gRPC
// services and their messages. Tensors travel as Arrow IPC stream bytes; see
// plugin.proto for the layout and serve.EncodeTensor (package sdk/serve) for the Go encoder.
package pluginpb
