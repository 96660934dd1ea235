// Package arrowsafe reads Arrow IPC without trusting it: Arrow's Go IPC
// reader decodes flatbuffers unchecked and allocates whatever lengths they
// declare, so a few corrupt bytes can end the process with a fatal
// out-of-memory.
//
//   - NewLimitedAllocator returns a memory.Allocator that refuses, by a
//     panic with an *AllocError that the caller recovers, to hold more
//     than a limit derived from the input's size (Limit).
//   - NewMessageReader returns an ipc.MessageReader that checks each
//     message before Arrow's reader sees it: its metadata and body lengths
//     against the bytes left, and its flatbuffer (every table, vtable,
//     vector and string of the parts Arrow reads within the buffer, and a
//     bounded number of them).
//   - VerifyFooter checks an IPC file's footer the same way.
//
// It is used by internal/tableio (files) and sdk/serve (the plugin wire
// format), and has no Parquet dependency.
package arrowsafe
