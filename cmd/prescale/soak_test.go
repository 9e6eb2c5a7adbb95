package main

// The soak with faults (issue 16, item 6): two daemons, wired as `prescale
// run --config --leader-elect` wires them, run a replayed week at high
// speed against the real Prometheus and the real kube-apiserver the suite
// starts (and the AWS wire server), while a chaos driver stops and
// restarts Prometheus and makes it answer 5xx, garbage, NaN/Inf and absurd
// values, makes the API server answer conflicts, refusals and cut
// connections, throttles AWS, and kills the leader (gracefully, or by
// cutting it off from the API server). At every step of the clock the
// invariants are checked: no floor below the owner's value and none from
// an absurd forecast, no write by an instance that does not hold the
// Lease, memory bounded, and each fault injected visible in the metrics.
// The fault matrix is logged at the end.
//
// Bounded in time: a week in 126 steps (hourly by day, three-hourly by
// night), about two minutes on a 2-core machine loaded by other work. PRESCALE_SOAK_DAYS replays more days locally.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator/aws/awstest"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/internal/promtest"
)

const (
	soakOwnerLo = 2  // the owner's minReplicas
	soakOwnerHi = 30 // the owner's maxReplicas
	// soakAbsurd: no honest forecast of this trace (peak 1,000/s, 70 per
	// pod) asks for this many pods; acting on 1e300 asks for the ceiling.
	soakAbsurd = 23
	// soakHeap bounds the test process's live heap (both daemons, their
	// histories and clients, and the test's own).
	soakHeap = 768 << 20
)

// soakHours are the hours of each day the clock stops at: every hour from
// 01:00 to 16:00, where the faults are and the floors rise and fall, then
// every three hours through the quiet night.
var soakHours = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 22}

// soakFault is one fault of the day's schedule, from its hour (a step of
// soakHours) for steps steps.
type soakFault struct {
	name  string
	at    int
	steps int
	days  []int // days it happens (all when nil)
}

// soakSchedule: Prometheus faults at night and dawn, API server faults
// on the morning ramp (when floors rise and are written), AWS throttled
// before it, leaders killed in the afternoon.
var soakSchedule = []soakFault{
	{name: "prometheus stopped", at: 2, steps: 2, days: []int{1, 4}},
	{name: "prometheus 5xx", at: 4, steps: 1},
	{name: "prometheus garbage", at: 5, steps: 1},
	{name: "prometheus NaN/Inf", at: 6, steps: 1},
	{name: "prometheus absurd", at: 7, steps: 1, days: []int{2, 5}},
	{name: "aws throttled", at: 8, steps: 4},
	{name: "api conflict", at: 10, steps: 1, days: []int{0, 2, 4, 6}},
	{name: "api forbidden", at: 11, steps: 1, days: []int{0, 2, 4, 6}},
	{name: "api throttled", at: 10, steps: 1, days: []int{1, 3, 5}},
	{name: "api connection cut", at: 11, steps: 1, days: []int{1, 3, 5}},
	{name: "leader killed", at: 15, steps: 1, days: []int{0, 2, 4, 6}},
	{name: "leader cut off", at: 15, steps: 2, days: []int{1, 3, 5}},
}

// soakRow is one line of the fault matrix.
type soakRow struct {
	injected, windows, seen int
	shows                   []string
}

type soak struct {
	*e2e
	prom       *promProxy
	proxies    map[string]*kubeProxy
	awsProxies []*awsProxy
	daemons    []*daemon
	idents     int
	policy     string
	promCfg    string
	matrix     map[string]*soakRow
	heapPeak   uint64
	lost       []string
	leaseName  string
	victim     string              // the leader last killed or cut off from the API server
	before     map[string]counters // the metrics as each fault began
	stepping   time.Duration       // waiting for the leader's ticks
	writes     int                 // writes through the API server proxies, each checked against the Lease
	awsWrites  int                 // the same through the AWS proxies
}

func TestSoakWithFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for about two minutes")
	}
	began := time.Now()
	days := 7
	if v, err := strconv.Atoi(os.Getenv("PRESCALE_SOAK_DAYS")); err == nil && v > 0 {
		days = v
	}
	prom, promtool := promtest.Require(t)
	// The trace: a week of history before the replay, then the replayed
	// days, the e2e test's daily bell scraped every minute.
	end := e2eDay0.Add(time.Duration(e2eDays+days)*24*time.Hour + time.Hour)
	var samples []promtest.Sample
	var counter float64
	for at := e2eDay0; !at.After(end); at = at.Add(time.Minute) {
		samples = append(samples, promtest.Sample{Labels: `job="web"`, Time: at.Unix(), Value: counter})
		counter += e2eDemand(at) * e2eNoise(at.Unix()/60) * 60
	}
	dir := t.TempDir()
	promtest.Backfill(t, promtool, dir, "http_requests", samples)
	s := &soak{e2e: &e2e{t: t, ft: &fakeTime{}}, proxies: map[string]*kubeProxy{}, matrix: map[string]*soakRow{}, before: map[string]counters{}, leaseName: "prescale"}
	s.e2e.prom = promtest.Start(t, prom, dir)
	s.prom = newPromProxy(t, s.e2e.prom.URL)

	s.kube = kubetest.Start(t)
	ctx := context.Background()
	s.ns = "shop"
	if _, err := s.kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createWeb(t, s.kube, s.ns)
	s.aws = awstest.New()
	t.Cleanup(s.aws.Close)
	s.aws.ASGs["e2e-workers"] = &awstest.ASG{Min: 1, Max: 10, Desired: 1}
	s.aws.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	for k, v := range map[string]string{
		// No AWS_ENDPOINT_URL: each instance reaches the server through
		// its own proxy (daemonOptions.awsEndpoint), which records its
		// writes; none would reach the server without it.
		"AWS_ENDPOINT_URL": "", "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDSOAK", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		// One attempt and no backoff: a throttled call fails at once and
		// shows as a failed actuation, instead of holding the tick.
		"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
	} {
		t.Setenv(k, v)
	}
	cfgDir := t.TempDir()
	s.policy = filepath.Join(cfgDir, "policy.yaml")
	s.promCfg = filepath.Join(cfgDir, "prometheus.yaml")
	// e2ePolicy's capacity.standDown: false: this test's faults, not the
	// judgement, are under test; its smooth demand is one the simulated
	// HPA alone keeps up with, so the floors would (rightly) stand down.
	doc := strings.Replace(fmt.Sprintf(e2ePolicy, s.ns), "  labels:\n    shard: a\n", "", 1)
	writeFile(t, s.policy, doc)
	writeFile(t, s.promCfg, fmt.Sprintf("url: %s\ntimeout: 2s\nretries: 1\nbackoff: 10ms\n", s.prom.url))

	first := e2eDay0.Add(e2eDays * 24 * time.Hour)
	s.ft.t = first
	s.spawn()
	s.spawn()
	s.waitFor("one of two instances leading", 60*time.Second, func() bool { return s.leader() != nil })
	t.Logf("set up in %s; replaying %d days, %d steps a day", time.Since(began).Round(100*time.Millisecond), days, len(soakHours))

	var heapEarly uint64
	for i := 0; i < days*len(soakHours); i++ {
		day, slot := i/len(soakHours), soakHours[i%len(soakHours)]
		now := first.Add(time.Duration(day)*24*time.Hour + time.Duration(slot)*time.Hour)
		var active []soakFault
		for _, f := range soakSchedule {
			if slot >= f.at && slot < f.at+f.steps && (f.days == nil || contains(f.days, day)) {
				active = append(active, f)
			}
		}
		for _, f := range active {
			if slot == f.at {
				s.before[f.name] = s.snapshot()
				s.begin(f)
			}
		}
		t0 := time.Now()
		s.step(now)
		s.stepping += time.Since(t0)
		s.check(now)
		for _, f := range active {
			if slot == f.at+f.steps-1 {
				s.end(f, s.before[f.name])
			}
		}
		if slot == soakHours[0] {
			s.aws.Settle() // RDS finishes yesterday's modification
		}
		if slot == soakHours[len(soakHours)-1] {
			heap := liveHeap()
			if day == 0 {
				heapEarly = heap
			}
			t.Logf("day %d done at %s: live heap %d MiB, leader %s", day, time.Since(began).Round(100*time.Millisecond), heap>>20, s.leaderName())
		}
	}
	if heap := liveHeap(); heapEarly > 0 && heap > 2*heapEarly+64<<20 {
		t.Errorf("live heap grew from %d MiB after the first day to %d MiB: not bounded", heapEarly>>20, heap>>20)
	}
	s.report(began)
	if s.writes == 0 || s.awsWrites == 0 {
		t.Errorf("%d API server and %d AWS writes checked: the follower check saw nothing", s.writes, s.awsWrites)
	}
}

// spawn starts a new instance with its own identity and API server proxy.
func (s *soak) spawn() *daemon {
	s.t.Helper()
	s.idents++
	name := fmt.Sprintf("soak-%d", s.idents)
	p := newKubeProxy(s.t, s.kube.Config, name, leaseHolder(s.kube.Client, s.ns, s.leaseName))
	s.proxies[name] = p
	ap := newAWSProxy(s.t, s.aws.URL, name, leaseHolder(s.kube.Client, s.ns, s.leaseName))
	s.awsProxies = append(s.awsProxies, ap)
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts := addDaemonFlags(fs)
	addr := freeAddr(s.t)
	if err := fs.Parse([]string{
		"--prometheus-config", s.promCfg, "--kubeconfig", p.kubeconfig(s.t),
		"--tick", "100ms", "--refit", "1h", "--reselect", "24h", "--history", fmt.Sprintf("%dh", 24*e2eDays), "--reload", "1s",
		"--leader-elect", "--lease-namespace", s.ns, "--leader-identity", name,
		"--lease-duration", "3s", "--renew-deadline", "2s", "--retry-period", "250ms",
	}); err != nil {
		s.t.Fatal(err)
	}
	opts.configs = []string{s.policy}
	opts.listen = addr
	opts.awsEndpoint = ap.url
	d := &daemon{name: name, addr: addr, clock: &instClock{ft: s.ft}, done: make(chan error, 1), logs: &syncBuffer{}}
	opts.now = d.clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	logger := slog.New(slog.NewJSONHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() { d.done <- runDaemon(ctx, opts, logger) }()
	s.t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			s.t.Errorf("%s did not stop within 15s of its context ending", name)
		}
		if s.t.Failed() {
			s.t.Logf("%s logs (warnings and errors):\n%s", name, tail(d.logs.String(), 30))
		}
	})
	s.daemons = append(s.daemons, d)
	return d
}

// kill stops d as SIGTERM does and starts a replacement.
func (s *soak) kill(d *daemon) {
	s.t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			s.t.Errorf("%s stopped with %v", d.name, err)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatalf("%s did not stop within 10s", d.name)
	}
	d.done <- nil // for the cleanup
	for i, x := range s.daemons {
		if x == d {
			s.daemons = append(s.daemons[:i], s.daemons[i+1:]...)
			break
		}
	}
	s.spawn()
}

// leader is the instance whose prescale_leader is 1, when exactly one.
func (s *soak) leader() *daemon {
	var l *daemon
	for _, d := range s.daemons {
		if v, _ := metric(scrape(s.t, d.addr), "prescale_leader"); v == 1 {
			if l != nil {
				return nil
			}
			l = d
		}
	}
	return l
}

func (s *soak) daemonNamed(name string) *daemon {
	for _, d := range s.daemons {
		if d.name == name {
			return d
		}
	}
	s.t.Fatalf("no instance %s", name)
	return nil
}

func (s *soak) leaderName() string {
	if l := s.leader(); l != nil {
		return l.name
	}
	return "none"
}

// step moves the clock to now and waits until the leader, when there is
// one, has ticked at it: its clock read twice at now (the loop reads it
// once at the start of each tick, so the first tick at now has ended). The
// leader is found once (a scrape of each instance); when there is none, as
// during a takeover, the step waits up to 5 s for one.
func (s *soak) step(now time.Time) {
	s.t.Helper()
	s.ft.mu.Lock()
	s.ft.t = now
	start := map[*daemon]int{}
	for _, d := range s.daemons {
		start[d] = d.clock.reads
	}
	s.ft.mu.Unlock()
	var l *daemon
	for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); time.Sleep(100 * time.Millisecond) {
		if l = s.leader(); l != nil {
			break
		}
	}
	if l == nil {
		return
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.ft.mu.Lock()
		ticked := l.clock.reads >= start[l]+2
		s.ft.mu.Unlock()
		if ticked {
			return
		}
	}
	s.t.Logf("%s: the leader %s did not tick within 20s", now.Format("Mon 15:04"), l.name)
}

// counters are the fault-related series, summed over the live instances.
type counters map[string]float64

func (s *soak) snapshot() counters {
	c := counters{}
	for _, d := range s.daemons {
		fams := scrape(s.t, d.addr)
		for _, k := range []string{"unreachable", "timeout", "server_error", "client_error", "non_finite", "stale", "empty"} {
			v, _ := metric(fams, "prescale_source_errors_total", "kind", k)
			c["source_"+k] += v
		}
		for _, r := range []string{"failed", "conflict", "applied"} {
			for _, res := range []string{"hpa", "nodegroup", "database"} {
				v, _ := metric(fams, "prescale_actuations_total", "resource", res, "result", r)
				c[res+"_"+r] += v
			}
		}
		v, _ := metric(fams, "prescale_fail_static")
		c["fail_static"] += v
		v, _ = metric(fams, "prescale_leader")
		c["leader_"+d.name] = v
	}
	return c
}

func (s *soak) row(name string) *soakRow {
	r := s.matrix[name]
	if r == nil {
		r = &soakRow{}
		s.matrix[name] = r
	}
	return r
}

// begin starts a fault.
func (s *soak) begin(f soakFault) {
	s.row(f.name).windows++
	switch f.name {
	case "prometheus stopped":
		s.e2e.prom.Stop()
		s.prom.set(promDown)
	case "prometheus 5xx":
		s.prom.set(prom5xx)
	case "prometheus garbage":
		s.prom.set(promGarbage)
	case "prometheus NaN/Inf":
		s.prom.set(promNaN)
	case "prometheus absurd":
		s.prom.set(promAbsurd)
	case "aws throttled":
		s.aws.Fail("UpdateAutoScalingGroup", awstest.Throttling, awstest.Throttling)
		s.aws.Fail("ModifyDBInstance", awstest.Throttling)
	case "api conflict", "api forbidden", "api throttled", "api connection cut":
		k := map[string]kubeFault{"api conflict": kubeConflict, "api forbidden": kubeForbidden, "api throttled": kubeThrottle, "api connection cut": kubeHangUp}[f.name]
		for _, p := range s.proxies {
			p.set(k)
		}
	case "leader killed":
		if l := s.leader(); l != nil {
			s.row(f.name).injected++
			s.victim = l.name
			s.kill(l)
		}
	case "leader cut off":
		if l := s.leader(); l != nil {
			s.row(f.name).injected++
			s.proxies[l.name].set(kubeCut)
			s.victim = l.name
		}
	}
}

// end ends a fault and checks that what it did shows in the metrics.
func (s *soak) end(f soakFault, before counters) {
	r := s.row(f.name)
	after := s.snapshot()
	grew := func(keys ...string) []string {
		var out []string
		for _, k := range keys {
			if after[k] > before[k] {
				out = append(out, fmt.Sprintf("%s +%g", k, after[k]-before[k]))
			}
		}
		return out
	}
	var shows []string
	injected := 0 // answers changed in this window
	switch f.name {
	case "prometheus stopped", "prometheus 5xx", "prometheus garbage", "prometheus NaN/Inf", "prometheus absurd":
		pf := map[string]promFault{"prometheus stopped": promDown, "prometheus 5xx": prom5xx, "prometheus garbage": promGarbage,
			"prometheus NaN/Inf": promNaN, "prometheus absurd": promAbsurd}[f.name]
		injected = s.prom.count(pf) - r.injected
		s.prom.set(promPass)
		if f.name == "prometheus stopped" {
			s.e2e.prom.Restart()
		}
		shows = grew("source_unreachable", "source_timeout", "source_server_error", "source_client_error", "source_non_finite", "source_stale", "source_empty")
		if after["fail_static"] > 0 {
			shows = append(shows, "fail_static")
		}
	case "aws throttled":
		injected = 3 - s.aws.Pending("UpdateAutoScalingGroup") - s.aws.Pending("ModifyDBInstance")
		// Faults not met in the window are dropped, not carried over.
		s.aws.Clear("UpdateAutoScalingGroup")
		s.aws.Clear("ModifyDBInstance")
		shows = grew("nodegroup_failed", "database_failed")
	case "api conflict", "api forbidden", "api throttled", "api connection cut":
		k := map[string]kubeFault{"api conflict": kubeConflict, "api forbidden": kubeForbidden, "api throttled": kubeThrottle, "api connection cut": kubeHangUp}[f.name]
		total := 0
		for _, p := range s.proxies {
			total += p.count(k)
			p.set(kubePass)
		}
		injected = total - r.injected
		shows = grew("hpa_failed", "hpa_conflict")
	case "leader killed", "leader cut off":
		if f.name == "leader cut off" && s.victim != "" {
			s.proxies[s.victim].set(kubePass)
		}
		var l *daemon
		s.waitFor("a new leader after "+f.name, 30*time.Second, func() bool {
			l = s.leader()
			return l != nil && l.name != s.victim
		})
		shows = append(shows, "prescale_leader 0→1 on the new leader")
		if f.name == "leader cut off" {
			if v, _ := metric(scrape(s.t, s.daemonNamed(s.victim).addr), "prescale_leader"); v != 0 {
				s.t.Errorf("the cut-off instance %s still reports prescale_leader %v", s.victim, v)
			} else {
				shows = append(shows, "1→0 on the cut-off one")
			}
		}
		r.seen++
		r.shows = appendNew(r.shows, shows...)
		return
	}
	r.injected += injected
	if injected > 0 {
		if len(shows) == 0 {
			s.t.Errorf("%s: %d answers injected, and no metric shows it", f.name, injected)
		} else {
			r.seen++
		}
	}
	r.shows = appendNew(r.shows, shows...)
}

// check asserts the invariants at one step.
func (s *soak) check(now time.Time) {
	t := s.t
	t.Helper()
	at := now.Format("Mon 15:04")
	h := s.hpa()
	min, max := int(*h.Spec.MinReplicas), int(h.Spec.MaxReplicas)
	if min < soakOwnerLo {
		t.Errorf("%s: minReplicas %d below the owner's %d", at, min, soakOwnerLo)
	}
	if max != soakOwnerHi {
		t.Errorf("%s: maxReplicas %d, the owner's %d changed", at, max, soakOwnerHi)
	}
	if min > soakAbsurd {
		t.Errorf("%s: minReplicas %d: no forecast of this trace asks for more than %d (an absurd value acted on)", at, min, soakAbsurd)
	}
	if a := h.Annotations[hpa.AnnotationOwnerMin]; a != "" && a != strconv.Itoa(soakOwnerLo) {
		t.Errorf("%s: owner's minReplicas remembered as %q, want %d", at, a, soakOwnerLo)
	}
	s.aws.Lock()
	asg := *s.aws.ASGs["e2e-workers"]
	s.aws.Unlock()
	if asg.Min < 1 || asg.Max != 10 {
		t.Errorf("%s: ASG min %d max %d; the owner's 1..10", at, asg.Min, asg.Max)
	}
	for _, p := range s.proxies {
		p.mu.Lock()
		for _, w := range p.writes {
			s.writes++
			if w.holder != w.daemon {
				t.Errorf("%s: %s wrote %s %s while the Lease was held by %q", at, w.daemon, w.method, w.path, w.holder)
			}
		}
		p.writes = p.writes[:0]
		p.mu.Unlock()
	}
	for _, p := range s.awsProxies {
		p.mu.Lock()
		for _, w := range p.writes {
			s.awsWrites++
			if w.holder != w.daemon {
				t.Errorf("%s: %s called AWS %s while the Lease was held by %q", at, w.daemon, w.method, w.holder)
			}
		}
		p.writes = p.writes[:0]
		p.mu.Unlock()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.heapPeak = maxU(s.heapPeak, m.HeapAlloc)
	if m.HeapAlloc > soakHeap {
		t.Fatalf("%s: heap %d MiB, above the %d MiB bound", at, m.HeapAlloc>>20, soakHeap>>20)
	}
	// At the day's peak, after the morning's faults, the floor covers the
	// demand: the faults were survived, not just endured.
	if now.Hour() == 12 && now.Minute() == 0 {
		if need := e2ePods(e2eDemand(now.Add(e2eLead))); min < need {
			diag := "no leader"
			if l := s.leader(); l != nil {
				fams := scrape(t, l.addr)
				fs, _ := metric(fams, "prescale_fail_static")
				sd, _ := metric(fams, "prescale_stood_down")
				diag = fmt.Sprintf("leader %s: fail_static %v, stood_down %v", l.name, fs, sd)
			}
			s.lost = append(s.lost, fmt.Sprintf("%s: minReplicas %d under the %d pods needed at +%s (%s)", at, min, need, e2eLead, diag))
			t.Errorf("%s: minReplicas %d, want at least the %d pods needed at +%s (%s)", at, min, need, e2eLead, diag)
		}
	}
}

// report logs the fault matrix.
func (s *soak) report(began time.Time) {
	var names []string
	for n := range s.matrix {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	ticks := "no leader"
	if l := s.leader(); l != nil {
		if f := scrape(s.t, l.addr)["prescale_loop_duration_seconds"]; f != nil && len(f.Metric) == 1 && f.Metric[0].Histogram != nil {
			h := f.Metric[0].Histogram
			ticks = fmt.Sprintf("%d ticks of the last leader, mean %.0f ms", h.GetSampleCount(), 1000*h.GetSampleSum()/float64(max(1, h.GetSampleCount())))
		}
	}
	fmt.Fprintf(&b, "fault matrix (%s, %s waiting for ticks; %s; peak heap %d MiB):\n", time.Since(began).Round(time.Second),
		s.stepping.Round(time.Second), ticks, s.heapPeak>>20)
	fmt.Fprintf(&b, "  %-20s %7s %8s %5s  %s\n", "fault", "windows", "injected", "seen", "shown by")
	for _, n := range names {
		r := s.matrix[n]
		fmt.Fprintf(&b, "  %-20s %7d %8d %5d  %s\n", n, r.windows, r.injected, r.seen, strings.Join(r.shows, ", "))
	}
	fmt.Fprintf(&b, "  %d writes of scaled resources reached the API server and %d AWS, each from the Lease's holder\n", s.writes, s.awsWrites)
	if len(s.lost) == 0 {
		b.WriteString("  lost: nothing\n")
	} else {
		fmt.Fprintf(&b, "  lost: %s\n", strings.Join(s.lost, "; "))
	}
	s.t.Log(b.String())
	if f := os.Getenv("PRESCALE_SOAK_REPORT"); f != "" {
		os.WriteFile(f, []byte(b.String()), 0o644)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func appendNew(xs []string, ys ...string) []string {
	for _, y := range ys {
		k := strings.SplitN(y, " +", 2)[0]
		found := false
		for _, x := range xs {
			found = found || strings.SplitN(x, " +", 2)[0] == k
		}
		if !found {
			xs = append(xs, k)
		}
	}
	return xs
}
