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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator/aws/awstest"
	"github.com/prescale/prescale/actuator/live"
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
// real API server, the AWS wire server through the real SDK), and no
// write request leaves: counted at a proxy in front of the API server and
// at the AWS server.
func TestPlanLiveReadOnly(t *testing.T) {
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
	ps := promtest.Start(t, prom, dir)

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

	counter2 := newMethodCounter(t, env.Config)
	aws := awstest.New()
	t.Cleanup(aws.Close)
	aws.ASGs["e2e-workers"] = &awstest.ASG{Min: 1, Max: 10, Desired: 1}
	aws.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": aws.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDPLAN", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": ""} {
		t.Setenv(k, v)
	}
	pol := filepath.Join(t.TempDir(), "shop.yaml")
	writeFile(t, pol, fmt.Sprintf(e2ePolicy, ns))

	var out, errb bytes.Buffer
	code := dispatch(context.Background(), []string{"plan", "--config", pol, "--prometheus-url", ps.URL, "--kubeconfig", counter2.kubeconfig(t),
		"--at", end.Format(time.RFC3339), "--json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	t.Logf("stderr: %s", errb.String())
	var plan planOutput
	if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var floor, asg bool
	for _, r := range plan.Resources {
		switch {
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
	if !floor || !asg {
		t.Errorf("plan lacks the HPA floor or the node group: %s", out.String())
	}

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
