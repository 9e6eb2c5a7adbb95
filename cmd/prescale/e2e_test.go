package main

// The daemon end to end (issue 7): `run --config`'s wiring (runDaemon: the
// policy store, the Prometheus source, client-go from a kubeconfig,
// actuator/live with the AWS SDK's default configuration chain, leader
// election, /metrics and /readyz) against a real Prometheus serving a
// backfilled daily-seasonal trace, a real kube-apiserver (envtest) holding
// a Deployment and its HPA, and the AWS wire-protocol test server holding an
// Auto Scaling group and an RDS instance. Only the loop's clock is the
// test's: it steps through the morning ramp of the trace in seconds instead
// of hours. Everything else, leader election included, runs in real time.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator/aws/awstest"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/internal/promtest"
)

// The trace: every day the same bell-shaped peak of e2ePeak requests per
// second at 12:00 UTC over a base of e2eBase, with ±2% of deterministic
// noise, scraped every minute as a counter.
const (
	e2eBase  = 50.0
	e2ePeak  = 1000.0
	e2eSigma = 1.0 // hours
	e2eDays  = 7
	// The capacity model of the policy below: 100 requests per second per
	// pod at 70% utilisation; capacity needed 15 minutes ahead.
	e2ePerPod = 100 * 0.7
	e2eLead   = 15 * time.Minute
)

// e2eDay0 is the first day of the backfilled trace; the test runs on the
// morning of the day after its seventh.
var e2eDay0 = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

// e2eDemand is the modelled demand (requests per second) at t.
func e2eDemand(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	return e2eBase + (e2ePeak-e2eBase)*math.Exp(-(h-12)*(h-12)/(2*e2eSigma*e2eSigma))
}

// e2eNoise is a deterministic ±2% wobble, so the models fit real-looking
// data rather than a perfect curve.
func e2eNoise(m int64) float64 {
	x := uint64(m)*6364136223846793005 + 1442695040888963407
	x ^= x >> 33
	return 1 + 0.04*(float64(x%1000)/1000-0.5)
}

// e2ePods is what the capacity model needs for demand d.
func e2ePods(d float64) int { return int(math.Ceil(d / e2ePerPod)) }

const e2ePolicy = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: shop
  labels:
    shard: a
spec:
  timeZone: UTC
  targets:
    - name: web
      signals:
        demand:
          query: sum(rate(http_requests_total{job="web"}[5m]))
          step: 5m
      capacity:
        perPod: 100
        leadTime: 15m
        window: 10m
        # judged (at once, on floors replayed from the history) and
        # reported, not acted on: the modelled demand is one the simulated
        # HPA alone keeps up with, and this test is about the floors.
        standDown: false
      pod:
        cpu: "1"
        memory: 1Gi
      hpa:
        namespace: %[1]s
        name: web
        mode: active
        minReplicas: 2
        maxReplicas: 30
      nodeGroup: workers
      database: orders
  nodeGroups:
    - name: workers
      provider: asg
      asg:
        name: e2e-workers
        region: us-east-1
      allocatable:
        cpu: "4"
        memory: 16Gi
      overhead:
        cpu: 500m
      packingMargin: 0.1
      minSize: 1
      maxSize: 10
  databases:
    - name: orders
      provider: rds
      identifier: orders-db
      region: us-east-1
      current: db.r5.large
      dryRun: false
      leadTime: 1h
      tiers:
        - class: db.r5.large
          capacity: 500
        - class: db.r5.xlarge
          capacity: 2000
      changeWindows:
        - schedule: "0 11 * * *"
          duration: 1h
`

// fakeTime is the loops' shared clock.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

// instClock is one daemon's view of the clock; it counts reads, so the
// test knows when a loop has ticked at the time it set: the loop reads the
// clock once at the start of each tick, and ticks one at a time.
type instClock struct {
	ft    *fakeTime
	reads int
}

func (c *instClock) Now() time.Time {
	c.ft.mu.Lock()
	defer c.ft.mu.Unlock()
	c.reads++
	return c.ft.t
}

// daemon is one running instance of runDaemon.
type daemon struct {
	name   string
	addr   string
	clock  *instClock
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type e2e struct {
	t    *testing.T
	ft   *fakeTime
	kube *kubetest.Env
	aws  *awstest.Server
	prom *promtest.Server
	ns   string
}

// set moves the clock to at and waits until every running daemon given
// has completed at least two ticks at that time.
func (e *e2e) set(at time.Time, ds ...*daemon) {
	e.t.Helper()
	e.ft.mu.Lock()
	e.ft.t = at
	start := make([]int, len(ds))
	for i, d := range ds {
		start[i] = d.clock.reads
	}
	e.ft.mu.Unlock()
	for i, d := range ds {
		e.waitFor(fmt.Sprintf("%s to tick twice at %s", d.name, at.Format("15:04")), 20*time.Second, func() bool {
			e.ft.mu.Lock()
			defer e.ft.mu.Unlock()
			return d.clock.reads >= start[i]+3
		})
	}
}

func (e *e2e) waitFor(what string, limit time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *e2e) hpa() *autoscalingv2.HorizontalPodAutoscaler {
	e.t.Helper()
	h, err := e.kube.Client.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("get hpa: %v", err)
	}
	return h
}

func (e *e2e) minReplicas() int { return int(*e.hpa().Spec.MinReplicas) }

func (e *e2e) asgMin() int {
	e.aws.Lock()
	defer e.aws.Unlock()
	return e.aws.ASGs["e2e-workers"].Min
}

// start runs one daemon the way `prescale run --config` does, from its
// flags, with the test's clock.
func (e *e2e) start(name, policyFile, promConfig string) *daemon {
	e.t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts := addDaemonFlags(fs)
	addr := freeAddr(e.t)
	args := []string{
		"--prometheus-config", promConfig,
		"--kubeconfig", e.kube.KubeConfig,
		"--tick", "150ms", "--refit", "15m", "--history", fmt.Sprintf("%dh", 24*e2eDays), "--reload", "1s",
		"--leader-elect", "--lease-namespace", e.ns, "--leader-identity", name,
		"--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "250ms",
		"--shard-selector", "shard=a",
	}
	if err := fs.Parse(args); err != nil {
		e.t.Fatal(err)
	}
	opts.configs = []string{policyFile}
	opts.listen = addr
	d := &daemon{name: name, addr: addr, clock: &instClock{ft: e.ft}, done: make(chan error, 1), logs: &syncBuffer{}}
	opts.now = d.clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	logger := slog.New(slog.NewJSONHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { d.done <- runDaemon(ctx, opts, logger) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			e.t.Errorf("%s did not stop within 15s of its context ending", name)
		}
		if e.t.Failed() {
			e.t.Logf("%s logs:\n%s", name, tail(d.logs.String(), 60))
		}
	})
	return d
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrape returns the daemon's metrics, or nil when it does not answer.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics of %s: %v", addr, err)
	}
	return fams
}

// metric is the value of the series of family name with the given labels
// (a subset), summed over the series that match; ok is false when none does.
func metric(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.Metric {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			has := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					has = true
				}
			}
			match = match && has
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		}
	}
	return sum, found
}

func readyz(addr string) int {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func isLeader(t *testing.T, d *daemon) bool {
	v, _ := metric(scrape(t, d.addr), "prescale_leader")
	return v == 1
}

func TestDaemonEndToEnd(t *testing.T) {
	began := time.Now()
	prom, promtool := promtest.Require(t)

	// The trace, up to the end of the test's morning.
	end := e2eDay0.Add(e2eDays*24*time.Hour + 14*time.Hour)
	var samples []promtest.Sample
	var counter float64
	for at := e2eDay0; !at.After(end); at = at.Add(time.Minute) {
		samples = append(samples, promtest.Sample{Labels: `job="web"`, Time: at.Unix(), Value: counter})
		counter += e2eDemand(at) * e2eNoise(at.Unix()/60) * 60
	}
	dir := t.TempDir()
	promtest.Backfill(t, promtool, dir, "http_requests", samples)
	e := &e2e{t: t, ft: &fakeTime{}}
	e.prom = promtest.Start(t, prom, dir)
	t.Logf("prometheus with %d samples backfilled, ready after %s", len(samples), time.Since(began).Round(100*time.Millisecond))

	e.kube = kubetest.Start(t)
	ctx := context.Background()
	e.ns = "shop"
	if _, err := e.kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createWeb(t, e.kube, e.ns)

	e.aws = awstest.New()
	t.Cleanup(e.aws.Close)
	e.aws.ASGs["e2e-workers"] = &awstest.ASG{Min: 1, Max: 10, Desired: 1}
	e.aws.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	// The daemon loads AWS's default configuration chain; point it at the
	// test server the way a user points it at a VPC endpoint.
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": e.aws.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDE2E", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}

	cfgDir := t.TempDir()
	policyFile := filepath.Join(cfgDir, "policy.yaml")
	promConfig := filepath.Join(cfgDir, "prometheus.yaml")
	writeFile(t, policyFile, fmt.Sprintf(e2ePolicy, e.ns))
	// One quick retry: the outage below must show at once, not after
	// the default backoff.
	writeFile(t, promConfig, fmt.Sprintf("url: %s\ntimeout: 5s\nretries: 1\nbackoff: 10ms\n", e.prom.URL))

	day := e2eDay0.Add(e2eDays * 24 * time.Hour)
	at := func(hhmm string) time.Time {
		tm, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute)
	}
	e.ft.t = at("09:30")
	a := e.start("e2e-a", policyFile, promConfig)
	b := e.start("e2e-b", policyFile, promConfig)
	e.waitFor("both instances ready and one leading", 30*time.Second, func() bool {
		return readyz(a.addr) == 200 && readyz(b.addr) == 200 && isLeader(t, a) != isLeader(t, b)
	})
	lead, follow := a, b
	if isLeader(t, b) {
		lead, follow = b, a
	}
	t.Logf("%s leads, %s follows (%s since start)", lead.name, follow.name, time.Since(began).Round(100*time.Millisecond))
	both := []*daemon{lead, follow}

	// 1. Ahead of the peak: every five minutes up the morning ramp, the
	// floor in place covers the modelled demand one lead time ahead,
	// which is more than the demand now needs.
	var floor, nodes int
	for _, hhmm := range []string{"10:00", "10:05", "10:10", "10:15", "10:20", "10:25", "10:30"} {
		now := at(hhmm)
		e.set(now, both...)
		floor, nodes = e.minReplicas(), e.asgMin()
		needNow, needAhead := e2ePods(e2eDemand(now)), e2ePods(e2eDemand(now.Add(e2eLead)))
		t.Logf("%s: demand %4.0f now (%2d pods), %4.0f at +%s (%2d pods): minReplicas %2d, ASG MinSize %d",
			hhmm, e2eDemand(now), needNow, e2eDemand(now.Add(e2eLead)), e2eLead, needAhead, floor, nodes)
		if floor < needAhead || floor <= needNow {
			t.Errorf("%s: minReplicas %d; want at least the %d pods needed at +%s (the %d needed now are not enough)",
				hhmm, floor, needAhead, e2eLead, needNow)
		}
		// 3 pods of 1 CPU fit a node of 4 CPUs less 0.5 overhead and 10% margin.
		if want := (floor + 2) / 3; nodes < want {
			t.Errorf("%s: ASG MinSize %d; want at least %d nodes for %d pods", hhmm, nodes, want, floor)
		}
	}
	// The leader judged the floors without waiting a day: on the floors
	// the forecast would have planned over the history Prometheus holds,
	// replayed in the background; the follower replays nothing.
	e.waitFor("the leader's backfilled judgement", 30*time.Second, func() bool {
		return strings.Contains(lead.logs.String(), `"msg":"floor ledger backfilled from history"`)
	})
	if v, ok := metric(scrape(t, lead.addr), "prescale_impact_replica_seconds_paid"); !ok || v <= 0 {
		t.Errorf("leader's prescale_impact_replica_seconds_paid %v (%v) after the backfill: want the floors' cost", v, ok)
	}
	if strings.Contains(follow.logs.String(), "backfilling the floor ledger") {
		t.Errorf("follower %s backfilled a ledger", follow.name)
	}
	h := e.hpa()
	if h.Annotations[hpa.AnnotationOwnerMin] != "2" || h.Annotations[hpa.AnnotationOwnerMax] != "30" {
		t.Errorf("owner annotations %v; want the owner's min 2 and max 30 remembered", h.Annotations)
	}
	if !ownsField(h, "prescale", "minReplicas") {
		t.Errorf("field manager prescale does not own spec.minReplicas: %+v", h.ManagedFields)
	}
	if h.Spec.MaxReplicas != 30 {
		t.Errorf("maxReplicas %d; the owner's 30 should stand", h.Spec.MaxReplicas)
	}
	// Only the leader acts: the follower plans nothing and writes nothing.
	fm := scrape(t, follow.addr)
	if v, ok := metric(fm, "prescale_actuations_total"); ok {
		t.Errorf("follower %s counted %v actuations", follow.name, v)
	}
	if v, _ := metric(scrape(t, lead.addr), "prescale_actuations_total", "resource", "hpa", "result", "applied"); v < 1 {
		t.Errorf("leader %s counted %v applied HPA actuations", lead.name, v)
	}
	// The database needs the larger tier an hour ahead, but its window
	// opens at 11:00: nothing is sent yet.
	if r := e.aws.Requests("ModifyDBInstance"); len(r) != 0 {
		t.Errorf("ModifyDBInstance before the change window: %+v", r)
	}

	// 2. Prometheus stops: the floors are held, not dropped, and the
	// metrics say why.
	e.prom.Stop()
	for _, hhmm := range []string{"10:35", "10:40"} {
		e.set(at(hhmm), both...)
		if got := e.minReplicas(); got < floor {
			t.Errorf("%s, Prometheus down: minReplicas %d dropped below the held %d", hhmm, got, floor)
		}
		if got := e.asgMin(); got < nodes {
			t.Errorf("%s, Prometheus down: ASG MinSize %d dropped below the held %d", hhmm, got, nodes)
		}
	}
	lm := scrape(t, lead.addr)
	if v, _ := metric(lm, "prescale_fail_static", "target", "web"); v != 1 {
		t.Errorf("Prometheus down: prescale_fail_static{target=web} = %v, want 1", v)
	}
	if v, _ := metric(lm, "prescale_source_errors_total", "target", "web", "kind", "unreachable"); v < 1 {
		t.Errorf("Prometheus down: no unreachable source errors counted")
	}
	if v, _ := metric(lm, "prescale_source_age_seconds", "target", "web", "signal", "demand"); v < 10*60 {
		t.Errorf("Prometheus down: source age %vs, want at least the 10 minutes without data", v)
	}
	// Readiness stays: a daemon holding floors must not be restarted or
	// taken out of its Service for a dependency's outage; the outage is
	// alerted on through the metrics above.
	if c := readyz(lead.addr); c != 200 {
		t.Errorf("Prometheus down: /readyz %d, want 200", c)
	}

	// 3. Prometheus returns: the history catches up on the missed range,
	// the forecast comes back and the floors follow it again.
	e.prom.Restart()
	e.set(at("10:45"), both...)
	e.waitFor("the leader to leave fail-static", 10*time.Second, func() bool {
		v, _ := metric(scrape(t, lead.addr), "prescale_fail_static", "target", "web")
		return v == 0
	})
	now := at("10:50")
	e.set(now, both...)
	if got, want := e.minReplicas(), e2ePods(e2eDemand(now.Add(e2eLead))); got < want {
		t.Errorf("10:50, Prometheus back: minReplicas %d, want at least %d", got, want)
	}
	if r := e.aws.Requests("ModifyDBInstance"); len(r) != 0 {
		t.Errorf("ModifyDBInstance before the change window: %+v", r)
	}

	// 4. Inside the change window the database moves up one rung, at once.
	e.set(at("11:00"), both...)
	mods := e.aws.Requests("ModifyDBInstance")
	if len(mods) != 1 {
		t.Fatalf("in the window: %d ModifyDBInstance requests, want 1: %+v", len(mods), mods)
	}
	if p := mods[0].Params; p["DBInstanceIdentifier"] != "orders-db" || p["DBInstanceClass"] != "db.r5.xlarge" || p["ApplyImmediately"] != "true" {
		t.Errorf("ModifyDBInstance %v; want orders-db to db.r5.xlarge, applied immediately", p)
	}
	e.aws.Settle()

	// 5. The leader stops (SIGTERM): it leaves its floors in place, and the
	// follower takes the Lease and acts.
	floor = e.minReplicas()
	lead.cancel()
	select {
	case err := <-lead.done:
		if err != nil {
			t.Errorf("%s stopped with %v", lead.name, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not stop within 10s", lead.name)
	}
	lead.done <- nil // for the cleanup
	h = e.hpa()
	if got := int(*h.Spec.MinReplicas); got < floor || h.Annotations[hpa.AnnotationOwnerMin] != "2" {
		t.Errorf("after the leader stopped: minReplicas %d (was %d), annotations %v; the floors must stay", got, floor, h.Annotations)
	}
	e.waitFor(follow.name+" to take over", 10*time.Second, func() bool { return isLeader(t, follow) })
	now = at("11:10")
	e.set(now, follow)
	want := e2ePods(e2eDemand(now.Add(e2eLead)))
	if got := e.minReplicas(); got < want || got <= floor {
		t.Errorf("11:10, after the takeover: minReplicas %d; want it raised from %d to at least %d by the new leader", got, floor, want)
	}
	if v, _ := metric(scrape(t, follow.addr), "prescale_actuations_total", "resource", "hpa", "result", "applied"); v < 1 {
		t.Errorf("new leader %s counted %v applied HPA actuations", follow.name, v)
	}
	t.Logf("end to end in %s", time.Since(began).Round(100*time.Millisecond))
}

func createWeb(t *testing.T, k *kubetest.Env, ns string) {
	t.Helper()
	createWorkload(t, k.Client.AppsV1().Deployments(ns), k.Client.AutoscalingV2().HorizontalPodAutoscalers(ns), "web", 2, 30, 70)
}

// ownsField reports whether manager's managed fields include spec.<field>.
func ownsField(h *autoscalingv2.HorizontalPodAutoscaler, manager, field string) bool {
	for _, m := range h.ManagedFields {
		if m.Manager == manager && m.FieldsV1 != nil && strings.Contains(string(m.FieldsV1.Raw), `"f:`+field+`"`) {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
