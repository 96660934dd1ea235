package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/deepclust/deepclust/config"
	"github.com/deepclust/deepclust/internal/app"
)

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := context.Background(), func() {}
	// A plugin process ("plugin serve") keeps SIGTERM's default action,
	// which ends it at once; a command cancels its work on SIGINT and
	// SIGTERM and then ends its plugins.
	if len(os.Args) < 3 || os.Args[1] != "plugin" || os.Args[2] != "serve" {
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	}
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "deepclust: "+strings.Join(strings.Fields(err.Error()), " "))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = `deepclust clusters data by learning a neural feature map and clusters together.

Commands:
  run        train a pipeline and cluster the data (default: built-in MNIST-10k)
  predict    assign new data with a saved model
  report     write report.html of an existing run or prediction directory
  plugins    list or describe the available plugins
  plugin     check PATH | check --builtin NAME: run the conformance checks on a plugin
  config     defaults: print the default config; validate FILE [--plugins]: check a config file
             (executes no plugin unless --plugins)
  bench      measure kernel and training throughput
  cache      list: the stage cache's entries and sizes; prune --older-than DUR | --all: remove them
  version    print the version

Run 'deepclust COMMAND --help' for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"run"}
	}
	env := app.Env{Stdout: stdout, Stderr: stderr}
	switch args[0] {
	case "run":
		return cmdRun(ctx, env, args[1:])
	case "predict":
		return cmdPredict(ctx, env, args[1:])
	case "report":
		return cmdReport(ctx, env, args[1:])
	case "plugins":
		return cmdPlugins(ctx, env, args[1:])
	case "plugin":
		if len(args) > 1 && args[1] == "check" {
			return cmdPluginCheck(ctx, env, args[2:])
		}
		return cmdPluginServe(args[1:])
	case "config":
		return cmdConfig(ctx, env, args[1:])
	case "bench":
		return cmdBench(ctx, env, args[1:])
	case "cache":
		return cmdCache(env, args[1:])
	case "version", "--version":
		_, err := fmt.Fprintln(stdout, "deepclust", app.Version)
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	return fmt.Errorf("%w: unknown command %q (try deepclust help)", errUsage, args[0])
}

// cmdCache lists or prunes the stage cache.
func cmdCache(env app.Env, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "prune") {
		return fmt.Errorf("%w: cache takes list or prune", errUsage)
	}
	fs := flags("cache "+args[0], env.Stderr)
	dir := fs.String("dir", "", "cache directory (default: cache.dir as the environment sets it, DEEPCLUST_CACHE_DIR, else "+config.DefaultCacheDir()+")")
	var older time.Duration
	var all bool
	if args[0] == "prune" {
		fs.DurationVar(&older, "older-than", 0, "remove the entries neither written nor read for this long, e.g. 720h")
		fs.BoolVar(&all, "all", false, "remove every entry")
	}
	if err := parse(fs, args[1:]); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: cache %s takes no arguments, got %q", errUsage, args[0], fs.Args())
	}
	if *dir == "" {
		cfg, err := config.Load(config.Options{})
		if err != nil {
			return err
		}
		*dir = cfg.Cache.Dir
	}
	if args[0] == "list" {
		return app.ListCache(env, *dir)
	}
	return app.PruneCache(env, *dir, older, all)
}

// flags returns a flag set that reports errors instead of exiting.
func flags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, turning flag errors into usage errors and --help into
// a clean exit.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %s %v", errUsage, fs.Name(), err)
	}
	return nil
}

// errHelp is returned after --help printed the flags; it is not a failure.
var errHelp = errors.New("help shown")

func cmdRun(ctx context.Context, env app.Env, args []string) error {
	fs := flags("run", env.Stderr)
	var opt app.RunOptions
	fs.StringVar(&opt.ConfigFile, "config", "", "config file (YAML, TOML or JSON); see 'deepclust config defaults'")
	data := fs.String("data", "", "input data (overrides data.path): idx file or directory, .csv, .arrow, .parquet")
	out := fs.String("out", "", "output directory (overrides out)")
	seed := fs.String("seed", "", "random seed (overrides seed)")
	progress := fs.String("progress", "", "progress display: auto, bar, lines, off (overrides progress)")
	sets := fs.StringArray("set", nil, "override any config key, e.g. --set stages.0.train.pretrain_epochs=5, --set stages[1].losses[0].weight=2 (repeatable)")
	fs.BoolVar(&opt.NoCache, "no-cache", false, "train every stage: neither read nor write the stage cache")
	fs.StringVar(&opt.Isolation, "isolation", "", "run every plugin 'process' (out of process) or 'inprocess', overriding each section")
	fs.BoolVar(&opt.NoReport, "no-report", false, "do not write report.html")
	verboseFlag(fs, &env)
	fs.StringVar(&opt.Resume, "resume", "", "continue the killed run whose output directory this is, from its checkpoint OUT.checkpoint, with that run's config, seed and options")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q", errUsage, fs.Args())
	}
	if fs.Changed("resume") {
		if opt.Resume == "" {
			return fmt.Errorf("%w: --resume needs the killed run's output directory", errUsage)
		}
		for _, f := range []string{"config", "data", "out", "seed", "set"} {
			if fs.Changed(f) {
				return fmt.Errorf("%w: --resume continues the run with its own config: drop --%s", errUsage, f)
			}
		}
	}
	opt.Set = map[string]string{}
	for _, s := range *sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("%w: --set %q: want KEY=VALUE", errUsage, s)
		}
		opt.Set[k] = v
	}
	for key, val := range map[string]*string{"data.path": data, "out": out, "seed": seed, "progress": progress} {
		if fs.Changed(flagName(key)) {
			opt.Set[key] = *val
		}
	}
	_, err := app.Run(ctx, env, opt)
	return err
}

// verboseFlag adds --verbose, which sends the plugin host's log lines to
// stderr as they come instead of to the log file a plugin failure writes.
func verboseFlag(fs *pflag.FlagSet, env *app.Env) {
	fs.BoolVar(&env.Verbose, "verbose", false, "print the plugin host's log (go-plugin's lines, plugin processes' stderr) as it comes, instead of keeping it for the log file a plugin failure writes")
}

// flagName maps a config key set by a dedicated flag to that flag.
func flagName(key string) string {
	if key == "data.path" {
		return "data"
	}
	return key
}

func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func cmdPredict(ctx context.Context, env app.Env, args []string) error {
	fs := flags("predict", env.Stderr)
	opt := app.PredictOptions{Stdin: os.Stdin}
	fs.StringVar(&opt.ModelDir, "model", "", "model directory written by run (its model/ folder, or the run's --out)")
	fs.StringVar(&opt.Data, "data", "", "data to assign: a file, a directory of Parquet/Arrow files (Hive partitions too), or - for an Arrow IPC stream on stdin")
	fs.StringVar(&opt.Format, "format", "", "data format (default: the model's data.format)")
	fs.StringVar(&opt.Out, "out", "", "output directory, or - for an Arrow IPC stream on stdout (summary on stderr, no metrics.json)")
	fs.StringVar(&opt.Isolation, "isolation", "", "run every plugin 'process' or 'inprocess'")
	fs.StringArrayVar(&opt.IDs, "id", nil, "input column copied to the output unchanged, e.g. a key or a partition column (repeatable)")
	fs.StringSliceVar(&opt.Features, "features", nil, "feature columns, comma-separated (default: the model's data.features)")
	fs.StringVar(&opt.Label, "label", "", "label column for scores (default: the model's data.label)")
	fs.StringVar(&opt.OutputFormat, "output-format", "", "parquet or arrow (default parquet; arrow with --out -)")
	fs.IntVar(&opt.RowGroupRows, "row-group-size", 0, "rows per Parquet row group (default 131072)")
	fs.StringVar(&opt.Compression, "compression", "", "parquet: zstd (default), snappy or none; arrow: zstd, lz4 or none (default)")
	fs.IntVar(&opt.BatchRows, "batch-rows", 0, "rows read and assigned at once (default 65536)")
	fs.StringVar(&opt.Nulls, "nulls", "", "null or NaN feature values: error (default), drop the row, or zero")
	fs.BoolVar(&opt.Distance, "distance", false, "add each row's distance to its cluster's centroid")
	fs.BoolVar(&opt.Soft, "soft", false, "add each row's soft assignments (column soft; clusterers that give them, e.g. dec)")
	fs.BoolVar(&opt.NoReport, "no-report", false, "do not write report.html (written for idx and CSV input only)")
	verboseFlag(fs, &env)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if opt.ModelDir == "" || opt.Data == "" || opt.Out == "" {
		return fmt.Errorf("%w: predict needs --model, --data and --out", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: predict takes no arguments, got %q", errUsage, fs.Args())
	}
	return app.Predict(ctx, env, opt)
}

// cmdReport writes report.html of an existing output directory:
// deepclust report RUN_DIR [--data PATH] [--out FILE].
func cmdReport(ctx context.Context, env app.Env, args []string) error {
	fs := flags("report", env.Stderr)
	var opt app.ReportOptions
	fs.StringVar(&opt.Data, "data", "", "input the assignments' rows refer to, for images or the feature profile (default: the run's data.path)")
	fs.StringVar(&opt.Out, "out", "", "report file (default RUN_DIR/report.html)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: report RUN_DIR [--data PATH] [--out FILE]", errUsage)
	}
	opt.Dir = fs.Arg(0)
	return app.Report(ctx, env, opt)
}

func cmdPlugins(ctx context.Context, env app.Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: plugins list | plugins describe NAME", errUsage)
	}
	switch args[0] {
	case "list":
		return app.ListPlugins(env)
	case "describe":
		fs := flags("plugins describe", env.Stderr)
		kind := fs.String("kind", "", "plugin kind when a name is ambiguous: encoder, clusterer or loss")
		path := fs.String("path", "", "describe an external plugin binary instead of a built-in (it is executed)")
		verboseFlag(fs, &env)
		if err := parse(fs, args[1:]); err != nil {
			return helpOK(err)
		}
		if (fs.NArg() != 1) == (*path == "") {
			return fmt.Errorf("%w: plugins describe NAME, or plugins describe --path BINARY --kind KIND", errUsage)
		}
		return app.DescribePlugin(ctx, env, *kind, fs.Arg(0), *path)
	}
	return fmt.Errorf("%w: unknown plugins command %q", errUsage, args[0])
}

func cmdConfig(ctx context.Context, env app.Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: config defaults | config validate FILE [--plugins]", errUsage)
	}
	switch args[0] {
	case "defaults":
		return app.PrintDefaults(env)
	case "validate":
		fs := flags("config validate", env.Stderr)
		var opt app.ValidateOptions
		fs.BoolVar(&opt.Plugins, "plugins", false, "also start every plugin the config names, executing external binaries, to check their own config fields (by default no plugin is executed)")
		verboseFlag(fs, &env)
		if err := parse(fs, args[1:]); err != nil {
			return helpOK(err)
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: config validate FILE [--plugins]", errUsage)
		}
		opt.File = fs.Arg(0)
		return app.Validate(ctx, env, opt)
	}
	return fmt.Errorf("%w: unknown config command %q", errUsage, args[0])
}

// cmdPluginCheck runs the conformance checks: deepclust plugin check PATH
// [--kind K] or deepclust plugin check --builtin NAME|all.
func cmdPluginCheck(ctx context.Context, env app.Env, args []string) error {
	fs := flags("plugin check", env.Stderr)
	var opt app.CheckOptions
	fs.StringVar(&opt.Builtin, "builtin", "", "check a built-in plugin by name, or all of them ('all')")
	fs.StringVar(&opt.Kind, "kind", "", "plugin kind: encoder, clusterer or loss (default: found by asking the binary)")
	fs.StringVar(&opt.Isolation, "isolation", "", "built-ins: inprocess or process (default: both)")
	fs.DurationVar(&opt.Timeout, "timeout", 0, "per-call timeout (default 10m)")
	fs.StringArrayVar(&opt.Args, "arg", nil, "extra command-line argument for the binary (repeatable)")
	shape := fs.IntSlice("input-shape", nil, "shape of one sample x, e.g. 1,28,28 (encoders: default 6; losses: adds x and x̂)")
	fs.IntVar(&opt.Options.EmbeddingDim, "dim", 0, "width of z for clusterers and losses (default 4)")
	fs.IntVar(&opt.Options.Batch, "batch", 0, "rows per batch (default 8)")
	fs.IntVar(&opt.Options.Rows, "rows", 0, "rows a clusterer is fitted on (default 64)")
	fs.IntVar(&opt.Options.Clusters, "clusters", 0, "losses: add k centroids and soft assignments")
	fs.IntVar(&opt.Options.Pairs, "pairs", 0, "losses: make the batch this many neighbour pairs")
	fs.BoolVar(&opt.Options.NoParameters, "no-parameters", false, "encoders without trainable parameters: Backward need not change the output")
	fs.Uint64Var(&opt.Options.Seed, "seed", 1, "seed passed to the plugin")
	sets := fs.StringArray("set", nil, "plugin config field, KEY=VALUE (repeatable)")
	verboseFlag(fs, &env)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	switch {
	case fs.NArg() == 1 && opt.Builtin == "":
		opt.Path = fs.Arg(0)
	case fs.NArg() != 0 || opt.Builtin == "":
		return fmt.Errorf("%w: plugin check PATH [--kind KIND], or plugin check --builtin NAME|all", errUsage)
	}
	opt.Options.InputShape = *shape
	for _, s := range *sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("%w: --set %q: want KEY=VALUE", errUsage, s)
		}
		if opt.Options.Config == nil {
			opt.Options.Config = map[string]any{}
		}
		opt.Options.Config[k] = v
	}
	return app.CheckPlugin(ctx, env, opt)
}

// cmdPluginServe is the hidden command the host runs to serve a built-in
// plugin out of process: deepclust plugin serve KIND NAME.
func cmdPluginServe(args []string) error {
	if len(args) != 3 || args[0] != "serve" {
		return fmt.Errorf("%w: plugin serve KIND NAME", errUsage)
	}
	return app.ServeBuiltin(args[1], args[2])
}

func cmdBench(ctx context.Context, env app.Env, args []string) error {
	fs := flags("bench", env.Stderr)
	var opt app.BenchOptions
	fs.IntVar(&opt.Runs, "runs", 5, "repetitions per measurement; the median is reported")
	fs.BoolVar(&opt.JSON, "json", false, "print JSON (keys gemm_1024_gflops, ae_train_samples_per_s, cae_train_samples_per_s, kmeans_70k_seconds, ...)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	return app.Bench(ctx, env, opt)
}
