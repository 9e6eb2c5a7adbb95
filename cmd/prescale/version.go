package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// releaseVersion is the version of this source tree: the Helm chart's
// appVersion (charts/prescale/Chart.yaml, checked by a test). A build from a
// checkout reports it with "-dev" and the commit; a release build sets
// main.version with -ldflags, and `go install ...@vX.Y.Z` reports vX.Y.Z.
const releaseVersion = "0.1.0"

func init() {
	register(command{name: "version", summary: "print prescale's version (the same as in its logs and prescale_build_info)", run: runVersion})
}

// currentVersion is prescale's version: -ldflags main.version when set,
// else the module version from the Go build info (go install ...@vX),
// else releaseVersion-dev with the VCS revision from the build info.
func currentVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	v := releaseVersion + "-dev"
	if ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && len(s.Value) >= 12:
				rev = s.Value[:12]
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = ".dirty"
			}
		}
		if rev != "" {
			v += "+" + rev + dirty
		}
	}
	return v
}

const versionExamples = `  prescale version
  prescale version --json`

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "version [--json]", versionExamples, stdout, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale version: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *asJSON {
		b, _ := json.Marshal(map[string]string{"version": currentVersion(), "goVersion": runtime.Version()})
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	fmt.Fprintf(stdout, "prescale %s (%s)\n", currentVersion(), runtime.Version())
	return exitOK
}
