package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator/aws/awstest"
	"github.com/prescale/prescale/actuator/keda"
	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/internal/promtest"
)

// methodCounter is a loopback TLS proxy in front of the test API server
// that counts the requests reaching it by method: what leaves a client.
type methodCounter struct {
	mu     sync.Mutex
	counts map[string]int
	writes []string
	srv    *httptest.Server
}

func newMethodCounter(t *testing.T, cfg *rest.Config) *methodCounter {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &methodCounter{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.counts[r.Method]++
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			m.writes = append(m.writes, r.Method+" "+r.URL.Path)
		}
		m.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// kubeconfig is a kubeconfig that reaches the API server through the proxy.
func (m *methodCounter) kubeconfig(t *testing.T) string {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kc, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: test, user: {}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
`, m.srv.URL))
	return kc
}

// `prescale plan --prometheus-url --kubeconfig` plans a policy in mode
// active from real forecasts (a real Prometheus) and the live state (the
// real API server: an HPA and a KEDA ScaledObject; the AWS wire server
// through the real SDK: an ASG, an RDS instance, an ElastiCache
// replication group), each read live where it differs from the policy, and no
// write request leaves: counted at a proxy in front of the API server and
// at the AWS server.
func TestPlanLiveReadOnly(t *testing.T) {
	ps, end := livePrometheus(t)

	env := kubetest.Start(t)
	ns := "shop"
	if _, err := env.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createWeb(t, env, ns) // minReplicas 2, maxReplicas 30
	// The owner raised the floor to 3 since the policy was written: the
	// plan must read it.
	h, _ := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
	three := int32(3)
	h.Spec.MinReplicas = &three
	if _, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(context.Background(), h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
	// A KEDA target: the ScaledObject's owner has its floor at 4.
	so := liveScaledObject(t, env, ns)

	counter2 := newMethodCounter(t, env.Config)
	aws := awstest.New()
	t.Cleanup(aws.Close)
	aws.ASGs["e2e-workers"] = &awstest.ASG{Min: 1, Max: 10, Desired: 1}
	aws.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	// The cache runs a tier above the policy's current: the plan reads it.
	aws.Caches["sessions"] = &awstest.ReplicationGroup{NodeType: "cache.r5.xlarge", Status: "available"}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": aws.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDPLAN", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": ""} {
		t.Setenv(k, v)
	}
	pol := filepath.Join(t.TempDir(), "shop.yaml")
	writeFile(t, pol, livePolicy(ns))

	var out, errb bytes.Buffer
	code := dispatch(context.Background(), []string{"plan", "--config", pol, "--prometheus-url", ps.URL, "--kubeconfig", counter2.kubeconfig(t),
		"--at", end.Format(time.RFC3339), "--json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("stderr: %s", errb.String())
	if strings.Contains(errb.String(), "unread") {
		t.Errorf("the live plan did not read every resource: %s", errb.String())
	}
	var plan planOutput
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var floor, asg, keda, cache bool
	for _, r := range plan.Resources {
		switch {
		case r.Kind == "hpa" && r.Field == "minReplicas" && r.Target == "tickets":
			keda = true
			if fmt.Sprint(r.Current) != "4" {
				t.Errorf("tickets minReplicas current %v, want the live ScaledObject's minReplicaCount 4", r.Current)
			}
		case r.Kind == "cache" && r.Field == "nodeType":
			cache = true
			if fmt.Sprint(r.Current) != "cache.r5.xlarge" {
				t.Errorf("cache current %v, want the live replication group's cache.r5.xlarge", r.Current)
			}
		case r.Kind == "hpa" && r.Field == "minReplicas":
			floor = true
			if fmt.Sprint(r.Current) != "3" {
				t.Errorf("minReplicas current %v, want the live HPA's 3", r.Current)
			}
			if !strings.Contains(strings.Join(r.Reasons, " "), "forecast") {
				t.Errorf("minReplicas reasons %q: want the forecast's", r.Reasons)
			}
		case r.Kind == "nodegroup":
			asg = true
			if fmt.Sprint(r.Current) != "1" {
				t.Errorf("node group current %v, want the ASG's MinSize 1", r.Current)
			}
		}
	}
	if !floor || !asg || !keda || !cache {
		t.Errorf("plan lacks the HPA floor (%v), the node group (%v), the ScaledObject's floor (%v) or the cache (%v): %s", floor, asg, keda, cache, out.String())
	}
	// What a user reads: the same plan as a table.
	var human, herr bytes.Buffer
	if code := dispatch(context.Background(), []string{"plan", "--config", pol, "--prometheus-url", ps.URL, "--kubeconfig", counter2.kubeconfig(t),
		"--at", end.Format(time.RFC3339), "--impact=false"}, &human, &herr); code != exitOK {
		t.Fatalf("exit %d: %s", code, herr.String())
	}
	t.Logf("prescale plan --config shop.yaml --prometheus-url %s --kubeconfig FILE --at %s --impact=false\n%s", ps.URL, end.Format(time.RFC3339), human.String())

	counter2.mu.Lock()
	gets, writes := counter2.counts[http.MethodGet], counter2.writes
	counter2.mu.Unlock()
	if gets == 0 || len(writes) > 0 {
		t.Errorf("API server saw %d GETs and writes %v: want reads only", gets, writes)
	}
	reqs := aws.Requests()
	if len(reqs) == 0 {
		t.Error("no AWS request: the node group and the database were not read")
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.Action, "Describe") {
			t.Errorf("AWS request %s: want Describe* only", r.Action)
		}
	}
	after, _ := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the HPA changed: resourceVersion %s → %s", before.ResourceVersion, after.ResourceVersion)
	}
	if so2 := getScaledObject(t, env, ns); so2.GetResourceVersion() != so.GetResourceVersion() {
		t.Errorf("the ScaledObject changed: resourceVersion %s → %s", so.GetResourceVersion(), so2.GetResourceVersion())
	}

	// By construction: the read-only clients refuse a write before it is
	// sent, whatever code calls them.
	ro, err := kubernetes.NewForConfig(live.ReadOnlyKube(&rest.Config{Host: counter2.srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ro.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(context.Background(), after, metav1.UpdateOptions{})
	if !errors.Is(err, live.ErrReadOnly) {
		t.Errorf("update through the read-only client: %v, want ErrReadOnly", err)
	}
	cfg := live.ReadOnlyAWS(sdkaws.Config{Region: "us-east-1", BaseEndpoint: sdkaws.String(aws.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	_, err = autoscaling.NewFromConfig(cfg).UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: sdkaws.String("e2e-workers"), MinSize: sdkaws.Int32(5)})
	if !errors.Is(err, live.ErrReadOnly) {
		t.Errorf("UpdateAutoScalingGroup through the read-only config: %v, want ErrReadOnly", err)
	}
	counter2.mu.Lock()
	defer counter2.mu.Unlock()
	if len(counter2.writes) > 0 || len(aws.Requests("UpdateAutoScalingGroup")) > 0 {
		t.Errorf("a refused write left: API server %v, AWS %d updates", counter2.writes, len(aws.Requests("UpdateAutoScalingGroup")))
	}
}

// livePolicy is the e2e policy with a KEDA target (ScaledObject tickets,
// min 2 max 20 in the policy) and a cache, so that the live plan reads
// every kind of current state.
func livePolicy(ns string) string {
	p := fmt.Sprintf(e2ePolicy, ns)
	p = strings.Replace(p, "\n  nodeGroups:\n", `
    - name: tickets
      signals:
        demand:
          query: sum(rate(http_requests_total{job="web"}[5m]))
          step: 5m
      capacity:
        perPod: 100
        leadTime: 15m
        window: 10m
      hpa:
        namespace: `+ns+`
        scaledObject: tickets
        mode: active
        minReplicas: 2
        maxReplicas: 20
      cache: sessions
  caches:
    - name: sessions
      identifier: sessions
      region: us-east-1
      current: cache.r5.large
      tiers:
        - {class: cache.r5.large, capacity: 50000}
        - {class: cache.r5.xlarge, capacity: 100000}
  nodeGroups:
`, 1)
	return p
}

// liveScaledObject creates KEDA's CRD (scripts/keda-crds.sh) and the
// ScaledObject tickets in ns with the owner's minReplicaCount 4.
func liveScaledObject(t *testing.T, env *kubetest.Env, ns string) *unstructured.Unstructured {
	t.Helper()
	dir := os.Getenv("PRESCALE_KEDA_CRDS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "keda", "crd")
	}
	if err := kubetest.InstallCRD(env.Config, filepath.Join(dir, "keda.sh_scaledobjects.yaml")); err != nil {
		t.Fatalf("%v (run: export PRESCALE_KEDA_CRDS=\"$(scripts/keda-crds.sh)\"; scripts/test.sh does it)", err)
	}
	so := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": "tickets", "namespace": ns},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "tickets"}, "minReplicaCount": int64(4), "maxReplicaCount": int64(20),
			"triggers": []any{map[string]any{"type": "rabbitmq", "metadata": map[string]any{"queueName": "orders", "mode": "QueueLength", "value": "50", "hostFromEnv": "RABBITMQ_HOST"}}}},
	}}
	got, err := dynamic.NewForConfigOrDie(env.Config).Resource(keda.ScaledObjects).Namespace(ns).Create(context.Background(), so, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func getScaledObject(t *testing.T, env *kubetest.Env, ns string) *unstructured.Unstructured {
	t.Helper()
	so, err := dynamic.NewForConfigOrDie(env.Config).Resource(keda.ScaledObjects).Namespace(ns).Get(context.Background(), "tickets", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return so
}

// livePrometheus is a real Prometheus holding three days and eleven hours
// of the e2e trace as http_requests_total{job="web"}; end is its last
// sample.
func livePrometheus(t *testing.T) (*promtest.Server, time.Time) {
	t.Helper()
	prom, promtool := promtest.Require(t)
	end := e2eDay0.Add(3*24*time.Hour + 11*time.Hour)
	var samples []promtest.Sample
	var counter float64
	for at := e2eDay0; !at.After(end); at = at.Add(time.Minute) {
		samples = append(samples, promtest.Sample{Labels: `job="web"`, Time: at.Unix(), Value: counter})
		counter += e2eDemand(at) * e2eNoise(at.Unix()/60) * 60
	}
	dir := t.TempDir()
	promtest.Backfill(t, promtool, dir, "http_requests", samples)
	return promtest.Start(t, prom, dir), end
}

// `prescale plan --prometheus-url --kubeconfig` without --config plans
// the cluster's ScalingPolicies (what a user who installed from the README
// has), decoded as the daemon decodes them: one it would refuse (an HPA in
// another namespace) is a warning and is not planned; reads only.
func TestPlanLiveScalingPolicies(t *testing.T) {
	ps, end := livePrometheus(t)
	env := kubetest.Start(t)
	if err := kubetest.InstallCRD(env.Config, "../../deploy/crd/prescale.io_scalingpolicies.yaml"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{"shop", "other"} {
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	createWeb(t, env, "shop") // minReplicas 2, maxReplicas 30
	dyn := dynamic.NewForConfigOrDie(env.Config)
	policy := func(ns, name, hpaNS string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "prescale.io/v1alpha1", "kind": "ScalingPolicy",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"targets": []any{map[string]any{
				"name":     "web",
				"signals":  map[string]any{"demand": map[string]any{"query": `sum(rate(http_requests_total{job="web"}[5m]))`, "step": "5m"}},
				"capacity": map[string]any{"perPod": int64(100), "leadTime": "15m", "window": "10m"},
				"hpa":      map[string]any{"namespace": hpaNS, "name": "web", "maxReplicas": int64(30)},
			}}},
		}}
	}
	for _, u := range []*unstructured.Unstructured{policy("shop", "web", "shop"), policy("other", "sneaky", "shop")} {
		if _, err := dyn.Resource(v1alpha1.Resource).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	counter := newMethodCounter(t, env.Config)
	var out, errb bytes.Buffer
	code := dispatch(ctx, []string{"plan", "--prometheus-url", ps.URL, "--kubeconfig", counter.kubeconfig(t), "--no-aws",
		"--at", end.Format(time.RFC3339), "--impact=false"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("prescale plan --prometheus-url URL --kubeconfig FILE --at %s\n%s%s", end.Format(time.RFC3339), out.String(), errb.String())
	if !strings.Contains(out.String(), "web hpa shop/web minReplicas: 2 → ") || !strings.Contains(out.String(), "forecast p90 demand") {
		t.Errorf("no forecast floor for shop/web in:\n%s", out.String())
	}
	if strings.Contains(out.String(), "sneaky") || !strings.Contains(errb.String(), "scalingpolicy other/sneaky: not planned") ||
		!strings.Contains(errb.String(), "outside the policy's namespace other") {
		t.Errorf("the policy the daemon refuses: stdout %q, stderr %q", out.String(), errb.String())
	}
	counter.mu.Lock()
	writes := counter.writes
	counter.mu.Unlock()
	if len(writes) > 0 {
		t.Errorf("writes reached the API server: %v", writes)
	}

	// Usage: --namespace picks one namespace; it needs the cluster's policies.
	out.Reset()
	errb.Reset()
	if code := dispatch(ctx, []string{"plan", "--prometheus-url", ps.URL, "--kubeconfig", counter.kubeconfig(t), "--no-aws", "--namespace", "other",
		"--at", end.Format(time.RFC3339), "--impact=false"}, &out, &errb); code != exitFailure || !strings.Contains(errb.String(), "no ScalingPolicy the daemon would accept") {
		t.Errorf("only the refused policy's namespace: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := dispatch(ctx, []string{"plan", "--config", "../../deploy/examples/shop-black-friday.yaml", "--namespace", "shop"}, &out, &errb); code != exitUsage {
		t.Errorf("--namespace with --config: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := dispatch(ctx, []string{"plan"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--config is required, or --prometheus-url") {
		t.Errorf("plan alone: exit %d, %s", code, errb.String())
	}
}
