package config

import "github.com/prometheus/prometheus/promql/parser"

var _ = parser.NewParser
