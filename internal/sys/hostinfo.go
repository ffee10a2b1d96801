package sys

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// hostInfo answers sys/host-info (sudo): what Vault reports of the machine
// it runs on, in the same keys (host, memory, cpu, cpu_times, disk). Values
// the platform does not offer are left out rather than invented.
func (b *Backend) hostInfo(context.Context, *logical.Request) (*logical.Response, error) {
	host := map[string]any{"os": runtime.GOOS, "kernelArch": runtime.GOARCH}
	if name, err := os.Hostname(); err == nil {
		host["hostname"] = name
	}
	if v, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		host["kernelVersion"] = strings.TrimSpace(string(v))
	}
	if v, err := os.ReadFile("/proc/uptime"); err == nil {
		if f := strings.Fields(string(v)); len(f) > 0 {
			if up, err := strconv.ParseFloat(f[0], 64); err == nil {
				host["uptime"] = uint64(up)
				host["bootTime"] = uint64(time.Now().Unix()) - uint64(up)
			}
		}
	}
	cpus := make([]map[string]any, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = map[string]any{"cpu": i}
	}
	data := map[string]any{
		"collection_time": time.Now().UTC().Format(time.RFC3339Nano),
		"host":            host,
		"cpu":             cpus,
		"cpu_times":       []map[string]any{},
		"disk":            []map[string]any{},
		"memory":          meminfo(),
	}
	if d := rootDisk(); d != nil {
		data["disk"] = []map[string]any{d}
	}
	return &logical.Response{Data: data}, nil
}

// meminfo reads Linux's /proc/meminfo into Vault's memory keys (bytes).
func meminfo() map[string]any {
	out := map[string]any{}
	raw, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return out
	}
	kb := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			kb[name] = n * 1024
		}
	}
	total, avail := kb["MemTotal"], kb["MemAvailable"]
	out["total"], out["available"], out["free"] = total, avail, kb["MemFree"]
	if total >= avail {
		out["used"] = total - avail
		if total > 0 {
			out["usedPercent"] = float64(total-avail) / float64(total) * 100
		}
	}
	return out
}
