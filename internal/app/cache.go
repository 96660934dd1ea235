package app

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/deepclust/deepclust/model"
)

// ListCache prints the stage cache's entries in dir (the default cache
// directory when empty), the most recently used first, and their total
// size.
func ListCache(env Env, dir string) error {
	entries, err := model.ListCache(dir)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tSTAGE\tROWS\tSIZE\tLAST USED\tKEY")
	var total int64
	for _, e := range entries {
		total += e.Bytes
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%.12s\n", e.Kind, e.Stage, e.Rows, megabytes(e.Bytes), e.Used.Format(time.DateTime), e.Key)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%d entries, %s\n", len(entries), megabytes(total))
	return err
}

// PruneCache removes the stage cache's entries in dir unused for
// olderThan (all when all is set) and says what it freed.
func PruneCache(env Env, dir string, olderThan time.Duration, all bool) error {
	switch {
	case all && olderThan != 0:
		return fmt.Errorf("cache prune: give --older-than or --all, not both")
	case !all && olderThan <= 0:
		return fmt.Errorf("cache prune: give --older-than DURATION (e.g. 720h) or --all")
	}
	removed, err := model.PruneCache(dir, olderThan)
	var freed int64
	for _, e := range removed {
		freed += e.Bytes
	}
	fmt.Fprintf(env.Stdout, "removed %d entries, %s\n", len(removed), megabytes(freed))
	return err
}

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
