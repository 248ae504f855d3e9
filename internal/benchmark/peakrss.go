package benchmark

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// A bench process's peak memory is the VmHWM line of its /proc status: the
// most it held resident since it was exec'd. The rusage the parent gets
// when a child exits is no measure of the child: Go starts children with
// vfork, and Linux records the parent's peak as the child's at exec, so a
// child of a parent holding 500 MB reported 500 MB even for /bin/true.
// Each child therefore reads its own peak just before it exits, and the
// parent reads a server child's while it still runs.

// vmHWMMiB is the VmHWM of process pid ("self" for this one) in MiB; false
// where /proc does not have it (not Linux).
func vmHWMMiB(pid string) (float64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		kib, err := strconv.ParseFloat(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 64)
		if err != nil {
			return 0, false
		}
		return kib / 1024, true
	}
	return 0, false
}

// rusagePeakMiB is a finished process's ru_maxrss (KiB on Linux) in MiB:
// the fallback where /proc gives no VmHWM, with the caveat above.
func rusagePeakMiB(ps interface{ SysUsage() any }) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
