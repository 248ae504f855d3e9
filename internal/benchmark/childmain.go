package benchmark

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Task names.
const (
	taskToParquet     = "to-parquet"
	taskImportTact    = "import-tact"
	taskImportRef     = "import-reference"
	taskIngestPrepare = "ingest-prepare"
	taskIngestRef     = "ingest-reference-server"
	taskSendPrepare   = "send-prepare"
	taskSendTact      = "send-tact"
	taskSendRef       = "send-reference"
	taskSMTPTact      = "smtp-tact"
	taskSMTPRef       = "smtp-reference"
	taskSMTPAdapter   = "smtp-adapter"
	taskSegment       = "segment"
)

// Child runs the task described by spec (the value of EnvSpec) in this
// process and prints its result as JSON on stdout. `tact bench` calls it
// when it finds EnvSpec set: the process is a child of another bench.
func Child(ctx context.Context, spec string, stdout io.Writer) error {
	var t task
	if err := json.Unmarshal([]byte(spec), &t); err != nil {
		return fmt.Errorf("%s: %w", EnvSpec, err)
	}
	run, ok := childTasks()[t.Name]
	if !ok {
		return fmt.Errorf("%s: unknown task %q", EnvSpec, t.Name)
	}
	out, err := run(ctx, t)
	if err != nil {
		return err
	}
	if mib, ok := vmHWMMiB("self"); ok {
		out.PeakRSSMiB = mib
	}
	return json.NewEncoder(stdout).Encode(out)
}

func childTasks() map[string]func(context.Context, task) (childOutput, error) {
	return map[string]func(context.Context, task) (childOutput, error){
		taskToParquet:     toParquet,
		taskImportTact:    importTact,
		taskImportRef:     importReference,
		taskIngestPrepare: ingestPrepare,
		taskIngestRef:     ingestReferenceServer,
		taskSendPrepare:   sendPrepare,
		taskSendTact:      sendTact,
		taskSendRef:       sendReference,
		taskSMTPTact:      smtpTact,
		taskSMTPRef:       smtpReference,
		taskSMTPAdapter:   smtpAdapterAlone,
		taskSegment:       segmentChild,
	}
}

func single(s Side) childOutput { return childOutput{Sides: map[string]Side{sideResult: s}} }
