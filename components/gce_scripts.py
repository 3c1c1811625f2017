"""Startup and shutdown scripts of the nginx instances of tiers A and B, as pure functions.

Owns: the bash run by the GCE guest agent at boot (`startup-script` metadata) and at stop or
delete (`shutdown-script` metadata):

- startup: install Debian's nginx (`nginx-light`, plus `libnginx-mod-stream` for B), fetch the
  tier's rendered nginx.conf from the metadata server (key `identity.NGINX_CONF_METADATA_KEY`),
  check it with `nginx -t`, install a systemd drop-in so the package's 5-second stop does not cut
  the drain, then enable and (re)start nginx. It runs on every boot and is idempotent.
- shutdown: create the drain flag (so `/healthz` answers 503), wait until the LB health check has
  seen it, send QUIT (`nginx -s quit`: in-flight requests finish, idle keep-alive connections
  close) and wait for the master to exit, at most `worker_shutdown_timeout` plus a margin.

Deliberately not here: the nginx.conf itself (`nginx_conf`), the instance template and its
metadata (`nginx_tier`). The real drain of a MIG rollout is the load balancer's connection
draining, which GCP runs *before* the instance is stopped; the shutdown script is the second line
for stops that skip it (autohealing, manual stop). GCE gives shutdown scripts of on-demand VMs
about 90 s, so a longer `worker_shutdown_timeout` is cut there: the LB drain must cover the
longest request (rule chain-drain-covers-longest-request), not this script.
"""

from __future__ import annotations

import math
import shlex

from hitless.components.config import HealthCheckConfig
from hitless.components.nginx_conf import DRAIN_FLAG_PATH, PID_PATH
from hitless_policy import budget
from hitless_policy.identity import NGINX_CONF_METADATA_KEY

METADATA_ATTRIBUTES_URL = "http://metadata.google.internal/computeMetadata/v1/instance/attributes"
"""The metadata server's instance attributes (custom metadata keys)."""
NGINX_CONF_PATH = "/etc/nginx/nginx.conf"
"""Where Debian's nginx reads its config."""
SYSTEMD_DROPIN_PATH = "/etc/systemd/system/nginx.service.d/hitless.conf"
"""Drop-in that orders nginx's stop after the shutdown script and makes it graceful."""
EDGE_PACKAGES = ("nginx-light",)
"""Debian packages of tier A: Debian's small nginx build (http proxy, upstream keepalive)."""
RELAY_PACKAGES = ("nginx-light", "libnginx-mod-stream")
"""Debian packages of tier B: nginx plus the dynamic stream module the conf `load_module`s."""
QUIT_MARGIN_SECONDS = 10
"""Slack after worker_shutdown_timeout for nginx to close connections and the master to exit."""
APT_LOCK_TIMEOUT_SECONDS = 300
"""How long apt waits for the dpkg lock (unattended-upgrades may hold it right after boot)."""


def drain_wait_seconds(health_check: HealthCheckConfig) -> int:
    """Seconds the shutdown script waits after raising the drain flag, before QUIT.

    The LB health check's time to mark the instance unhealthy:
    `unhealthy_threshold x check_interval_sec + timeout_sec`, rounded up.
    """
    return math.ceil(
        budget.lb_time_to_unhealthy(
            health_check.check_interval_sec,
            health_check.timeout_sec,
            health_check.unhealthy_threshold,
        )
    )


def startup_script(*, stream_module: bool, worker_shutdown_timeout_seconds: int) -> str:
    """Bash startup script: install nginx, write the conf from metadata, check it, start it.

    Args:
        stream_module: install `libnginx-mod-stream` (tier B's conf loads it).
        worker_shutdown_timeout_seconds: the conf's `worker_shutdown_timeout`; systemd's stop of
            nginx waits as long for a graceful QUIT instead of Debian's 5 s.
    """
    packages = " ".join(RELAY_PACKAGES if stream_module else EDGE_PACKAGES)
    url = f"{METADATA_ATTRIBUTES_URL}/{NGINX_CONF_METADATA_KEY}"
    stop_timeout = worker_shutdown_timeout_seconds + QUIT_MARGIN_SECONDS
    exec_stop = (
        "-/sbin/start-stop-daemon --quiet --stop "
        f"--retry QUIT/{stop_timeout}/TERM/5 --pidfile {PID_PATH}"
    )
    return f"""#!/bin/bash
# hitless startup script: runs on every boot (GCE guest agent, metadata key startup-script).
set -euo pipefail

readonly CONF={shlex.quote(NGINX_CONF_PATH)}
readonly CONF_URL={shlex.quote(url)}
readonly DRAIN_FLAG={shlex.quote(DRAIN_FLAG_PATH)}
readonly DROPIN={shlex.quote(SYSTEMD_DROPIN_PATH)}

# /run is a tmpfs, but never start out draining.
rm -f "${{DRAIN_FLAG}}"

export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5; do
  if apt-get -o DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_SECONDS} update -q \\
    && apt-get -o DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_SECONDS} install -y -q \\
      --no-install-recommends {packages}; then
    break
  fi
  if [[ "${{attempt}}" -eq 5 ]]; then
    echo "hitless: installing {packages} failed" >&2
    exit 1
  fi
  sleep $((attempt * 10))
done

# The tier's nginx.conf, rendered by the Pulumi program, is the instance metadata value.
tmp="$(mktemp "${{CONF}}.XXXXXX")"
trap 'rm -f "${{tmp}}"' EXIT
curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "${{CONF_URL}}" -o "${{tmp}}"
nginx -t -q -c "${{tmp}}"
install -m 0644 "${{tmp}}" "${{CONF}}"

# Debian's unit stops nginx with QUIT for 5 s, then TERM, in parallel with the shutdown script.
# Stop it only after the shutdown script finished, and gracefully.
mkdir -p "$(dirname "${{DROPIN}}")"
cat > "${{DROPIN}}" <<'EOF'
[Unit]
Before=google-shutdown-scripts.service

[Service]
ExecStop=
ExecStop={exec_stop}
TimeoutStopSec={stop_timeout + 10}
EOF
systemctl daemon-reload
systemctl enable nginx
systemctl restart nginx
"""


def shutdown_script(*, drain_wait_seconds: int, worker_shutdown_timeout_seconds: int) -> str:
    """Bash shutdown script: fail /healthz, let the LB notice, quit nginx gracefully, wait.

    Args:
        drain_wait_seconds: how long the LB health check needs to see the 503
            (`drain_wait_seconds(mig.lb_health_check)`).
        worker_shutdown_timeout_seconds: the conf's `worker_shutdown_timeout`; the script waits
            for the master that long plus a margin.
    """
    quit_wait = worker_shutdown_timeout_seconds + QUIT_MARGIN_SECONDS
    return f"""#!/bin/bash
# hitless shutdown script: runs on stop/delete (GCE guest agent, metadata key shutdown-script).
set -euo pipefail

readonly DRAIN_FLAG={shlex.quote(DRAIN_FLAG_PATH)}
readonly PID_FILE={shlex.quote(PID_PATH)}
# LB health check time to unhealthy: unhealthy_threshold x check_interval_sec + timeout_sec.
readonly DRAIN_WAIT={drain_wait_seconds}
# worker_shutdown_timeout + margin.
readonly QUIT_WAIT={quit_wait}

# /healthz answers 503 from now on; the LB stops sending new requests once it has seen it.
touch "${{DRAIN_FLAG}}"
sleep "${{DRAIN_WAIT}}"

if [[ ! -s "${{PID_FILE}}" ]]; then
  echo "hitless: nginx is not running" >&2
  exit 0
fi
master="$(cat "${{PID_FILE}}")"
# QUIT: stop accepting, finish in-flight requests (at most worker_shutdown_timeout), exit.
nginx -s quit || true
for ((waited = 0; waited < QUIT_WAIT; waited++)); do
  if ! kill -0 "${{master}}" 2>/dev/null; then
    echo "hitless: nginx exited after ${{waited}} s"
    exit 0
  fi
  sleep 1
done
echo "hitless: nginx master ${{master}} still running after ${{QUIT_WAIT}} s" >&2
"""
