// Package demo holds what `prescale run` replays when it is given no
// policy: a real trace and a policy for it, embedded in the binary so that
// the demo works from any directory.
//
// The trace is NAB's nyc_taxi (New York taxi passengers per 30 minutes,
// July 2014 to January 2015; Numenta Anomaly Benchmark, MIT-style licence,
// see testdata/NAB_LICENSE.txt), read as the demand of a dispatch API.
package demo

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

//go:embed nyc_taxi.csv
var traceCSV []byte

//go:embed policy.yaml
var policyYAML []byte

// TraceName is the demo trace's name in messages.
const TraceName = "nyc_taxi.csv (NAB)"

// Trace returns the embedded trace.
func Trace() (forecast.Series, error) {
	return trace.Read(bytes.NewReader(traceCSV), TraceName)
}

// Policy returns the embedded policy.
func Policy() (*config.Policy, error) {
	ps, err := config.Parse(policyYAML, "demo/policy.yaml")
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("demo policy: %d documents, want 1", len(ps))
	}
	return ps[0], nil
}
