package depsholder

import (
	_ "github.com/apache/arrow/go/v15/arrow"
	_ "github.com/apache/arrow/go/v15/arrow/array"
	_ "github.com/apache/arrow/go/v15/arrow/ipc"
	_ "github.com/apache/arrow/go/v15/arrow/memory"
	_ "github.com/apache/arrow/go/v15/parquet"
	_ "github.com/apache/arrow/go/v15/parquet/compress"
	_ "github.com/apache/arrow/go/v15/parquet/file"
	_ "github.com/apache/arrow/go/v15/parquet/pqarrow"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/spf13/viper"
	_ "github.com/spf13/pflag"
	_ "golang.org/x/sys/cpu"
	_ "golang.org/x/term"
	_ "gonum.org/v1/gonum/mat"
	_ "gonum.org/v1/gonum/stat"
	_ "google.golang.org/grpc"
	_ "google.golang.org/protobuf/proto"
	_ "google.golang.org/protobuf/types/known/emptypb"
)
