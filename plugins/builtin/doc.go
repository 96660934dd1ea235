// Package builtin registers deepclust's built-in plugins into a registry.
// It is the one place that lists them; tests that want only some plugins
// build their own plugins.Registry instead.
package builtin
