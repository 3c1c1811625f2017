"""The rollout lab: ground truth for the budget and the simulator, with real processes.

`hitless lab` rolls one tier of the chain the way its controller does, while a load generator
sends GETs and throttled uploads through it and counts every failed request by cause. Everything
runs on loopback inside a network (and PID) namespace the lab creates for each run
(`unshare --net --pid`); nothing else is ever a target.

- Routing (`run.Router`): one virtual address per tier; new connections DNAT-ed by iptables
  `statistic` rules to a random backend in rotation (kube-proxy's iptables mode does the same);
  conntrack pins established and pooled flows; an address with no backend refuses (`111`). The
  controller changes the rule set a propagation lag after a backend is added *and* after one
  is dropped (`profile.endpoint_propagation_seconds` for D, `profile.lb_propagation_seconds`
  for the MIGs, the larger of both for Kong).
- A and B (`configs.rewrite_tier_conf`): Debian nginx running the `a.conf`/`b.conf` the preview
  rendered; only addresses, ports, paths, durations and body limits (both divided by the time
  scale) are rewritten. MIG rollout (`run.Lab.roll_mig`): surge instances, LB health check passes
  `healthy_threshold` times, LB adds it after the lag, `min_ready_sec`, then the old instance is
  removed: the LB stops new connections after the lag, the shutdown script (drain flag, wait,
  `nginx -s quit`) runs, and whatever is left is cut when the draining timeout ends. The other
  way to change A's or B's nginx, the in-place binary upgrade (`run.Lab.upgrade_in_place`):
  nginx runs as a daemon, USR2 starts a new master on the inherited listeners, QUIT drains the
  old one.
- C (`configs.kong_stand_in_conf`): a Kong stand-in, not Kong: nginx with Kong's proxy
  semantics (balancer_by_lua with `set_more_tries(retries)`, per-try timeouts, nginx's default
  `proxy_next_upstream error timeout`, buffering, upstream keep-alive, `/status/ready`). On
  stop it keeps serving for `kong quit --wait`, then QUIT, then SIGKILL at `--timeout` or the
  grace. Not modelled: Kong's in-memory config updates, the multi-target balancer and its
  health checks, DNS, plugins, TLS.
- D (`rt_server`): aiohttp servers with the RT's declared request timeout, keep-alive idle
  timeout and body limit; graceful on SIGTERM; SIGKILL at the grace end. The Deployment
  controller (`run.Lab.roll_deployment`) resolves maxSurge/maxUnavailable as Kubernetes does
  (`budget.resolve_rolling_update`), runs the startup and readiness probes at their periods
  (the first one a full period after start: the budget's worst case), waits `minReadySeconds`,
  runs preStop, then SIGTERM, then SIGKILL at `terminationGracePeriodSeconds`.
- Time scale: every second of the scenario is divided by `--time-scale` (default 5), and
  bodies with it; process start and health-check round trips are measured, not scaled.
"""
