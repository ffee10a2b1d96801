//go:build !linux

package agent

// onMemoryFS cannot tell outside Linux; it answers "no", so that writing
// needs -allow-disk.
func onMemoryFS(string) (bool, error) { return false, nil }
