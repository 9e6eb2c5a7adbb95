package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/sim"
)

// TestMetricsServerPath is the metric path a user runs: metrics-server
// v0.8.0 scrapes kwok's emulated kubelet resource metrics (each pod's CPU
// from its kwok.x-k8s.io/usage-cpu annotation), the aggregator reaches it
// on loopback through an ExternalName Service (localhost) with the front
// proxy's client certificate, as on a cluster, and the real HPA controller
// scales a Deployment on kwok's node from what metrics-server reports.
//
// Pods use 450m of a 300m request (150%) against a 60% target: the HPA
// must read that through metrics-server and scale from 2 to its maximum,
// 6, with the Pods Ready on kwok's node.
func TestMetricsServerPath(t *testing.T) {
	// Each test runs its own control plane and mostly waits on it: run
	// side by side, the package takes as long as its longest test.
	t.Parallel()
	ms := kubetest.Binary(t, "metrics-server", "PRESCALE_METRICS_SERVER", "metrics-server.sh")
	fp := frontProxyCerts(t)
	env := kubetest.StartWith(t, func(e *envtest.Environment) {
		a := e.ControlPlane.GetAPIServer().Configure()
		a.Set("requestheader-client-ca-file", fp.ca)
		a.Set("requestheader-allowed-names", "front-proxy-client")
		a.Set("requestheader-username-headers", "X-Remote-User")
		a.Set("requestheader-group-headers", "X-Remote-Group")
		a.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
		a.Set("proxy-client-cert-file", fp.cert)
		a.Set("proxy-client-key-file", fp.key)
	})
	ctx := context.Background()
	kube := env.Client
	ns := "metrics"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	startScheduler(t, env)
	kwok, _ := startKwok(t, env, 500*time.Millisecond, "testdata/kwok-metrics.yaml")
	createNode(ctx, t, kube, kwok, "kwok-0", 50)

	port := kubetest.FreePort(t)
	msp := kubetest.StartProcess(t, "metrics-server", ms,
		"--kubeconfig="+env.KubeConfig,
		"--authentication-kubeconfig="+env.KubeConfig,
		"--authorization-kubeconfig="+env.KubeConfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+t.TempDir(),
		"--kubelet-insecure-tls",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution=10s",
		"--kubelet-request-timeout=5s", // below the resolution, as metrics-server requires
	)
	registerAPIService(t, env.Config, kube, "metrics.k8s.io", "v1beta1", port)
	kcm := startControllerManager(t, env, "--horizontal-pod-autoscaler-sync-period=2s")

	const app = "busy"
	createWorkload(ctx, t, kube, ns, app, 2, 300, map[string]string{"kwok.x-k8s.io/usage-cpu": "450m"})
	createHPA(ctx, t, kube, ns, app, 2, 6, 0.6, sim.DefaultBehavior())

	mc, err := metricsclient.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	msp.WaitFor(t, "pod metrics through the aggregator", 90*time.Second, func(ctx context.Context) (bool, error) {
		list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil || len(list.Items) < 2 {
			return false, err
		}
		for _, pm := range list.Items {
			var cpu int64
			for _, c := range pm.Containers {
				cpu += c.Usage.Cpu().MilliValue()
			}
			if cpu < 400 || cpu > 500 {
				t.Logf("%s: %dm from metrics-server; want about 450m (kwok's annotation)", pm.Name, cpu)
				return false, nil
			}
		}
		return true, nil
	})
	kcm.WaitFor(t, "the HPA at 6 Ready pods", 90*time.Second, func(ctx context.Context) (bool, error) {
		ready, _, err := podsOf(ctx, kube, ns, app)
		return ready == 6, err
	})
	h, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var util int32 = -1
	for _, m := range h.Status.CurrentMetrics {
		if m.Resource != nil && m.Resource.Current.AverageUtilization != nil {
			util = *m.Resource.Current.AverageUtilization
		}
	}
	t.Logf("HPA: %d desired, CPU at %d%% of request (from metrics-server)", h.Status.DesiredReplicas, util)
	if util < 135 || util > 165 {
		t.Errorf("HPA reads CPU at %d%% of request; want about 150%%", util)
	}
}

type frontProxy struct{ ca, cert, key string }

// frontProxyCerts makes a CA and the aggregator's client certificate
// (front-proxy-client) signed by it, in PEM files.
func frontProxyCerts(t *testing.T) frontProxy {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "front-proxy-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "front-proxy-client"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	fp := frontProxy{ca: filepath.Join(dir, "ca.crt"), cert: filepath.Join(dir, "client.crt"), key: filepath.Join(dir, "client.key")}
	for path, block := range map[string]*pem.Block{
		fp.ca:   {Type: "CERTIFICATE", Bytes: caDER},
		fp.cert: {Type: "CERTIFICATE", Bytes: der},
		fp.key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fp
}
