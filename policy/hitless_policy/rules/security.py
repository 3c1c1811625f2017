"""Security rules: a baseline every chain keeps, judged on the same facts as the hitless rules.

Each rule reads `Facts.security` (extracted by `extract.security`, platform defaults applied
there). A value that is a preview unknown makes the rule say it cannot judge that resource; it
never passes it. Messages state the value found, why it matters and the fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import TypeVar

from hitless_policy import addresses
from hitless_policy.extract import security as sec
from hitless_policy.facts import Facts, LabelSelector, Ref, Unknown, unknowns
from hitless_policy.profile import PackConfig
from hitless_policy.rules.base import Finding, Judge, Rule, exempt

DEFAULT_COMPUTE_ACCOUNT_SUFFIX = "-compute@developer.gserviceaccount.com"
"""The Compute Engine default service account (project editor by default)."""
STRONG_TLS = ("TLS_1_2", "TLS_1_3")
"""Minimum TLS versions accepted by lb-modern-tls."""
STRONG_PROFILES = ("MODERN", "RESTRICTED")
"""SSL policy profiles accepted by lb-modern-tls (CUSTOM cannot be judged from the name)."""
BINAUTHZ_ENFORCED = "PROJECT_SINGLETON_POLICY_ENFORCE"
"""The Binary Authorization mode that admits only images the project's policy allows."""
STRONG_SECCOMP = ("RuntimeDefault", "Localhost")
"""seccompProfile types of the `restricted` Pod Security Standard."""
REQUIRED_REQUESTS = ("cpu", "memory")
"""Requests every container sets (scheduling, HPA)."""
REQUIRED_LIMITS = ("memory",)
"""Limits every container sets; no CPU limit, which throttles a request mid-flight."""

WORKLOAD_TYPES = frozenset(sec.WORKLOADS)
"""Type tokens of the workloads the container rules judge."""
VM_TYPES = frozenset((*sec.INSTANCE_TEMPLATES, sec.INSTANCE))
"""Type tokens of the instances and templates the VM rules judge."""

T = TypeVar("T")


def _truthy(value: str | Unknown | None) -> bool | Unknown:
    """A GCE metadata boolean (`TRUE`, `true`, `1`)."""
    if isinstance(value, Unknown):
        return value
    return value is not None and value.strip().lower() in ("true", "1", "yes")


# --------------------------------------------------------------------------------------------
# VMs
# --------------------------------------------------------------------------------------------


def vm_no_external_ip_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """vm-no-external-ip."""
    judge = Judge("vm-no-external-ip")
    for vm in sec.view(facts.security).vms:
        if isinstance(vm.external_ips, Unknown):
            judge.cannot(vm.ref, [vm.external_ips])
        elif vm.external_ips:
            judge.fail(
                vm.ref,
                f"networkInterfaces {', '.join(vm.external_ips)} have an access config, so the "
                "instance gets an external address anyone can reach past the load balancer. "
                "Fix: remove accessConfigs and reach the internet through Cloud NAT",
            )
        else:
            judge.ok(vm.ref, "no access config: internal address only")
    return judge.findings


def vm_dedicated_account_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """vm-dedicated-service-account."""
    judge = Judge("vm-dedicated-service-account")
    for vm in sec.view(facts.security).vms:
        account = vm.service_account
        if isinstance(account, Unknown):
            judge.cannot(vm.ref, [account])
        elif account is None:
            judge.ok(vm.ref, "no service account attached: the instance has no Google identity")
        elif account == "default" or account.endswith(DEFAULT_COMPUTE_ACCOUNT_SUFFIX):
            judge.fail(
                vm.ref,
                f"serviceAccount.email {account}: the Compute Engine default service account "
                "(Editor on the project by default), shared by every VM. Fix: create a "
                "dedicated service account with only the roles the tier needs",
            )
        else:
            judge.ok(vm.ref, f"dedicated service account {account}")
    return judge.findings


def vm_shielded_os_login_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """vm-shielded-os-login."""
    judge = Judge("vm-shielded-os-login")
    for vm in sec.view(facts.security).vms:
        metadata = vm.metadata
        if isinstance(metadata, Unknown):
            judge.cannot(vm.ref, [metadata])
            continue
        os_login = _truthy(metadata.get("enable-oslogin"))
        block_keys = _truthy(metadata.get("block-project-ssh-keys"))
        missing = unknowns(vm.secure_boot, vm.vtpm, vm.integrity_monitoring, os_login, block_keys)
        if missing:
            judge.cannot(vm.ref, missing)
            continue
        problems = [
            f"shieldedInstanceConfig.{name} false. Fix: set {name} true"
            for name, on in (
                ("enableSecureBoot", vm.secure_boot),
                ("enableVtpm", vm.vtpm),
                ("enableIntegrityMonitoring", vm.integrity_monitoring),
            )
            if not on
        ]
        if not os_login:
            problems.append(
                f"metadata enable-oslogin {metadata.get('enable-oslogin') or 'unset'}: SSH keys "
                "in metadata grant access that IAM cannot revoke. Fix: set enable-oslogin TRUE"
            )
        if not block_keys:
            value = metadata.get("block-project-ssh-keys") or "unset"
            problems.append(
                f"metadata block-project-ssh-keys {value}: project-wide SSH keys reach this "
                "instance. Fix: set block-project-ssh-keys TRUE"
            )
        judge.verdict(vm.ref, problems, "Shielded VM (secure boot, vTPM, integrity), OS Login only")
    return judge.findings


# --------------------------------------------------------------------------------------------
# Firewalls and load balancers
# --------------------------------------------------------------------------------------------


def firewall_sources_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """firewall-sources-restricted."""
    judge = Judge("firewall-sources-restricted")
    for rule in sec.view(facts.security).firewalls:
        missing = unknowns(rule.direction, rule.disabled)
        if missing:
            judge.cannot(rule.ref, missing)
            continue
        if rule.direction != "INGRESS" or rule.disabled or not rule.allows:
            continue
        missing = unknowns(rule.source_ranges, rule.other_sources)
        if missing:
            judge.cannot(rule.ref, missing)
            continue
        ranges = list(rule.source_ranges) if isinstance(rule.source_ranges, list) else []
        if not ranges and rule.other_sources:
            judge.ok(rule.ref, "sources restricted by tags or service accounts")
            continue
        try:
            networks = addresses.parse_ranges(ranges or ["0.0.0.0/0"])
        except ValueError as error:
            judge.cannot(rule.ref, f"sourceRanges: {error}")
            continue
        shown = ranges or ["(none: GCP admits 0.0.0.0/0)"]
        everything = addresses.whole_internet(networks)
        if everything:
            judge.fail(
                rule.ref,
                f"sourceRanges {shown} together admit every {'/'.join(everything)} address, the "
                "whole internet, to instances only the load balancer or the previous tier "
                "should reach. Fix: list the previous tier's range and Google's front-end ranges "
                "(35.191.0.0/16, 130.211.0.0/22) only",
            )
            continue
        public = addresses.public_outside(networks)
        if public:
            judge.fail(
                rule.ref,
                f"sourceRanges {shown} admit {addresses.describe(public)} of public address "
                "space outside Google's front-end and health-check ranges: clients can bypass "
                "the load balancer. Fix: admit only private ranges and Google's ranges",
            )
        else:
            judge.ok(
                rule.ref,
                f"admits {addresses.address_count(networks):,} addresses, all private or Google's "
                "front ends",
            )
    return judge.findings


def _tail(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def _by_link(link: str, candidates: Iterable[tuple[Ref, T]]) -> list[T]:
    """Candidates whose name, id or self link matches `link`'s last segment."""
    tail = _tail(link)
    return [item for ref, item in candidates if tail in (ref.name, _tail(ref.id)) or link == ref.id]


def lb_https_only_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """lb-https-only."""
    judge = Judge("lb-https-only")
    view = sec.view(facts.security)
    maps = [(m.ref, m) for m in view.url_maps]
    for proxy in view.proxies:
        if proxy.https:
            continue
        found: list[sec.UrlMapFact] = []
        if isinstance(proxy.url_map, str):
            found = _by_link(proxy.url_map, maps)
        if not found and proxy.parent is not None:
            # At preview the link is computed; the components parent the proxy to its URL map.
            found = [m for ref, m in maps if ref.id == proxy.parent]
        if len(found) != 1:
            why = (
                proxy.url_map
                if isinstance(proxy.url_map, Unknown)
                else f"urlMap {proxy.url_map or 'unset'} is not among the judged URL maps"
            )
            judge.cannot(proxy.ref, [why] if isinstance(why, Unknown) else why)
            continue
        url_map = found[0]
        if isinstance(url_map.https_redirect, Unknown):
            judge.cannot(proxy.ref, [url_map.https_redirect])
        elif url_map.https_redirect:
            judge.ok(proxy.ref, f"plain HTTP only redirects to HTTPS ({url_map.ref.name})")
        else:
            judge.fail(
                proxy.ref,
                f"serves plain HTTP through URL map {url_map.ref.name}, whose default action "
                "is not an HTTPS redirect: requests and cookies travel in clear. Fix: give the "
                "HTTP proxy a URL map with defaultUrlRedirect {httpsRedirect: true}",
            )
    return judge.findings


def lb_modern_tls_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """lb-modern-tls."""
    judge = Judge("lb-modern-tls")
    view = sec.view(facts.security)
    policies = [(p.ref, p) for p in view.ssl_policies]
    for proxy in view.proxies:
        if not proxy.https:
            continue
        if proxy.ssl_policy is None:
            judge.fail(
                proxy.ref,
                "no sslPolicy: GCP's default policy (COMPATIBLE profile, TLS 1.0) applies, so "
                "clients may negotiate TLS 1.0/1.1 and weak ciphers. Fix: attach an SSL policy "
                "with minTlsVersion TLS_1_2 and profile MODERN or RESTRICTED",
            )
            continue
        if isinstance(proxy.ssl_policy, Unknown):
            # At preview the link is computed; the chain's identity still names its policy.
            found = [p for _, p in policies if proxy.chain is not None and p.chain == proxy.chain]
        else:
            found = _by_link(proxy.ssl_policy, policies)
        if len(found) != 1:
            judge.cannot(
                proxy.ref,
                [proxy.ssl_policy]
                if isinstance(proxy.ssl_policy, Unknown)
                else f"sslPolicy {proxy.ssl_policy} is not among the judged SSL policies",
            )
            continue
        policy = found[0]
        missing = unknowns(policy.min_tls_version, policy.profile)
        if missing:
            judge.cannot(proxy.ref, missing)
            continue
        problems: list[str] = []
        if policy.min_tls_version not in STRONG_TLS:
            problems.append(
                f"SSL policy {policy.ref.name} minTlsVersion {policy.min_tls_version} admits "
                "TLS versions with known weaknesses. Fix: set minTlsVersion TLS_1_2"
            )
        if policy.profile not in STRONG_PROFILES:
            problems.append(
                f"SSL policy {policy.ref.name} profile {policy.profile} admits weak ciphers. "
                "Fix: set profile MODERN or RESTRICTED"
            )
        judge.verdict(
            proxy.ref,
            problems,
            f"SSL policy {policy.ref.name}: {policy.min_tls_version}, {policy.profile}",
        )
    return judge.findings


# --------------------------------------------------------------------------------------------
# GKE
# --------------------------------------------------------------------------------------------


def gke_private_nodes_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """gke-private-nodes."""
    judge = Judge("gke-private-nodes")
    for cluster in sec.view(facts.security).clusters:
        if isinstance(cluster.private_nodes, Unknown):
            judge.cannot(cluster.ref, [cluster.private_nodes])
        elif cluster.private_nodes:
            judge.ok(cluster.ref, "private nodes: no node has an external address")
        else:
            judge.fail(
                cluster.ref,
                "privateClusterConfig.enablePrivateNodes false: every node gets an external "
                "address. Fix: set privateClusterConfig {enablePrivateNodes: true, "
                "masterIpv4CidrBlock: <a /28>} and reach the internet through Cloud NAT",
            )
    return judge.findings


def gke_workload_identity_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """gke-workload-identity."""
    judge = Judge("gke-workload-identity")
    view = sec.view(facts.security)
    for cluster in view.clusters:
        workload_pool = cluster.workload_pool
        if isinstance(workload_pool, Unknown):
            judge.cannot(cluster.ref, [workload_pool])
        elif workload_pool:
            judge.ok(cluster.ref, f"Workload Identity pool {workload_pool}")
        else:
            judge.fail(
                cluster.ref,
                "no workloadIdentityConfig.workloadPool: pods use the node's service account "
                "through the metadata server. Fix: set workloadIdentityConfig {workloadPool: "
                "<project>.svc.id.goog}",
            )
    for pool in view.node_pools:
        mode = pool.metadata_mode
        if isinstance(mode, Unknown):
            judge.cannot(pool.ref, [mode])
        elif mode == "GKE_METADATA":
            judge.ok(pool.ref, "nodes serve the GKE metadata server (Workload Identity)")
        else:
            judge.fail(
                pool.ref,
                f"nodeConfig.workloadMetadataConfig.mode {mode or 'unset'}: pods on these "
                "nodes can read the node's credentials from the metadata server. Fix: set "
                "workloadMetadataConfig {mode: GKE_METADATA}",
            )
    return judge.findings


def gke_shielded_nodes_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """gke-shielded-nodes."""
    judge = Judge("gke-shielded-nodes")
    view = sec.view(facts.security)
    for cluster in view.clusters:
        if isinstance(cluster.shielded_nodes, Unknown):
            judge.cannot(cluster.ref, [cluster.shielded_nodes])
        elif cluster.shielded_nodes:
            judge.ok(cluster.ref, "shielded GKE nodes")
        else:
            judge.fail(
                cluster.ref,
                "enableShieldedNodes false: a node's identity cannot be verified, so a rogue "
                "VM may join the cluster. Fix: set enableShieldedNodes true",
            )
    for pool in view.node_pools:
        missing = unknowns(pool.secure_boot, pool.integrity_monitoring)
        if missing:
            judge.cannot(pool.ref, missing)
            continue
        problems = [
            f"nodeConfig.shieldedInstanceConfig.{name} false: boot components are not "
            f"verified. Fix: set {name} true"
            for name, on in (
                ("enableSecureBoot", pool.secure_boot),
                ("enableIntegrityMonitoring", pool.integrity_monitoring),
            )
            if not on
        ]
        judge.verdict(pool.ref, problems, "secure boot and integrity monitoring on")
    return judge.findings


def gke_binary_authorization_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """gke-binary-authorization."""
    judge = Judge("gke-binary-authorization")
    for cluster in sec.view(facts.security).clusters:
        mode = cluster.binauthz_mode
        if isinstance(mode, Unknown):
            judge.cannot(cluster.ref, [mode])
        elif mode == BINAUTHZ_ENFORCED:
            judge.ok(cluster.ref, f"Binary Authorization {mode}")
        else:
            judge.fail(
                cluster.ref,
                f"binaryAuthorization.evaluationMode {mode}: any image runs, whoever built it. "
                f"Fix: set binaryAuthorization {{evaluationMode: {BINAUTHZ_ENFORCED}}}",
            )
    return judge.findings


# --------------------------------------------------------------------------------------------
# Kubernetes workloads
# --------------------------------------------------------------------------------------------


def _each_container(
    judge: Judge, facts: Facts, check: Callable[[sec.ContainerFact], list[str] | list[Unknown]]
) -> None:
    """Judge every workload by the problems `check` finds in each of its containers."""
    for workload in sec.view(facts.security).workloads:
        if isinstance(workload.containers, Unknown):
            judge.cannot(workload.ref, [workload.containers])
            continue
        problems: list[str] = []
        missing: list[Unknown] = []
        for container in workload.containers:
            found = check(container)
            missing.extend(item for item in found if isinstance(item, Unknown))
            problems.extend(
                f"container {container.name}: {item}" for item in found if isinstance(item, str)
            )
        if problems:
            judge.fail(workload.ref, "; ".join(problems))
        elif missing:
            judge.cannot(workload.ref, missing)
        else:
            names = ", ".join(c.name for c in workload.containers)
            judge.ok(workload.ref, f"containers {names}: ok")


def _context_problems(c: sec.ContainerFact) -> list[str] | list[Unknown]:
    missing = unknowns(
        c.run_as_non_root,
        c.run_as_user,
        c.privileged,
        c.allow_privilege_escalation,
        c.read_only_root,
        c.drops_all,
        c.seccomp,
    )
    if missing:
        return missing
    problems: list[str] = []
    if c.privileged:
        problems.append("privileged true gives the container the host. Fix: remove privileged")
    if c.run_as_non_root is not True and c.run_as_user in (None, 0):
        problems.append(
            f"runAsNonRoot {c.run_as_non_root or 'unset'}: the container may run as root. "
            "Fix: set securityContext.runAsNonRoot true"
        )
    if c.allow_privilege_escalation is not False:
        problems.append(
            f"allowPrivilegeEscalation {c.allow_privilege_escalation or 'unset (true)'}. Fix: "
            "set allowPrivilegeEscalation false"
        )
    if not c.read_only_root:
        problems.append(
            "readOnlyRootFilesystem false: an intruder can alter the image's files. Fix: set "
            "readOnlyRootFilesystem true (emptyDir for writable paths)"
        )
    if not c.drops_all:
        problems.append("capabilities.drop lacks ALL. Fix: drop ALL capabilities")
    if c.seccomp not in STRONG_SECCOMP:
        problems.append(
            f"seccompProfile {c.seccomp or 'unset (Unconfined)'}. Fix: set seccompProfile "
            "{type: RuntimeDefault}"
        )
    return problems


def container_security_context_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """container-security-context."""
    judge = Judge("container-security-context")
    _each_container(judge, facts, _context_problems)
    return judge.findings


def _resource_problems(c: sec.ContainerFact) -> list[str] | list[Unknown]:
    missing = unknowns(c.requests, c.limits)
    if missing:
        return missing
    requests = c.requests if isinstance(c.requests, dict) else {}
    limits = c.limits if isinstance(c.limits, dict) else {}
    problems = [
        f"no resources.requests.{name}: the scheduler and the HPA cannot size the pod. Fix: "
        f"set requests.{name}"
        for name in REQUIRED_REQUESTS
        if name not in requests
    ]
    problems.extend(
        f"no resources.limits.{name}: one leaking pod can exhaust the node. Fix: set limits.{name}"
        for name in REQUIRED_LIMITS
        if name not in limits
    )
    return problems


def container_resources_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """container-resources-set."""
    judge = Judge("container-resources-set")
    _each_container(judge, facts, _resource_problems)
    return judge.findings


def _image_problems(c: sec.ContainerFact) -> list[str] | list[Unknown]:
    if isinstance(c.image, Unknown):
        return [c.image]
    if "@sha256:" in c.image:
        return []
    return [
        f"image {c.image or 'unset'} is referenced by tag: the tag can move, so what runs can "
        "change without a deploy. Fix: pin it by digest (image@sha256:...; "
        "in a hitless stack: image_digest of hitless:kong or of the item of hitless:runtimes)"
    ]


def container_image_pinned_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """container-image-pinned."""
    judge = Judge("container-image-pinned")
    _each_container(judge, facts, _image_problems)
    return judge.findings


def _selects(selector: LabelSelector, labels: dict[str, str]) -> bool:
    """A NetworkPolicy podSelector: the empty selector selects every pod of the namespace."""
    if not selector.match_labels and not selector.match_expressions:
        return True
    return selector.matches(labels)


def workload_network_policy_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """workload-network-policy."""
    judge = Judge("workload-network-policy")
    view = sec.view(facts.security)
    for workload in view.workloads:
        if isinstance(workload.pod_labels, Unknown):
            judge.cannot(workload.ref, [workload.pod_labels])
            continue
        covered: set[str] = set()
        missing: list[Unknown] = []
        names: list[str] = []
        for policy in view.network_policies:
            if policy.namespace != workload.namespace:
                continue
            if isinstance(policy.pod_selector, Unknown) or isinstance(policy.types, Unknown):
                missing.extend(unknowns(policy.pod_selector, policy.types))
                continue
            if _selects(policy.pod_selector, workload.pod_labels):
                covered.update(policy.types)
                names.append(policy.ref.name)
        absent = [kind for kind in ("Ingress", "Egress") if kind not in covered]
        if not absent:
            judge.ok(workload.ref, f"isolated both ways by {', '.join(sorted(names))}")
        elif missing:
            judge.cannot(workload.ref, missing)
        else:
            effects = {
                "Ingress": "any pod in the cluster can reach them",
                "Egress": "they can connect anywhere",
            }
            judge.fail(
                workload.ref,
                f"no NetworkPolicy in namespace {workload.namespace} selects its pods for "
                f"{' and '.join(absent)}: {' and '.join(effects[kind] for kind in absent)}. "
                f"Fix: add a NetworkPolicy selecting its pods with policyTypes {absent} that "
                "admits only the peers it needs",
            )
    return judge.findings


def _listener_hosts(listen: str) -> list[str]:
    """Hosts of a Kong `*_listen` value (`off` gives none)."""
    if listen.strip().lower() == "off":
        return []
    hosts: list[str] = []
    for entry in listen.split(","):
        address = entry.strip().split()[0] if entry.strip() else ""
        host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
        hosts.append(host)
    return hosts


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kong_admin_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """kong-admin-not-exposed."""
    judge = Judge("kong-admin-not-exposed")
    view = sec.view(facts.security)
    for workload in view.workloads:
        listen = workload.kong_admin_listen
        if listen is None:
            continue
        if isinstance(listen, Unknown):
            judge.cannot(workload.ref, [listen])
            continue
        exposed = [host for host in _listener_hosts(listen) if not _is_loopback(host)]
        if exposed:
            judge.fail(
                workload.ref,
                f"KONG_ADMIN_LISTEN {listen!r} listens on {', '.join(exposed)}: anyone who "
                "reaches the pod can reconfigure the gateway. Fix: set KONG_ADMIN_LISTEN off on "
                "the data plane (or 127.0.0.1 only)",
            )
        else:
            judge.ok(workload.ref, f"Admin API {listen or 'off'}: not reachable from the network")
    for provider in view.kong_admins:
        uri = provider.admin_uri
        if isinstance(uri, Unknown):
            judge.cannot(provider.ref, [uri])
            continue
        if uri is None:
            judge.cannot(provider.ref, "kongAdminUri is not set")
            continue
        scheme, _, rest = uri.partition("://")
        host = rest.split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        if scheme.lower() == "https" or _is_loopback(host):
            judge.ok(provider.ref, f"Admin API at {uri}: the token does not cross a network")
        else:
            judge.fail(
                provider.ref,
                f"kongAdminUri {uri}: the admin token travels in clear over {scheme}. Fix: use "
                "the control plane's https:// Admin API",
            )
    return judge.findings


def no_plaintext_secrets_rule(facts: Facts, config: PackConfig) -> list[Finding]:
    """no-plaintext-secrets."""
    judge = Judge("no-plaintext-secrets")
    view = sec.view(facts.security)
    for workload in view.workloads:
        if isinstance(workload.containers, Unknown):
            judge.cannot(workload.ref, [workload.containers])
            continue
        found = [
            f"container {c.name} env {name}"
            for c in workload.containers
            for name in c.literal_secrets
        ]
        if found:
            judge.fail(
                workload.ref,
                f"{', '.join(found)} hold a credential as a literal value, readable by anyone "
                "who can read the object. Fix: use valueFrom.secretKeyRef (or a mounted Secret)",
            )
        else:
            judge.ok(workload.ref, "no credential in a literal env value")
    for data in view.plain_data:
        if data.secret_keys:
            judge.fail(
                data.ref,
                f"keys {', '.join(data.secret_keys)} hold a credential in plain data "
                "(ConfigMap data or instance metadata are not secret). Fix: move it to a "
                "Secret (Kubernetes) or Secret Manager (GCE)",
            )
        else:
            judge.ok(data.ref, "no credential in plain data")
    return judge.findings


RULES: tuple[Rule, ...] = (
    Rule(
        "vm-no-external-ip",
        "Prohibits instances and templates with an external address." + exempt("security"),
        "mandatory",
        vm_no_external_ip_rule,
        VM_TYPES,
    ),
    Rule(
        "vm-dedicated-service-account",
        "Prohibits instances running as the Compute Engine default service account."
        + exempt("security"),
        "mandatory",
        vm_dedicated_account_rule,
        VM_TYPES,
    ),
    Rule(
        "vm-shielded-os-login",
        "Prohibits instances without Shielded VM, OS Login and blocked project SSH keys."
        + exempt("security"),
        "mandatory",
        vm_shielded_os_login_rule,
        VM_TYPES,
    ),
    Rule(
        "firewall-sources-restricted",
        "Prohibits ingress firewall rules admitting public address space beyond Google's."
        + exempt("security"),
        "mandatory",
        firewall_sources_rule,
        frozenset({sec.FIREWALL}),
    ),
    Rule(
        "lb-https-only",
        "Prohibits HTTP load balancer frontends that do not redirect to HTTPS."
        + exempt("security"),
        "mandatory",
        lb_https_only_rule,
    ),
    Rule(
        "lb-modern-tls",
        "Prohibits HTTPS proxies accepting TLS below 1.2 or a profile weaker than MODERN."
        + exempt("security"),
        "mandatory",
        lb_modern_tls_rule,
    ),
    Rule(
        "gke-private-nodes",
        "Prohibits GKE clusters whose nodes have external addresses." + exempt("security"),
        "mandatory",
        gke_private_nodes_rule,
        frozenset({sec.CLUSTER}),
    ),
    Rule(
        "gke-workload-identity",
        "Prohibits GKE clusters and node pools without Workload Identity." + exempt("security"),
        "mandatory",
        gke_workload_identity_rule,
        frozenset({sec.CLUSTER, sec.NODE_POOL}),
    ),
    Rule(
        "gke-shielded-nodes",
        "Prohibits GKE nodes without shielded nodes, secure boot and integrity monitoring."
        + exempt("security"),
        "mandatory",
        gke_shielded_nodes_rule,
        frozenset({sec.CLUSTER, sec.NODE_POOL}),
    ),
    Rule(
        "gke-binary-authorization",
        "Prohibits GKE clusters that do not enforce Binary Authorization." + exempt("security"),
        "mandatory",
        gke_binary_authorization_rule,
        frozenset({sec.CLUSTER}),
    ),
    Rule(
        "container-security-context",
        "Prohibits containers without the restricted Pod Security Standard's context."
        + exempt("security"),
        "mandatory",
        container_security_context_rule,
        WORKLOAD_TYPES,
    ),
    Rule(
        "container-resources-set",
        "Prohibits containers without CPU/memory requests and a memory limit."
        + exempt("capacity (scheduling and eviction under memory pressure)"),
        "mandatory",
        container_resources_rule,
        WORKLOAD_TYPES,
    ),
    Rule(
        "container-image-pinned",
        "Advises pinning container images by digest." + exempt("security and reproducibility"),
        "advisory",
        container_image_pinned_rule,
        WORKLOAD_TYPES,
    ),
    Rule(
        "workload-network-policy",
        "Prohibits workloads whose pods no NetworkPolicy isolates for ingress and egress."
        + exempt("security"),
        "mandatory",
        workload_network_policy_rule,
    ),
    Rule(
        "kong-admin-not-exposed",
        "Prohibits a Kong Admin API reachable from the network or reached over plain HTTP."
        + exempt("security"),
        "mandatory",
        kong_admin_rule,
        frozenset({*WORKLOAD_TYPES, sec.KONG_PROVIDER}),
    ),
    Rule(
        "no-plaintext-secrets",
        "Prohibits credentials in literal env values, ConfigMaps and instance metadata."
        + exempt("security"),
        "mandatory",
        no_plaintext_secrets_rule,
        frozenset({*WORKLOAD_TYPES, *VM_TYPES, sec.CONFIG_MAP}),
    ),
)
"""The security rules."""
