package engine

import "runtime/debug"

// releaseGoMemory hands the Go heap's free pages back to the OS before an
// import's heaviest SQL. Staging and resolution leave hundreds of MB of
// garbage at a million rows; Go returns such pages only gradually, so they
// stayed resident while DuckDB filled its own memory_limit and the two
// peaks added up (a 5.3M-entry consents file peaked at 2.1–2.3 GB RSS with
// the default 1 GB limit). It costs one collection per import.
func releaseGoMemory() { debug.FreeOSMemory() }
