package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// Parse decodes, defaults and validates every document of one YAML stream.
// name is the file name used in problems. On any problem it returns the
// documents decoded so far and Problems.
func Parse(data []byte, name string) ([]*Policy, error) {
	if len(data) > MaxPolicyBytes {
		return nil, Problems{{File: name, Pos: Pos{1, 1}, Message: tooLarge(int64(len(data)))}}
	}
	docs, problems := documents(bytes.NewReader(data), name)
	var out []*Policy
	for i, root := range docs {
		// About one recorded field per 16 bytes: sized up front, the map
		// of positions is not rehashed as it grows (a third of the time
		// of 10,000 targets).
		d := &decoder{file: name, pos: make(map[string]Pos, len(data)/16/len(docs))}
		p := &Policy{File: name, Document: i}
		d.decode(root, reflect.ValueOf(p).Elem(), "")
		p.pos = d.pos
		problems = append(problems, d.problems...)
		// Validate even a document with decoding problems, so one run
		// reports everything, but drop what a decoding problem explains
		// (a field with the wrong type also reads as "required").
		for _, vp := range p.validate() {
			if !explained(vp, d.problems) {
				problems = append(problems, vp)
			}
		}
		out = append(out, p)
	}
	if len(docs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: name, Pos: Pos{1, 1}, Message: "no policy document in file"})
	}
	if len(problems) > 0 {
		problems.sort()
		return out, problems
	}
	return out, nil
}

func explained(vp Problem, decoding Problems) bool {
	for _, dp := range decoding {
		if dp.Field == "" || vp.Field == dp.Field || strings.HasPrefix(vp.Field, dp.Field+".") || strings.HasPrefix(vp.Field, dp.Field+"[") {
			return true
		}
	}
	return false
}

// LoadFile reads and parses one policy file.
func LoadFile(path string) ([]*Policy, error) {
	data, err := readPolicyFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// readPolicyFile reads one policy file, its size bounded before it is
// read (a file that grows meanwhile is cut at the bound and refused).
func readPolicyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	if len(data) > MaxPolicyBytes {
		return nil, Problems{{File: path, Pos: Pos{1, 1}, Message: tooLarge(-1)}}
	}
	return data, nil
}

func tooLarge(n int64) string {
	if n < 0 {
		return fmt.Sprintf("file larger than %d MiB: split the policy into several files", MaxPolicyBytes>>20)
	}
	return fmt.Sprintf("file of %.1f MiB, larger than %d MiB: split the policy into several files", float64(n)/(1<<20), MaxPolicyBytes>>20)
}

// Files expands paths: a directory stands for its *.yaml and *.yml files
// (not recursive), in name order.
func Files(paths ...string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("policy path: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("policy directory: %w", err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
				names = append(names, filepath.Join(p, n))
			}
		}
		sort.Strings(names)
		files = append(files, names...)
	}
	return files, nil
}

// Load reads files and directories of policies. Policy names must be unique
// across everything loaded. Problems from every file are returned together
// (as Problems); other errors (unreadable files) come first as they are.
func Load(paths ...string) ([]*Policy, error) {
	files, err := Files(paths...)
	if err != nil {
		return nil, err
	}
	var all []*Policy
	var problems Problems
	for _, f := range files {
		ps, err := LoadFile(f)
		var pr Problems
		switch {
		case err == nil:
		case asProblems(err, &pr):
			problems = append(problems, pr...)
		default:
			return nil, err
		}
		all = append(all, ps...)
	}
	problems = append(problems, crossCheck(all)...)
	if len(problems) > 0 {
		return all, problems
	}
	return all, nil
}

func asProblems(err error, out *Problems) bool {
	p, ok := err.(Problems)
	if ok {
		*out = p
	}
	return ok
}

// crossCheck checks what holds across every policy loaded together: the
// total number of targets, and unique policy names.
func crossCheck(all []*Policy) Problems {
	var problems Problems
	targets := 0
	for _, p := range all {
		if targets += len(p.Spec.Targets); targets > MaxTargets {
			problems = append(problems, Problem{File: p.File, Pos: p.PosOf("spec.targets"), Field: "spec.targets",
				Message: fmt.Sprintf("more than %d targets across the policies loaded: the scale of one process (shard the policies across deployments)", MaxTargets)})
			break
		}
	}
	seen := map[string]*Policy{}
	for _, p := range all {
		if p.Metadata.Name == "" {
			continue
		}
		key := p.Metadata.Namespace + "/" + p.Metadata.Name
		if prev, dup := seen[key]; dup {
			problems = append(problems, Problem{File: p.File, Pos: p.PosOf("metadata.name"), Field: "metadata.name",
				Message: fmt.Sprintf("policy %q already defined in %s:%d", p.Metadata.Name, prev.File, prev.PosOf("metadata.name").Line)})
		}
		seen[key] = p
	}
	return problems
}
