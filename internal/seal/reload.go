package seal

// Reload forgets the cached configuration and the shares submitted so far,
// so the next use reads the seal's state from storage again (after the
// storage was replaced by a restore).
func (s *Shamir) Reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = nil
	s.reset()
}
