package engine

import "runtime/debug"

// releaseRows is the input size from which an import gives memory back:
// a smaller input leaves little garbage, and the HTTP paths import events
// a row at a time (delivery feedback), where a forced collection per call
// would cost far more than it returns.
const releaseRows = 100_000

// releaseGoMemory hands the Go heap's free pages back to the OS before the
// heaviest SQL of an import of rows rows (see releaseRows). Staging and
// resolution leave hundreds of MB of garbage at a million rows; Go returns
// such pages only gradually, so they stayed resident while DuckDB filled
// its own memory_limit and the two peaks added up (a 5.3M-entry consents
// file peaked at 2.1–2.3 GB RSS with the default 1 GB limit). It costs one
// collection.
func releaseGoMemory(rows int) {
	if releasesMemory(rows) {
		debug.FreeOSMemory()
	}
}

func releasesMemory(rows int) bool { return rows >= releaseRows }
