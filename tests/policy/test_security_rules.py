"""The security rules: the secure fixture passes each, one mutation fails each (and no other
security rule), the message names the value and the fix, and an unknown is never a pass."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hitless import program
from hitless_policy import addresses
from hitless_policy.extract import collect_facts
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULE_IDS, rule
from hitless_policy.rules import security as security_rules
from hitless_policy.runner import Verdict, judge
from tests.conftest import ROOT
from tests.policy.security_fixtures import UNKNOWN, Mutation, container, inputs, props

SECURITY_IDS = {
    "vm-no-external-ip",
    "vm-dedicated-service-account",
    "vm-shielded-os-login",
    "firewall-sources-restricted",
    "lb-https-only",
    "lb-modern-tls",
    "gke-private-nodes",
    "gke-workload-identity",
    "gke-shielded-nodes",
    "gke-binary-authorization",
    "container-security-context",
    "container-resources-set",
    "container-image-pinned",
    "workload-network-policy",
    "kong-admin-not-exposed",
    "no-plaintext-secrets",
}
"""The issue's fifteen security rules, plus the advisory image-digest rule."""


@dataclass(frozen=True)
class Case:
    """One failing mutation of the secure fixture."""

    rule: str
    resource: str
    mutate: Mutation
    message: str


def _env(name: str, value: str) -> Mutation:
    return lambda r: container(r, "kong")["env"].append({"name": name, "value": value})


CASES = [
    Case(
        "vm-no-external-ip",
        "template",
        lambda r: props(r, "template")["networkInterfaces"][0].update(accessConfigs=[{}]),
        "networkInterfaces 0 have an access config",
    ),
    Case(
        "vm-dedicated-service-account",
        "template",
        lambda r: props(r, "template")["serviceAccount"].update(
            email="123-compute@developer.gserviceaccount.com"
        ),
        "serviceAccount.email 123-compute@developer.gserviceaccount.com: the Compute Engine "
        "default service account",
    ),
    Case(
        "vm-shielded-os-login",
        "template",
        lambda r: props(r, "template")["metadata"].pop("block-project-ssh-keys"),
        "metadata block-project-ssh-keys unset: project-wide SSH keys reach this instance. "
        "Fix: set block-project-ssh-keys TRUE",
    ),
    Case(
        "firewall-sources-restricted",
        "fw-serve",
        lambda r: props(r, "fw-serve").update(sourceRanges=["0.0.0.0/1", "128.0.0.0/1"]),
        "sourceRanges ['0.0.0.0/1', '128.0.0.0/1'] together admit every IPv4 address",
    ),
    Case(
        "lb-https-only",
        "http-proxy",
        lambda r: props(r, "http-proxy").update(urlMap="url-map"),
        "serves plain HTTP through URL map url-map",
    ),
    Case(
        "lb-modern-tls",
        "https-proxy",
        lambda r: props(r, "ssl-policy").update(minTlsVersion="TLS_1_0"),
        "SSL policy ssl-policy minTlsVersion TLS_1_0",
    ),
    Case(
        "gke-private-nodes",
        "cluster",
        lambda r: props(r, "cluster").pop("privateClusterConfig"),
        "privateClusterConfig.enablePrivateNodes false",
    ),
    Case(
        "gke-workload-identity",
        "pool",
        lambda r: props(r, "pool")["nodeConfig"].pop("workloadMetadataConfig"),
        "nodeConfig.workloadMetadataConfig.mode unset",
    ),
    Case(
        "gke-shielded-nodes",
        "pool",
        lambda r: props(r, "pool")["nodeConfig"]["shieldedInstanceConfig"].pop("enableSecureBoot"),
        "nodeConfig.shieldedInstanceConfig.enableSecureBoot false",
    ),
    Case(
        "gke-binary-authorization",
        "cluster",
        lambda r: props(r, "cluster").pop("binaryAuthorization"),
        "binaryAuthorization.evaluationMode DISABLED: any image runs",
    ),
    Case(
        "container-security-context",
        "rt",
        lambda r: container(r, "rt")["securityContext"].pop("readOnlyRootFilesystem"),
        "container rt: readOnlyRootFilesystem false",
    ),
    Case(
        "container-resources-set",
        "rt",
        lambda r: container(r, "rt")["resources"].pop("limits"),
        "container rt: no resources.limits.memory",
    ),
    Case(
        "container-image-pinned",
        "rt",
        lambda r: container(r, "rt").update(image="rt:1.8.2"),
        "container rt: image rt:1.8.2 is referenced by tag",
    ),
    Case(
        "workload-network-policy",
        "kong",
        lambda r: r.pop("kong-egress"),
        "no NetworkPolicy in namespace kong selects its pods for Egress",
    ),
    Case(
        "kong-admin-not-exposed",
        "kong",
        lambda r: container(r, "kong")["env"][0].update(value="0.0.0.0:8001"),
        "KONG_ADMIN_LISTEN '0.0.0.0:8001' listens on 0.0.0.0",
    ),
    Case(
        "no-plaintext-secrets",
        "kong",
        _env("KONG_PG_PASSWORD", "hunter22"),
        "container proxy env KONG_PG_PASSWORD hold a credential as a literal value",
    ),
]


def _verdicts(mutate: Mutation | None = None) -> list[Verdict]:
    return judge(inputs(mutate), PackConfig(), security_rules.RULES)


class TestCatalog:
    """The registry holds every security rule; each has a failing case here."""

    def test_registered(self) -> None:
        assert {r.id for r in security_rules.RULES} == SECURITY_IDS
        assert set(RULE_IDS) >= SECURITY_IDS

    def test_every_rule_has_a_failing_case(self) -> None:
        assert {case.rule for case in CASES} == SECURITY_IDS

    def test_only_image_pinning_is_advisory(self) -> None:
        advisory = {r.id for r in security_rules.RULES if r.level == "advisory"}
        assert advisory == {"container-image-pinned"}


class TestSecureFixturePasses:
    """The secure fixture passes every security rule: nothing fails, nothing unjudged."""

    @pytest.mark.parametrize("rule_id", sorted(SECURITY_IDS))
    def test_rule_passes(self, rule_id: str) -> None:
        verdicts = [v for v in _verdicts() if v.rule == rule_id]
        assert verdicts, f"{rule_id} judged nothing"
        bad = [v for v in verdicts if v.status != "pass"]
        assert not bad, bad


class TestEachRuleFails:
    """One mutation fails its rule only, naming the resource, the value and the fix."""

    @pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
    def test_rule_fails(self, case: Case) -> None:
        fails = [v for v in _verdicts(case.mutate) if v.status == "fail"]
        mine = [v for v in fails if v.rule == case.rule]
        assert len(mine) == 1, fails
        assert mine[0].resource.endswith(f"::{case.resource}"), mine[0].resource
        assert case.message in mine[0].message, mine[0].message
        assert "Fix:" in mine[0].message
        assert {v.rule for v in fails} == {case.rule}, fails

    @pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
    def test_rule_function_called_directly(self, case: Case) -> None:
        findings = rule(case.rule).check(collect_facts(inputs(case.mutate)), PackConfig())
        assert [f.status for f in findings].count("fail") == 1


UNKNOWN_CASES: list[tuple[str, str, Mutation]] = [
    (
        "vm-no-external-ip",
        "template",
        lambda r: props(r, "template").update(networkInterfaces=UNKNOWN),
    ),
    (
        "vm-dedicated-service-account",
        "template",
        lambda r: props(r, "template")["serviceAccount"].update(email=UNKNOWN),
    ),
    (
        "vm-shielded-os-login",
        "template",
        lambda r: props(r, "template")["metadata"].update({"enable-oslogin": UNKNOWN}),
    ),
    (
        "firewall-sources-restricted",
        "fw-serve",
        lambda r: props(r, "fw-serve").update(sourceRanges=[UNKNOWN]),
    ),
    (
        "lb-https-only",
        "http-proxy",
        lambda r: props(r, "http-proxy").update(urlMap=UNKNOWN),
    ),
    (
        "lb-modern-tls",
        "https-proxy",
        lambda r: props(r, "ssl-policy").update(profile=UNKNOWN),
    ),
    (
        "gke-private-nodes",
        "cluster",
        lambda r: props(r, "cluster")["privateClusterConfig"].update(enablePrivateNodes=UNKNOWN),
    ),
    (
        "gke-workload-identity",
        "cluster",
        lambda r: props(r, "cluster")["workloadIdentityConfig"].update(workloadPool=UNKNOWN),
    ),
    (
        "gke-shielded-nodes",
        "cluster",
        lambda r: props(r, "cluster").update(enableShieldedNodes=UNKNOWN),
    ),
    (
        "gke-binary-authorization",
        "cluster",
        lambda r: props(r, "cluster")["binaryAuthorization"].update(evaluationMode=UNKNOWN),
    ),
    (
        "container-security-context",
        "rt",
        lambda r: container(r, "rt")["securityContext"].update(allowPrivilegeEscalation=UNKNOWN),
    ),
    (
        "container-resources-set",
        "rt",
        lambda r: container(r, "rt")["resources"].update(requests=UNKNOWN),
    ),
    ("container-image-pinned", "rt", lambda r: container(r, "rt").update(image=UNKNOWN)),
    (
        "workload-network-policy",
        "rt",
        lambda r: (
            r.pop("rt-both"),
            props(r, "kong-ingress")["metadata"].update(namespace="rt"),
            props(r, "kong-ingress")["spec"].update(podSelector=UNKNOWN),
        ),
    ),
    (
        "kong-admin-not-exposed",
        "kong",
        lambda r: container(r, "kong")["env"][0].update(value=UNKNOWN),
    ),
    (
        "no-plaintext-secrets",
        "rt",
        lambda r: props(r, "rt")["spec"]["template"]["spec"].update(containers=UNKNOWN),
    ),
]


class TestUnknownsAreNotJudged:
    """A preview unknown makes the rule say it cannot judge that resource, never pass it."""

    def test_every_rule_covered(self) -> None:
        assert {rule_id for rule_id, _, _ in UNKNOWN_CASES} == SECURITY_IDS

    @pytest.mark.parametrize(
        ("rule_id", "resource", "mutate"), UNKNOWN_CASES, ids=[c[0] for c in UNKNOWN_CASES]
    )
    def test_not_judged(self, rule_id: str, resource: str, mutate: Mutation) -> None:
        verdicts = [
            v
            for v in _verdicts(mutate)
            if v.rule == rule_id and v.resource.endswith(f"::{resource}")
        ]
        assert [v.status for v in verdicts] == ["not-judged"], verdicts
        assert "cannot judge" in verdicts[0].message


class TestDefaults:
    """Absent fields take the platform's documented default, which the rules judge."""

    def test_firewall_without_sources_is_the_internet(self) -> None:
        fails = [
            v
            for v in _verdicts(lambda r: props(r, "fw-serve").pop("sourceRanges"))
            if v.status == "fail"
        ]
        assert [v.rule for v in fails] == ["firewall-sources-restricted"]
        assert "GCP admits 0.0.0.0/0" in fails[0].message

    def test_https_proxy_without_policy(self) -> None:
        fails = [
            v
            for v in _verdicts(lambda r: props(r, "https-proxy").pop("sslPolicy"))
            if v.status == "fail"
        ]
        assert [v.rule for v in fails] == ["lb-modern-tls"]
        assert "COMPATIBLE profile, TLS 1.0" in fails[0].message

    def test_access_config_with_unknown_content_is_external(self) -> None:
        fails = [
            v
            for v in _verdicts(
                lambda r: props(r, "template")["networkInterfaces"][0].update(
                    accessConfigs=[UNKNOWN]
                )
            )
            if v.status == "fail"
        ]
        assert [v.rule for v in fails] == ["vm-no-external-ip"]

    def test_kong_admin_default_is_loopback(self) -> None:
        verdicts = [
            v
            for v in _verdicts(lambda r: container(r, "kong")["env"].pop(0))
            if v.rule == "kong-admin-not-exposed" and v.resource.endswith("::kong")
        ]
        assert [v.status for v in verdicts] == ["pass"]
        assert "127.0.0.1:8001" in verdicts[0].message

    def test_plain_http_admin_uri(self) -> None:
        fails = [
            v
            for v in _verdicts(
                lambda r: props(r, "kong-admin").update(kongAdminUri="http://cp.internal:8001")
            )
            if v.status == "fail"
        ]
        assert [v.rule for v in fails] == ["kong-admin-not-exposed"]
        assert "travels in clear" in fails[0].message

    def test_public_range_beside_google(self) -> None:
        fails = [
            v
            for v in _verdicts(
                lambda r: props(r, "fw-serve")["sourceRanges"].append("203.0.113.0/24")
            )
            if v.status == "fail"
        ]
        assert "admit 256 addresses (203.0.113.0/24) of public address space" in fails[0].message

    def test_private_key_in_config_map(self) -> None:
        key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
        fails = [
            v
            for v in _verdicts(lambda r: props(r, "config")["data"].update({"tls.pem": key}))
            if v.status == "fail"
        ]
        assert [v.rule for v in fails] == ["no-plaintext-secrets"]
        assert "keys tls.pem hold a credential" in fails[0].message

    def test_no_containers_is_not_judged(self) -> None:
        """A manifest cut before its containers has nothing to judge: never a pass."""
        verdicts = [
            v
            for v in _verdicts(
                lambda r: props(r, "rt")["spec"]["template"]["spec"].pop("containers")
            )
            if v.resource.endswith("::rt")
            and v.rule in ("container-security-context", "container-resources-set")
        ]
        assert [v.status for v in verdicts] == ["not-judged", "not-judged"], verdicts
        assert "containers is absent or empty" in verdicts[0].message


class TestCheckedInStacks:
    """The dev and prod previews pass every mandatory security rule, with nothing unjudged."""

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_clean(self, stack: str) -> None:
        cfg = program.load_config(stack, ROOT)
        capture = program.run_stack(stack, ROOT, preview=True)
        verdicts = program.judge_capture(
            capture, PackConfig(profile=cfg.profile, thresholds=cfg.thresholds)
        )
        mine = [v for v in verdicts if v.rule in SECURITY_IDS]
        assert {v.rule for v in mine} == SECURITY_IDS
        bad = [
            v
            for v in mine
            if v.status == "not-judged" or (v.status == "fail" and v.level == "mandatory")
        ]
        assert not bad, bad


class TestAddressSpace:
    """The firewall judgement is set arithmetic on addresses, not string matching."""

    @settings(max_examples=60, deadline=None)
    @given(st.integers(min_value=1, max_value=8))
    def test_any_split_of_the_internet_is_the_internet(self, prefix: int) -> None:
        pieces = [str(net) for net in ipaddress.IPv4Network("0.0.0.0/0").subnets(prefix)]
        networks = addresses.parse_ranges(pieces)
        assert addresses.whole_internet(networks) == ["IPv4"]
        assert addresses.address_count(networks) == 2**32

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(8, 32)), min_size=1, max_size=6)
    )
    def test_public_part_is_disjoint_from_allowed(self, raw: list[tuple[int, int]]) -> None:
        networks = [
            ipaddress.IPv4Network((address, prefix), strict=False) for address, prefix in raw
        ]
        public = addresses.public_outside(networks)
        allowed = [*addresses.PRIVATE_RANGES, *addresses.GOOGLE_FRONTEND_RANGES]
        assert not any(p.overlaps(a) for p in public for a in allowed if p.version == a.version)
        union = addresses.collapsed(networks)
        assert all(any(p.subnet_of(u) for u in union) for p in public)  # type: ignore[arg-type]
        # CIDR blocks nest or are disjoint: the overlap of two is the smaller one.
        inside_allowed = sum(
            min(u.num_addresses, a.num_addresses)
            for u in union
            for a in allowed
            if u.version == a.version and u.overlaps(a)
        )
        assert addresses.address_count(public) + inside_allowed == addresses.address_count(union)
