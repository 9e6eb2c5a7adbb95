package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prescale/prescale/actuator"
)

// The restore logic itself runs against a real API server in
// actuator/hpa; these tests cover the command's arguments and output.

func TestRestoreUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{name: "help", args: []string{"--help"}, code: exitOK, out: "prescale restore --all --namespace shop"},
		{name: "nothing named", args: nil, code: exitUsage, err: "either NAMESPACE/NAME arguments or --all"},
		{name: "both names and all", args: []string{"--all", "shop/web"}, code: exitUsage, err: "either NAMESPACE/NAME arguments or --all"},
		{name: "bad name", args: []string{"web"}, code: exitUsage, err: `"web": want NAMESPACE/NAME`},
		{name: "namespace without all", args: []string{"--namespace", "shop", "shop/web"}, code: exitUsage, err: "--namespace goes with --all"},
		{name: "bad flag", args: []string{"--bogus"}, code: exitUsage},
		{name: "unreadable kubeconfig", args: []string{"--kubeconfig", filepath.Join(os.TempDir(), "prescale-no-such-kubeconfig"), "shop/web"},
			code: exitFailure, err: "prescale restore: kubeconfig:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runRestore(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stdout %q stderr %q, want %q / %q", stdout.String(), stderr.String(), tt.out, tt.err)
			}
		})
	}
}

func TestRestoreLine(t *testing.T) {
	tests := []struct {
		ch   actuator.Change
		want string
	}{
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "minReplicas", From: "10", To: "2"}, {Field: "annotations", From: "prescale.io/*", To: "removed"}}},
			"restored: minReplicas 10 → 2"},
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "annotations", From: "prescale.io/*", To: "removed"}}},
			"restored: owner's values already in place; annotations removed"},
		{actuator.Change{Status: actuator.WouldApply, Fields: []actuator.FieldChange{{Field: "maxReplicas", From: "40", To: "20"}}}, "would restore: maxReplicas 40 → 20"},
		{actuator.Change{Status: actuator.InSync}, "not changed by prescale: nothing to restore"},
		{actuator.Change{Status: actuator.Failed, Err: errors.New("forbidden")}, "failed: forbidden"},
	}
	for _, tt := range tests {
		if got := restoreLine(tt.ch); got != tt.want {
			t.Errorf("restoreLine(%v) = %q, want %q", tt.ch.Status, got, tt.want)
		}
	}
}
