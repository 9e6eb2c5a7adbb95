package config

import (
	"context"
	"crypto/sha256"
	"fmt"
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
	// rejected is the digest of the last version rejected, and
	// rejectedErr its problems: an unchanged bad version is not parsed
	// again at every check.
	rejected    [32]byte
	rejectedErr error
}

// NewStore loads paths; the first load must succeed.
func NewStore(paths ...string) (*Store, error) {
	s := &Store{paths: paths}
	files, digest, err := s.read()
	if err != nil {
		return nil, err
	}
	ps, err := parseAll(files)
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
// Unchanged files are read and digested, not parsed again: neither the
// version in force nor the last version rejected.
func (s *Store) Reload() (changed bool, err error) {
	files, digest, err := s.read()
	if err != nil {
		return false, err
	}
	s.mu.RLock()
	same, rejected, rejectedErr := digest == s.digest, digest == s.rejected && s.rejectedErr != nil, s.rejectedErr
	s.mu.RUnlock()
	switch {
	case same:
		return false, nil
	case rejected:
		return false, rejectedErr
	}
	ps, err := parseAll(files)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.rejected, s.rejectedErr = digest, err
		return false, err
	}
	s.current, s.digest = ps, digest
	return true, nil
}

// policyFile is one file's name and content.
type policyFile struct {
	name string
	data []byte
}

// read reads every file and digests their names and contents.
func (s *Store) read() ([]policyFile, [32]byte, error) {
	names, err := Files(s.paths...)
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	files := make([]policyFile, 0, len(names))
	for _, f := range names {
		data, err := readPolicyFile(f)
		if err != nil {
			return nil, [32]byte{}, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
		files = append(files, policyFile{f, data})
	}
	var digest [32]byte
	copy(digest[:], h.Sum(nil))
	return files, digest, nil
}

// parseAll parses every file; the problems of all of them together.
func parseAll(files []policyFile) ([]*Policy, error) {
	var all []*Policy
	var problems Problems
	for _, f := range files {
		ps, err := Parse(f.data, f.name)
		if pr, ok := err.(Problems); ok {
			problems = append(problems, pr...)
		} else if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if problems := crossCheck(all); len(problems) > 0 {
		return nil, problems
	}
	return all, nil
}

// ReloadObserver is told the outcome of each judgement of a policy
// source ("file", "scalingpolicy"): a version accepted into force, a
// version rejected, and whether any version from the source is rejected
// now (its last good version staying in force). The metrics exporter
// implements it.
type ReloadObserver interface {
	PolicyAccepted(source string, at time.Time)
	PolicyRejected(source string)
	PolicyFailing(source string, failing bool)
}

// Watch reloads the store every interval until ctx ends, and calls report
// after each reload that changed something, failed with new problems, or
// found the files back to the version in force after a failure (changed
// false, err nil). report may log; a failed reload keeps the last good
// policies. It returns ctx's error.
func (s *Store) Watch(ctx context.Context, every time.Duration, report func(changed bool, err error)) error {
	if every <= 0 {
		// time.NewTicker panics on it (prescale run --reload 0 did).
		return fmt.Errorf("policy reload interval %v: must be positive", every)
	}
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
			if changed || msg != lastErr {
				report(changed, err)
			}
			lastErr = msg
		}
	}
}
