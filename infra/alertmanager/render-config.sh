#!/bin/sh
# Renders infra/alertmanager/alertmanager.yml (a template) from the environment, then runs the
# command given as arguments (Alertmanager itself, in docker-compose.yml). POSIX sh + awk, so it
# runs in the busybox-based prom/alertmanager image and in infra/test.
#
#   ALERTMANAGER_CONFIG_TEMPLATE  template path (default: alertmanager.yml beside this script)
#   ALERTMANAGER_CONFIG_OUT       rendered file (default /alertmanager/alertmanager.yml)
#
# Lines marked `# requires: VAR` are dropped when VAR is empty; every ${VAR} is replaced by its
# value with `\` and `"` escaped (the template only puts variables in double-quoted YAML strings
# or in numbers).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
template=${ALERTMANAGER_CONFIG_TEMPLATE:-$here/alertmanager.yml}
out=${ALERTMANAGER_CONFIG_OUT:-/alertmanager/alertmanager.yml}

# Percent-decodes a URL component (user names and passwords may be URL-encoded).
urldecode() {
  printf '%s' "$1" | LC_ALL=C awk '
    function hex(h, i, v) { v = 0; h = toupper(h); for (i = 1; i <= 2; i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return v }
    { s = $0; out = ""
      while (match(s, /%[0-9A-Fa-f][0-9A-Fa-f]/)) { out = out substr(s, 1, RSTART - 1) sprintf("%c", hex(substr(s, RSTART + 1, 2))); s = substr(s, RSTART + 3) }
      printf "%s", out s }'
}

# ALERTMANAGER_SMTP_URL -> smarthost, credentials and TLS mode, the shape SMTP_URL has for the
# alerting service. smtp://user:pass@host:port requires STARTTLS (Alertmanager's default; set
# ALERTMANAGER_SMTP_REQUIRE_TLS=false for a plain local relay); smtps://...:465 is TLS from the
# first byte (Alertmanager does that on port 465, and then no STARTTLS is needed).
AM_SMTP_SMARTHOST='' AM_SMTP_USERNAME='' AM_SMTP_PASSWORD='' AM_SMTP_REQUIRE_TLS=''
if [ -n "${ALERTMANAGER_SMTP_URL:-}" ]; then
  scheme=${ALERTMANAGER_SMTP_URL%%://*}
  rest=${ALERTMANAGER_SMTP_URL#*://}
  rest=${rest%%/*}
  case $rest in
    *@*) credentials=${rest%@*}; hostport=${rest##*@} ;;
    *) credentials=''; hostport=$rest ;;
  esac
  case $scheme in
    smtp) default_port=587; AM_SMTP_REQUIRE_TLS=${ALERTMANAGER_SMTP_REQUIRE_TLS:-true} ;;
    smtps) default_port=465; AM_SMTP_REQUIRE_TLS=false ;;
    *) echo "render-config: ALERTMANAGER_SMTP_URL must start with smtp:// or smtps://" >&2; exit 1 ;;
  esac
  case $hostport in *:*) ;; *) hostport=$hostport:$default_port ;; esac
  AM_SMTP_SMARTHOST=$hostport
  if [ -n "$credentials" ]; then
    AM_SMTP_USERNAME=$(urldecode "${credentials%%:*}")
    case $credentials in *:*) AM_SMTP_PASSWORD=$(urldecode "${credentials#*:}") ;; esac
  fi
fi
AM_EMAIL_FROM=${ALERTMANAGER_EMAIL_FROM:-alertmanager@localhost}
# Email needs both an address and a server.
AM_EMAIL_ENABLED=''
if [ -n "${ALERTMANAGER_EMAIL_TO:-}" ] && [ -n "$AM_SMTP_SMARTHOST" ]; then AM_EMAIL_ENABLED=1; fi
if [ -n "${ALERTMANAGER_EMAIL_TO:-}" ] && [ -z "$AM_SMTP_SMARTHOST" ]; then
  echo "render-config: ALERTMANAGER_EMAIL_TO is set but ALERTMANAGER_SMTP_URL is not: no email" >&2
fi
ALERT_GROUP_WAIT_S=${ALERT_GROUP_WAIT_S:-30}
ALERT_GROUP_INTERVAL_S=${ALERT_GROUP_INTERVAL_S:-300}
ALERT_REPEAT_INTERVAL_S=${ALERT_REPEAT_INTERVAL_S:-14400}
export AM_SMTP_SMARTHOST AM_SMTP_USERNAME AM_SMTP_PASSWORD AM_SMTP_REQUIRE_TLS AM_EMAIL_FROM AM_EMAIL_ENABLED
export ALERT_GROUP_WAIT_S ALERT_GROUP_INTERVAL_S ALERT_REPEAT_INTERVAL_S

awk '
  # Character by character: awks differ on backslashes in gsub() replacements.
  function escape(text,   out, i, c) {
    out = ""
    for (i = 1; i <= length(text); i++) {
      c = substr(text, i, 1)
      if (c == "\\" || c == "\"") out = out "\\"
      out = out c
    }
    return out
  }
  {
    line = $0
    if (match(line, /[ \t]*# requires: [A-Za-z_][A-Za-z0-9_]*[ \t]*$/)) {
      marker = substr(line, RSTART, RLENGTH)
      name = marker
      sub(/^[ \t]*# requires: /, "", name)
      sub(/[ \t]*$/, "", name)
      if (ENVIRON[name] == "") next
      line = substr(line, 1, RSTART - 1)
    }
    out = ""
    while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
      name = substr(line, RSTART + 2, RLENGTH - 3)
      value = ENVIRON[name]
      value = escape(value)
      out = out substr(line, 1, RSTART - 1) value
      line = substr(line, RSTART + RLENGTH)
    }
    print out line
  }
' "$template" > "$out"

if [ "$#" -gt 0 ]; then exec "$@"; fi
