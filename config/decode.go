package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Pos is a position in a policy file, 1-based.
type Pos struct {
	Line, Col int
}

// Problem is one thing wrong with a policy file, at a position and a field.
type Problem struct {
	File string
	Pos  Pos
	// Field is the dotted path of the field, such as spec.targets[0].hpa.maxReplicas.
	Field   string
	Message string
}

// String formats the problem the way `prescale validate` prints it:
// FILE:LINE:COL: field.path: message.
// The field and the message are printed on that one line whatever they hold:
// a key or a value quoted from the policy may contain line breaks, and those
// are escaped (\n) so that one problem is always one line.
func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Col, oneLine(p.Message))
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Pos.Line, p.Pos.Col, oneLine(p.Field), oneLine(p.Message))
}

// oneLine escapes the control characters of s other than tab, and the
// Unicode line and paragraph separators, the way Go quotes them (\n, \r,
// \x00, \u2028), leaving everything else as it is.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, breaksLine) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if breaksLine(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// breaksLine reports whether r could end or disturb a line of a terminal or
// a log: a control character other than tab, or U+2028/U+2029.
func breaksLine(r rune) bool {
	return (unicode.IsControl(r) && r != '\t') || r == '\u2028' || r == '\u2029'
}

// Problems is every problem found in one or more files, in file order. It is
// the error returned by the loaders.
type Problems []Problem

// Error joins the first ShownProblems problems one per line, and counts
// the rest.
func (ps Problems) Error() string { return joinProblems(ps, ShownProblems) }

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
}

// nodeDecoder is implemented by scalar types with their own syntax
// (durations, quantities), so their errors carry the node's position.
type nodeDecoder interface {
	decodeNode(n *yaml.Node) error
}

// decoder turns yaml.Node trees into the schema's structs strictly: unknown
// fields, wrong types and duplicate keys are problems, and the position of
// every field is recorded for the validator.
type decoder struct {
	file     string
	pos      map[string]Pos
	problems Problems
	// active holds the aliased nodes being decoded, to reject an anchor
	// that contains itself; budget bounds alias expansion (billion laughs).
	active map[*yaml.Node]bool
	budget int
}

// maxDecodedNodes bounds the nodes one document may expand to through
// aliases; real policies have a few hundred.
// Ten thousand targets of every signal and limit are about 600,000.
const maxDecodedNodes = 1_000_000

func (d *decoder) addf(n *yaml.Node, field, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Pos: Pos{n.Line, n.Column}, Field: field, Message: fmt.Sprintf(format, args...)})
}

var nodeDecoderType = reflect.TypeFor[nodeDecoder]()

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return "a string"
	}
	return "an unsupported YAML node"
}

// decode fills v (addressable) from n, recording problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.budget++
	if d.budget > maxDecodedNodes {
		if d.budget == maxDecodedNodes+1 {
			d.addf(n, path, "document too large (more than %d nodes after alias expansion)", maxDecodedNodes)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil || d.active[target] {
			d.addf(n, path, "alias %q refers to a node that contains it", n.Value)
			return
		}
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[target] = true
		defer delete(d.active, target)
		n = target
	}
	if path != "" {
		d.pos[path] = Pos{n.Line, n.Column}
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		if n.Kind != yaml.ScalarNode {
			d.addf(n, path, "want a scalar, got %s", kindName(n))
			return
		}
		if err := v.Addr().Interface().(nodeDecoder).decodeNode(n); err != nil {
			d.addf(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.addf(n, path, "want a list, got %s", kindName(n))
			return
		}
		if len(n.Content) > MaxListItems {
			d.addf(n, path, "%d items, at most %d", len(n.Content), MaxListItems)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.addf(n, path, "want a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if !d.checkKey(k, seen, path) {
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, path+"."+k.Value)
			m.SetMapIndex(reflect.ValueOf(k.Value), e)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
			d.addf(n, path, "want a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.addf(n, path, "want true or false, got %s", kindName(n))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.addf(n, path, "want an integer, got %s", kindName(n))
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			d.addf(n, path, "want an integer: %v", err)
			return
		}
		if i > maxInt || i < -maxInt {
			d.addf(n, path, "integer %s out of range (at most %d in absolute value)", n.Value, maxInt)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.addf(n, path, "want a number, got %s", kindName(n))
			return
		}
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.addf(n, path, "want a finite number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		panic(fmt.Sprintf("config: unsupported field type %s at %s", v.Type(), path))
	}
}

// checkKey reports whether k is a usable, first-seen mapping key.
func (d *decoder) checkKey(k *yaml.Node, seen map[string]*yaml.Node, path string) bool {
	if k.Kind != yaml.ScalarNode {
		d.addf(k, path, "mapping keys must be strings, got %s", kindName(k))
		return false
	}
	if prev, dup := seen[k.Value]; dup {
		d.addf(k, join(path, k.Value), "duplicate key (first at line %d)", prev.Line)
		return false
	}
	seen[k.Value] = k
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, path, "want a mapping, got %s", kindName(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, seen, path) {
			continue
		}
		fi, ok := fields[k.Value]
		if !ok {
			d.addf(k, join(path, k.Value), "unknown field%s", suggest(k.Value, names))
			continue
		}
		d.decode(val, v.Field(fi), join(path, k.Value))
	}
}

// suggest names the closest known field when a key is probably misspelt.
func suggest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if dd := editDistance(strings.ToLower(key), strings.ToLower(n)); dd < bestD {
			best, bestD = n, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// documents splits a YAML stream into its documents' root nodes. A syntax
// error ends the stream and is reported at its line.
func documents(r io.Reader, file string) ([]*yaml.Node, Problems) {
	dec := yaml.NewDecoder(r)
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			p := Problem{File: file, Pos: Pos{1, 1}, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				p.Pos.Line, _ = strconv.Atoi(m[1])
				p.Message = m[2]
			}
			return docs, Problems{p}
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			docs = append(docs, doc.Content[0])
		}
	}
}
