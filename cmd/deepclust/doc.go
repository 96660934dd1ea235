// Command deepclust clusters data with deep clustering pipelines.
//
// Usage:
//
//	deepclust run [--config FILE] [--data PATH] [--out DIR] [--seed N] [--set KEY=VALUE]... [--isolation process]
//	deepclust predict --model DIR --data PATH --out DIR
//	deepclust plugins list
//	deepclust plugins describe NAME [--kind KIND] [--path BINARY]
//	deepclust config defaults
//	deepclust config validate FILE
//	deepclust version
//
// With no arguments, run clusters the built-in MNIST test set (10,000
// images) with the default configuration and writes ./out. Errors are one
// line on stderr and a non-zero exit status.
package main
