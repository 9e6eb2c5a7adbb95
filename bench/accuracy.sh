#!/usr/bin/env bash
# Rolling-origin accuracy of prescale's forecaster on the request-like real
# traces of ../shared/data (see its README), horizon one day, against the
# seasonal naive at the longest season the history supports.
#
# Usage: bench/accuracy.sh [ORIGINS]    (default 10 origins per trace)
# Prints one row per trace and the geometric mean of the MASE ratios, and
# the mean coverage of the 90% intervals.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
origins=${1:-10}
bin=$(mktemp -d)/prescale
go build -o "$bin" ./cmd/prescale

traces=(
  "nab_realKnownCause/nyc_taxi.csv America/New_York"
  "nab_realAWSCloudwatch/elb_request_count_8c0756.csv UTC"
  "alibaba2018_cluster_usage/alibaba2018_cluster_usage_cpu.csv UTC"
  "google2019_cluster_usage/google2019_cluster_usage_cpu.csv UTC"
  "qqq_intraday_volume_5min/qqq_5min_volume.csv America/New_York"
)
for f in "$data"/nab_realTweets/Twitter_volume_*.csv; do
  traces+=("nab_realTweets/$(basename "$f") UTC")
done

rows=$(for t in "${traces[@]}"; do
  set -- $t
  file=$data/$1 tz=$2
  out=$("$bin" forecast --evaluate --input "$file" --timezone "$tz" --origins "$origins" 2>&1) || { echo "$1: $out" >&2; exit 1; }
  echo "$out" | awk -v name="$1" '
    /MASE scaled by in-sample/ { for (i = 1; i <= NF; i++) if ($i ~ /^snaive-/) base = $i }
    $1 == "selection" && NF == 5 { sel = $3; cov = $4 }
    $1 == base { bm = $3 }
    END { printf "%-52s %-14s %8.3f %8.3f %8.3f %9s\n", name, base, sel, bm, sel / bm, cov }'
done)
printf '%-52s %-14s %8s %8s %8s %9s\n' trace baseline sel_MASE base_MASE ratio coverage90
echo "$rows"
echo "$rows" | awk '
  { n++; lr += log($5); c = $6; sub(/%/, "", c); cs += c }
  END { printf "\ngeometric mean MASE ratio (selection / seasonal naive): %.3f over %d traces\nmean 90%% interval coverage: %.1f%%\n", exp(lr / n), n, cs / n }'
