package agent

import "syscall"

// Magic numbers of statfs(2)'s f_type.
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

func onMemoryFS(dir string) (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false, err
	}
	t := uint32(st.Type)
	return t == tmpfsMagic || t == ramfsMagic, nil
}
