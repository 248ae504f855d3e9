package journeys

import (
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
)

// ParseCron parses a standard 5-field cron spec (descriptors like @daily and
// a CRON_TZ= or TZ= prefix allowed). It never panics: robfig/cron panics on
// some malformed specs, which come back as errors.
func ParseCron(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid cron spec %q: %v", spec, r)
		}
	}()
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("empty cron spec")
	}
	f := strings.Fields(spec)
	if strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=") {
		if len(f) == 1 {
			return nil, fmt.Errorf("invalid cron spec %q: time zone without a schedule", spec)
		}
	}
	sched, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron spec %q: %w", spec, err)
	}
	return sched, nil
}
