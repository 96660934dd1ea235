package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/deepclust/deepclust/pipeline"
)

// New returns the display that mode asks for: "bar", "lines", "off", or
// "auto" (a bar when w is a terminal, lines otherwise).
func New(mode string, w io.Writer) pipeline.Progress {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		return &display{w: w, bar: true, every: 200 * time.Millisecond, now: time.Now}
	case "lines":
		return &display{w: w, every: 10 * time.Second, now: time.Now}
	}
	return pipeline.NoProgress{}
}

// display implements both styles; bar redraws one line in place, lines
// prints a new line at most every interval.
type display struct {
	w     io.Writer
	bar   bool
	every time.Duration
	now   func() time.Time

	stage string
	total int
	start time.Time
	last  time.Time
}

func (d *display) Start(stage string, total int) {
	d.stage, d.total = stage, total
	d.start = d.now()
	d.last = d.start
}

func (d *display) Step(done int, loss float64) {
	now := d.now()
	if now.Sub(d.last) < d.every && done < d.total {
		return
	}
	d.last = now
	elapsed := now.Sub(d.start)
	eta := "?"
	if done > 0 {
		eta = (time.Duration(float64(elapsed) * float64(d.total-done) / float64(done))).Round(time.Second).String()
	}
	frac := float64(done) / float64(max(d.total, 1))
	if d.bar {
		const width = 30
		filled := int(frac * width)
		fmt.Fprintf(d.w, "\r%-12s [%s%s] %5.1f%% loss %.5g ETA %s   ", d.stage,
			strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*frac, loss, eta)
		return
	}
	fmt.Fprintf(d.w, "%s: %d/%d steps (%.0f%%), loss %.5g, elapsed %s, ETA %s\n", d.stage, done, d.total,
		100*frac, loss, elapsed.Round(time.Second), eta)
}

func (d *display) Note(msg string) {
	if d.bar {
		fmt.Fprint(d.w, "\r\033[K")
	}
	fmt.Fprintf(d.w, "%s: %s\n", d.stage, msg)
}

func (d *display) Finish(summary string) {
	if d.bar {
		fmt.Fprint(d.w, "\r\033[K")
	}
	fmt.Fprintf(d.w, "%s (%s)\n", summary, d.now().Sub(d.start).Round(100*time.Millisecond))
}
