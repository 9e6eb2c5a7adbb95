#!/usr/bin/env bash
# Rolling-origin accuracy of prescale's forecaster on the request-like real
# traces of ../shared/data (see its README), against the seasonal naive.
#
# Usage: bench/accuracy.sh [ORIGINS]    (default 10 origins per trace)
#
# By default each trace is evaluated at its own resolution with a horizon of
# one day. With HOURLY=1 the longer traces are averaged per hour, cut to
# their last 700 + 48·ORIGINS hours and forecast 48 hours ahead: the shape of
# the M4 competition's hourly series (about 700 to 960 points, horizon 48),
# on which the daily seasonal naive is the usual baseline. BIN=path uses a
# prebuilt prescale binary (to compare two builds in one run).
#
# Prints one row per trace: the selection's MASE, the seasonal naive's at the
# longest season the history supports (base) and at a day (daily), their
# ratios, the 90% interval coverage, and the share of actual values at or
# under the quantiles of levels 0.05 to 0.95 (calibrated: the level). Then
# the geometric mean of the ratios, how many traces did worse than each
# seasonal naive, the mean sMAPE, the OWA of the M4 competition against
# each seasonal naive and against M4's own baseline, Naive2 (per trace in
# the columns OWA_N2 .. N2_seas: OWA, Naive2's sMAPE, the selection's and
# Naive2's MASE scaled at a day of steps as M4's, and at how many origins
# Naive2's seasonality test found the daily season), and the mean and
# lowest coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data}
origins=${1:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=${BIN:-}
if [[ -z $bin ]]; then
  bin=$tmp/prescale
  go build -o "$bin" ./cmd/prescale
fi

horizon=()
if [[ ${HOURLY:-} == 1 ]]; then
  traces=(
    "nab_realKnownCause/nyc_taxi.csv America/New_York"
    "nab_realKnownCause/ambient_temperature_system_failure.csv UTC"
    "nab_realKnownCause/machine_temperature_system_failure.csv UTC"
    "nab_realKnownCause/cpu_utilization_asg_misconfiguration.csv UTC"
  )
  horizon=(--horizon 48)
else
  traces=(
    "nab_realKnownCause/nyc_taxi.csv America/New_York"
    "nab_realAWSCloudwatch/elb_request_count_8c0756.csv UTC"
    "alibaba2018_cluster_usage/alibaba2018_cluster_usage_cpu.csv UTC"
    "google2019_cluster_usage/google2019_cluster_usage_cpu.csv UTC"
    "qqq_intraday_volume_5min/qqq_5min_volume.csv America/New_York"
  )
fi
for f in "$data"/nab_realTweets/Twitter_volume_*.csv; do
  traces+=("nab_realTweets/$(basename "$f") UTC")
done

# hourly FILE: the hourly means of FILE's values (hours with no sample are
# left out, as gaps), its last 700 + 48·origins hours.
hourly() {
  awk -F, 'NR > 1 { h = substr($1, 1, 13); if (h != cur) { if (n) print cur ":00:00Z," s / n; cur = h; s = 0; n = 0 } s += $2; n++ }
    END { if (n) print cur ":00:00Z," s / n }' "$1" | tail -n $((700 + 48 * origins)) | { echo timestamp,value; cat; }
}

rows=$(for t in "${traces[@]}"; do
  set -- $t
  file=$data/$1 tz=$2
  if [[ ${HOURLY:-} == 1 ]]; then
    hourly "$file" >"$tmp/trace.csv"
    file=$tmp/trace.csv
  fi
  out=$("$bin" forecast --evaluate --input "$file" --timezone "$tz" --origins "$origins" "${horizon[@]}" 2>&1) || { echo "$1: $out" >&2; exit 1; }
  echo "$out" | awk -v name="$1" '
    /MASE scaled by in-sample/ { for (i = 1; i <= NF; i++) if ($i ~ /^snaive-/) base = $i }
    $1 == "selection" && NF == 5 { ss = $2; sel = $3; cov = $4 }
    $1 == base { bs = $2; bm = $3 }
    $1 == "snaive-daily" { ds = $2; dm = $3 }
    $1 ~ /^q0[.]/ { q[$1] = $2 }
    /^M4 OWA against Naive2/ { split($0, a, /[(): ]+/); for (i in a) if (a[i] == "at") { n2s = a[i + 1] "/" a[i + 3] }
      n = split($0, b, /[ \/]+/); owa = b[n - 10]; s4 = b[n - 6]; ns4 = b[n - 5]; m4 = b[n - 1]; nm4 = b[n] }
    END { if (dm == "") { dm = bm; ds = bs }
      printf "%-52s %-14s %8.3f %8.3f %8.3f %8.3f %8.3f %9s %6s %6s %6s %6s %6s %6s %8.2f %8.2f %8.2f %7.3f %8.2f %8.3f %8.3f %6s\n", name, base, sel, bm, sel / bm, dm, sel / dm, cov,
      q["q0.05"], q["q0.1"], q["q0.5"], q["q0.8"], q["q0.9"], q["q0.95"], ss, bs, ds, owa, ns4, m4, nm4, n2s }'
done)
printf '%-52s %-14s %8s %8s %8s %8s %8s %9s %6s %6s %6s %6s %6s %6s %8s %8s %8s %7s %8s %8s %8s %6s\n' trace baseline sel_MASE base_MASE ratio daily ratio_d coverage90 q0.05 q0.1 q0.5 q0.8 q0.9 q0.95 sel_sMAPE base_sMAPE daily_sMAPE OWA_N2 N2_sMAPE MASE_m N2_MASE_m N2_seas
echo "$rows"
# Quantile columns: the share of actual values at or under the selection's
# quantile of that level (a calibrated q0.9 holds 90% of them).
echo "$rows" | awk '
  function pc(x) { sub(/%/, "", x); return x + 0 }
  { n++; lr += log($5); ld += log($7); c = pc($8); cs += c; if (n == 1 || c < cmin) cmin = c
    if ($5 > 1) worse++; if ($7 > 1) worsed++
    for (i = 9; i <= 14; i++) qs[i] += pc($i)
    sm += $3; bmase += $4; dmase += $6; ss += $15; bs += $16; ds += $17
    n2s += $19; m4 += $20; n2m4 += $21; if ($18 > 1) worse2++ }
  END {
    printf "\ngeometric mean MASE ratio (selection / seasonal naive): %.3f over %d traces (%d worse than seasonal naive)\n", exp(lr / n), n, worse
    printf "geometric mean MASE ratio (selection / daily seasonal naive): %.3f (%d worse than it)\n", exp(ld / n), worsed
    printf "mean sMAPE: selection %.2f, seasonal naive %.2f, daily seasonal naive %.2f\n", ss / n, bs / n, ds / n
    printf "OWA (M4: half mean sMAPE ratio, half mean MASE ratio) against the seasonal naive %.3f, the daily seasonal naive %.3f\n",
      (ss / bs + sm / bmase) / 2, (ss / ds + sm / dmase) / 2
    printf "M4 OWA against Naive2 (half mean sMAPE ratio, half mean MASE ratio, MASE at a day of steps as M4): %.3f (%d traces with OWA above 1)\n",
      (ss / n2s + m4 / n2m4) / 2, worse2
    printf "mean 90%% interval coverage: %.1f%% (lowest %.1f%%)\n", cs / n, cmin
    printf "mean share at or under the quantile: q0.05 %.1f%%  q0.1 %.1f%%  q0.5 %.1f%%  q0.8 %.1f%%  q0.9 %.1f%%  q0.95 %.1f%%\n",
      qs[9] / n, qs[10] / n, qs[11] / n, qs[12] / n, qs[13] / n, qs[14] / n }'
