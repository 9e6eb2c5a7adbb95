package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a length of time written as Go durations plus days and weeks:
// "90s", "5m", "1h30m", "7d", "-7d", "2w". A bare 0 is zero.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration with days where that reads better ("7d").
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// FormatDuration formats a duration the way policies write them: whole
// days as "7d", otherwise Go's form without zero units ("2h", "1h30m").
func FormatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d != 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// maxDuration bounds every duration of a policy (and keeps sums of a few
// of them far from overflowing).
const maxDuration = 10 * 366 * 24 * time.Hour

// ParseDuration parses the Duration syntax.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	var total time.Duration
	// Peel off a leading days or weeks component, then let Go parse the rest.
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if i := strings.Index(body, unit.suffix); i > 0 {
			n, err := strconv.Atoi(body[:i])
			if err != nil {
				return 0, fmt.Errorf("duration %q: want e.g. 90s, 5m, 1h30m, 7d", s)
			}
			if n > int(maxDuration/unit.d) {
				return 0, fmt.Errorf("duration %q: at most 10 years", s)
			}
			total += time.Duration(n) * unit.d
			body = body[i+1:]
		}
	}
	if body != "" {
		d, err := time.ParseDuration(body)
		if err != nil || strings.HasPrefix(body, "-") {
			return 0, fmt.Errorf("duration %q: want e.g. 90s, 5m, 1h30m, 7d", s)
		}
		total += d
	}
	if total > maxDuration || total < 0 {
		return 0, fmt.Errorf("duration %q: at most 10 years", s)
	}
	if neg {
		total = -total
	}
	return total, nil
}

func (d *Duration) decodeNode(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Quantity is a Kubernetes resource quantity: CPU as "500m" or "2", memory
// as "512Mi", "4Gi" or bytes. Value is in cores or bytes.
type Quantity struct {
	Value float64
	Text  string
}

var quantitySuffixes = []struct {
	s string
	m float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// ParseQuantity parses the quantity syntax.
func ParseQuantity(s string) (Quantity, error) {
	num, mult := s, 1.0
	for _, suf := range quantitySuffixes {
		if strings.HasSuffix(s, suf.s) {
			num, mult = strings.TrimSuffix(s, suf.s), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return Quantity{}, fmt.Errorf("quantity %q: want e.g. 500m, 2, 512Mi, 4Gi", s)
	}
	return Quantity{Value: f * mult, Text: s}, nil
}

func (q *Quantity) decodeNode(n *yaml.Node) error {
	v, err := ParseQuantity(n.Value)
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// String returns the quantity as written.
func (q Quantity) String() string { return q.Text }
