package main

// The soak's fault injectors: reverse proxies in front of the real
// Prometheus and the real kube-apiserver that pass requests through, or
// answer what a broken dependency answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// promFault is what the Prometheus proxy does to query answers.
type promFault string

const (
	promPass    promFault = ""
	promDown    promFault = "down"    // the real server stopped: connections fail
	prom5xx     promFault = "5xx"     // 503 with Prometheus' error body
	promGarbage promFault = "garbage" // 200 with a body that is not JSON
	promNaN     promFault = "nan"     // the real answer, every value NaN or ±Inf
	promAbsurd  promFault = "absurd"  // the real answer, every value 1e300
)

// promProxy sits between the daemons and the real Prometheus.
type promProxy struct {
	url      string
	upstream *url.URL
	rp       *httputil.ReverseProxy

	mu       sync.Mutex
	fault    promFault
	injected map[promFault]int // answers changed, by fault
}

func newPromProxy(t *testing.T, upstream string) *promProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &promProxy{upstream: u, rp: httputil.NewSingleHostReverseProxy(u), injected: map[promFault]int{}}
	// The real server stopped: the daemons see a connection cut, as they
	// would see the server itself gone (not the proxy's 502).
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { hangUp(w) }
	p.rp.ModifyResponse = p.modify
	p.url = serveOn(t, http.HandlerFunc(p.serve))
	return p
}

func (p *promProxy) set(f promFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

func (p *promProxy) count(f promFault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected[f]
}

func (p *promProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.fault
	if f != promPass {
		p.injected[f]++
	}
	p.mu.Unlock()
	switch f {
	case prom5xx:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"error","errorType":"unavailable","error":"soak: injected 503"}`)
	case promGarbage:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "\x00\x01<html>not prometheus</html>{\"status\":")
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// modify rewrites every sample value of an answer under promNaN and
// promAbsurd.
func (p *promProxy) modify(resp *http.Response) error {
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	if (f != promNaN && f != promAbsurd) || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		if data, ok := doc["data"].(map[string]any); ok {
			results, _ := data["result"].([]any)
			n := 0
			for _, r := range results {
				m, _ := r.(map[string]any)
				if vals, ok := m["values"].([]any); ok {
					for _, v := range vals {
						if pair, ok := v.([]any); ok && len(pair) == 2 {
							pair[1] = badValue(f, n)
							n++
						}
					}
				}
				if pair, ok := m["value"].([]any); ok && len(pair) == 2 {
					pair[1] = badValue(f, n)
					n++
				}
			}
			body, _ = json.Marshal(doc)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
	return nil
}

func badValue(f promFault, i int) string {
	if f == promAbsurd {
		return "1e300"
	}
	return []string{"NaN", "+Inf", "-Inf"}[i%3]
}

// kubeFault is what a daemon's API server proxy answers to its writes of
// the resources it scales (Leases, Events and reads pass).
type kubeFault string

const (
	kubePass      kubeFault = ""
	kubeConflict  kubeFault = "conflict"  // 409, as for an apply conflict or a stale resourceVersion
	kubeForbidden kubeFault = "forbidden" // 403, as when RBAC is missing
	kubeThrottle  kubeFault = "throttle"  // 429 without Retry-After: the API server's priority and fairness refusing
	kubeHangUp    kubeFault = "hangup"    // the connection cut before an answer
	kubeCut       kubeFault = "cut"       // every request cut, Leases too: the instance partitioned away
)

// write is one write of a scaled resource that reached the proxy.
type write struct {
	daemon, method, path, holder string
	at                           time.Time
}

// kubeProxy is one daemon's way to the real kube-apiserver: plain HTTP in
// front, the test's admin credentials behind.
type kubeProxy struct {
	url, daemon string
	rp          *httputil.ReverseProxy
	lease       func() string // the Lease's holder now

	mu       sync.Mutex
	fault    kubeFault
	injected map[kubeFault]int
	writes   []write
}

func newKubeProxy(t *testing.T, cfg *rest.Config, daemon string, lease func() string) *kubeProxy {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	p := &kubeProxy{daemon: daemon, lease: lease, injected: map[kubeFault]int{}}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.Transport = tr
	p.rp.FlushInterval = -1
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { hangUp(w) }
	p.url = serveOn(t, http.HandlerFunc(p.serve))
	return p
}

func (p *kubeProxy) set(f kubeFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
}

func (p *kubeProxy) count(f kubeFault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected[f]
}

// scaledWrite: a write of something prescale scales (not its Lease, nor
// an Event about it).
func scaledWrite(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	return !strings.Contains(r.URL.Path, "/leases") && !strings.Contains(r.URL.Path, "/events")
}

func (p *kubeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	if f == kubeCut {
		p.inject(f)
		hangUp(w)
		return
	}
	if !scaledWrite(r) {
		p.rp.ServeHTTP(w, r)
		return
	}
	if f == kubePass {
		// The write goes through: record who holds the Lease as it does.
		p.mu.Lock()
		p.writes = append(p.writes, write{daemon: p.daemon, method: r.Method, path: r.URL.Path, holder: p.lease(), at: time.Now()})
		p.mu.Unlock()
		p.rp.ServeHTTP(w, r)
		return
	}
	p.inject(f)
	status := map[kubeFault]struct {
		code   int
		reason metav1.StatusReason
	}{
		kubeConflict:  {http.StatusConflict, metav1.StatusReasonConflict},
		kubeForbidden: {http.StatusForbidden, metav1.StatusReasonForbidden},
		kubeThrottle:  {http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests},
	}
	s, ok := status[f]
	if !ok {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.code)
	json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Code: int32(s.code), Reason: s.reason, Message: "soak: injected " + string(f)})
}

func (p *kubeProxy) inject(f kubeFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.injected[f]++
}

// kubeconfig writes a kubeconfig that reaches the API server through p.
func (p *kubeProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: soak, cluster: {server: %q}}]
contexts: [{name: soak, context: {cluster: soak, user: soak}}]
current-context: soak
users: [{name: soak, user: {}}]
`, p.url)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// leaseHolder reads the Lease's holder straight from the API server.
func leaseHolder(client kubernetes.Interface, ns, name string) func() string {
	return func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l, err := client.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
}

// hangUp cuts the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// serveOn serves h on a free loopback port until the test ends.
func serveOn(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// awsProxy is one daemon's way to the AWS wire server: it records the
// writes (every query-protocol action but Describe*) with the Lease's
// holder as each arrives, and passes everything through.
type awsProxy struct {
	url, daemon string
	rp          *httputil.ReverseProxy
	lease       func() string

	mu     sync.Mutex
	writes []write
}

func newAWSProxy(t *testing.T, upstream, daemon string, lease func() string) *awsProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &awsProxy{daemon: daemon, lease: lease, rp: httputil.NewSingleHostReverseProxy(u)}
	p.url = serveOn(t, http.HandlerFunc(p.serve))
	return p
}

func (p *awsProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		hangUp(w)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if form, err := url.ParseQuery(string(body)); err == nil {
		if a := form.Get("Action"); a != "" && !strings.HasPrefix(a, "Describe") {
			p.mu.Lock()
			p.writes = append(p.writes, write{daemon: p.daemon, method: a, path: "aws", holder: p.lease(), at: time.Now()})
			p.mu.Unlock()
		}
	}
	p.rp.ServeHTTP(w, r)
}
