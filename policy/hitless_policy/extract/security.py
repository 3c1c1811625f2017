"""Security facts: what the security rules read, extracted once from resource props.

Each fact names its resource and keeps `Unknown` where a value is a preview unknown, so a rule
says it cannot judge that resource instead of passing it. Platform defaults are applied here
and nowhere else, each with its source:

- GCE Shielded VM (instance templates): `enableSecureBoot` false, `enableVtpm` and
  `enableIntegrityMonitoring` true (compute API `ShieldedInstanceConfig`; Terraform
  google_compute_instance_template `shielded_instance_config`).
- GCE firewall: an INGRESS rule without `sourceRanges`, `sourceTags` and
  `sourceServiceAccounts` admits 0.0.0.0/0 (compute API `Firewall.sourceRanges`).
- Target HTTPS proxy without `sslPolicy`: GCP's default policy, COMPATIBLE with TLS 1.0
  (https://cloud.google.com/load-balancing/docs/ssl-policies-concepts#defaultsslpolicy).
- GKE: `enableShieldedNodes` true by default since 1.18; node `enableSecureBoot` false and
  `enableIntegrityMonitoring` true (GKE API `ShieldedInstanceConfig`).
- Kong: `admin_listen` defaults to `127.0.0.1:8001 ..., 127.0.0.1:8444 http2 ssl ...`
  (kong.conf.default), i.e. loopback only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hitless_policy.extract.k8s import selector
from hitless_policy.extract.props import Props
from hitless_policy.facts import LabelSelector, Ref, Unknown
from hitless_policy.identity import identity_of

INSTANCE = "gcp:compute/instance:Instance"
"""Type token of a GCE instance."""
INSTANCE_TEMPLATES = (
    "gcp:compute/instanceTemplate:InstanceTemplate",
    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
)
"""Type tokens of GCE instance templates."""
FIREWALL = "gcp:compute/firewall:Firewall"
"""Type token of a VPC firewall rule."""
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
"""Type token of an SSL policy."""
HTTPS_PROXIES = (
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
    "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy",
)
"""Type tokens of target HTTPS proxies."""
HTTP_PROXIES = (
    "gcp:compute/targetHttpProxy:TargetHttpProxy",
    "gcp:compute/regionTargetHttpProxy:RegionTargetHttpProxy",
)
"""Type tokens of target HTTP proxies."""
URL_MAPS = ("gcp:compute/uRLMap:URLMap", "gcp:compute/regionUrlMap:RegionUrlMap")
"""Type tokens of URL maps."""
CLUSTER = "gcp:container/cluster:Cluster"
"""Type token of a GKE cluster."""
NODE_POOL = "gcp:container/nodePool:NodePool"
"""Type token of a GKE node pool."""
WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
)
"""Type tokens of Kubernetes workloads with a pod template."""
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
"""Type token of a NetworkPolicy."""
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
"""Type token of a ConfigMap."""
KONG_PROVIDER = "pulumi:providers:kong"
"""Type token of the pulumi-kong provider (hybrid mode: the control plane's Admin API)."""

SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", re.IGNORECASE
)
"""Names (env vars, ConfigMap keys, metadata keys) that say the value is a credential."""
PRIVATE_KEY_TEXT = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
"""A PEM private key in a value."""
KONG_DEFAULT_ADMIN_LISTEN = (
    "127.0.0.1:8001 reuseport backlog=16384, 127.0.0.1:8444 http2 ssl reuseport backlog=16384"
)
"""Kong 3.x's `admin_listen` default (kong.conf.default): loopback only."""


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VmFact:
    """A GCE instance or instance template."""

    ref: Ref
    """The resource."""
    external_ips: list[str] | Unknown
    """Interfaces (by index) that have an access config, i.e. an external address."""
    service_account: str | Unknown | None
    """`serviceAccount.email` (templates) / `serviceAccount.email` (instances); None: none."""
    secure_boot: bool | Unknown
    """`shieldedInstanceConfig.enableSecureBoot` (default false)."""
    vtpm: bool | Unknown
    """`shieldedInstanceConfig.enableVtpm` (default true)."""
    integrity_monitoring: bool | Unknown
    """`shieldedInstanceConfig.enableIntegrityMonitoring` (default true)."""
    metadata: dict[str, str | Unknown] | Unknown
    """Metadata keys and their values (`enable-oslogin`, `block-project-ssh-keys`, ...)."""


@dataclass(frozen=True)
class FirewallFact:
    """A VPC firewall rule."""

    ref: Ref
    """The resource."""
    direction: str | Unknown
    """INGRESS (default) or EGRESS."""
    disabled: bool | Unknown
    """`disabled` (default false)."""
    allows: bool
    """Whether it has `allows` entries (a deny rule admits nothing)."""
    source_ranges: list[str] | Unknown
    """`sourceRanges` (empty when absent)."""
    other_sources: bool | Unknown
    """Whether `sourceTags` or `sourceServiceAccounts` restrict the sources instead."""


@dataclass(frozen=True)
class SslPolicyFact:
    """An SSL policy."""

    ref: Ref
    """The resource."""
    min_tls_version: str | Unknown
    """`minTlsVersion` (default TLS_1_0)."""
    profile: str | Unknown
    """`profile` (default COMPATIBLE)."""
    chain: str | None
    """Chain of its identity marks (to match a proxy at preview)."""


@dataclass(frozen=True)
class ProxyFact:
    """A target HTTP or HTTPS proxy of a load balancer."""

    ref: Ref
    """The resource."""
    https: bool
    """Whether it terminates TLS."""
    ssl_policy: str | Unknown | None
    """HTTPS: `sslPolicy` (None: GCP's default policy)."""
    url_map: str | Unknown | None
    """`urlMap`."""
    parent: str | None
    """Parent URN (the components parent a redirecting proxy to its URL map)."""
    chain: str | None
    """Chain of its identity marks."""


@dataclass(frozen=True)
class UrlMapFact:
    """A URL map."""

    ref: Ref
    """The resource."""
    https_redirect: bool | Unknown
    """Whether its default action redirects to HTTPS (`defaultUrlRedirect.httpsRedirect`)."""


@dataclass(frozen=True)
class ClusterFact:
    """A GKE cluster's security settings."""

    ref: Ref
    """The resource."""
    private_nodes: bool | Unknown
    """`privateClusterConfig.enablePrivateNodes` (default false)."""
    workload_pool: str | Unknown | None
    """`workloadIdentityConfig.workloadPool` (None: Workload Identity off)."""
    shielded_nodes: bool | Unknown
    """`enableShieldedNodes` (default true since GKE 1.18)."""
    binauthz_mode: str | Unknown
    """`binaryAuthorization.evaluationMode` (`enabled: true` read as the singleton policy;
    default DISABLED)."""


@dataclass(frozen=True)
class NodePoolFact:
    """A GKE node pool's security settings."""

    ref: Ref
    """The resource."""
    metadata_mode: str | Unknown | None
    """`nodeConfig.workloadMetadataConfig.mode` (None: the node's default, GCE_METADATA unless
    the cluster sets Workload Identity)."""
    secure_boot: bool | Unknown
    """`nodeConfig.shieldedInstanceConfig.enableSecureBoot` (default false)."""
    integrity_monitoring: bool | Unknown
    """`nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring` (default true)."""


@dataclass(frozen=True)
class ContainerFact:
    """One container of a workload, with the pod-level context it inherits."""

    name: str
    """Container name."""
    image: str | Unknown
    """Image reference."""
    run_as_non_root: bool | Unknown | None
    """Effective runAsNonRoot (container over pod; None: not set)."""
    run_as_user: int | Unknown | None
    """Effective runAsUser (container over pod)."""
    privileged: bool | Unknown
    """`privileged` (default false)."""
    allow_privilege_escalation: bool | Unknown | None
    """`allowPrivilegeEscalation` (None: not set, Kubernetes then allows it)."""
    read_only_root: bool | Unknown
    """`readOnlyRootFilesystem` (default false)."""
    drops_all: bool | Unknown
    """Whether `capabilities.drop` contains ALL."""
    seccomp: str | Unknown | None
    """Effective seccompProfile.type (container over pod; None: not set, Unconfined)."""
    requests: dict[str, str] | Unknown
    """`resources.requests`."""
    limits: dict[str, str] | Unknown
    """`resources.limits`."""
    literal_secrets: list[str]
    """Env vars whose name says credential and whose value is a literal (not a file path)."""


@dataclass(frozen=True)
class WorkloadFact:
    """A Kubernetes workload (Deployment, StatefulSet, DaemonSet) and its pod template."""

    ref: Ref
    """The resource."""
    namespace: str
    """Namespace (`default` when absent)."""
    pod_labels: dict[str, str] | Unknown
    """Pod template labels."""
    containers: list[ContainerFact] | Unknown
    """Containers (init containers included)."""
    kong_admin_listen: str | Unknown | None
    """For a Kong container: `KONG_ADMIN_LISTEN` (None: not Kong)."""


@dataclass(frozen=True)
class NetworkPolicyFact:
    """A NetworkPolicy: which pods it isolates, for which directions."""

    ref: Ref
    """The resource."""
    namespace: str
    """Namespace (`default` when absent)."""
    pod_selector: LabelSelector | Unknown
    """`spec.podSelector` (empty: every pod of the namespace)."""
    types: frozenset[str] | Unknown
    """`spec.policyTypes` (default Ingress, plus Egress when egress rules are listed)."""


@dataclass(frozen=True)
class PlainDataFact:
    """Plain-text key/value data: a ConfigMap's `data`, or an instance's metadata."""

    ref: Ref
    """The resource."""
    secret_keys: list[str]
    """Keys whose name says credential, or whose value holds a private key."""


@dataclass(frozen=True)
class KongAdminFact:
    """The pulumi-kong provider: how Pulumi reaches the control plane's Admin API."""

    ref: Ref
    """The resource."""
    admin_uri: str | Unknown | None
    """`kongAdminUri`."""


SecurityFact = (
    VmFact
    | FirewallFact
    | SslPolicyFact
    | ProxyFact
    | UrlMapFact
    | ClusterFact
    | NodePoolFact
    | WorkloadFact
    | NetworkPolicyFact
    | PlainDataFact
    | KongAdminFact
)
"""Any security fact."""


@dataclass
class SecurityView:
    """The security facts of a set of resources, by kind (built by `view`)."""

    vms: list[VmFact] = field(default_factory=list)
    """Instances and instance templates."""
    firewalls: list[FirewallFact] = field(default_factory=list)
    """Firewall rules."""
    ssl_policies: list[SslPolicyFact] = field(default_factory=list)
    """SSL policies."""
    proxies: list[ProxyFact] = field(default_factory=list)
    """Target HTTP(S) proxies."""
    url_maps: list[UrlMapFact] = field(default_factory=list)
    """URL maps."""
    clusters: list[ClusterFact] = field(default_factory=list)
    """GKE clusters."""
    node_pools: list[NodePoolFact] = field(default_factory=list)
    """GKE node pools."""
    workloads: list[WorkloadFact] = field(default_factory=list)
    """Kubernetes workloads."""
    network_policies: list[NetworkPolicyFact] = field(default_factory=list)
    """NetworkPolicies."""
    plain_data: list[PlainDataFact] = field(default_factory=list)
    """ConfigMaps and instance metadata."""
    kong_admins: list[KongAdminFact] = field(default_factory=list)
    """pulumi-kong providers."""


def view(facts: Sequence[SecurityFact]) -> SecurityView:
    """The facts sorted by kind."""
    out = SecurityView()
    for fact in facts:
        if isinstance(fact, VmFact):
            out.vms.append(fact)
        elif isinstance(fact, FirewallFact):
            out.firewalls.append(fact)
        elif isinstance(fact, SslPolicyFact):
            out.ssl_policies.append(fact)
        elif isinstance(fact, ProxyFact):
            out.proxies.append(fact)
        elif isinstance(fact, UrlMapFact):
            out.url_maps.append(fact)
        elif isinstance(fact, ClusterFact):
            out.clusters.append(fact)
        elif isinstance(fact, NodePoolFact):
            out.node_pools.append(fact)
        elif isinstance(fact, WorkloadFact):
            out.workloads.append(fact)
        elif isinstance(fact, NetworkPolicyFact):
            out.network_policies.append(fact)
        elif isinstance(fact, PlainDataFact):
            out.plain_data.append(fact)
        else:
            out.kong_admins.append(fact)
    return out


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


def _identity_chain(data: Mapping[str, object]) -> str | None:
    """The chain named by a resource's identity marks, if any."""
    found = identity_of(data)
    return found.chain if found is not None else None


def _secret_keys(items: Mapping[str, object] | Unknown | None) -> list[str]:
    if items is None or isinstance(items, Unknown):
        return []
    return sorted(
        key
        for key, value in items.items()
        if SECRET_NAME.search(key)
        or (isinstance(value, str) and PRIVATE_KEY_TEXT.search(value) is not None)
    )


def _vm(ref: Ref, props: Props) -> list[SecurityFact]:
    nics = props.items("networkInterfaces")
    external: list[str] | Unknown
    if isinstance(nics, Unknown):
        external = nics
    else:
        external = []
        for index, nic in enumerate(nics or []):
            if isinstance(nic, Unknown):
                external = nic
                break
            # Any entry, even one whose content is still unknown, is an external address.
            found = [nic.items("accessConfigs"), nic.items("ipv6AccessConfigs")]
            unknown = next((item for item in found if isinstance(item, Unknown)), None)
            if unknown is not None:
                external = unknown
                break
            if any(found):
                external.append(str(index))
    # Templates: `serviceAccount.email`; instances (pulumi-gcp) spell it the same way.
    account = props.get("serviceAccount", "email")
    shielded = props.sub("shieldedInstanceConfig")
    view_of = shielded if isinstance(shielded, Props) else Props({}, "shieldedInstanceConfig")
    metadata_raw = props.mapping("metadata")
    metadata: dict[str, str | Unknown] | Unknown
    if isinstance(metadata_raw, Unknown):
        metadata = metadata_raw
    else:
        meta_view = Props(metadata_raw or {}, "metadata")
        metadata = {key: meta_view.text(key, default="") for key in (metadata_raw or {})}
    fact = VmFact(
        ref=ref,
        external_ips=external,
        service_account=(
            account if isinstance(account, Unknown) or account is None else str(account)
        ),
        secure_boot=(
            shielded
            if isinstance(shielded, Unknown)
            else view_of.flag("enableSecureBoot", default=False)
        ),
        vtpm=shielded
        if isinstance(shielded, Unknown)
        else view_of.flag("enableVtpm", default=True),
        integrity_monitoring=(
            shielded
            if isinstance(shielded, Unknown)
            else view_of.flag("enableIntegrityMonitoring", default=True)
        ),
        metadata=metadata,
    )
    return [fact, PlainDataFact(ref, _secret_keys(metadata_raw))]


def _text_list(props: Props, key: str) -> list[str] | Unknown:
    items = props.get(key)
    if items is None:
        return []
    if isinstance(items, Unknown):
        return items
    if not isinstance(items, list):
        return Unknown(key, f"is not a list: {items!r}")
    out: list[str] = []
    for index in range(len(items)):
        value = props.text(key, index, default="")
        if isinstance(value, Unknown):
            return value
        out.append(value)
    return out


def _firewall(ref: Ref, props: Props) -> FirewallFact:
    tags = _text_list(props, "sourceTags")
    accounts = _text_list(props, "sourceServiceAccounts")
    other: bool | Unknown
    if isinstance(tags, Unknown):
        other = tags
    elif isinstance(accounts, Unknown):
        other = accounts
    else:
        other = bool(tags or accounts)
    allows = props.get("allows")
    return FirewallFact(
        ref=ref,
        direction=props.text("direction", default="INGRESS"),
        disabled=props.flag("disabled", default=False),
        allows=bool(allows) or isinstance(allows, Unknown),
        source_ranges=_text_list(props, "sourceRanges"),
        other_sources=other,
    )


def _cluster(ref: Ref, props: Props) -> ClusterFact:
    binauthz = props.sub("binaryAuthorization")
    mode: str | Unknown
    if isinstance(binauthz, Unknown):
        mode = binauthz
    elif binauthz is None:
        mode = "DISABLED"
    else:
        explicit = binauthz.opt_text("evaluationMode")
        if explicit is not None:
            mode = explicit
        else:
            enabled = binauthz.flag("enabled", default=False)
            mode = (
                enabled
                if isinstance(enabled, Unknown)
                else ("PROJECT_SINGLETON_POLICY_ENFORCE" if enabled else "DISABLED")
            )
    return ClusterFact(
        ref=ref,
        private_nodes=props.flag("privateClusterConfig", "enablePrivateNodes", default=False),
        workload_pool=props.opt_text("workloadIdentityConfig", "workloadPool"),
        shielded_nodes=props.flag("enableShieldedNodes", default=True),
        binauthz_mode=mode,
    )


def _node_pool(ref: Ref, props: Props) -> NodePoolFact:
    return NodePoolFact(
        ref=ref,
        metadata_mode=props.opt_text("nodeConfig", "workloadMetadataConfig", "mode"),
        secure_boot=props.flag(
            "nodeConfig", "shieldedInstanceConfig", "enableSecureBoot", default=False
        ),
        integrity_monitoring=props.flag(
            "nodeConfig", "shieldedInstanceConfig", "enableIntegrityMonitoring", default=True
        ),
    )


def _either(container: Props, pod: Props | None, *keys: str) -> object:
    """A security-context value, the container's over the pod's."""
    value = container.get("securityContext", *keys)
    if value is None and pod is not None:
        value = pod.get("securityContext", *keys)
    return value


def _flag_value(value: object, path: str) -> bool | Unknown | None:
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return value
    return Unknown(path, f"is not a boolean: {value!r}")


def _literal_secrets(container: Props) -> list[str]:
    out: list[str] = []
    for item in container.each("env"):
        name = item.get("name")
        value = item.get("value")
        if not isinstance(name, str) or not SECRET_NAME.search(name):
            continue
        if isinstance(value, str) and value and not value.startswith(("/", "{vault://")):
            out.append(name)
    return out


def _container(item: Props, pod: Props | None) -> ContainerFact:
    user = _either(item, pod, "runAsUser")
    caps = item.get("securityContext", "capabilities", "drop")
    drops: bool | Unknown
    if isinstance(caps, Unknown):
        drops = caps
    else:
        drops = isinstance(caps, list) and any(str(cap).upper() == "ALL" for cap in caps)
    seccomp = _either(item, pod, "seccompProfile", "type")
    requests = item.str_map("resources", "requests")
    limits = item.str_map("resources", "limits")
    return ContainerFact(
        name=str(item.get("name") or ""),
        image=item.text("image", default=""),
        run_as_non_root=_flag_value(
            _either(item, pod, "runAsNonRoot"), f"{item.base}.securityContext.runAsNonRoot"
        ),
        run_as_user=(
            user
            if user is None or isinstance(user, Unknown)
            else (int(user) if isinstance(user, int | float) else Unknown("runAsUser"))
        ),
        privileged=item.flag("securityContext", "privileged", default=False),
        allow_privilege_escalation=_flag_value(
            item.get("securityContext", "allowPrivilegeEscalation"),
            f"{item.base}.securityContext.allowPrivilegeEscalation",
        ),
        read_only_root=item.flag("securityContext", "readOnlyRootFilesystem", default=False),
        drops_all=drops,
        seccomp=(seccomp if seccomp is None or isinstance(seccomp, Unknown) else str(seccomp)),
        requests=requests,
        limits=limits,
        literal_secrets=_literal_secrets(item),
    )


def _kong_admin_listen(containers: list[Props]) -> str | Unknown | None:
    for item in containers:
        image = item.get("image")
        env = {str(e.get("name")): e for e in item.each("env")}
        is_kong = (isinstance(image, str) and "kong" in image.rsplit("/", 1)[-1]) or any(
            name.startswith("KONG_") for name in env
        )
        if not is_kong:
            continue
        entry = env.get("KONG_ADMIN_LISTEN")
        if entry is None:
            return KONG_DEFAULT_ADMIN_LISTEN
        return entry.text("value", default="")
    return None


def _workload(ref: Ref, props: Props) -> list[SecurityFact]:
    namespace = props.get("metadata", "namespace")
    ns = namespace if isinstance(namespace, str) else "default"
    template = props.sub("spec", "template")
    if not isinstance(template, Props):
        missing = template if isinstance(template, Unknown) else Unknown("spec.template", "absent")
        return [WorkloadFact(ref, ns, missing, missing, None)]
    pod = template.sub("spec")
    if not isinstance(pod, Props):
        missing = pod if isinstance(pod, Unknown) else Unknown("spec.template.spec", "absent")
        return [WorkloadFact(ref, ns, template.str_map("metadata", "labels"), missing, None)]
    init, main = pod.items("initContainers"), pod.items("containers")
    items = [
        *(init if isinstance(init, list) else []),
        *(main if isinstance(main, list) else []),
    ]
    raw = pod.get("containers")
    containers: list[ContainerFact] | Unknown
    if isinstance(raw, Unknown):
        containers = raw
    elif not main:
        # Nothing to judge (a cut or partial manifest): never a pass on zero containers.
        containers = Unknown(
            "spec.template.spec.containers",
            "is absent or empty (the API server requires at least one container)",
        )
    else:
        unknown = next((item for item in items if isinstance(item, Unknown)), None)
        known = [item for item in items if isinstance(item, Props)]
        containers = unknown if unknown is not None else [_container(i, pod) for i in known]
    known_items = [item for item in items if isinstance(item, Props)]
    return [
        WorkloadFact(
            ref=ref,
            namespace=ns,
            pod_labels=template.str_map("metadata", "labels"),
            containers=containers,
            kong_admin_listen=_kong_admin_listen(known_items),
        )
    ]


def _network_policy(ref: Ref, props: Props) -> NetworkPolicyFact:
    namespace = props.get("metadata", "namespace")
    raw_types = props.get("spec", "policyTypes")
    types: frozenset[str] | Unknown
    if isinstance(raw_types, Unknown):
        types = raw_types
    elif isinstance(raw_types, list) and raw_types:
        types = frozenset(str(kind) for kind in raw_types)
    else:
        # Kubernetes' default: Ingress always, Egress when the spec has egress rules.
        types = frozenset({"Ingress", *(["Egress"] if props.get("spec", "egress") else [])})
    pod_selector = props.sub("spec", "podSelector")
    return NetworkPolicyFact(
        ref=ref,
        namespace=namespace if isinstance(namespace, str) else "default",
        pod_selector=selector(pod_selector) if pod_selector is not None else LabelSelector(),
        types=types,
    )


def extract(
    ref: Ref, kind: str, data: Mapping[str, object], parent: str | None
) -> list[SecurityFact]:
    """The security facts of one resource (empty for kinds no security rule reads)."""
    props = Props(data)
    if kind in INSTANCE_TEMPLATES:
        return _vm(ref, props)
    if kind == INSTANCE:
        return _vm(ref, props)
    if kind == FIREWALL:
        return [_firewall(ref, props)]
    if kind == SSL_POLICY:
        return [
            SslPolicyFact(
                ref,
                props.text("minTlsVersion", default="TLS_1_0"),
                props.text("profile", default="COMPATIBLE"),
                _identity_chain(data),
            )
        ]
    if kind in HTTPS_PROXIES or kind in HTTP_PROXIES:
        https = kind in HTTPS_PROXIES
        return [
            ProxyFact(
                ref,
                https,
                props.opt_text("sslPolicy") if https else None,
                props.opt_text("urlMap"),
                parent,
                _identity_chain(data),
            )
        ]
    if kind in URL_MAPS:
        return [UrlMapFact(ref, props.flag("defaultUrlRedirect", "httpsRedirect", default=False))]
    if kind == CLUSTER:
        return [_cluster(ref, props)]
    if kind == NODE_POOL:
        return [_node_pool(ref, props)]
    if kind in WORKLOADS:
        return _workload(ref, props)
    if kind == NETWORK_POLICY:
        return [_network_policy(ref, props)]
    if kind == CONFIG_MAP:
        return [PlainDataFact(ref, _secret_keys(props.mapping("data")))]
    if kind == KONG_PROVIDER:
        return [KongAdminFact(ref, props.opt_text("kongAdminUri"))]
    return []
