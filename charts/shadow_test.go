package charts_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/internal/promtest"
)

// installStep is one command of the README's Install section: its words
// (continuation lines joined) and the heredoc it feeds, if any.
type installStep struct {
	words []string
	stdin string
}

func (s installStep) String() string { return strings.Join(s.words, " ") }

// readmeInstall returns the commands of the README's Install section, in
// order: the commands a user types once the cluster exists.
func readmeInstall(t *testing.T) []installStep {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Install\n")
	if !ok {
		t.Fatal("README.md has no ## Install section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	_, block, ok := strings.Cut(sec, "```sh\n")
	if !ok {
		t.Fatal("README's Install section has no ```sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	var steps []installStep
	lines := strings.Split(block, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cmd := l
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
		}
		s := installStep{}
		if pre, tag, ok := strings.Cut(cmd, "<<"); ok {
			cmd = strings.TrimSpace(pre)
			end := strings.Trim(strings.TrimSpace(tag), `'"`)
			var body []string
			for i++; i < len(lines) && lines[i] != end; i++ {
				body = append(body, lines[i])
			}
			s.stdin = strings.Join(body, "\n") + "\n"
		}
		for _, w := range strings.Fields(cmd) {
			if strings.ContainsAny(w, `'"$`) {
				t.Fatalf("README Install command %q: quoting or variables this test does not run", cmd)
			}
		}
		s.words = strings.Fields(cmd)
		steps = append(steps, s)
	}
	return steps
}

// The goal of the Install section: at most three commands after the
// cluster exists, and they are the ones TestInstallUninstall runs.
func TestReadmeInstallCommands(t *testing.T) {
	steps := readmeInstall(t)
	for i, s := range steps {
		t.Logf("%d. %s", i+1, s)
	}
	if len(steps) > 3 {
		t.Errorf("the README's Install takes %d commands after the cluster exists; the goal is at most 3", len(steps))
	}
	// The policy of step 2 is also a valid policy file: `prescale
	// validate` and `plan --config` read it as the daemon does.
	if len(steps) > 1 {
		if _, err := config.Parse([]byte(steps[1].stdin), "README.md"); err != nil {
			t.Errorf("the README's Install policy does not validate as a file: %v", err)
		}
	}
	want := []string{"helm install prescale charts/prescale", "kubectl apply -f -", "kubectl get scalingpolicies -A"}
	for i, w := range want {
		if i >= len(steps) || !strings.HasPrefix(steps[i].String(), w) {
			t.Errorf("Install step %d is not %q: %v", i+1, w, steps)
		}
	}
}

// demoDemand is the README policy's demand in the backfilled Prometheus:
// requests per second with a daily peak at 14:00 UTC over a base of 60.
func demoDemand(at time.Time) float64 {
	h := float64(at.Hour()) + float64(at.Minute())/60
	return 60 + 540*math.Exp(-(h-14)*(h-14)/8)
}

// backfilledPrometheus is a real Prometheus holding three days of the
// README policy's series, http_requests_total{app="web"}, up to now,
// scraped every minute.
func backfilledPrometheus(t *testing.T) string {
	t.Helper()
	prom, promtool := promtest.Require(t)
	now := time.Now().Truncate(time.Minute)
	var samples []promtest.Sample
	counter := 0.0
	for at := now.Add(-72 * time.Hour); !at.After(now); at = at.Add(time.Minute) {
		counter += demoDemand(at) * 60
		samples = append(samples, promtest.Sample{Labels: `app="web"`, Time: at.Unix(), Value: counter})
	}
	dir := t.TempDir()
	promtest.Backfill(t, promtool, dir, "http_requests", samples)
	return promtest.Start(t, prom, dir).URL
}

// daemon is prescale run as the chart's Deployment runs it.
type daemon struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

func (d *daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.Write(p)
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// stop sends SIGTERM, as the kubelet does, and waits for the exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("prescale run exited on SIGTERM: %v\n%s", err, d.log())
		}
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Errorf("prescale run did not stop within 60s of SIGTERM\n%s", d.log())
	}
}

// startChartDaemon runs the prescale binary, built from this module, with
// the installed Deployment's args and env, as its ServiceAccount (a
// kubeconfig impersonating it, so only the chart's RBAC applies), with the
// ConfigMaps the chart installed written where the Deployment mounts them,
// and the Prometheus URL replaced by promURL. No kubelet runs here: this is
// what the pod would run.
func startChartDaemon(ctx context.Context, t *testing.T, env *kubetest.Env, promURL string) *daemon {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "prescale")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/prescale/prescale/cmd/prescale").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/prescale: %v\n%s", err, out)
	}
	dep, err := env.Client.AppsV1().Deployments("prescale").Get(ctx, "prescale", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]

	// The mounts: each ConfigMap volume's data, written where it is mounted.
	mounts := map[string]string{} // mount path in the pod → local path
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, err := env.Client.CoreV1().ConfigMaps("prescale").Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			local := filepath.Join(dir, v.Name)
			if err := os.MkdirAll(local, 0o755); err != nil {
				t.Fatal(err)
			}
			for k, body := range cm.Data {
				if k == "prometheus.yaml" {
					body = strings.Replace(body, "http://prometheus-operated.monitoring.svc:9090", promURL, 1)
					if !strings.Contains(body, promURL) {
						t.Fatalf("the chart's prometheus.yaml has not the README's URL:\n%s", body)
					}
				}
				if err := os.WriteFile(filepath.Join(local, k), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if m.SubPath != "" {
				local = filepath.Join(local, m.SubPath)
			}
			mounts[m.MountPath] = local
		}
	}
	podEnv := map[string]string{"POD_NAMESPACE": "prescale", "POD_NAME": "prescale-0", "POD_UID": ""}
	var args []string
	for _, a := range c.Args {
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case name == "--listen":
			val = "127.0.0.1:0"
		case hasVal && strings.HasPrefix(val, "/"):
			local, ok := mounts[val]
			if !ok {
				t.Fatalf("the Deployment's %s names a path no ConfigMap is mounted at", a)
			}
			val = local
		case strings.Contains(val, "$(POD_NAMESPACE)"):
			val = strings.ReplaceAll(val, "$(POD_NAMESPACE)", podEnv["POD_NAMESPACE"])
		}
		if hasVal {
			a = name + "=" + val
		}
		args = append(args, a)
	}
	args = append(args, "--kubeconfig="+impersonating(t, env.KubeConfig, "system:serviceaccount:prescale:"+pod.ServiceAccountName))

	d := &daemon{done: make(chan error, 1)}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range podEnv {
		d.cmd.Env = append(d.cmd.Env, k+"="+v)
	}
	d.cmd.Stdout, d.cmd.Stderr = d, d
	t.Logf("the Deployment's command, run here: prescale %s", strings.Join(args, " "))
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
		}
	})
	return d
}

// impersonating writes a copy of kubeconfig whose user acts as user (a
// ServiceAccount) and returns its path.
func impersonating(t *testing.T, kubeconfig, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ns := strings.Split(user, ":")[2]
	for _, a := range cfg.AuthInfos {
		a.Impersonate = user
		a.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig-sa")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// webWorkload is the HPA the README's policy names, shop/web, with its
// Deployment (no pods run: there is no kubelet): the owner's min 2, max 20.
func webWorkload(ctx context.Context, t *testing.T, env *kubetest.Env) {
	t.Helper()
	labels := map[string]string{"app": "web"}
	two := int32(2)
	if _, err := env.Client.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers("shop").Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &two, MaxReplicas: 20,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// shadowStatus waits until the daemon has planned the README's policy from
// forecasts (status Ready, written by prescale's ServiceAccount) and
// returns the object.
func shadowStatus(ctx context.Context, t *testing.T, dyn dynamic.Interface, d *daemon) *unstructured.Unstructured {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		u, err := dyn.Resource(scalingPolicies).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if c := c.(map[string]any); c["type"] == "Ready" && c["status"] == "True" {
				return u
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ScalingPolicy not Ready (planned from forecasts) 3 minutes after prescale started: %v\nprescale's log:\n%s", u.Object["status"], d.log())
		}
		time.Sleep(time.Second)
	}
}

// kubectlGet is the README's step 3: kubectl itself when it is on PATH
// (as the user runs it), and the API server's table printed as kubectl
// prints it either way.
func kubectlGet(ctx context.Context, t *testing.T, env *kubetest.Env, step installStep) string {
	t.Helper()
	tab, err := kubetest.Table(ctx, env.Config, "/apis/prescale.io/v1alpha1/scalingpolicies")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (the API server's table)\n%s", step, tab)
	if bin, err := exec.LookPath(step.words[0]); err == nil {
		out, err := exec.CommandContext(ctx, bin, append(step.words[1:], "--kubeconfig="+env.KubeConfig)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out)
		}
		t.Logf("%s (%s)\n%s", step, bin, out)
		return string(out)
	}
	return tab
}

// The daemon's first plans in shadow, on the cluster the README's first two
// steps made: status and Events written with the chart's RBAC, the HPA not
// touched, and `kubectl get scalingpolicies -A` showing it.
func checkShadow(ctx context.Context, t *testing.T, env *kubetest.Env, dyn dynamic.Interface, step installStep) {
	t.Helper()
	webWorkload(ctx, t, env)
	d := startChartDaemon(ctx, t, env, backfilledPrometheus(t))
	u := shadowStatus(ctx, t, dyn, d)
	out := kubectlGet(ctx, t, env, step)
	if got := columns(out, "shop"); got["NAME"] != "web" || got["MODE"] != "shadow" || got["TARGETS"] != "1" || got["ACCEPTED"] != "True" {
		t.Errorf("kubectl get scalingpolicies -A: want shop/web shadow, 1 target, accepted; got %v\n%s", got, out)
	}
	st, _, _ := unstructured.NestedMap(u.Object, "status")
	t.Logf("status: %v", st)

	// Shadow: the owner's HPA is as it was, and nothing of prescale's is on it.
	h, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 20 || len(h.Annotations) != 0 {
		t.Errorf("in shadow prescale changed the HPA: min %d max %d annotations %v", *h.Spec.MinReplicas, h.Spec.MaxReplicas, h.Annotations)
	}
	for _, m := range h.ManagedFields {
		if m.Manager == "prescale" {
			t.Errorf("in shadow prescale wrote the HPA: %+v", m)
		}
	}
	evs, err := env.Client.CoreV1().Events("shop").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ScalingPolicy,involvedObject.name=web"})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range evs.Items {
		reasons = append(reasons, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message))
	}
	t.Logf("Events on the ScalingPolicy:\n  %s", strings.Join(reasons, "\n  "))
	if len(reasons) == 0 {
		t.Error("no Event on the ScalingPolicy (its acceptance is one)")
	}
	d.stop(t)
	for _, l := range strings.Split(d.log(), "\n") {
		if strings.Contains(l, "forbidden") {
			t.Errorf("the chart's RBAC refused a call of prescale run: %s", l)
		}
	}
}

// columns reads the row of a kubectl table whose first cell is first, by
// the header's column positions (kubectl leaves empty strings blank).
func columns(table, first string) map[string]string {
	lines := strings.Split(table, "\n")
	if len(lines) < 2 {
		return nil
	}
	head := lines[0]
	var starts []int
	var names []string
	for i := 0; i < len(head); i++ {
		if head[i] != ' ' && (i == 0 || (i >= 2 && head[i-1] == ' ' && head[i-2] == ' ')) {
			starts = append(starts, i)
			j := strings.Index(head[i:], "  ")
			if j < 0 {
				j = len(head) - i
			}
			names = append(names, head[i:i+j])
		}
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, first+" ") {
			continue
		}
		row := map[string]string{}
		for k, s := range starts {
			end := len(l)
			if k+1 < len(starts) && starts[k+1] < end {
				end = starts[k+1]
			}
			if s < len(l) {
				row[names[k]] = strings.TrimSpace(l[s:end])
			}
		}
		return row
	}
	return nil
}
