#!/usr/bin/env bash
# Backtest of the scaling strategies on the request-like real traces of
# ../shared/data (see its README): each trace is replayed through the
# simulated cluster (prescale backtest) under reactive, schedule, predictive
# and oracle, and one table compares them.
#
# Usage: bench/backtest.sh [BACKTEST FLAGS...]
#   e.g. bench/backtest.sh --floor-utilization 1.0
# Environment: DATA (default ../shared/data), JOBS (parallel backtests,
# default 2), SET (default: the 16 request-like traces the issue's goals
# name; "more": the other 28 NAB series of DATA instead, EC2/RDS CPU, disk
# and network, road traffic, machine temperature and the like, in UTC: a
# check of generality on series nothing was tuned on).
#
# Prints per trace the unserved fraction and replica-hours of reactive and
# predictive and the oracle's replica-hours, then the geometric means of
#   predictive unserved / reactive unserved
#   predictive replica-hours / reactive replica-hours
#   predictive replica-hours / oracle replica-hours
# and, at equal cost (reactive's curve over a sweep of HPA targets; see
# prescale backtest --help), for predictive and for the schedule:
#   unserved / reactive's unserved at the same replica-hours
#   replica-hours / reactive's replica-hours at the same unserved demand
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
case ${SET:-goals} in
goals) ;;
more)
  traces=()
  for f in "$data"/nab_realAWSCloudwatch/*.csv "$data"/nab_realTraffic/*.csv "$data"/nab_realKnownCause/*.csv; do
    case $(basename "$f") in
    elb_request_count_8c0756.csv | nyc_taxi.csv | cpu_utilization_asg_misconfiguration.csv) continue ;;
    esac
    traces+=("${f#"$data"/} UTC")
  done
  ;;
*) echo "SET=$SET: want goals or more" >&2; exit 2 ;;
esac

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

printf '%-60s %10s %10s %10s %10s %10s %6s | %9s %9s %9s | %9s %9s %9s\n' trace react_uns% pred_uns% react_rh pred_rh oracle_rh sec \
  eq_uns% pred_u/eq pred_rh/eq sched_uns% sched_u/eq sched_rh/eq
for n in "$tmp"/*.name; do
  i=${n%.name}
  read -r name secs <"$n"
  jq -r --arg name "$name" --arg secs "$secs" '.strategies as $s |
    [$name, $s.reactive.unserved_fraction, $s.predictive.unserved_fraction,
     $s.reactive.replica_hours, $s.predictive.replica_hours, $s.oracle.replica_hours, $secs,
     $s.predictive.equal_cost.reactive_unserved_fraction, $s.predictive.equal_cost.reactive_replica_hours,
     $s.schedule.unserved_fraction, $s.schedule.replica_hours,
     $s.schedule.equal_cost.reactive_unserved_fraction, $s.schedule.equal_cost.reactive_replica_hours] | @tsv' "$i.json"
done | sort | tee "$tmp/rows" | awk -F'\t' -v eps=1e-5 '{
  printf "%-60s %10.4f %10.4f %10.1f %10.1f %10.1f %6s | %9.4f %9.3f %9.3f | %9.4f %9.3f %9.3f\n", $1, 100*$2, 100*$3, $4, $5, $6, $7,
    100*$8, ($3+eps)/($8+eps), $5/$9, 100*$10, ($10+eps)/($12+eps), $11/$13 }'

awk -F'\t' -v eps=1e-5 '
  { n++; u += log(($3 + eps) / ($2 + eps)); r += log($5 / $4); o += log($5 / $6)
    if ($3 <= 0.2 * $2 + 1e-12) wu++; if ($5 <= $4) wr++; if ($5 <= 1.5 * $6) wo++ }
  END {
    printf "\ngeometric means over %d traces                     value   goal   traces meeting it\n", n
    printf "predictive unserved / reactive unserved        %8.3f  <= 0.20  %d\n", exp(u / n), wu
    printf "predictive replica-hours / reactive            %8.3f  <= 1.00  %d\n", exp(r / n), wr
    printf "predictive replica-hours / oracle              %8.3f  <= 1.50  %d\n", exp(o / n), wo
  }' "$tmp/rows"

# At equal cost: the same eps on both sides of an unserved ratio.
awk -F'\t' -v eps=1e-5 '
  { n++
    pu += log(($3 + eps) / ($8 + eps)); pr += log($5 / $9)
    su += log(($10 + eps) / ($12 + eps)); sr += log($11 / $13)
    ps += log(($3 + eps) / ($10 + eps)); psr += log($5 / $11)
    if ($3 <= 0.2 * $8 + 1e-12) wpu++; if ($5 <= $9) wpr++
    if ($3 <= $10 + 1e-12 && $5 <= $11) wps++ }
  END {
    printf "\nat equal cost (geometric means over %d traces)            value   traces meeting it\n", n
    printf "predictive unserved / reactive'"'"'s at equal replica-hours  %8.3f  %d at <= 0.20\n", exp(pu / n), wpu
    printf "predictive replica-hours / reactive'"'"'s at equal unserved  %8.3f  %d at <= 1.00\n", exp(pr / n), wpr
    printf "schedule unserved / reactive'"'"'s at equal replica-hours    %8.3f\n", exp(su / n)
    printf "schedule replica-hours / reactive'"'"'s at equal unserved    %8.3f\n", exp(sr / n)
    printf "predictive unserved / schedule unserved                  %8.3f  %d with no more unserved for no more replica-hours\n", exp(ps / n), wps
    printf "predictive replica-hours / schedule replica-hours        %8.3f\n", exp(psr / n)
  }' "$tmp/rows"

# The issue's goals, trace by trace (SET=goals only). Clock traces: at
# equal cost at most 0.2x the cooler HPA's unserved demand, shown raw and
# with eps (raw is the goal's own ratio; eps only keeps a geometric mean
# finite where a side is 0), and no more unserved than the schedule for no
# more replica-hours (both ways: outright, and each placed on reactive's
# curve). News traces: at most 1.05x reactive's replica-hours at 70% and
# no more unserved demand than it.
if [[ ${SET:-goals} == goals ]]; then
  awk -F'\t' -v eps=1e-5 '
    function clock(n) { return n ~ /nyc_taxi|elb_request_count_8c0756|asg_misconfiguration|qqq_/ }
    function news(n) { return n ~ /Twitter_volume_/ }
    function short(n) { sub(/.*\//, "", n); sub(/\.csv$/, "", n); return n }
    clock($1) {
      raw = ($8 > 0) ? sprintf("%.3f", $3 / $8) : "-"
      epsd = ($3 + eps) / ($8 + eps)
      ok1 = ($8 > 0 ? $3 <= 0.2 * $8 + 1e-12 : $3 <= 0)
      ok2 = ($3 <= $10 + 1e-12 && $5 <= $11)
      ok3 = (epsd <= ($10 + eps) / ($12 + eps))
      vs = ($10 > 0) ? sprintf("%.2f", $3 / $10) : "-"
      c[++nc] = sprintf("  %-36s %9s %9.3f %6s | %9s %9.2f %6s | %9.3f %6s", short($1), raw, epsd, ok1 ? "yes" : "no",
        vs, $5 / $11, ok2 ? "yes" : "no", ($10 + eps) / ($12 + eps), ok3 ? "yes" : "no")
      m1 += ok1; m2 += ok2; m3 += ok3 }
    news($1) {
      ok = ($5 <= 1.05 * $4 && $3 <= $2 + 1e-12)
      w[++nw] = sprintf("  %-36s %9.3f %9.3f %6s", short($1), $5 / $4, ($2 > 0 ? $3 / $2 : 1), ok ? "yes" : "no"); mw += ok }
    END {
      printf "\ngoals, clock traces (pred: predictive; u/eq: unserved / the cooler HPA'"'"'s at equal replica-hours)\n"
      printf "  %-36s %9s %9s %6s | %9s %9s %6s | %9s %6s\n", "trace", "pred u/eq", "eps'"'"'d", "<=0.2", "u/sched", "rh/sched", "both", "sched u/eq", "pred<="
      for (i = 1; i <= nc; i++) print c[i]
      printf "  met: %d of %d at <= 0.2 (raw), %d of %d with no more unserved than the schedule for no more replica-hours, %d of %d at or under the schedule'"'"'s ratio at equal cost\n", m1, nc, m2, nc, m3, nc
      printf "\ngoals, news traces (predictive against reactive at the owner'"'"'s target)\n"
      printf "  %-36s %9s %9s %6s\n", "trace", "rh", "unserved", "met"
      for (i = 1; i <= nw; i++) print w[i]
      printf "  met: %d of %d at <= 1.05x reactive'"'"'s replica-hours with no more unserved\n", mw, nw
    }' "$tmp/rows"
fi
