#!/usr/bin/env bash
# Rolling-origin accuracy of prescale's forecaster on the request-like real
# traces of ../shared/data (see its README), horizon one day, against the
# seasonal naive at the longest season the history supports.
#
# Usage: bench/accuracy.sh [ORIGINS]    (default 10 origins per trace)
# Prints one row per trace and the geometric mean of the MASE ratios, the
# mean coverage of the 90% intervals, and the mean share of actual values at
# or under the quantiles of levels 0.05 to 0.95 (calibrated: the level).
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
    $1 ~ /^q0[.]/ { q[$1] = $2 }
    END { printf "%-52s %-14s %8.3f %8.3f %8.3f %9s %6s %6s %6s %6s %6s %6s\n", name, base, sel, bm, sel / bm, cov,
      q["q0.05"], q["q0.1"], q["q0.5"], q["q0.8"], q["q0.9"], q["q0.95"] }'
done)
printf '%-52s %-14s %8s %8s %8s %9s %6s %6s %6s %6s %6s %6s\n' trace baseline sel_MASE base_MASE ratio coverage90 q0.05 q0.1 q0.5 q0.8 q0.9 q0.95
echo "$rows"
# Quantile columns: the share of actual values at or under the selection's
# quantile of that level (a calibrated q0.9 holds 90% of them).
echo "$rows" | awk '
  function pc(x) { sub(/%/, "", x); return x + 0 }
  { n++; lr += log($5); c = pc($6); cs += c; if (n == 1 || c < cmin) cmin = c; if ($5 > 1) worse++
    for (i = 7; i <= 12; i++) qs[i] += pc($i) }
  END {
    printf "\ngeometric mean MASE ratio (selection / seasonal naive): %.3f over %d traces (%d worse than seasonal naive)\n", exp(lr / n), n, worse
    printf "mean 90%% interval coverage: %.1f%% (lowest %.1f%%)\n", cs / n, cmin
    printf "mean share at or under the quantile: q0.05 %.1f%%  q0.1 %.1f%%  q0.5 %.1f%%  q0.8 %.1f%%  q0.9 %.1f%%  q0.95 %.1f%%\n",
      qs[7] / n, qs[8] / n, qs[9] / n, qs[10] / n, qs[11] / n, qs[12] / n }'
