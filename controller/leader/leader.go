// Package leader elects the one prescale instance that acts, with a
// Kubernetes Lease (coordination.k8s.io/v1) through client-go's
// leaderelection. Every replica runs the loop and keeps its history warm;
// only the holder of the Lease writes HPAs, node groups and tiers, so a
// follower can take over within the lease duration without a cold start.
//
// The package adds three things to client-go's elector. The leading
// function gets a context that ends when leadership ends or the caller
// stops, and the Lease is released only after that function has returned:
// client-go's ReleaseOnCancel alone gives the Lease away while the old
// leader may still be finishing an actuation, and the next leader could
// then act beside it. onStoppedLeading runs only after a term that really
// started, once its leading function has returned. And an instance that
// loses the Lease (a renewal that failed past the deadline) goes back to
// being a candidate instead of exiting, so it stays warm.
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults are client-go's and kube-controller-manager's: a follower takes
// over at most LeaseDuration after the leader's last renewal.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config says which Lease to contend for and how.
type Config struct {
	// Client reaches the API server; only its CoordinationV1 Leases are used.
	Client kubernetes.Interface
	// Namespace and Name of the Lease (the daemon's --lease-namespace,
	// normally its own namespace, and --lease-name).
	Namespace, Name string
	// Identity of this candidate in the Lease's holderIdentity; empty
	// means Identity(). Two live candidates must never share one: both
	// would believe they hold the Lease.
	Identity string
	// LeaseDuration is how long followers wait after the last renewal
	// before taking the Lease; RenewDeadline is how long the leader keeps
	// retrying a renewal before it gives up leading; RetryPeriod is the
	// time between attempts. Zero means the Default* values. client-go
	// requires LeaseDuration > RenewDeadline > 1.2 × RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// SetLeader is told true when this instance starts leading and false
	// once its leading function has returned: the exporter's Leader gauge,
	// e.g. func(b bool) { g.Set(map[bool]float64{false: 0, true: 1}[b]) }.
	// Nil means no report.
	SetLeader func(bool)
	// Logger receives elections and losses; nil means slog.Default().
	Logger *slog.Logger
}

// Identity is the candidate's name: the pod's name from the downward API
// (POD_NAME), unique among live pods of a namespace and stable across a
// container restart, so a restarted leader gets its Lease straight back;
// outside a pod, the host name and process id, unique on a host.
func Identity() (string, error) {
	if p := os.Getenv("POD_NAME"); p != "" {
		return p, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("leader identity: no POD_NAME and no host name: %w", err)
	}
	return host + "_" + strconv.Itoa(os.Getpid()), nil
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Client == nil {
		return c, errors.New("leader election: no Kubernetes client")
	}
	if c.Namespace == "" || c.Name == "" {
		return c, fmt.Errorf("leader election: lease %q in namespace %q: both are required", c.Name, c.Namespace)
	}
	if c.Identity == "" {
		id, err := Identity()
		if err != nil {
			return c, err
		}
		c.Identity = id
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.SetLeader == nil {
		c.SetLeader = func(bool) {}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Run contends for the Lease until ctx is done. While this instance leads,
// onStartedLeading runs with a context that ends when leadership is lost
// or ctx is done; it should return promptly then (finishing or abandoning
// the actuation at hand). Only after it has returned is the Lease released
// (when ctx is done), so a follower takes over at its next retry instead
// of waiting out the lease duration, and then SetLeader(false) and
// onStoppedLeading (may be nil) run.
//
// Losing the Lease makes the instance a candidate again. If
// onStartedLeading returns on its own while still leading, Run releases
// the Lease and returns nil: the caller decides whether that is fatal.
// Run returns an error only for a bad Config.
func Run(ctx context.Context, cfg Config, onStartedLeading func(ctx context.Context), onStoppedLeading func()) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if onStoppedLeading == nil {
		onStoppedLeading = func() {}
	}
	log := cfg.Logger.With("lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
	for {
		t := &term{cfg: cfg, log: log, start: onStartedLeading, stop: onStoppedLeading}
		returnedEarly, err := t.run(ctx)
		if err != nil {
			return err
		}
		if ctx.Err() != nil || returnedEarly {
			return nil
		}
		log.Warn("lost the lease: a candidate again")
	}
}

// term is one run of client-go's elector: acquire, lead until the Lease
// is lost or the caller stops, release.
type term struct {
	cfg   Config
	log   *slog.Logger
	start func(context.Context)
	stop  func()

	mu       sync.Mutex
	stopping bool           // the caller's ctx is done: lead no more
	ended    bool           // client-go's elector has stopped leading
	led      bool           // the leading function was started
	early    bool           // the leading function returned with leadership held
	acting   sync.WaitGroup // the leading function while it runs
	done     chan struct{}  // closed when the leading function returns
}

func (t *term) run(ctx context.Context) (returnedEarly bool, err error) {
	// The elector's context is not ctx: cancelling it releases the Lease,
	// which must wait until the leading function has returned.
	electorCtx, cancelElector := context.WithCancel(context.Background())
	defer cancelElector()
	t.done = make(chan struct{})

	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		t.mu.Lock()
		t.stopping = true
		t.mu.Unlock()
		t.acting.Wait() // the leading context ends with ctx: this returns
		cancelElector()
	}()

	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: t.cfg.Namespace, Name: t.cfg.Name},
		Client:     t.cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: t.cfg.Identity},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            t.cfg.Name,
		LeaseDuration:   t.cfg.LeaseDuration,
		RenewDeadline:   t.cfg.RenewDeadline,
		RetryPeriod:     t.cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leadCtx context.Context) { t.lead(ctx, leadCtx, cancelElector) },
			OnStoppedLeading: t.stopped,
			OnNewLeader: func(id string) {
				if id != t.cfg.Identity {
					t.log.Info("following", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return false, fmt.Errorf("leader election on lease %s/%s: %w", t.cfg.Namespace, t.cfg.Name, err)
	}
	le.Run(electorCtx)
	return t.early, nil
}

// lead runs the leading function with a context that ends with the term
// (leadCtx, client-go's) or with the caller's ctx, whichever comes first.
func (t *term) lead(ctx, leadCtx context.Context, release context.CancelFunc) {
	t.mu.Lock()
	// client-go starts this in a goroutine: the term may already be over.
	if t.stopping || t.ended || leadCtx.Err() != nil {
		t.mu.Unlock()
		return
	}
	t.led = true
	t.acting.Add(1)
	t.mu.Unlock()
	defer t.acting.Done()
	defer close(t.done)

	actCtx, cancel := context.WithCancel(leadCtx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()

	t.log.Info("leading")
	t.cfg.SetLeader(true)
	t.start(actCtx)
	if actCtx.Err() == nil {
		// Still the leader but nothing acts: give the Lease to a follower.
		t.mu.Lock()
		t.early = true
		t.mu.Unlock()
		t.log.Warn("leading function returned while leading: releasing the lease")
		release()
	}
}

// stopped is client-go's OnStoppedLeading, called at the end of every
// elector run, led or not.
func (t *term) stopped() {
	t.mu.Lock()
	t.ended = true
	led := t.led
	t.mu.Unlock()
	if !led {
		return
	}
	<-t.done
	t.cfg.SetLeader(false)
	t.log.Info("stopped leading")
	t.stop()
}
