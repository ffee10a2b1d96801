package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/storage"
)

// Revoke revokes the token with that ID and all its descendants, children
// first. It finds tokens that are expired or used up too (they still hold
// state to clean up). A batch token cannot be revoked (ErrBatchToken); it
// dies with its parent or at its expiry.
func (s *Store) Revoke(ctx context.Context, id string) error {
	if strings.HasPrefix(id, BatchPrefix) {
		return ErrBatchToken
	}
	if id == "" {
		return ErrNotFound
	}
	k := s.key(id)
	if _, err := s.entry(ctx, k); err != nil {
		return err
	}
	return s.revokeTree(ctx, k)
}

// RevokeAccessor revokes the token with that accessor and its descendants.
func (s *Store) RevokeAccessor(ctx context.Context, accessor string) error {
	k, err := s.keyByAccessor(ctx, accessor)
	if err != nil {
		return err
	}
	if _, err := s.entry(ctx, k); err != nil {
		return err
	}
	return s.revokeTree(ctx, k)
}

// errHasChildren: a token about to be deleted turned out to have children
// (created by another store over the same storage); the walk goes on.
var errHasChildren = errors.New("token has children")

// markRevoking marks the token under k as being revoked: once it returns,
// every creation under k has either committed, and its child shows in the
// tree index, or will fail. Each mark is undone by one unmarkRevoking.
func (s *Store) markRevoking(k key) {
	defer s.locks.lock(k)()
	s.rmu.Lock()
	if s.revoking == nil {
		s.revoking = make(map[key]int)
	}
	s.revoking[k]++
	s.rmu.Unlock()
}

func (s *Store) unmarkRevoking(k key) {
	s.rmu.Lock()
	if s.revoking[k]--; s.revoking[k] <= 0 {
		delete(s.revoking, k)
	}
	s.rmu.Unlock()
}

// isRevoking reports whether a revocation is walking the token under k.
func (s *Store) isRevoking(k key) bool {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	return s.revoking[k] > 0
}

// revokeTree revokes the token under root and its descendants, depth
// first so that every token is revoked after its children. Each token is
// marked before its children are listed, so the walk is not chased by
// creations under it; revocations of other tokens run concurrently.
func (s *Store) revokeTree(ctx context.Context, root key) error {
	s.markRevoking(root)
	stack := []key{root}
	seen := map[key]bool{root: true}
	defer func() {
		for k := range seen {
			s.unmarkRevoking(k)
		}
	}()
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		names, err := s.store.List(ctx, parentPrefix+k.String()+"/")
		if err != nil {
			return fmt.Errorf("list children: %w", err)
		}
		pushed := false
		for _, name := range names {
			ck, ok := parseKey(name)
			if !ok || seen[ck] {
				// A malformed or cyclic index entry, or one a concurrent
				// revocation left behind: drop it so that the walk ends.
				if err := s.store.Delete(ctx, parentPrefix+k.String()+"/"+name); err != nil {
					return fmt.Errorf("delete child index: %w", err)
				}
				continue
			}
			s.markRevoking(ck)
			seen[ck] = true
			stack = append(stack, ck)
			pushed = true
		}
		if pushed {
			continue
		}
		if err := s.revokeOne(ctx, k); errors.Is(err, errHasChildren) {
			continue
		} else if err != nil {
			return err
		}
		stack = stack[:len(stack)-1]
	}
	return nil
}

// revokeOne revokes a token without children: OnRevoke, then its entry and
// index entries go in one transaction, which fails with errHasChildren if
// the token has children after all.
func (s *Store) revokeOne(ctx context.Context, k key) error {
	defer s.locks.lock(k)()
	e, err := s.entry(ctx, k)
	if errors.Is(err, ErrNotFound) {
		e = nil // only stale index entries are left to clean up
	} else if err != nil {
		return err
	}
	if e != nil && s.opts.OnRevoke != nil {
		c := e.clone()
		if err := s.opts.OnRevoke(ctx, c); err != nil {
			return fmt.Errorf("revoke token state: %w", err)
		}
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		children, err := tx.List(ctx, parentPrefix+k.String()+"/")
		if err != nil {
			return err
		}
		if len(children) > 0 {
			return errHasChildren
		}
		if e != nil {
			if e.Parent != "" {
				if err := tx.Delete(ctx, parentPrefix+e.Parent+"/"+k.String()); err != nil {
					return err
				}
			}
			if e.Accessor != "" {
				if err := tx.Delete(ctx, accessorPrefix+s.key(e.Accessor).String()); err != nil {
					return err
				}
			}
			if err := deleteExpiry(ctx, tx, e, k); err != nil {
				return err
			}
			if err := deletePath(ctx, tx, e, k); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, idPrefix+k.String())
	})
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	s.dropCache(k)
	return nil
}

// revokeOrphan revokes the token under k alone; its children become
// orphans.
func (s *Store) revokeOrphan(ctx context.Context, k key) error {
	s.markRevoking(k)
	defer s.unmarkRevoking(k)
	for {
		names, err := s.store.List(ctx, parentPrefix+k.String()+"/")
		if err != nil {
			return fmt.Errorf("list children: %w", err)
		}
		for _, name := range names {
			ck, ok := parseKey(name)
			if ok {
				if err := s.orphan(ctx, ck); err != nil {
					return err
				}
			}
			if err := s.store.Delete(ctx, parentPrefix+k.String()+"/"+name); err != nil {
				return fmt.Errorf("delete child index: %w", err)
			}
		}
		if err := s.revokeOne(ctx, k); !errors.Is(err, errHasChildren) {
			return err
		}
	}
}

// orphan clears the parent of the token under k.
func (s *Store) orphan(ctx context.Context, k key) error {
	defer s.locks.lock(k)()
	return s.orphanLocked(ctx, k)
}

// orphanLocked is orphan for a caller holding the lock of k.
func (s *Store) orphanLocked(ctx context.Context, k key) error {
	e, err := s.entry(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n := e.clone()
	n.Parent, n.Orphan = "", true
	return s.write(ctx, k, e, n)
}

// accessors lists the accessors of all tokens.
func (s *Store) accessors(ctx context.Context) ([]string, error) {
	names, err := s.store.List(ctx, accessorPrefix)
	if err != nil {
		return nil, fmt.Errorf("list accessors: %w", err)
	}
	out := make([]string, 0, len(names))
	for _, name := range names {
		se, err := s.store.Get(ctx, accessorPrefix+name)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read accessor index: %w", err)
		}
		var ae accessorEntry
		if err := json.Unmarshal(se.Value, &ae); err != nil {
			return nil, fmt.Errorf("decode accessor index: %w", err)
		}
		out = append(out, ae.Accessor)
	}
	return out, nil
}

// tidy removes index entries that point at tokens that no longer exist:
// accessors of missing tokens and children of missing parents (children
// whose parent is gone become orphans). Each entry is checked and removed
// under its token's lock, so that a token created meanwhile keeps its
// index entries.
func (s *Store) tidy(ctx context.Context) error {
	names, err := s.store.List(ctx, accessorPrefix)
	if err != nil {
		return fmt.Errorf("list accessors: %w", err)
	}
	for _, name := range names {
		if err := s.tidyAccessor(ctx, name); err != nil {
			return err
		}
	}
	parents, err := s.store.List(ctx, parentPrefix)
	if err != nil {
		return fmt.Errorf("list parents: %w", err)
	}
	for _, p := range parents {
		pk, ok := parseKey(strings.TrimSuffix(p, "/"))
		parentGone := !ok
		if ok {
			_, err := s.entry(ctx, pk)
			parentGone = errors.Is(err, ErrNotFound)
		}
		children, err := s.store.List(ctx, parentPrefix+p)
		if err != nil {
			return fmt.Errorf("list children: %w", err)
		}
		for _, c := range children {
			if err := s.tidyChild(ctx, p, c, parentGone); err != nil {
				return err
			}
		}
	}
	return nil
}

// tidyAccessor removes the accessor index entry name if its token is gone.
func (s *Store) tidyAccessor(ctx context.Context, name string) error {
	se, err := s.store.Get(ctx, accessorPrefix+name)
	if err != nil {
		return nil
	}
	var ae accessorEntry
	if json.Unmarshal(se.Value, &ae) == nil {
		if k, ok := parseKey(ae.Token); ok {
			defer s.locks.lock(k)()
			if _, err := s.entry(ctx, k); !errors.Is(err, ErrNotFound) {
				return nil
			}
		}
	}
	if err := s.store.Delete(ctx, accessorPrefix+name); err != nil {
		return fmt.Errorf("delete accessor index: %w", err)
	}
	return nil
}

// tidyChild removes the tree index entry of child c under parent folder p
// if either token is gone, orphaning a child that is still there.
func (s *Store) tidyChild(ctx context.Context, p, c string, parentGone bool) error {
	ck, ok := parseKey(c)
	childGone := !ok
	if ok {
		defer s.locks.lock(ck)()
		_, err := s.entry(ctx, ck)
		childGone = errors.Is(err, ErrNotFound)
	}
	if !childGone && !parentGone {
		return nil
	}
	if !childGone {
		if err := s.orphanLocked(ctx, ck); err != nil {
			return err
		}
	}
	if err := s.store.Delete(ctx, parentPrefix+p+c); err != nil {
		return fmt.Errorf("delete child index: %w", err)
	}
	return nil
}

// RevokeByPathPrefix revokes every token created under a path prefix (for
// example "auth/userpass/" when that auth method is disabled), with their
// descendants. It walks the accessor index, so it costs one read per token.
func (s *Store) RevokeByPathPrefix(ctx context.Context, prefix string) error {
	names, err := s.store.List(ctx, accessorPrefix)
	if err != nil {
		return fmt.Errorf("list accessors: %w", err)
	}
	var victims []key
	for _, name := range names {
		se, err := s.store.Get(ctx, accessorPrefix+name)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read accessor index: %w", err)
		}
		var ae accessorEntry
		if err := json.Unmarshal(se.Value, &ae); err != nil {
			continue
		}
		k, ok := parseKey(ae.Token)
		if !ok {
			continue
		}
		e, err := s.entry(ctx, k)
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Path, prefix) {
			victims = append(victims, k)
		}
	}
	for _, k := range victims {
		if err := s.revokeTree(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}
