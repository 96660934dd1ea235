// Package config loads a deepclust run configuration with spf13/viper.
//
// Values come, from lowest to highest precedence, from the built-in defaults,
// a YAML/TOML/JSON file, DEEPCLUST_* environment variables (a dotted key
// such as train.epochs is DEEPCLUST_TRAIN_EPOCHS; plugin fields such as
// encoder.config.lr are DEEPCLUST_ENCODER_CONFIG_LR) and command-line
// overrides. Every key is checked against a schema: the core keys below, and
// for each plugin the fields its Description declares. Unknown keys and values
// of the wrong type are errors that name the key.
package config
