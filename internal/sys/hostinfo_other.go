//go:build !unix

package sys

// rootDisk is not implemented off Unix; sys/host-info lists no disks.
func rootDisk() map[string]any { return nil }
