package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of a control-plane part beside the API server
// (kube-controller-manager, kube-scheduler: scripts/kube-control-plane.sh
// puts them in KUBEBUILDER_ASSETS' folder) or named by env (kwok,
// metrics-server: PRESCALE_KWOK, PRESCALE_METRICS_SERVER). When it is
// missing the test is skipped with the script that provides it, unless
// PRESCALE_REQUIRE_REAL_PARTS=1 (scripts/test.sh, CI), where it fails.
func Binary(tb testing.TB, name, env, script string) string {
	tb.Helper()
	path := ""
	if env != "" {
		path = os.Getenv(env)
	}
	if path == "" {
		dir := os.Getenv("KUBEBUILDER_ASSETS")
		if dir == "" {
			dir = defaultAssets()
		}
		if env != "" {
			dir = filepath.Join(filepath.Dir(dir), strings.TrimSuffix(filepath.Base(script), ".sh"))
		}
		path = filepath.Join(dir, name)
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("%s not found at %s: run scripts/%s (scripts/test.sh does)", name, path, script)
		if env != "" {
			msg = fmt.Sprintf("%s not found at %s: run export %s=\"$(scripts/%s)\" (scripts/test.sh does)", name, path, env, script)
		}
		if os.Getenv("PRESCALE_REQUIRE_REAL_PARTS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return path
}

// Process is a control-plane part started for one test.
type Process struct {
	Name string
	Log  string // its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// StartProcess starts a binary for the test with its output in a log file,
// and stops it (SIGTERM, then SIGKILL after 10 s) when the test ends. When
// the test fails, the last lines of the log are printed. With
// PRESCALE_KEEP_LOGS set to a folder, the log is written there (named after
// the test and the process) and kept.
func StartProcess(tb testing.TB, name, path string, args ...string) *Process {
	tb.Helper()
	logPath := filepath.Join(tb.TempDir(), name+".log")
	if keep := os.Getenv("PRESCALE_KEEP_LOGS"); keep != "" {
		logPath = filepath.Join(keep, strings.ReplaceAll(tb.Name(), "/", "_")+"-"+name+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".log")
	}
	f, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		tb.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("%s log (last lines):\n%s", name, p.Tail(40))
		}
	})
	return p
}

// Exited reports whether the process ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// Tail is the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// WaitFor polls cond every 100 ms until it is true, the process exits
// (which fails the test with its log) or the timeout passes.
func (p *Process) WaitFor(tb testing.TB, what string, timeout time.Duration, cond func(context.Context) (bool, error)) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		if exited, err := p.Exited(); exited {
			tb.Fatalf("%s exited (%v) before %s:\n%s", p.Name, err, what, p.Tail(40))
		}
		ok, err := cond(ctx)
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s: no %s within %s (last error: %v):\n%s", p.Name, what, timeout, last, p.Tail(40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePort returns a loopback TCP port free at the time of the call.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
