// Package e2e holds the tests that run prescale's view of scaling against
// the real Kubernetes controllers: kube-controller-manager's HPA,
// Deployment and ReplicaSet controllers beside the suite's kube-apiserver
// (envtest), with the metrics API served on loopback through the API
// server's aggregator. The package has no code of its own.
package e2e
