package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"
)

// Store holds the policies loaded from a set of files and directories and
// reloads them on demand. A new version that does not validate is rejected
// with its problems and the last good version stays in force, so a typo in
// a policy never leaves the daemon without one. Safe for concurrent use.
type Store struct {
	paths []string

	mu      sync.RWMutex
	current []*Policy
	digest  [32]byte
}

// NewStore loads paths; the first load must succeed.
func NewStore(paths ...string) (*Store, error) {
	s := &Store{paths: paths}
	ps, digest, err := s.load()
	if err != nil {
		return nil, err
	}
	s.current, s.digest = ps, digest
	return s, nil
}

// Policies returns the policies in force.
func (s *Store) Policies() []*Policy {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current
}

// Reload re-reads the files. It reports changed when a new valid version
// replaced the old one. When the files changed but do not validate (or
// cannot be read), it returns the error and keeps the policies in force.
// Unchanged files are not re-parsed.
func (s *Store) Reload() (changed bool, err error) {
	ps, digest, err := s.load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if digest == s.digest {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.current, s.digest = ps, digest
	return true, nil
}

// load reads every file, digests their names and contents, and parses them.
// The digest is computed even when parsing fails, so that an unchanged bad
// version is reported once per change rather than re-parsed as new.
func (s *Store) load() ([]*Policy, [32]byte, error) {
	files, err := Files(s.paths...)
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	var all []*Policy
	var problems Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, [32]byte{}, fmt.Errorf("policy file: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
		ps, err := Parse(data, f)
		if pr, ok := err.(Problems); ok {
			problems = append(problems, pr...)
		}
		all = append(all, ps...)
	}
	var digest [32]byte
	copy(digest[:], h.Sum(nil))
	if len(problems) > 0 {
		return nil, digest, problems
	}
	return all, digest, nil
}

// Watch reloads the store every interval until ctx ends, and calls report
// after each reload that changed something or failed (report may log; a
// failed reload keeps the last good policies). It returns ctx's error.
func (s *Store) Watch(ctx context.Context, every time.Duration, report func(changed bool, err error)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			changed, err := s.Reload()
			// Report a failing version once, not at every tick.
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if changed || (err != nil && msg != lastErr) {
				report(changed, err)
			}
			lastErr = msg
		}
	}
}
