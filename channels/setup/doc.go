// Package setup builds the configured channels from channels.Config: it
// reads secrets from the environment variables the configuration names,
// loads templates and keys, and constructs the adapters. cmd/tact and the
// server call Build once at start-up.
package setup
