package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/deepclust/deepclust/pipeline"
)

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(0, 0)
	return func() time.Time { t = t.Add(step); return t }
}

func TestLinesThrottleAndETA(t *testing.T) {
	var buf bytes.Buffer
	p := New("lines", &buf).(*display)
	p.now = fakeClock(4 * time.Second)
	p.Start("pretrain", 10)
	for i := 1; i <= 10; i++ {
		p.Step(i, 0.5)
	}
	p.Finish("pretrain: done")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// A line at most every 10 s of a 4 s-per-step clock, plus the last step and the summary.
	if len(lines) != 5 {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[0], "pretrain: 3/10 steps (30%), loss 0.5, elapsed 12s, ETA 28s") {
		t.Fatalf("first line %q", lines[0])
	}
	if !strings.HasPrefix(lines[4], "pretrain: done (") {
		t.Fatalf("summary %q", lines[4])
	}
}

func TestBarRedrawsInPlace(t *testing.T) {
	var buf bytes.Buffer
	p := New("bar", &buf)
	p.Start("train", 4)
	p.Step(4, 1)
	p.Note("epoch 1")
	p.Finish("train: done")
	if !strings.Contains(buf.String(), "\rtrain ") || !strings.Contains(buf.String(), "100.0%") || !strings.Contains(buf.String(), "\r\033[Ktrain: epoch 1\n") || strings.Count(buf.String(), "\n") != 2 {
		t.Fatalf("bar output %q", buf.String())
	}
}

func TestAutoIsLinesOffTerminalAndOffIsSilent(t *testing.T) {
	var buf bytes.Buffer
	if d, ok := New("auto", &buf).(*display); !ok || d.bar {
		t.Fatal("auto on a buffer must print lines")
	}
	if _, ok := New("off", &buf).(pipeline.NoProgress); !ok {
		t.Fatal("off must discard progress")
	}
}
