#!/usr/bin/env bash
# Polls FlashCase's cluster-wide AI usage through the gateway and prints tokens, cost and alert state.
#
#   FLASHCASE_TOKEN=$(pnpm --silent run token --user ops --role admin) scripts/monitor-ai-usage.sh [interval_s] [--once]
#
# GATEWAY_URL (default http://127.0.0.1:8000) is the gateway; FLASHCASE_TOKEN an admin JWT (sent as
# `Authorization: Bearer`). Every interval (default 60 s, or MONITOR_INTERVAL_S) it reads
# GET /api/v1/ai/usage and GET /api/v1/alerts. It exits non-zero with a one-line reason when the token
# is missing, the usage call fails (HTTP error, no answer) or answers something that is not the usage
# JSON; an alerts call that fails (alerting not running) is reported on the line and polling goes on.
set -euo pipefail

GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8000}"
GATEWAY_URL="${GATEWAY_URL%/}"
INTERVAL="${MONITOR_INTERVAL_S:-60}"
ONCE=false
for arg in "$@"; do
  case "$arg" in
    --once) ONCE=true ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]* | '') echo "monitor-ai-usage: unknown argument '$arg' (expected an interval in seconds or --once)" >&2; exit 2 ;;
    *) INTERVAL="$arg" ;;
  esac
done

fail() { echo "monitor-ai-usage: $*" >&2; exit 1; }

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required (apt-get install $tool)"
done
[ -n "${FLASHCASE_TOKEN:-}" ] || fail "FLASHCASE_TOKEN is not set: export an admin JWT, e.g. FLASHCASE_TOKEN=\$(pnpm --silent run token --user ops --role admin)"
[ "$INTERVAL" -ge 1 ] 2>/dev/null || fail "the interval must be a whole number of seconds >= 1, got '$INTERVAL'"

BODY_FILE="$(mktemp)"
trap 'rm -f "$BODY_FILE"' EXIT

# get PATH -> prints the HTTP status; the body is in $BODY_FILE. Status 000 = no answer.
get() {
  curl -sS -o "$BODY_FILE" -w '%{http_code}' --max-time 10 \
    -H "Authorization: Bearer ${FLASHCASE_TOKEN}" -H 'Accept: application/json' \
    "${GATEWAY_URL}$1" 2>/dev/null || true
}

# The error's message from the contract's error JSON, if the body is one.
error_message() { jq -r '.error | "\(.code): \(.message)"' "$BODY_FILE" 2>/dev/null || echo 'no JSON error body'; }

poll() {
  local status alerts_status alerts_line
  status="$(get /api/v1/ai/usage)"
  case "$status" in
    200) ;;
    000) fail "no answer from ${GATEWAY_URL}/api/v1/ai/usage (is the gateway running?)" ;;
    401) fail "HTTP 401 from /api/v1/ai/usage: FLASHCASE_TOKEN is invalid or expired ($(error_message))" ;;
    403) fail "HTTP 403 from /api/v1/ai/usage: FLASHCASE_TOKEN is not an admin token ($(error_message))" ;;
    *) fail "HTTP $status from /api/v1/ai/usage ($(error_message))" ;;
  esac
  jq -e '(.last_hour.total_tokens | type) == "number" and (.alert_threshold | type) == "number"
         and (.usage.total_tokens | type) == "number" and (.estimated_cost_usd | type) == "number"' \
    "$BODY_FILE" >/dev/null 2>&1 || fail "/api/v1/ai/usage did not answer the usage JSON (bad or missing fields)"
  local usage_line
  usage_line="$(jq -r '
    "tokens last hour: \(.last_hour.total_tokens) / \(.alert_threshold)"
    + " (\(if .alert_triggered then "ALERT" else "ok" end))"
    + " | requests last hour: \(.last_hour.requests)"
    + " | cost last hour: $\(.last_hour.estimated_cost_usd)"
    + " | total: \(.usage.total_tokens) tokens, \(.usage.total_requests) requests, $\(.estimated_cost_usd)"
    + " | projected: $\(.projection.daily_usd // 0)/day"' "$BODY_FILE")"

  alerts_status="$(get /api/v1/alerts)"
  if [ "$alerts_status" = 200 ] && jq -e '.alerts | type == "array"' "$BODY_FILE" >/dev/null 2>&1; then
    alerts_line="$(jq -r '[.alerts[] | select(.state == "firing")
      | "\(.name)(\(.severity)\(if .silenced then ", silenced" else "" end))"]
      | if length == 0 then "alerts firing: none" else "alerts firing: " + join(", ") end' "$BODY_FILE")"
  else
    alerts_line="alerts: unavailable (HTTP ${alerts_status})"
  fi
  printf '%s %s | %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$usage_line" "$alerts_line"
}

while true; do
  poll
  "$ONCE" && exit 0
  sleep "$INTERVAL"
done
