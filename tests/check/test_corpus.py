"""`hitless check` on public files nobody here wrote (../shared/corpus, provenance in INDEX.md).

Each row is the verdict decided by reading the file: the exit code, rules that must fail on the
file's own objects, rules that must not, and why. `chain:*` pseudo-resources (hops whose other
tier is absent) are not the file's objects. Bad input exits 2 with `file:line: reason`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hitless.check import (
    EXIT_CLEAN,
    EXIT_FAIL,
    EXIT_NOTHING_JUDGED,
    CheckResult,
    check,
)
from hitless_policy.loader import InputError

CORPUS = "corpus"
MIN = "deployment-min-replicas"
ROLL = "deployment-rolling-update-hitless"
READY = "deployment-readiness-probe"
PRESTOP = "deployment-prestop-covers-propagation"
GRACE = "deployment-grace-covers-drain"
SPREAD = "deployment-spread-across-failure-domains"
PDB = "pdb-matches-deployment"
PDB_ALLOWS = "pdb-allows-disruption"
PDB_UNHEALTHY = "pdb-evicts-unhealthy-pods"
RETRIES = "chain-retries-safe"
DRAIN = "chain-drain-covers-longest-request"
KONG_HC = "kong-upstream-healthcheck-safe"
NETPOL = "workload-network-policy"
CONTEXT = "container-security-context"
RESOURCES = "container-resources-set"
SECRETS = "no-plaintext-secrets"
KONG_ADMIN = "kong-admin-not-exposed"
NO_PRESTOP_RT = {PRESTOP, GRACE, SPREAD}
"""What a runtime without preStop, spread or a longer grace fails: most public manifests. (Its
drain is its grace period's, judged by deployment-grace-covers-drain alone.)"""
UNHARDENED = {NETPOL, CONTEXT, RESOURCES}
"""What a workload without a NetworkPolicy, a restricted securityContext and resource requests
fails: the security rules are mandatory rules of the pack and judge team manifests too."""

# file -> (exit code, must fail, must not fail, why)
MANIFESTS: dict[str, tuple[int, set[str], set[str], str]] = {
    "k8s/msdemo-release-kubernetes-manifests.yaml": (
        EXIT_FAIL,
        {MIN, READY} | NO_PRESTOP_RT | UNHARDENED,
        {ROLL},
        "12 single-replica Deployments without preStop; loadgenerator has no readiness probe; "
        "default strategy at 1 replica resolves to surge 1 / unavailable 0",
    ),
    "k8s/msdemo-frontend.yaml": (
        EXIT_FAIL,
        {MIN, READY, NETPOL, CONTEXT} | NO_PRESTOP_RT,
        {ROLL, RESOURCES},
        "liveness and readiness hit the same /_healthz (headers differ only) with equal timing",
    ),
    "k8s/msdemo-cartservice.yaml": (
        EXIT_FAIL,
        {MIN, READY, NETPOL, CONTEXT} | NO_PRESTOP_RT,
        {RESOURCES},
        "grpc probes on the same health service; redis-cart's tcpSocket probes identical",
    ),
    "k8s/msdemo-loadgenerator.yaml": (
        EXIT_FAIL,
        {MIN, READY, PRESTOP, GRACE} | UNHARDENED,
        set(),
        "one worker without readiness probe, grace 5 s (judged as a runtime, with a notice)",
    ),
    "k8s/k8sex-guestbook-all-in-one.yaml": (
        EXIT_FAIL,
        {MIN, READY, PDB} | NO_PRESTOP_RT | UNHARDENED,
        set(),
        "no probes at all; frontend has 3 replicas and no PDB",
    ),
    "k8s/k8sex-guestbook-frontend-deployment.yaml": (
        EXIT_FAIL,
        {READY, PDB} | NO_PRESTOP_RT | UNHARDENED,
        {MIN},
        "3 replicas, no probes, no PDB",
    ),
    "k8s/k8sex-cockroachdb-statefulset.yaml": (
        EXIT_FAIL,
        {PDB_UNHEALTHY} | UNHARDENED,
        {MIN, PDB_ALLOWS},
        "the rollout rules judge Deployments only, the container and isolation rules judge the "
        "StatefulSet (root, no limits, no NetworkPolicy); its policy/v1beta1 PDB is judged "
        "(maxUnavailable 1)",
    ),
    "k8s/k8sex-vllm-deployment.yaml": (
        EXIT_FAIL,
        {MIN, READY, NETPOL, CONTEXT} | NO_PRESTOP_RT,
        {RESOURCES},
        "GPU Deployment, 1 replica, no readiness probe; requests and limits set",
    ),
    "k8s/k8sex-vllm-hpa.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "an HPA alone: its Deployment is not in the input",
    ),
    "k8s/k8sex-tf-serving-deployment.yaml": (
        EXIT_FAIL,
        {MIN, READY} | NO_PRESTOP_RT | UNHARDENED,
        set(),
        "1 replica, no readiness probe",
    ),
    "k8s/kongchart-default-values.yaml": (
        EXIT_FAIL,
        {MIN, PRESTOP, GRACE, SPREAD, DRAIN, NETPOL, RESOURCES},
        {READY, CONTEXT},
        "Kong by its image: kong quit --wait=15 < 30 s LB lag, default --timeout 10 < longest "
        "request; readiness /status/ready differs from liveness /status; the chart's "
        "securityContext is restricted, but no resources and no NetworkPolicy",
    ),
    "k8s/kongchart-pdb-always-allow.yaml": (
        EXIT_FAIL,
        {PRESTOP, GRACE, SPREAD, NETPOL, RESOURCES},
        {PDB_UNHEALTHY, PDB_ALLOWS, MIN, CONTEXT},
        "PDB with AlwaysAllow; 2 replicas; restricted securityContext, no resources",
    ),
    "k8s/kongchart-pdb-default.yaml": (
        EXIT_FAIL,
        {PRESTOP, GRACE, SPREAD, PDB_UNHEALTHY, NETPOL, RESOURCES},
        {PDB_ALLOWS, CONTEXT},
        "PDB without unhealthyPodEvictionPolicy (IfHealthyBudget)",
    ),
    "k8s/kongchart-test1-values.yaml": (
        EXIT_FAIL,
        {PRESTOP, GRACE, SPREAD, PDB} | UNHARDENED,
        {MIN},
        "autoscaling/v2 HPA minReplicas 2 counts; no PDB",
    ),
    "k8s/kongchart-test3-dbless-values.yaml": (
        EXIT_FAIL,
        {RETRIES, MIN, PRESTOP, GRACE} | UNHARDENED,
        set(),
        "DB-less ConfigMap kong.yml (format 1.1) judged: service retries 5 by default",
    ),
    "k8s/kongchart-test4-dbless-values.yaml": (
        EXIT_FAIL,
        {RETRIES, MIN, NETPOL, RESOURCES},
        {CONTEXT},
        "DB-less variant",
    ),
    "k8s/kic-config-base-kong-ingress-dbless.yaml": (
        EXIT_FAIL,
        {MIN, PRESTOP, READY, DRAIN} | UNHARDENED,
        set(),
        "Kong by its preStop `/bin/bash -c 'kong quit'` (image is a kustomize placeholder): "
        "0 s wait, default --timeout 10; liveness and readiness both /status",
    ),
    "k8s/kic-e2e-all-in-one-dbless.yaml": (
        EXIT_FAIL,
        {MIN, PRESTOP, GRACE, SPREAD, KONG_ADMIN} | UNHARDENED,
        set(),
        "CRDs, RBAC skipped by kind; proxy Deployment is Kong, the controller a runtime; "
        "KONG_ADMIN_LISTEN off loopback",
    ),
    "k8s/kic-deploy-single-all-in-one-dbless-stub.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "`kind: Deprecated` without metadata: counted as a skipped kind, nothing judged",
    ),
    "k8s/argocd-namespace-install.yaml": (
        EXIT_FAIL,
        {MIN, ROLL, READY, NETPOL, RESOURCES} | NO_PRESTOP_RT,
        {CONTEXT},
        "argocd-notifications-controller uses Recreate; restricted securityContext everywhere, "
        "no resources; its NetworkPolicies are ingress-only (no Egress); the StatefulSet is "
        "judged by the container and isolation rules",
    ),
    "k8s/argocd-ha-namespace-install.yaml": (
        EXIT_FAIL,
        {MIN, ROLL, READY, PDB, NETPOL, RESOURCES} | NO_PRESTOP_RT,
        {CONTEXT},
        "HA: required anti-affinity spreads some; repo-server and server have no PDB here; "
        "restricted securityContext, no resources, ingress-only NetworkPolicies",
    ),
    "k8s/istio-bookinfo.yaml": (
        EXIT_FAIL,
        {MIN, READY} | NO_PRESTOP_RT | UNHARDENED,
        set(),
        "6 Deployments, 1 replica, no probes",
    ),
    "k8s/istio-virtual-service-all-v1.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "Istio CRs only: skipped by kind",
    ),
    "k8s/istio-liveness-command.yaml": (
        EXIT_FAIL,
        {MIN, READY} | UNHARDENED,
        set(),
        "one container without ports is still the serving container; exec liveness only",
    ),
    "k8s/istio-helloworld.yaml": (
        EXIT_FAIL,
        {MIN, READY} | NO_PRESTOP_RT | UNHARDENED,
        set(),
        "two versions, 1 replica each",
    ),
    "k8s/gke-whereami-grpc-deployment.yaml": (
        EXIT_FAIL,
        {READY, SPREAD, PDB, PRESTOP, NETPOL, CONTEXT},
        {MIN, RESOURCES},
        "zone spread only (no hostname); grpc liveness = readiness; requests and limits set",
    ),
    "k8s/gke-echo-grpc-deployment.yaml": (
        EXIT_FAIL,
        {PDB} | NO_PRESTOP_RT | UNHARDENED,
        {READY, MIN},
        "grpc readiness probe, 2 replicas, no PDB",
    ),
    "k8s/gke-hpa-v1.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "11 autoscaling/v1 HPAs without their Deployments",
    ),
    "k8s/gke-hpa-v2beta2.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "the same as autoscaling/v2beta2",
    ),
    "k8s/gke-deployment-with-hpa-v1beta1.yaml": (
        EXIT_FAIL,
        {READY, PDB} | NO_PRESTOP_RT | UNHARDENED,
        {MIN},
        "apps/v1beta1 Deployment read as apps/v1; its v2beta2 HPA minReplicas counts",
    ),
    "k8s/gke-redis-cluster.yaml": (
        EXIT_FAIL,
        UNHARDENED,
        set(),
        "a StatefulSet only: no rollout rule judges it (Deployments only); the container and "
        "isolation rules do: root, no memory limit, no NetworkPolicy",
    ),
    "k8s/gke-redis-pdb-minavailable.yaml": (
        EXIT_FAIL,
        {PDB_UNHEALTHY},
        {PDB_ALLOWS},
        "minAvailable 3 for pods not in the input: not zero-disruption by itself",
    ),
    "k8s/gke-helloweb-deployment.yaml": (
        EXIT_FAIL,
        {MIN, READY} | NO_PRESTOP_RT | UNHARDENED,
        set(),
        "1 replica, no probes",
    ),
    "k8s/gke-helloweb-hpa.yaml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "an HPA without its Deployment",
    ),
    "kong/kong-spec-burst-1.1.yml": (
        EXIT_FAIL,
        {RETRIES},
        {KONG_HC},
        "bare kong.yml, format 1.1: 236 services with Kong's default retries 5",
    ),
    "kong/kong-template-kong_yml-3.0.yml": (
        EXIT_NOTHING_JUDGED,
        set(),
        set(),
        "`kong config init` template, no entities: nothing to judge",
    ),
    "kong/deck-expected30-3.0.yaml": (
        EXIT_FAIL,
        {RETRIES},
        {KONG_HC},
        "decK dump 3.0: upstream with 3 targets, default (off) health checks",
    ),
    "synthetic/bare-kong-ejecting-3.0.yml": (
        EXIT_FAIL,
        {KONG_HC, RETRIES},
        set(),
        "single Service-DNS target with passive ejection",
    ),
    "synthetic/cm-kong-yml-deck-3.0.yaml": (
        EXIT_FAIL,
        {RETRIES, SECRETS},
        {KONG_HC},
        "data.kong.yml; the decK dump's private key and credentials are plain ConfigMap data",
    ),
    "synthetic/cm-kong-yml-burst-1.1.yaml": (EXIT_FAIL, {RETRIES}, set(), "data.kong.yml 1.1"),
    "synthetic/cm-kong-yaml-key.yaml": (
        EXIT_FAIL,
        {RETRIES, SECRETS},
        {KONG_HC},
        "the same config under data.kong.yaml is found by content (private key in plain data)",
    ),
    "synthetic/cm-kong-yml-ejecting-upstream-3.0.yaml": (
        EXIT_FAIL,
        {KONG_HC},
        set(),
        "single-target upstream with ejecting health checks",
    ),
    "synthetic/cm-kong-yml-json-strings.yaml": (
        EXIT_FAIL,
        {RETRIES},
        set(),
        "JSON declarative config; retries '7' read as 7",
    ),
    "synthetic/annotation-inf.yaml": (
        EXIT_FAIL,
        {PDB, READY} | UNHARDENED,
        set(),
        "`inf` in hitless.dev/max-body-mib is not a number: that hop is not judged, no crash",
    ),
    "synthetic/generate-name.yaml": (
        EXIT_FAIL,
        {MIN} | UNHARDENED,
        set(),
        "generateName accepted; the named Deployment is judged",
    ),
    "synthetic/intorstr-strings.yaml": (
        EXIT_FAIL,
        {ROLL, PDB_ALLOWS} | UNHARDENED,
        set(),
        "25% of 4 is 1 unavailable; '0%' PDB maxUnavailable and '100%' minAvailable block "
        "drains; quoted '0'/'1' are not judged (the API rejects them)",
    ),
    "synthetic/k8s-edge-cases.yaml": (
        EXIT_FAIL,
        {MIN, ROLL} | UNHARDENED,
        set(),
        "apps/v1beta2 and policy/v1beta1 read as current; replicas 0 and 1 fail; the KONG_* "
        "env app is a runtime",
    ),
    "synthetic/kind-list.yaml": (
        EXIT_FAIL,
        {MIN} | UNHARDENED,
        set(),
        "kind: List items are judged",
    ),
    "synthetic/probes-named-exec-grpc.yaml": (
        EXIT_FAIL,
        {GRACE, SPREAD, PDB} | UNHARDENED,
        {READY, PRESTOP},
        "sleep 1m is 60 s (grace 60 < 60 + request); grpc services differ; ScheduleAnyway "
        "is no spread; httpGet preStop not judged",
    ),
    "synthetic/sidecar-first.yaml": (
        EXIT_FAIL,
        UNHARDENED,
        {READY, PRESTOP, GRACE, SPREAD, PDB, MIN, ROLL},
        "the app behind a cloud-sql-proxy sidecar is the serving container: every rollout rule "
        "holds; no securityContext, resources or NetworkPolicy",
    ),
    "synthetic/two-containers-no-ports.yaml": (
        EXIT_FAIL,
        {SPREAD, PDB} | UNHARDENED,
        {READY, PRESTOP},
        "no ports: the worker with the readiness probe serves, the log shipper does not",
    ),
    "synthetic/truncated-bookinfo-valid-partial.yaml": (
        EXIT_FAIL,
        {MIN, NETPOL},
        set(),
        "valid YAML cut at a line: what is there is judged; details-v1, cut before its "
        "containers, is not judged by the container rules",
    ),
    "synthetic/unknown-kinds.yaml": (
        EXIT_FAIL,
        UNHARDENED,
        set(),
        "Application, Widget: skipped by kind; the StatefulSet and DaemonSet are read, and the "
        "container and isolation rules fail them",
    ),
}

# file -> (line, words in the reason)
BAD_INPUT: dict[str, tuple[int, str]] = {
    "synthetic/truncated-bookinfo-midquote.yaml": (181, "not valid YAML"),
    "synthetic/top-level-list.yaml": (2, "not a Kubernetes object"),
    "synthetic/binary-junk.bin": (1, "not UTF-8"),
    "synthetic/latin1-comment.yaml": (1, "not UTF-8"),
    "synthetic/empty.yaml": (0, "empty input"),
    "synthetic/only-comments-and-separators.yaml": (0, "empty input"),
    "synthetic/yaml-bomb.yaml": (2, "alias"),
    "synthetic/yaml-bomb-8-levels.yaml": (2, "alias"),
    "synthetic/deep-nesting-600.yaml": (6, "nested deeper"),
    "synthetic/cm-kong-yml-invalid.yaml": (2, "data.kong.yml line 5: not valid YAML"),
    "synthetic/profile-config.yaml": (1, "not a Kubernetes object"),
}


def _own_failures(result: CheckResult) -> set[str]:
    return {
        v.rule for v in result.verdicts if v.status == "fail" and v.resource in result.locations
    }


def test_every_public_file_has_a_row(shared: Path) -> None:
    listed = {f"k8s/{p.name}" for p in (shared / CORPUS / "k8s").iterdir()}
    listed |= {f"kong/{p.name}" for p in (shared / CORPUS / "kong").iterdir()}
    assert listed <= set(MANIFESTS)


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_manifest_verdicts(shared: Path, name: str) -> None:
    code, must_fail, must_pass, why = MANIFESTS[name]
    result = check([shared / CORPUS / name])
    failed = _own_failures(result)
    assert result.exit_code() == code, f"{name} ({why}): {result.summary()}"
    assert must_fail <= failed, f"{name} ({why}): missing {must_fail - failed}"
    assert not must_pass & failed, f"{name} ({why}): wrongly failed {must_pass & failed}"


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input(shared: Path, name: str) -> None:
    line, words = BAD_INPUT[name]
    path = shared / CORPUS / name
    with pytest.raises(InputError) as caught:
        check([path])
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert words in caught.value.reason


# (file, tier) -> exit code, or the words of the input error (exit 2)
NGINX: dict[tuple[str, str], int | str] = {
    ("nginx/nginx-official-default.conf", "a"): "include mime.types: no such file",
    ("nginx/docker-nginx-modules-test.conf", "a"): EXIT_NOTHING_JUDGED,
    ("nginx/h5bp-nginx.conf", "a"): "include h5bp/",
    ("nginx/h5bp-example.com.conf", "a"): "include h5bp/tls/ssl_engine.conf",
    ("nginx/sentry-self-hosted-nginx.conf", "a"): EXIT_FAIL,
    ("nginx/sentry-self-hosted-nginx.conf", "b"): "expects a stream block",
    ("nginx/mastodon-dist-nginx.conf", "a"): EXIT_FAIL,
    ("nginx/mastodon-dist-nginx.conf", "b"): "expects a stream block",
    ("nginx/discourse-nginx.sample.conf", "a"): EXIT_FAIL,
    ("nginx/jmserra-ssl-offloader.tpl", "a"): EXIT_FAIL,
    ("nginx/deckhouse-proxy-failover-stream.conf.tpl", "b"): EXIT_CLEAN,
    ("nginx/ignw-ucp-stream.conf.tpl", "a"): "only a stream block",
    ("nginx/ignw-ucp-stream.conf.tpl", "b"): EXIT_CLEAN,
    ("synthetic/nginx-a-include-missing.conf", "a"): "include /nonexistent/upstreams.conf",
    ("synthetic/nginx-a-map-if-variables.conf", "a"): EXIT_FAIL,
    ("synthetic/nginx-a-variable-proxy-pass-only.conf", "a"): EXIT_CLEAN,
    ("synthetic/nginx-a-odd-times.conf", "a"): EXIT_CLEAN,
    ("synthetic/nginx-a-long-read.conf", "a"): EXIT_CLEAN,
    ("synthetic/nginx-b-stream-30s.conf", "a"): "only a stream block",
    ("synthetic/nginx-b-stream-30s.conf", "b"): EXIT_CLEAN,
    ("synthetic/nginx-b-stream-include.conf", "b"): EXIT_NOTHING_JUDGED,
    ("synthetic/nginx-b-stream-udp-and-vars.conf", "b"): EXIT_CLEAN,
    ("synthetic/nginx-mixed-http-and-stream.conf", "b"): EXIT_CLEAN,
    ("synthetic/nginx-syntax-error.conf", "a"): 'not terminated by ";"',
    ("synthetic/nginx-bad-value.conf", "a"): "not an nginx time: '60x'",
}
"""nginx files alone (every other tier absent, so chain hops to them are not judged)."""


@pytest.mark.parametrize(("name", "tier"), sorted(NGINX))
def test_nginx_files(shared: Path, name: str, tier: str) -> None:
    expected = NGINX[(name, tier)]
    path = shared / CORPUS / name
    args = (path, None) if tier == "a" else (None, path)
    if isinstance(expected, str):
        with pytest.raises(InputError) as caught:
            check([], *args)
        assert expected in caught.value.reason
        assert caught.value.file == str(path)
        assert "hitless-nginx-" not in str(caught.value)  # never a temporary file
    else:
        result = check([], *args)
        assert result.exit_code() == expected, result.summary()
