//go:build unix

package sys

import "syscall"

// rootDisk describes the file system at "/" in Vault's disk keys (bytes).
func rootDisk() map[string]any {
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/", &fs); err != nil {
		return nil
	}
	bs := uint64(fs.Bsize)
	total, used := uint64(fs.Blocks)*bs, (uint64(fs.Blocks)-uint64(fs.Bfree))*bs
	d := map[string]any{"path": "/", "total": total, "free": uint64(fs.Bavail) * bs, "used": used}
	if total > 0 {
		d["usedPercent"] = float64(used) / float64(total) * 100
	}
	return d
}
