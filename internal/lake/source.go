package lake

import (
	"errors"
	"io"

	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/deepclust/deepclust/internal/tableio"
)

// openSource opens one input file, or stdin, through tableio: the one
// reader of Parquet and Arrow files, which dataset loads with too.
func openSource(p part, stdin io.Reader, mem memory.Allocator, batchRows int) (tableio.Source, error) {
	opt := tableio.Options{Allocator: mem, BatchRows: batchRows}
	if p.path == Stdin {
		if stdin == nil {
			return nil, errors.New("no standard input to read")
		}
		return tableio.OpenStream(io.NopCloser(stdin), opt)
	}
	return tableio.Open(p.path, p.format, opt)
}
