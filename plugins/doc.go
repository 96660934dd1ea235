// Package plugins is the host side of deepclust's plugins: a Registry of
// built-in plugin factories, the Spec a pipeline uses to ask for a plugin,
// and a Host that opens plugins either in-process or as child processes
// speaking the protocol of package sdk over hashicorp/go-plugin's gRPC
// transport.
//
// Every opened plugin, whatever its isolation, sits behind the same checking
// wrapper: a deadline on every call (Spec.Timeout), input and reply shape
// checks (z has one row per input and EmbeddingDim columns, gradients are
// shaped like what they differentiate, one label per row, finite values), and
// one-line errors that name the plugin:
//
//	encoder "mlp" (process): Forward: returned z with 255 rows for 256 inputs
//
// A plugin that crashes, hangs past its timeout, panics or replies with a
// malformed tensor is marked failed and its process is killed; later calls
// fail at once with the first error.
//
// A plugin process leads a process group of its own, which the host kills
// as a whole on a failure and on Close; on Linux it dies with the host
// (parent-death signal). It gets a minimal environment (BaseEnv, plus what
// Spec.Env names), its binary is never looked up on PATH, and go-plugin's
// and the plugin's log lines go to a log file named in the error of a
// failure unless the Host has a Logger.
package plugins
