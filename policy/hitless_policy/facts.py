"""Tier facts: what the rules read, extracted once from resource props (or files).

Each fact names its resource (`Ref`) and carries `Unknown` markers where a value is a preview
unknown, so a rule can say it cannot judge *that* resource instead of crashing or passing.
Absent fields already hold the platform's default (Kubernetes, GCP, nginx, Kong) when the
extractor knows it; `None` means "absent, and absence itself has a meaning" (documented per
field).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from hitless_policy.budget import ProbeTiming
from hitless_policy.identity import Tier

if TYPE_CHECKING:
    from hitless_policy.extract.security import SecurityFact

T = TypeVar("T")


@dataclass(frozen=True)
class Unknown:
    """A value that is not known yet (a preview unknown), with where it sits in the props."""

    path: str
    """Dotted path of the unknown value inside the resource's props."""
    reason: str = "is unknown until the update runs"
    """Why it cannot be read (a preview unknown, or a value of the wrong type)."""

    def __str__(self) -> str:
        return f"{self.path} {self.reason}"


def unknowns(*values: object) -> list[Unknown]:
    """The `Unknown` markers among `values` (lists and tuples are searched one level deep)."""
    found: list[Unknown] = []
    for value in values:
        if isinstance(value, Unknown):
            found.append(value)
        elif isinstance(value, list | tuple):
            found.extend(item for item in value if isinstance(item, Unknown))
    return found


def sure(value: T | Unknown) -> T:
    """A value the caller already checked with `unknowns` (raises TypeError on Unknown)."""
    if isinstance(value, Unknown):
        raise TypeError(f"unchecked unknown value: {value}")
    return value


def known(values: Iterable[T | Unknown]) -> list[T]:
    """The known values of `values`, in order."""
    return [value for value in values if not isinstance(value, Unknown)]


def same_namespace(a: str | Unknown, b: str | Unknown) -> bool | Unknown:
    """Whether two objects share a namespace (Unknown when either namespace is unknown)."""
    if isinstance(a, Unknown):
        return a
    if isinstance(b, Unknown):
        return b
    return a == b


@dataclass(frozen=True)
class CustomTimeouts:
    """A resource's `custom_timeouts` option in seconds; 0 means unset (the provider's default).

    The engine hands it to policies as `args.opts.custom_timeouts` (`PolicyCustomTimeouts`,
    seconds); plain manifests and files have no resource options at all.
    """

    create_seconds: float
    """Create timeout (0: unset)."""
    update_seconds: float
    """Update timeout (0: unset)."""
    delete_seconds: float
    """Delete timeout (0: unset)."""

    def to_json(self) -> dict[str, float]:
        """A JSON-ready dict, named as `pulumi_policy.PolicyCustomTimeouts` names them."""
        return {
            "create_seconds": self.create_seconds,
            "update_seconds": self.update_seconds,
            "delete_seconds": self.delete_seconds,
        }


@dataclass(frozen=True)
class AwaitTimeout:
    """How long `pulumi up` waits for one operation of a resource, and why that long."""

    seconds: float
    """The timeout."""
    source: str
    """`customTimeouts` or the provider's default it falls back to (with its source)."""


@dataclass(frozen=True)
class Ref:
    """The resource a fact (and a finding) is about."""

    id: str
    """The resource's URN, or `<file>:<Kind>/<name>` for files judged offline."""
    name: str
    """Logical name (Pulumi) or object name (Kubernetes)."""
    type: str
    """Pulumi type token, e.g. `kubernetes:apps/v1:Deployment`."""

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class Placement:
    """Which chain and tier a fact belongs to (from identity marks, else inferred)."""

    chain: str
    """Chain name; resources without marks join the stack's only chain, else `default`."""
    tier: Tier | None
    """Tier, or None when neither marked nor inferable."""
    role: str = ""
    """Role within the tier (from identity marks), e.g. `proxy`, `config`, `autohealing`."""


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A container probe: its handler (to tell readiness and liveness apart) and its timing."""

    handler: str
    """Canonical text of the handler, e.g. `httpGet HTTPS :8080/health`."""
    timing: ProbeTiming | Unknown
    """Timing fields with Kubernetes' defaults applied."""


@dataclass(frozen=True)
class PreStop:
    """What a container's preStop hook does before the container gets its stop signal."""

    kind: str
    """`sleep` (native action), `exec-sleep`, `kong-quit`, `exec` or `http`."""
    delay_seconds: float | Unknown
    """Seconds the hook holds the pod serving before the stop signal (`sleep N`, `--wait=N`)."""
    quit_timeout_seconds: float | None = None
    """For `kong quit`: seconds it lets in-flight requests finish (`--timeout`, default 10)."""


@dataclass(frozen=True)
class Container:
    """One container of a pod template."""

    name: str
    """Container name."""
    image: str | Unknown
    """Image reference."""
    serves: bool
    """Whether it serves traffic: it declares a port or a readiness probe, or is the only
    container (helper sidecars such as mesh or database proxies never); in a Kong pod, the
    container running Kong; when no container says, every non-sidecar container."""
    readiness: Probe | Unknown | None
    """Readiness probe (None: none)."""
    liveness: Probe | Unknown | None
    """Liveness probe (None: none)."""
    startup: Probe | Unknown | None
    """Startup probe (None: none)."""
    prestop: PreStop | Unknown | None
    """preStop hook (None: none)."""
    env: dict[str, str | Unknown]
    """Literal env values (`valueFrom` entries are Unknown)."""


@dataclass(frozen=True)
class Deployment:
    """A Deployment, with Kubernetes' defaults applied."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier (C for Kong, D for the runtime)."""
    namespace: str | Unknown
    """Namespace (`default` when absent)."""
    object_name: str | Unknown | None
    """`metadata.name` (None: auto-named by Pulumi)."""
    replicas: int | Unknown
    """`spec.replicas` (default 1)."""
    strategy: str | Unknown
    """`spec.strategy.type` (default RollingUpdate)."""
    max_surge: int | str | Unknown | None
    """`rollingUpdate.maxSurge` (None: absent, Kubernetes' 25%)."""
    max_unavailable: int | str | Unknown | None
    """`rollingUpdate.maxUnavailable` (None: absent, Kubernetes' 25%)."""
    min_ready_seconds: int | Unknown
    """`spec.minReadySeconds` (default 0)."""
    progress_deadline_seconds: int | Unknown
    """`spec.progressDeadlineSeconds` (default 600)."""
    grace_seconds: int | Unknown
    """`terminationGracePeriodSeconds` (default 30)."""
    pod_labels: dict[str, str] | Unknown
    """Pod template labels."""
    containers: list[Container] | Unknown
    """Containers of the pod template."""
    spread_keys: frozenset[str] | Unknown
    """Topology keys of required/preferred pod anti-affinity and topology spread constraints."""
    request_timeout_seconds: float | Unknown | None
    """Runtime's declared request timeout (annotation; None: not declared)."""
    keepalive_idle_seconds: float | Unknown | None
    """Runtime's declared keep-alive idle timeout (annotation; None: not declared)."""
    max_body_mib: float | Unknown | None
    """Runtime's declared body limit in MiB (annotation; None: not declared)."""
    profile: dict[str, float | Unknown] = field(default_factory=dict)
    """Runtime's own traffic promise (`hitless.dev/profile.<field>` annotations), by profile field;
    fields absent take the chain's profile."""
    await_create: AwaitTimeout | None = None
    """How long `pulumi up` awaits its creation (None: no resource options, e.g. a manifest)."""
    await_update: AwaitTimeout | None = None
    """How long `pulumi up` awaits its rollout (None: no resource options, e.g. a manifest)."""

    @property
    def is_kong(self) -> bool:
        """Whether this is the Kong data plane (tier C)."""
        return self.place.tier is Tier.C

    def serving(self) -> list[Container]:
        """The serving containers (empty when the containers are unknown)."""
        if isinstance(self.containers, Unknown):
            return []
        return [c for c in self.containers if c.serves]

    def main_container(self) -> Container | None:
        """The serving container the tier's timing rules read (Kong: `proxy`)."""
        serving = self.serving()
        for container in serving:
            if self.is_kong and container.name == "proxy":
                return container
        return serving[0] if serving else None


@dataclass(frozen=True)
class Pdb:
    """A PodDisruptionBudget."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier."""
    namespace: str | Unknown
    """Namespace (`default` when absent)."""
    selector: LabelSelector | Unknown
    """`spec.selector`."""
    min_available: int | str | Unknown | None
    """`spec.minAvailable` (None: absent)."""
    max_unavailable: int | str | Unknown | None
    """`spec.maxUnavailable` (None: absent)."""
    unhealthy_pod_eviction_policy: str | Unknown
    """`spec.unhealthyPodEvictionPolicy` (default IfHealthyBudget)."""


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector (matchLabels and matchExpressions)."""

    match_labels: dict[str, str] = field(default_factory=dict)
    """`matchLabels`."""
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """`matchExpressions` as (key, operator, values)."""

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether the selector selects an object with `labels` (empty selects nothing)."""
        if not self.match_labels and not self.match_expressions:
            return False
        if any(labels.get(key) != value for key, value in self.match_labels.items()):
            return False
        for key, operator, values in self.match_expressions:
            present = key in labels
            ok = {
                "In": present and labels.get(key) in values,
                "NotIn": not present or labels.get(key) not in values,
                "Exists": present,
                "DoesNotExist": not present,
            }.get(operator, False)
            if not ok:
                return False
        return True


@dataclass(frozen=True)
class Service:
    """A Kubernetes Service."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier."""
    namespace: str | Unknown
    """Namespace (`default` when absent)."""
    type: str | Unknown
    """`spec.type` (default ClusterIP)."""
    session_affinity: str | Unknown
    """`spec.sessionAffinity` (default None)."""
    object_name: str | Unknown = ""
    """`metadata.name` (the DNS label clients and Kong reach it by)."""
    selector: dict[str, str] | Unknown = field(default_factory=dict)
    """`spec.selector` (empty: selects no pods, e.g. an ExternalName Service)."""


@dataclass(frozen=True)
class Hpa:
    """A HorizontalPodAutoscaler."""

    ref: Ref
    """The resource."""
    namespace: str | Unknown
    """Namespace (`default` when absent)."""
    target_kind: str | Unknown
    """`scaleTargetRef.kind`."""
    target_name: str | Unknown
    """`scaleTargetRef.name`."""
    min_replicas: int | Unknown
    """`spec.minReplicas` (default 1)."""
    max_replicas: int | Unknown | None = None
    """`spec.maxReplicas` (required by the API; None: absent)."""


# ---------------------------------------------------------------------------------------------
# Kong
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KongService:
    """A Kong Service entity, with Kong's defaults applied."""

    name: str
    """Service name."""
    connect_timeout_ms: float | Unknown
    """`connect_timeout` (default 60000)."""
    read_timeout_ms: float | Unknown
    """`read_timeout` (default 60000)."""
    write_timeout_ms: float | Unknown
    """`write_timeout` (default 60000)."""
    retries: int | Unknown
    """`retries` (default 5)."""
    hosts: list[str] | Unknown = field(default_factory=list)
    """Hosts it sends requests to: its Upstream's targets' hosts, or its own `host` (empty: not
    stated)."""


@dataclass(frozen=True)
class KongUpstream:
    """A Kong Upstream entity and its targets."""

    name: str
    """Upstream name."""
    targets: list[str] | Unknown
    """Target addresses (`host:port`)."""
    active_ejects: bool | Unknown
    """Whether active health checks can mark a target unhealthy."""
    passive_ejects: bool | Unknown
    """Whether passive health checks can mark a target unhealthy."""


@dataclass(frozen=True)
class KongConfig:
    """Kong's proxy configuration: declarative config or pulumi-kong entities."""

    ref: Ref
    """The ConfigMap (or the first pulumi-kong entity) it was read from."""
    place: Placement
    """Chain (tier C)."""
    services: list[KongService] | Unknown
    """Services."""
    route_request_buffering: list[bool | Unknown]
    """`request_buffering` of every route (default true)."""
    upstreams: list[KongUpstream] | Unknown
    """Upstreams."""
    refs: dict[str, Ref] = field(default_factory=dict)
    """For pulumi-kong: the resource of each service and upstream, by entity name."""

    def ref_of(self, entity: str) -> Ref:
        """The resource carrying `entity` (the config itself for declarative config)."""
        return self.refs.get(entity, self.ref)


@dataclass(frozen=True)
class KongSettings:
    """Kong's process settings read from its Deployment's env and preStop."""

    deployment: Deployment
    """The Kong Deployment."""
    client_keepalive_seconds: float | Unknown
    """`KONG_NGINX_HTTP_KEEPALIVE_TIMEOUT` (nginx default 75 s)."""
    upstream_keepalive_idle_seconds: float | Unknown
    """`KONG_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT` (default 60; 0 = never closed)."""
    worker_shutdown_seconds: float | Unknown | None
    """`KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT` (None: unset, unlimited)."""
    client_max_body_bytes: float | Unknown
    """`KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE` in bytes (default 0 = unlimited)."""


# ---------------------------------------------------------------------------------------------
# nginx (tiers A and B)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NginxUpstream:
    """An nginx `upstream` block the proxy uses, with nginx's defaults applied."""

    name: str
    """Upstream name."""
    servers: int
    """Number of `server` entries."""
    keepalive: int | None
    """`keepalive` connections (None: directive absent)."""
    keepalive_timeout_seconds: float
    """`keepalive_timeout` (default 60 s)."""
    keepalive_time_seconds: float
    """`keepalive_time` (default 1 h)."""
    addresses: tuple[str, ...] = ()
    """The `server` addresses (`host:port`, or a name)."""


@dataclass(frozen=True)
class NginxProxy:
    """One proxying location (http) or server (stream), with inherited values resolved."""

    where: str
    """`location /path` or `server :port`."""
    upstream: str
    """Name or address in `proxy_pass`."""
    read_timeout_seconds: float
    """http `proxy_read_timeout` (default 60 s) or stream `proxy_timeout` (default 10 min)."""
    connect_timeout_seconds: float
    """`proxy_connect_timeout` (default 60 s)."""
    request_buffering: bool
    """http `proxy_request_buffering` (default on); stream: False."""
    client_max_body_bytes: float
    """http `client_max_body_size` in bytes (default 1m; 0 = unlimited); stream: 0."""
    next_upstream: tuple[str, ...]
    """`proxy_next_upstream` words (http default `error timeout`, stream default `on`)."""
    client_keepalive_seconds: float
    """http `keepalive_timeout` towards clients (default 75 s); stream: 0."""
    module: str = "proxy"
    """The module passing the request: `proxy`, `grpc`, `fastcgi` or `uwsgi` (stream: proxy)."""
    listen_port: int | None = None
    """Stream: the TCP port the server listens on (None: http, or not a number)."""


@dataclass(frozen=True)
class NginxConf:
    """A rendered nginx.conf of tier A (http) or B (stream)."""

    ref: Ref
    """The instance template (or file) carrying the config."""
    place: Placement
    """Chain and tier."""
    worker_shutdown_seconds: float | None
    """`worker_shutdown_timeout` (None: unset, unlimited)."""
    proxies: list[NginxProxy]
    """Proxying locations (http) or servers (stream)."""
    upstreams: dict[str, NginxUpstream]
    """`upstream` blocks by name."""
    stream: bool = False
    """Whether the config proxies at L4 (`stream`), as tier B does."""
    problems: list[str] = field(default_factory=list)
    """Parse errors crossplane reported."""

    def upstream_of(self, proxy: NginxProxy) -> NginxUpstream | None:
        """The upstream block `proxy` passes to (None: a literal address)."""
        return self.upstreams.get(proxy.upstream)


@dataclass(frozen=True)
class NginxSource:
    """A resource that should carry an nginx.conf, with the conf or why it has none."""

    ref: Ref
    """The instance template."""
    place: Placement
    """Chain and tier."""
    conf: NginxConf | Unknown | None
    """The parsed config; Unknown at preview; None when the metadata key is absent."""


# ---------------------------------------------------------------------------------------------
# GCP
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mig:
    """A regional managed instance group."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier."""
    update_policy: dict[str, object] | Unknown | None
    """`updatePolicy` (None: absent)."""
    zones: int | Unknown | None
    """Number of `distributionPolicyZones` (None: absent, all zones of the region)."""
    target_size: int | Unknown | None
    """`targetSize` (None: absent)."""
    autohealing_health_check: bool | Unknown | None
    """Whether `autoHealingPolicies.healthCheck` is set (None: no autohealing policy)."""
    autohealing_initial_delay: int | Unknown | None
    """`autoHealingPolicies.initialDelaySec` (default 0; None: no autohealing policy)."""
    wait_for_instances: bool | Unknown = False
    """`waitForInstances` (default false: `pulumi up` returns before any VM is replaced)."""
    wait_status: str | Unknown = "STABLE"
    """`waitForInstancesStatus` (default STABLE)."""
    await_update: AwaitTimeout | None = None
    """How long `pulumi up` awaits an update (None: no resource options)."""


@dataclass(frozen=True)
class BackendService:
    """A global or regional backend service."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier."""
    regional: bool
    """RegionBackendService (tier B's internal passthrough NLB) or global (tier A)."""
    scheme: str | Unknown
    """`loadBalancingScheme` (global default EXTERNAL_MANAGED, regional INTERNAL)."""
    timeout_sec: float | Unknown
    """`timeoutSec` (default 30)."""
    draining_sec: float | Unknown
    """`connectionDrainingTimeoutSec` (default 300)."""
    balancing_modes: list[str | Unknown]
    """`backends[].balancingMode` (default UTILIZATION)."""
    health_checks: list[str | Unknown] | Unknown
    """`healthChecks` references."""
    health_check_deps: list[str] = field(default_factory=list)
    """URNs the engine resolved `healthChecks` to (property dependencies), when known."""


@dataclass(frozen=True)
class HealthCheck:
    """A global or regional GCP health check."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier."""
    resource_name: str | Unknown | None
    """The `name` prop (None: auto-named)."""
    interval_sec: float | Unknown
    """`checkIntervalSec` (default 5)."""
    timeout_sec: float | Unknown
    """`timeoutSec` (default 5)."""
    unhealthy_threshold: int | Unknown
    """`unhealthyThreshold` (default 2)."""
    healthy_threshold: int | Unknown = 2
    """`healthyThreshold` (default 2)."""


@dataclass(frozen=True)
class Cluster:
    """A GKE cluster."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain (tier gke)."""
    regional: bool | Unknown
    """Whether `location` is a region (pods spread over zones)."""
    maintenance: dict[str, object] | Unknown | None
    """`maintenancePolicy` (None: absent, GKE may maintain at any time)."""
    l4_ilb_subsetting: bool | Unknown = False
    """`enableL4IlbSubsetting` (default false): internal LB Services get GCE_VM_IP NEGs."""


@dataclass(frozen=True)
class NodePool:
    """A GKE node pool."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain (tier gke)."""
    upgrade: dict[str, object] | Unknown | None
    """`upgradeSettings` (None: absent, GKE's SURGE 1/0; BLUE_GREEN's soak defaults to 1 h)."""
    drain_configs: list[object] | Unknown | None
    """`nodeDrainConfigs` (None: absent)."""
    autoscaled: bool | Unknown = False
    """Whether the cluster autoscaler manages the pool (`autoscaling` set and not disabled)."""
    zones: int | Unknown | None = None
    """Number of `nodeLocations` (None: absent, the cluster's zones)."""
    min_nodes_per_zone: int | Unknown | None = None
    """`autoscaling.minNodeCount` (None: no autoscaling)."""
    max_nodes_per_zone: int | Unknown | None = None
    """`autoscaling.maxNodeCount`, else `nodeCount` (None: neither set)."""
    await_update: AwaitTimeout | None = None
    """How long `pulumi up` awaits an update (None: no resource options)."""


# ---------------------------------------------------------------------------------------------
# Observability
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertPolicy:
    """A Cloud Monitoring alert policy, with the tier it watches (its identity labels)."""

    ref: Ref
    """The resource."""
    place: Placement
    """Chain and tier (tier None: the policy carries no identity)."""
    enabled: bool | Unknown
    """`enabled` (Cloud Monitoring's default: true)."""
    conditions: int | Unknown
    """Number of conditions."""


# ---------------------------------------------------------------------------------------------
# All facts of a stack (or of a set of files)
# ---------------------------------------------------------------------------------------------


@dataclass
class Facts:
    """Every fact extracted from one set of resources."""

    deployments: list[Deployment] = field(default_factory=list)
    """Deployments (Kong and runtime)."""
    pdbs: list[Pdb] = field(default_factory=list)
    """PodDisruptionBudgets."""
    services: list[Service] = field(default_factory=list)
    """Kubernetes Services."""
    hpas: list[Hpa] = field(default_factory=list)
    """HorizontalPodAutoscalers."""
    kong_configs: list[KongConfig] = field(default_factory=list)
    """Kong proxy configurations."""
    nginx: list[NginxSource] = field(default_factory=list)
    """Instance templates (or files) carrying nginx.conf."""
    migs: list[Mig] = field(default_factory=list)
    """Regional managed instance groups."""
    backend_services: list[BackendService] = field(default_factory=list)
    """Backend services (global and regional)."""
    health_checks: list[HealthCheck] = field(default_factory=list)
    """GCP health checks."""
    clusters: list[Cluster] = field(default_factory=list)
    """GKE clusters."""
    node_pools: list[NodePool] = field(default_factory=list)
    """GKE node pools."""
    security: list[SecurityFact] = field(default_factory=list)
    """Security facts of every resource the security rules read (`extract.security`)."""
    alert_policies: list[AlertPolicy] = field(default_factory=list)
    """Cloud Monitoring alert policies (rule observability-configured)."""
    _index: dict[str, dict[tuple[str, ...], list[int]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """Lookup tables built on first use (rules run after extraction, on a complete set)."""

    def _table(self, name: str) -> dict[tuple[str, ...], list[int]]:
        """Lookup table `name`; objects whose namespace is unknown sit under the key `()`."""
        table = self._index.get(name)
        if table is not None:
            return table
        table = {}
        if name == "pdb":
            for n, pdb in enumerate(self.pdbs):
                if isinstance(pdb.namespace, Unknown):
                    table.setdefault((), []).append(n)
                    continue
                sel = pdb.selector
                pairs = sorted(sel.match_labels.items()) if isinstance(sel, LabelSelector) else []
                first: tuple[str, ...] = (pdb.namespace, *pairs[0]) if pairs else (pdb.namespace,)
                table.setdefault(first, []).append(n)
        elif name == "deployment":
            for n, dep in enumerate(self.deployments):
                labels = dep.pod_labels
                if isinstance(dep.namespace, Unknown):
                    table.setdefault((), []).append(n)
                    continue
                if isinstance(labels, Unknown):
                    table.setdefault((dep.namespace,), []).append(n)
                    continue
                for pair in labels.items():
                    table.setdefault((dep.namespace, *pair), []).append(n)
                table.setdefault((dep.namespace, "", ""), []).append(n)
        else:
            for n, hpa in enumerate(self.hpas):
                target = hpa.target_name
                if isinstance(hpa.namespace, Unknown):
                    table.setdefault((), []).append(n)
                    continue
                key: tuple[str, ...] = (
                    (hpa.namespace,) if isinstance(target, Unknown) else (hpa.namespace, target)
                )
                table.setdefault(key, []).append(n)
        self._index[name] = table
        return table

    def pdb_candidates(self, dep: Deployment) -> list[Pdb]:
        """The PDBs that may select `dep`'s pods, in input order: a superset of the matches.

        Same namespace, and a matchLabels pair its pods carry (or a selector without matchLabels);
        a PDB whose namespace is unknown may select any pod, and any PDB may select the pods of a
        Deployment whose namespace is unknown.
        """
        if isinstance(dep.namespace, Unknown):
            return list(self.pdbs)
        table = self._table("pdb")
        found = set(table.get((), [])) | set(table.get((dep.namespace,), []))
        if isinstance(dep.pod_labels, Unknown):
            found.update(n for key, ns in table.items() if key[:1] == (dep.namespace,) for n in ns)
        else:
            for pair in dep.pod_labels.items():
                found.update(table.get((dep.namespace, *pair), []))
        return [self.pdbs[n] for n in sorted(found)]

    def deployment_candidates(self, pdb: Pdb) -> list[Deployment]:
        """The Deployments whose pods `pdb` may select, in input order (a superset).

        Deployments whose pod labels or namespace are unknown are always candidates, so a
        selection that depends on them is not judged rather than missed.
        """
        if isinstance(pdb.namespace, Unknown):
            return list(self.deployments)
        table = self._table("deployment")
        sel = pdb.selector
        pairs = sorted(sel.match_labels.items()) if isinstance(sel, LabelSelector) else []
        key = (pdb.namespace, *pairs[0]) if pairs else (pdb.namespace, "", "")
        found = set(table.get(key, [])) | set(table.get((pdb.namespace,), []))
        found |= set(table.get((), []))
        return [self.deployments[n] for n in sorted(found)]

    def hpa_candidates(self, dep: Deployment) -> list[Hpa]:
        """The HPAs that may scale `dep` (by namespace and target name), in input order."""
        if isinstance(dep.namespace, Unknown) or isinstance(dep.object_name, Unknown):
            return [h for h in self.hpas if same_namespace(h.namespace, dep.namespace) is not False]
        table = self._table("hpa")
        names = {dep.ref.name}
        if dep.object_name is not None:
            names.add(dep.object_name)
        found = set(table.get((), [])) | set(table.get((dep.namespace,), []))
        for name in names:
            found.update(table.get((dep.namespace, name), []))
        return [self.hpas[n] for n in sorted(found)]

    def chains(self) -> list[str]:
        """Names of the chains any tier fact belongs to, sorted."""
        names: set[str] = set()
        for group in (
            self.deployments,
            self.kong_configs,
            self.nginx,
            self.migs,
            self.backend_services,
        ):
            names.update(item.place.chain for item in group)
        return sorted(names)


def hpa_of(deployment: Deployment, hpas: list[Hpa]) -> Hpa | Unknown | None:
    """The HPA scaling `deployment` (Unknown: an HPA in its namespace has an unknown target)."""
    uncertain: Unknown | None = None
    for hpa in hpas:
        same = same_namespace(hpa.namespace, deployment.namespace)
        if same is False:
            continue
        if isinstance(hpa.target_name, Unknown) or isinstance(deployment.object_name, Unknown):
            uncertain = unknowns(hpa.target_name, deployment.object_name)[0]
            continue
        if hpa.target_kind == "Deployment" and hpa.target_name in (
            deployment.object_name,
            deployment.ref.name,
        ):
            if isinstance(same, Unknown):
                uncertain = same
                continue
            return hpa
    return uncertain
