// Package sim replays a demand trace through a simulated Kubernetes cluster
// under several scaling strategies and measures what each one costs and what
// demand it leaves unserved.
//
// The cluster model is deliberately small but faithful where it matters for
// the comparison: the HorizontalPodAutoscaler arithmetic (hpa.go) follows
// Kubernetes' pkg/controller/podautoscaler (replica calculator, tolerance,
// behaviour policies, stabilisation windows, sync period); metrics arrive
// late, pods take time to start, and pods that do not fit on the nodes wait
// for a node that takes longer still (a Cluster Autoscaler in miniature).
// A pod serves demand only once it is ready; demand above the ready capacity
// is unserved.
//
// Strategies differ only in the floor (minReplicas) they assert on top of the
// HPA: none (reactive), time-of-day floors (schedule), floors planned from a
// forecast (predictive), or perfect foresight (oracle, which bypasses the
// cluster and is the limit the others are measured against).
//
// Everything here is pure computation on in-memory series: no I/O, no clocks.
package sim
