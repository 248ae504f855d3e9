package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/tactcdp/tact/engine/logging"
)

// newLogger writes operational logs to w at the level named by TACT_LOG
// (debug, info, warn, error; default warn), through engine/logging, which
// redacts emails, phone numbers and trait values. Packages log counts, ids
// and kinds, never addresses or trait values.
func newLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	level := slog.LevelWarn
	switch strings.ToLower(getenv("TACT_LOG")) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "error":
		level = slog.LevelError
	}
	return logging.New(w, logging.Options{Level: level})
}
