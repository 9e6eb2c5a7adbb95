// Package sim replays a demand trace through a simulated Kubernetes cluster
// under several scaling strategies and measures what each one costs and what
// demand it leaves unserved: the instrument behind `prescale backtest`.
//
// # The cluster
//
// Demand is put on a 1-minute grid (Resample: a coarser sample is held over
// its interval; gaps up to 15 minutes hold the last value, longer gaps are
// left out of every metric). Each pod serves Capacity at 100%; the HPA
// (hpa.go) follows Kubernetes' pkg/controller/podautoscaler: the replica
// calculator with its tolerance and its conservative treatment of unready
// pods and pods without metrics, the behaviour policies and stabilisation
// windows, one sync every 15 s. Its metric is the demand of one metrics lag
// ago spread over the pods ready then; a pod ready for less than the lag has
// no metric yet. A new pod is ready a pod start after it is placed on a
// node; pods that do not fit wait for a node the cluster autoscaler asks
// for, ready a node start later; a node unneeded for 10 minutes goes. A pod
// serves only when ready; demand above ready capacity is unserved.
//
// # The strategies
//
// Strategies differ only in the floor (minReplicas) they assert on top of
// the HPA, re-read every minute: none (Reactive), time-of-day floors from
// the trace's past daily profile (SchedulePlanner), floors from a quantile
// of forecast demand a lead time ahead (ForecastPlanner, refitted every 15
// simulated minutes on the past only), or the policy engine's plan
// (PolicyPlanner). Floors go up at once and come down along a limit. The
// oracle (RunOracle) has exactly the pods demand needs, ready every minute:
// the limit the others are measured against.
//
// # The metrics
//
// Over the evaluated span (after a warm-up every strategy runs through):
// unserved demand over total demand, minutes with demand above ready
// capacity, pod-hours of pods placed on nodes, node-hours, and changes to
// the workload's replicas.
//
// Everything here is pure computation on in-memory series: no I/O, no
// clocks. Plots are drawn by the sibling package simplot.
package sim
