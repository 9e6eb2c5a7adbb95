package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"time"
)

// daemonOptions are the flags of `prescale run --config`.
type daemonOptions struct {
	configs          []string
	listen           string
	prometheusConfig string
	prometheusURL    string
	tick, refit      time.Duration
	history          time.Duration
	leaderElect      bool
	leaseName        string
	leaseNamespace   string
	kubeconfig       string
}

func addDaemonFlags(fs *flag.FlagSet) *daemonOptions {
	d := &daemonOptions{}
	fs.StringVar(&d.prometheusConfig, "prometheus-config", "", "YAML file with the Prometheus URL and HTTP client settings (prometheus/common format)")
	fs.StringVar(&d.prometheusURL, "prometheus-url", "", "Prometheus URL, when no --prometheus-config is given")
	fs.DurationVar(&d.tick, "tick", 30*time.Second, "planning period")
	fs.DurationVar(&d.refit, "refit", 15*time.Minute, "forecast refit period")
	fs.DurationVar(&d.history, "history", 14*24*time.Hour, "history backfilled and kept per signal")
	fs.BoolVar(&d.leaderElect, "leader-elect", false, "elect a leader with a Kubernetes Lease; only the leader acts")
	fs.StringVar(&d.leaseName, "lease-name", "prescale", "name of the Lease")
	fs.StringVar(&d.leaseNamespace, "lease-namespace", "", "namespace of the Lease (default: the pod's, from POD_NAMESPACE)")
	fs.StringVar(&d.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster config, then $KUBECONFIG)")
	return d
}

func runDaemon(ctx context.Context, d *daemonOptions, logger *slog.Logger) error {
	return errors.New("the daemon needs the actuators: not wired yet")
}
