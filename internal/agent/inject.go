package agent

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/vault/api"
)

// Inject replaces every reference in text (a compose file, an .env file,
// any configuration) by its value. Each path is read once. Errors name the
// failing references and never a value.
func Inject(ctx context.Context, client *api.Client, text string) (string, error) {
	refs, err := FindRefs(text)
	if err != nil {
		return "", err
	}
	bs, err := NewResolver(client).Bind(ctx, refs)
	if err != nil {
		return "", err
	}
	w := NewWatcher(client, WatcherOptions{Retries: -1})
	if err := w.Fetch(ctx, Deps(bs)); err != nil {
		var errs []error
		for _, e := range unjoin(err) {
			var fe *FetchError
			if errors.As(e, &fe) {
				for _, b := range bs {
					if b.Dep == fe.Dep {
						errs = append(errs, &RefError{Ref: b.Ref, Err: fe.Err})
					}
				}
				continue
			}
			errs = append(errs, e)
		}
		return "", errors.Join(errs...)
	}
	byRef := make(map[Ref]Binding, len(bs))
	for _, b := range bs {
		byRef[b.Ref] = b
	}
	return ReplaceRefs(text, func(r Ref) (string, error) {
		b, ok := byRef[r]
		if !ok {
			return "", &RefError{Ref: r, Err: errors.New("not resolved")}
		}
		s, _ := w.Get(b.Dep)
		v, err := b.Value(s)
		if err != nil {
			return "", &RefError{Ref: r, Err: err}
		}
		return v, nil
	})
}

// WriteFileAtomic replaces path with data (a temporary file in the same
// directory, renamed over it), with mode set before any byte is written.
func WriteFileAtomic(path string, data []byte, mode uint32) error {
	return writeAtomic(path, data, fileMode(mode))
}

// ErrOnDisk is returned by CheckMemoryFS for a directory on a disk.
var ErrOnDisk = errors.New("not on a tmpfs or ramfs file system")

// CheckMemoryFS returns nil if dir is on a memory file system (tmpfs or
// ramfs), so that secrets written there never reach a disk.
func CheckMemoryFS(dir string) error {
	ok, err := onMemoryFS(dir)
	if err != nil {
		return fmt.Errorf("checking the file system of %s: %w", dir, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", dir, ErrOnDisk)
	}
	return nil
}

func fileMode(m uint32) os.FileMode { return os.FileMode(m) & os.ModePerm }
