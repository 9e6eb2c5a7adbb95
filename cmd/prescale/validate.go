package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prescale/prescale/config"
)

func init() {
	register(command{name: "validate", summary: "check policy files: one line per problem, FILE:LINE:COL", run: runValidate})
}

const validateExamples = `  prescale validate deploy/examples/shop-black-friday.yaml
  prescale validate deploy/examples/          # every *.yaml and *.yml in the directory`

// runValidate loads every file (or directory) given and prints each problem
// as FILE:LINE:COL: field: message. Exit 0 when all are valid, 1 otherwise.
func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "validate FILE.yaml|DIR...", validateExamples, stdout, stderr)
	quiet := fs.Bool("quiet", false, "print nothing on success")
	maxProblems := fs.Int("max-problems", 50, "print at most this many problems, then count the rest (0: all)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if *maxProblems < 0 {
		fmt.Fprintf(stderr, "prescale validate: --max-problems %d: must be 0 (all) or more\n", *maxProblems)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "prescale validate: at least one policy file or directory is required")
		fs.Usage()
		return exitUsage
	}
	files, err := config.Files(fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "prescale validate: %v\n", err)
		return exitFailure
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "prescale validate: no *.yaml or *.yml files in %v\n", fs.Args())
		return exitFailure
	}
	policies, err := config.Load(files...)
	var problems config.Problems
	if errors.As(err, &problems) {
		head, more := problems.Head(*maxProblems)
		for _, p := range head {
			fmt.Fprintln(stdout, p.String())
		}
		if more > 0 {
			fmt.Fprintf(stdout, "prescale validate: %d more problems not shown (%d in all; --max-problems 0 shows all)\n", more, len(problems))
		}
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(stderr, "prescale validate: %v\n", err)
		return exitFailure
	}
	// Warnings do not fail validation: they need a look, not a fix.
	for _, p := range policies {
		for _, w := range p.Warnings {
			fmt.Fprintln(stdout, w.String())
		}
	}
	now := validateClock()
	for _, w := range dstWarnings(policies, now, now.Add(validateDSTAhead)) {
		fmt.Fprintln(stdout, w)
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%d policies in %d files: ok\n", len(policies), len(files))
	}
	return exitOK
}
