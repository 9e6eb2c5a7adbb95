package main

import (
	"context"
	"fmt"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// liveOptions are the flags of `prescale plan` against live state.
type liveOptions struct {
	prometheusURL string
	kubeconfig    string
	kubeContext   string
	history       time.Duration
	noAWS         bool
	// namespace and prescaleNamespace choose and check the cluster's
	// ScalingPolicies when no --config is given.
	namespace, prescaleNamespace string
}

// livePlan is what `plan --prometheus-url` reads: every signal's history
// from Prometheus, as the traces of an offline plan, and the live state
// through a live.Reader, which has no write path.
type livePlan struct {
	reader *live.Reader
}

// liveInputs fetches the history of every signal of the policies from
// Prometheus, up to at, into inputs and series (one synthetic "file" per
// target and signal), the way --input traces are given, and returns the
// reader of the live state.
func liveInputs(ctx context.Context, o liveOptions, policies []*config.Policy, at time.Time, inputs *inputFlag, series map[string]forecast.Series) (*livePlan, []string, error) {
	src, err := metrics.NewPrometheus(metrics.PrometheusConfig{URL: o.prometheusURL}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("--prometheus-url: %w", err)
	}
	var notes []string
	for _, p := range policies {
		for i := range p.Spec.Targets {
			t := &p.Spec.Targets[i]
			for _, sg := range targetSignals(t) {
				hist := metrics.NewHistory(src, metrics.HistoryConfig{Step: sg.step, Window: o.history}, nil)
				q := metrics.Query{Target: t.Name, Signal: sg.name, Expr: sg.query, Step: sg.step}
				if err := hist.Update(ctx, q, at); err != nil {
					notes = append(notes, fmt.Sprintf("%s %s: %v", t.Name, sg.name, err))
					continue
				}
				s, ok := hist.Series(q)
				if !ok {
					notes = append(notes, fmt.Sprintf("%s %s: no samples in Prometheus", t.Name, sg.name))
					continue
				}
				file := fmt.Sprintf("prometheus:%s/%s.%s", p.Metadata.Name, t.Name, sg.name)
				series[file] = s
				*inputs = append(*inputs, traceInput{target: t.Name, signal: sg.name, file: file})
			}
		}
	}
	lp := &livePlan{}
	var awsCfg live.AWSConfig
	if !o.noAWS {
		awsCfg = func(ctx context.Context, region string) (sdkaws.Config, error) {
			var opts []func(*awsconfig.LoadOptions) error
			if region != "" {
				opts = append(opts, awsconfig.WithRegion(region))
			}
			return awsconfig.LoadDefaultConfig(ctx, opts...)
		}
	}
	rc, err := restConfig(o)
	if err != nil {
		return nil, nil, err
	}
	lp.reader, err = live.NewReader(rc, awsCfg)
	if err != nil {
		return nil, nil, err
	}
	return lp, notes, nil
}

// current reads the live state of p's resources; what cannot be read is
// a warning, and the plan falls back to the policy's owner values for it.
func (lp *livePlan) current(ctx context.Context, p *config.Policy) (policy.Current, string) {
	if lp == nil {
		return policy.Current{}, ""
	}
	cur, err := lp.reader.Current(ctx, p)
	if err != nil {
		return cur, fmt.Sprintf("policy %s: live state partly unread (the policy's owner values stand in): %v", p.Metadata.Name, err)
	}
	return cur, ""
}

type planSignal struct {
	name, query string
	step        time.Duration
}

// targetSignals are a target's queries, by the engine's signal names.
func targetSignals(t *config.Target) []planSignal {
	var out []planSignal
	s := t.Signals
	if s.Demand != nil {
		out = append(out, planSignal{"demand", s.Demand.Query, s.Demand.Step.D()})
	}
	if s.DBConnections != nil {
		out = append(out, planSignal{"dbConnections", s.DBConnections.Query, s.DBConnections.Step.D()})
	}
	if s.LatencyP95 != nil {
		out = append(out, planSignal{"latencyP95", s.LatencyP95.Query, s.LatencyP95.Step.D()})
	}
	if s.CacheHitRatio != nil {
		out = append(out, planSignal{"cacheHitRatio", s.CacheHitRatio.Query, s.CacheHitRatio.Step.D()})
	}
	for _, e := range s.Extra {
		out = append(out, planSignal{e.Name, e.Query, e.Step.D()})
	}
	return out
}
