#!/usr/bin/env bash
# Backtest of the scaling strategies on the request-like real traces of
# ../shared/data (see its README): each trace is replayed through the
# simulated cluster (prescale backtest) under reactive, schedule, predictive
# and oracle, and one table compares them.
#
# Usage: bench/backtest.sh [BACKTEST FLAGS...]
#   e.g. bench/backtest.sh --floor-utilization 1.0
# Environment: DATA (default ../shared/data), JOBS (parallel backtests,
# default 2).
#
# Prints per trace the unserved fraction and replica-hours of reactive and
# predictive and the oracle's replica-hours, then the geometric means of
#   predictive unserved / reactive unserved
#   predictive replica-hours / reactive replica-hours
#   predictive replica-hours / oracle replica-hours
# Unserved fractions get EPS (1e-5, i.e. 0.001% of demand) added on both
# sides of the first ratio, so that a trace where a strategy leaves nothing
# unserved counts as a large win or loss rather than 0 or infinity.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
jobs=${JOBS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/prescale" ./cmd/prescale

traces=(
  "nab_realKnownCause/nyc_taxi.csv America/New_York"
  "nab_realAWSCloudwatch/elb_request_count_8c0756.csv UTC"
  "nab_realKnownCause/cpu_utilization_asg_misconfiguration.csv UTC"
  "alibaba2018_cluster_usage/alibaba2018_cluster_usage_cpu.csv UTC"
  "google2019_cluster_usage/google2019_cluster_usage_cpu.csv UTC"
  "qqq_intraday_volume_5min/qqq_5min_volume.csv America/New_York"
)
for f in "$data"/nab_realTweets/Twitter_volume_*.csv; do
  traces+=("nab_realTweets/$(basename "$f") UTC")
done

# Flags for every backtest (no spaces inside a flag).
export tmp data flags="$*"
printf '%s\n' "${traces[@]}" | nl -w3 -s' ' | xargs -P "$jobs" -L1 bash -c '
  i=$1 file=$2 tz=$3
  start=$(date +%s)
  # shellcheck disable=SC2086
  if ! "$tmp/prescale" backtest --input "$data/$file" --timezone "$tz" --json $flags >"$tmp/$i.json" 2>"$tmp/$i.err"; then
    echo "$file: $(cat "$tmp/$i.err")" >&2; exit 255
  fi
  echo "$file $(( $(date +%s) - start ))" >"$tmp/$i.name"
' _

printf '%-60s %10s %10s %10s %10s %10s %6s\n' trace react_uns% pred_uns% react_rh pred_rh oracle_rh sec
for n in "$tmp"/*.name; do
  i=${n%.name}
  read -r name secs <"$n"
  jq -r --arg name "$name" --arg secs "$secs" '.strategies as $s |
    [$name, $s.reactive.unserved_fraction, $s.predictive.unserved_fraction,
     $s.reactive.replica_hours, $s.predictive.replica_hours, $s.oracle.replica_hours, $secs] | @tsv' "$i.json"
done | sort | tee "$tmp/rows" | awk -F'\t' '{ printf "%-60s %10.4f %10.4f %10.1f %10.1f %10.1f %6s\n", $1, 100*$2, 100*$3, $4, $5, $6, $7 }'

awk -F'\t' -v eps=1e-5 '
  { n++; u += log(($3 + eps) / ($2 + eps)); r += log($5 / $4); o += log($5 / $6)
    if ($3 <= 0.2 * $2 + 1e-12) wu++; if ($5 <= $4) wr++; if ($5 <= 1.5 * $6) wo++ }
  END {
    printf "\ngeometric means over %d traces                     value   goal   traces meeting it\n", n
    printf "predictive unserved / reactive unserved        %8.3f  <= 0.20  %d\n", exp(u / n), wu
    printf "predictive replica-hours / reactive            %8.3f  <= 1.00  %d\n", exp(r / n), wr
    printf "predictive replica-hours / oracle              %8.3f  <= 1.50  %d\n", exp(o / n), wo
  }' "$tmp/rows"
