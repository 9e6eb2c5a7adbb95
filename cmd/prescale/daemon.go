package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"go.yaml.in/yaml/v3"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/controller/leader"
	"github.com/prescale/prescale/metrics"
)

// daemonOptions are the flags of `prescale run --config`.
type daemonOptions struct {
	configs          []string
	listen           string
	prometheusConfig string
	prometheusURL    string
	tick, refit      time.Duration
	reselect         time.Duration
	backfills        int
	podUsage         bool
	history          time.Duration
	reload           time.Duration
	leaderElect      bool
	leaseName        string
	leaseNamespace   string
	leaderIdentity   string
	leaseDuration    time.Duration
	renewDeadline    time.Duration
	retryPeriod      time.Duration
	shardSelector    string
	kubeconfig       string
	scalingPolicies  bool
	namespace        string
	watchNamespace   string

	// awsEndpoint, when set, is every AWS client's endpoint (what
	// AWS_ENDPOINT_URL sets process-wide). Only tests set it, to give each
	// of several daemons in one process its own way to the AWS test
	// server; there is no flag for it.
	awsEndpoint string

	// now is the loop's clock; nil is time.Now. Only tests set it, to
	// drive the real wiring through a day of a backfilled trace in
	// seconds; there is no flag for it.
	now func() time.Time
}

func addDaemonFlags(fs *flag.FlagSet) *daemonOptions {
	d := &daemonOptions{}
	fs.StringVar(&d.prometheusConfig, "prometheus-config", "", "YAML file with the Prometheus URL and HTTP client settings (prometheus/common format)")
	fs.StringVar(&d.prometheusURL, "prometheus-url", "", "Prometheus URL, when no --prometheus-config is given")
	fs.DurationVar(&d.tick, "tick", 30*time.Second, "planning period")
	fs.DurationVar(&d.refit, "refit", 15*time.Minute, "forecast refit period")
	fs.BoolVar(&d.podUsage, "pod-usage", false, "read each managed workload's pod CPU from the metrics API (metrics-server) and its pods' CPU requests once per refit, exported beside its demand per pod with the capacity per pod they imply, to check the capacity model; four API reads per target; needs deploy/rbac/pod-usage")
	fs.DurationVar(&d.reselect, "reselect", 6*time.Hour, "how often each signal's model is chosen afresh by validation (each signal after between half and all of it); refits in between refit the chosen models only; negative: at every refit")
	fs.IntVar(&d.backfills, "backfills", 1, "how many targets without a verdict are judged at once, in the background, on the floors their forecast would have planned over their demand history (the last 14 days of it at most), rather than a day after prescale first plans them; 0: none")
	fs.DurationVar(&d.history, "history", 14*24*time.Hour, "history backfilled and kept per signal")
	fs.DurationVar(&d.reload, "reload", 10*time.Second, "how often the policy files are checked for changes")
	fs.BoolVar(&d.leaderElect, "leader-elect", false, "elect a leader with a Kubernetes Lease; only the leader acts")
	fs.StringVar(&d.leaseName, "lease-name", "prescale", "name of the Lease")
	fs.StringVar(&d.leaseNamespace, "lease-namespace", "", "namespace of the Lease (default: the pod's, from POD_NAMESPACE)")
	fs.StringVar(&d.leaderIdentity, "leader-identity", "", "this candidate's name in the Lease (default: POD_NAME, else host name and process id)")
	fs.DurationVar(&d.leaseDuration, "lease-duration", leader.DefaultLeaseDuration, "how long followers wait after the leader's last renewal before taking over")
	fs.DurationVar(&d.renewDeadline, "renew-deadline", leader.DefaultRenewDeadline, "how long the leader retries a renewal before it stops acting")
	fs.DurationVar(&d.retryPeriod, "retry-period", leader.DefaultRetryPeriod, "time between attempts to take or renew the Lease")
	fs.StringVar(&d.shardSelector, "shard-selector", "", "label selector on the policies' metadata.labels: this replica manages only the policies it matches, under its own Lease (--lease-name suffixed with the selector)")
	fs.StringVar(&d.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster config, then $KUBECONFIG)")
	fs.BoolVar(&d.scalingPolicies, "scalingpolicies", false, "also take policies from ScalingPolicy objects (prescale.io/v1alpha1) in the cluster, watched, through the same validation as the files; writes their status and Events")
	fs.StringVar(&d.namespace, "namespace", "", "prescale's own namespace, the only one whose ScalingPolicies may name node groups, databases and caches (default: POD_NAMESPACE)")
	fs.StringVar(&d.watchNamespace, "watch-namespace", "", "watch ScalingPolicies in this namespace only (default: all namespaces)")
	return d
}

// prometheusSource builds the source from --prometheus-config or
// --prometheus-url.
func prometheusSource(d *daemonOptions, logger *slog.Logger) (*metrics.Prometheus, error) {
	var cfg metrics.PrometheusConfig
	switch {
	case d.prometheusConfig != "":
		b, err := readPrometheusConfig(d.prometheusConfig)
		if err != nil {
			return nil, err
		}
		// Strict: a misspelt key (timout, bearer_tokenfile) is an error,
		// not a setting silently left at its default.
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("--prometheus-config %s: %w", d.prometheusConfig, err)
		}
	case d.prometheusURL != "":
		cfg.URL = d.prometheusURL
	default:
		return nil, errors.New("--prometheus-config or --prometheus-url is required with --config")
	}
	return metrics.NewPrometheus(cfg, logger)
}

// maxPrometheusConfigBytes bounds --prometheus-config: a URL, credentials
// and TLS settings fit in a few KiB; a larger file is the wrong file.
const maxPrometheusConfigBytes = 1 << 20

// readPrometheusConfig reads the file, refusing one past
// maxPrometheusConfigBytes before reading it whole.
func readPrometheusConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--prometheus-config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPrometheusConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--prometheus-config %s: %w", path, err)
	}
	if len(b) > maxPrometheusConfigBytes {
		return nil, fmt.Errorf("--prometheus-config %s: larger than %d KiB; it holds a URL, credentials and TLS settings: is it the right file?", path, maxPrometheusConfigBytes>>10)
	}
	return b, nil
}

// kubeClient uses --kubeconfig, else the in-cluster config, else the
// usual kubeconfig loading rules ($KUBECONFIG, ~/.kube/config).
// kubeClient returns the clientset and, on the same configuration, a
// dynamic client for custom resources such as CapacityBuffers and a client
// of the metrics API (metrics.k8s.io).
func kubeClient(path string) (kubernetes.Interface, dynamic.Interface, metricsclient.Interface, error) {
	var rc *rest.Config
	var err error
	switch {
	case path != "":
		rc, err = clientcmd.BuildConfigFromFlags("", path)
	default:
		rc, err = rest.InClusterConfig()
		if err != nil {
			rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
		}
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	rc.UserAgent = "prescale"
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	mc, err := metricsclient.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("metrics API client: %w", err)
	}
	return kube, dyn, mc, nil
}

// runDaemon is `prescale run --config`: the control loop over Prometheus,
// the Kubernetes API and AWS, with leader election, probes and metrics, and
// the policy reloaded when its files change. It returns when ctx ends
// (SIGTERM): the actuation in progress finishes or is abandoned between
// writes; the floors already applied stay, since they are floors the HPA
// reacts above, and the next leader re-asserts its own plan.
func runDaemon(ctx context.Context, d *daemonOptions, logger *slog.Logger) error {
	store, err := config.NewStore(d.configs...)
	if err != nil {
		return err
	}
	src, err := prometheusSource(d, logger)
	if err != nil {
		return err
	}
	kube, dyn, mc, err := kubeClient(d.kubeconfig)
	if err != nil {
		return err
	}
	exp := metrics.NewExporter(buildVersion(), logger)
	now := d.now
	if now == nil {
		now = time.Now
	}
	reloads := &fileReloads{obs: exp, now: now, logger: logger, policies: func() int { return len(store.Policies()) }}
	if pod, ok := ownPod(); ok {
		reloads.kube, reloads.pod = kube, pod
	}
	reloads.loaded()
	all, report, verdicts, err := scalingPolicies(ctx, d, store.Policies, dyn, kube, exp, logger)
	if err != nil {
		return err
	}
	policies, leaseName, err := shardOf(d.shardSelector, all, d.leaseName)
	if err != nil {
		return err
	}
	if why := shardEmpty(d.shardSelector, len(all()), len(policies())); why != "" {
		logger.Warn(why)
	}
	hist := metrics.NewHistory(src, metrics.HistoryConfig{Step: time.Minute, Window: d.history}, exp)
	awsCfg := func(ctx context.Context, region string) (sdkaws.Config, error) {
		var opts []func(*awsconfig.LoadOptions) error
		if region != "" {
			opts = append(opts, awsconfig.WithRegion(region))
		}
		if d.awsEndpoint != "" {
			opts = append(opts, awsconfig.WithBaseEndpoint(d.awsEndpoint))
		}
		return awsconfig.LoadDefaultConfig(ctx, opts...)
	}
	act := live.New(kube, awsCfg, actuator.LogRecorder{Logger: logger}, live.WithDynamic(dyn), live.WithManager(leaseName))
	// Signals that are only observed need their newest value, not weeks.
	observed := metrics.NewHistory(src, metrics.HistoryConfig{Step: time.Minute, Window: time.Hour}, exp)
	if d.backfills == 0 {
		d.backfills = -1 // none (the loop's 0 is its default, 1)
	}
	cfg := controller.Config{Tick: d.tick, Refit: d.refit, Reselect: d.reselect, Now: d.now, Observed: observed, Report: report, Verdicts: verdicts, Backfills: d.backfills,
		APIServer: func(ctx context.Context) error {
			_, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			return err
		}}
	if d.podUsage {
		cfg.Usage = metrics.HPAUsage{Kube: kube, Usage: metrics.NewPodUsage(mc)}.Of
	}
	loop := controller.New(cfg, policies, hist, act, exp, logger)

	addr, stopHTTP, err := serveMetrics(d.listen, exp, loop.Ready)
	if err != nil {
		return err
	}
	defer stopHTTP()
	logger.Info("prescale started", "version", buildVersion(), "listen", addr, "policies", len(policies()),
		"shard_selector", d.shardSelector, "leader_elect", d.leaderElect)

	go store.Watch(ctx, d.reload, func(changed bool, err error) { reloads.report(ctx, changed, err) })

	if !d.leaderElect {
		exp.Leader.Set(1)
		return loop.Run(ctx)
	}
	ns := d.leaseNamespace
	if ns == "" {
		ns = os.Getenv("POD_NAMESPACE")
	}
	// Followers keep their history warm, so that a takeover plans at once.
	var isLeader atomic.Bool
	go func() {
		t := time.NewTicker(d.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !isLeader.Load() {
					loop.Warm(ctx)
				}
			}
		}
	}()
	return leader.Run(ctx, leader.Config{
		Client: kube, Namespace: ns, Name: leaseName, Identity: d.leaderIdentity, Logger: logger,
		LeaseDuration: d.leaseDuration, RenewDeadline: d.renewDeadline, RetryPeriod: d.retryPeriod,
		SetLeader: func(b bool) {
			isLeader.Store(b)
			exp.Leader.Set(map[bool]float64{false: 0, true: 1}[b])
		},
	}, func(ctx context.Context) { loop.Run(ctx) }, nil)
}

// buildVersion is prescale's version (version.go): the same in the logs,
// the build-info metric and `prescale version`.
func buildVersion() string { return currentVersion() }
