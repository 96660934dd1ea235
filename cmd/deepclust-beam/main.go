package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	// beamx registers every runner (prism, direct, dataflow, flink,
	// spark, universal) and the local and gcs file systems.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/deepclust/deepclust/model"
)

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

const usage = `deepclust-beam runs deepclust on Apache Beam: Prism locally, Dataflow, Flink or Spark.

Commands:
  predict    assign a Parquet lake with a saved model (one part per row group)
  kmeans     k-means on a Parquet lake (features, or a model's embeddings): k-means++
             on a sample, then Lloyd or mini-batch steps as Beam combines
  gmm        a Gaussian mixture fitted by EM on a Parquet lake (features, or a model's
             embeddings): each iteration's statistics are one Beam combine
  train      train a config's first stage by model averaging (each worker trains on
             its share of the row groups, weights averaged by rows --rounds times
             per epoch), the rest on the driver; writes a model deepclust predict loads
  version    print the version

Every command takes --runner prism|direct|dataflow|flink|spark (default prism) and
that runner's own flags (--endpoint, --project, --region, --staging_location,
--environment_type, --environment_config, ...). Run 'deepclust-beam COMMAND --help'.
`

func main() {
	// Beam starts workers of a distributed runner as this binary with
	// --worker and its own flags, no command: beam.Init runs the worker
	// harness then and does not return.
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "-") && os.Args[1] != "-h" && os.Args[1] != "--help" {
		flag.Parse()
		beam.Init()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deepclust-beam: "+oneLine(err.Error()))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// version is the deepclust version this binary is built from.
func version() string { return model.Version }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// run runs one command. The command's flags are its own; every other flag
// goes to flag.CommandLine, which holds Beam's (--runner and each runner's
// options). Beam's worker harness registers --id there, which predict
// also takes: the command's flags win.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, err := fmt.Fprint(stderr, usage)
		if err == nil {
			err = fmt.Errorf("%w: no command", errUsage)
		}
		return err
	}
	fs := flag.NewFlagSet("deepclust-beam "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&verbose, "verbose", false, "show Beam's and the runner's log (the job's progress, and the full report of a failed bundle)")
	switch args[0] {
	case "predict":
		opt := predictFlags(fs)
		if done, err := parse(fs, args[1:]); done || err != nil {
			return err
		}
		opt.Runner = *runners.Runner
		return Predict(ctx, *opt, stdout)
	case "kmeans":
		opt := kmeansFlags(fs)
		if done, err := parse(fs, args[1:]); done || err != nil {
			return err
		}
		opt.Runner = *runners.Runner
		return KMeans(ctx, *opt, stdout)
	case "gmm":
		opt := gmmFlags(fs)
		if done, err := parse(fs, args[1:]); done || err != nil {
			return err
		}
		opt.Runner = *runners.Runner
		return GMM(ctx, *opt, stdout)
	case "train":
		opt := trainFlags(fs)
		if done, err := parse(fs, args[1:]); done || err != nil {
			return err
		}
		opt.Runner = *runners.Runner
		return Train(ctx, *opt, stdout, stderr)
	case "version", "--version":
		_, err := fmt.Fprintln(stdout, "deepclust-beam", version())
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	return fmt.Errorf("%w: unknown command %q (try deepclust-beam help)", errUsage, args[0])
}

// parse parses the command's flags into fs and the others into Beam's
// flag.CommandLine, then starts Beam. done reports --help.
func parse(fs *flag.FlagSet, args []string) (done bool, err error) {
	mine, beams, err := splitArgs(fs, flag.CommandLine, args)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := fs.Parse(mine); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%w: %s takes no arguments, got %q", errUsage, fs.Name(), fs.Args())
	}
	// flag.CommandLine itself parses Beam's flags: Beam exports the flags
	// set there to the workers as pipeline options.
	flag.CommandLine.Init(os.Args[0], flag.ContinueOnError)
	flag.CommandLine.SetOutput(io.Discard)
	if err := flag.CommandLine.Parse(beams); err != nil {
		return false, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	beam.Init()
	quietLogs()
	return false, nil
}

// splitArgs sends each flag (with its value) to the flag set that defines
// it: ours first, then Beam's; a flag neither defines goes to Beam's,
// which reports it.
func splitArgs(ours, beams *flag.FlagSet, args []string) (mine, theirs []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			mine = append(mine, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := ours.Lookup(name)
		dst := &mine
		if f == nil && name != "help" && name != "h" {
			f = beams.Lookup(name)
			dst = &theirs
		}
		*dst = append(*dst, a)
		if hasValue || f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			return nil, nil, fmt.Errorf("flag needs an argument: %s", a)
		}
		i++
		*dst = append(*dst, args[i])
	}
	return mine, theirs, nil
}

// verbose keeps Beam's log.
var verbose bool

// quietLogs silences Beam's and Prism's log (which reports every job
// step, and a failed bundle with its whole plan) unless --verbose: a
// failure is reported as one line by jobError.
func quietLogs() {
	if !verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// commaFlag is a comma-separated list flag.
type commaFlag []string

func (l *commaFlag) String() string { return strings.Join(*l, ",") }

func (l *commaFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// predictFlags registers the flags of deepclust predict that apply here.
func predictFlags(fs *flag.FlagSet) *PredictOptions {
	opt := &PredictOptions{}
	fs.StringVar(&opt.ModelDir, "model", "", "model directory written by deepclust run (its model/ folder, or the run's --out)")
	fs.StringVar(&opt.Data, "data", "", "Parquet file or directory of Parquet files (Hive partitions too)")
	fs.StringVar(&opt.Format, "format", "", "data format: parquet (default: the model's data.format, auto)")
	fs.StringVar(&opt.Out, "out", "", "output directory: metrics.json and assignments/part-NNNNNN.parquet, committed when the job succeeds")
	fs.StringVar(&opt.Isolation, "isolation", "", "run every plugin 'process' or 'inprocess'")
	fs.Var((*listFlag)(&opt.IDs), "id", "input column copied to the output unchanged, e.g. a key or a partition column (repeatable)")
	fs.Var((*commaFlag)(&opt.Features), "features", "feature columns, comma-separated (default: the model's data.features)")
	fs.StringVar(&opt.Label, "label", "", "label column for scores (default: the model's data.label)")
	fs.Func("output-format", "parquet (the only format of parts)", func(v string) error {
		if v != "parquet" {
			return fmt.Errorf("deepclust-beam writes Parquet parts, not %q", v)
		}
		return nil
	})
	fs.IntVar(&opt.RowGroupRows, "row-group-size", 0, "rows per Parquet row group (default 131072)")
	fs.StringVar(&opt.Compression, "compression", "", "zstd (default), snappy or none")
	fs.IntVar(&opt.BatchRows, "batch-rows", 0, "rows read and assigned at once (default 65536)")
	fs.StringVar(&opt.Nulls, "nulls", "", "null or NaN feature values: error (default), drop the row, or zero")
	fs.BoolVar(&opt.Distance, "distance", false, "add each row's distance to its cluster's centroid")
	fs.BoolVar(&opt.Soft, "soft", false, "add each row's soft assignments (clusterers that give them, e.g. dec)")
	fs.Bool("no-report", true, "accepted for deepclust predict's flags: streamed input gets no report.html")
	return opt
}

// tagOpen and tagClose mark the message of a DoFn's error, so that the
// driver can find it in the runner's failure report (which wraps it in
// stack traces and bundle details) and print it as one line.
const (
	tagOpen  = "{{deepclust-beam: "
	tagClose = " :deepclust-beam}}"
)

// taggedf is a DoFn's error, on one line, marked for jobError.
func taggedf(format string, args ...any) error {
	return errors.New(tagOpen + oneLine(fmt.Sprintf(format, args...)) + tagClose)
}

// build constructs a pipeline, turning the panics with which Beam reports
// a construction error into an error.
func build(construct func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the Beam pipeline: %v", r)
		}
	}()
	construct()
	return nil
}

// runPipeline runs p on the named runner and turns a failed job's report
// into the one-line error of the DoFn that failed it.
func runPipeline(ctx context.Context, runner string, p *beam.Pipeline) error {
	if runner == "" {
		runner = "prism"
	}
	if _, err := beam.Run(ctx, runner, p); err != nil {
		return jobError(err)
	}
	return nil
}

// jobError extracts a tagged DoFn error from a runner's error, or keeps
// the first line of the runner's own.
func jobError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, tagOpen); i >= 0 {
		rest := msg[i+len(tagOpen):]
		if j := strings.Index(rest, tagClose); j >= 0 {
			return errors.New(rest[:j])
		}
	}
	first, _, _ := strings.Cut(msg, "\n")
	return fmt.Errorf("beam job failed: %s", first)
}
