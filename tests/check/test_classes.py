"""One regression test per class of wrong verdict or ignored input `hitless check` had.

Each fixture is a minimal reproduction written here; the comment names the public file (in
../shared/corpus, provenance in its INDEX.md) that showed the class.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from hitless.check import (
    EXIT_CLEAN,
    EXIT_FAIL,
    EXIT_NOTHING_JUDGED,
    CheckResult,
    check,
    parse_selector,
    type_token,
)
from hitless_policy.extract import k8s, security
from hitless_policy.loader import InputError
from hitless_policy.rules import RULES


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


HARDENED: dict[str, Any] = {
    "securityContext": {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
}
"""What container-security-context and container-resources-set ask of every container."""


def deployment(name: str, **overrides: Any) -> dict[str, Any]:
    """A Deployment that passes every workload and container rule unless `overrides` break it
    (its namespace needs `network_policy()` for workload-network-policy)."""
    labels = {"app": name}
    container: dict[str, Any] = {
        "name": "app",
        "image": "example/app:1",
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}, "periodSeconds": 10},
        "lifecycle": {"preStop": {"sleep": {"seconds": 15}}},
        **HARDENED,
    }
    container.update(overrides.pop("container", {}))
    spec: dict[str, Any] = {
        "replicas": 3,
        "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "terminationGracePeriodSeconds": 90,
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": labels},
                    }
                ],
                "containers": overrides.pop("containers", [container]),
            },
        },
    }
    spec["template"]["spec"].update(overrides.pop("pod", {}))
    spec.update(overrides.pop("spec", {}))
    metadata = {"name": name, "namespace": "shop", **overrides.pop("metadata", {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}


def pdb(name: str, api: str = "policy/v1") -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "maxUnavailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": {"app": name}},
        },
    }


def network_policy(namespace: str = "shop") -> dict[str, Any]:
    """Default-deny both ways for every pod of `namespace` (workload-network-policy passes)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def manifests(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(docs))
    return path


def verdict(result: CheckResult, rule: str, name: str) -> tuple[str, str]:
    """A rule's status on the resource `name` (one per resource) and its messages, joined.

    A resource judged against several bounds keeps one finding per bound of that status.
    """
    found = [
        (v.status, v.message)
        for v in result.verdicts
        if v.rule == rule and v.resource.rsplit("/", 1)[-1] == name
    ]
    statuses = {status for status, _ in found}
    assert len(statuses) == 1, (rule, name, found)
    return statuses.pop(), "; ".join(message for _, message in found)


# ---------------------------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------------------------

A_MAIN = """\
    events {}
    worker_shutdown_timeout 120s;
    http {
        keepalive_timeout 650s;
        client_max_body_size 64m;
        include conf.d/*.conf;
    }
    """
A_SITE = """\
    upstream b { server 10.0.1.10:8000; server 10.0.1.11:8000; keepalive 8; keepalive_timeout 50s; }
    server {
        listen 8080;
        location / { proxy_read_timeout 120s; proxy_pass http://b; }
    }
    """


class TestNginxIncludes:
    """h5bp-nginx.conf keeps its servers in `include conf.d/*.conf`: they are read, relative to
    the main file or to --nginx-prefix; a missing include is an input error at its line."""

    def test_glob_relative_to_the_file(self, tmp_path: Path) -> None:
        main = write(tmp_path / "nginx.conf", A_MAIN)
        write(tmp_path / "conf.d" / "site.conf", A_SITE)
        result = check([], main)
        status, message = verdict(result, "chain-drain-covers-longest-request", "tier-a")
        assert status == "pass", message
        assert result.exit_code() == EXIT_CLEAN

    def test_prefix(self, tmp_path: Path) -> None:
        main = write(tmp_path / "etc" / "nginx.conf", A_MAIN)
        write(tmp_path / "prefix" / "conf.d" / "site.conf", A_SITE)
        assert check([], main).exit_code() == EXIT_NOTHING_JUDGED  # the mask matched nothing
        result = check([], main, nginx_prefix=tmp_path / "prefix")
        assert result.exit_code() == EXIT_CLEAN

    def test_missing_include_is_input_error(self, tmp_path: Path) -> None:
        main = write(tmp_path / "nginx.conf", A_MAIN.replace("conf.d/*.conf", "upstreams.conf"))
        with pytest.raises(InputError) as caught:
            check([], main)
        assert (caught.value.file, caught.value.line) == (str(main), 6)
        assert "include upstreams.conf: no such file" in caught.value.reason

    def test_error_in_included_file_names_that_file(self, tmp_path: Path) -> None:
        main = write(tmp_path / "nginx.conf", A_MAIN)
        site = write(
            tmp_path / "conf.d" / "site.conf",
            A_SITE.replace("120s", "12x"),
        )
        with pytest.raises(InputError) as caught:
            check([], main)
        assert (caught.value.file, caught.value.line) == (str(site), 4)
        assert "not an nginx time: '12x'" in caught.value.reason

    def test_site_file_alone(self, tmp_path: Path) -> None:
        """h5bp-example.com.conf / mastodon-dist-nginx.conf: `server` at top level."""
        site = write(tmp_path / "site.conf", A_SITE)
        result = check([], site)
        status, _ = verdict(result, "chain-retries-safe", "tier-a")
        assert status == "pass"


class TestNginxTiers:
    """ignw-ucp-stream.conf.tpl (stream only) given as tier A is refused; the http status server
    in deckhouse-proxy-failover-stream.conf.tpl is not a B proxy."""

    def test_stream_only_as_a(self, tmp_path: Path) -> None:
        conf = write(
            tmp_path / "b.conf",
            "events {}\nstream { server { listen 8000; proxy_pass 10.0.0.1:8000; } }\n",
        )
        with pytest.raises(InputError, match=r"tier A expects an http reverse proxy.*--nginx-b"):
            check([], conf)

    def test_http_in_b_is_not_a_b_proxy(self, tmp_path: Path) -> None:
        conf = write(
            tmp_path / "b.conf",
            """\
            events {}
            http {
                server {
                    listen 8081;
                    location / { proxy_read_timeout 5s; proxy_pass http://127.0.0.1:9000; }
                }
            }
            stream { server { listen 8000; proxy_pass 10.0.0.1:8000; proxy_timeout 1h; } }
            """,
        )
        a = write(
            tmp_path / "a.conf",
            "events {}\nhttp { server { listen 80; location / {\n"
            "proxy_read_timeout 600s; proxy_pass http://10.0.0.2:8000; } } }\n",
        )
        status, message = verdict(check([], a, conf), "chain-idle-timeouts-cover-silence", "tier-b")
        assert status == "pass", message
        assert "proxy_timeout 3600 >= 600" in message  # `1h` read as 3600 s

    def test_b_bound_from_the_server_a_reaches(self, tmp_path: Path) -> None:
        """nginx-b-stream-udp-and-vars.conf: a UDP server and an unrelated 30 s server do not
        bound the flow A opens to port 8000."""
        b = write(
            tmp_path / "b.conf",
            """\
            events {}
            stream {
                proxy_timeout 30s;
                server { listen 8000; proxy_pass 10.0.3.10:8000; proxy_timeout 1h; }
                server { listen 53 udp; proxy_pass 10.0.0.53:53; }
                server { listen 8001; proxy_pass 10.0.3.12:8000; }
            }
            """,
        )
        a = write(
            tmp_path / "a.conf",
            """\
            events {}
            http {
                upstream b { server 10.0.1.10:8000; }
                server { listen 80; location / { proxy_read_timeout 120s; proxy_pass http://b; } }
            }
            """,
        )
        status, message = verdict(check([], a, b), "chain-idle-timeouts-cover-silence", "tier-b")
        assert status == "pass", message
        alone = check([], None, b)
        assert not any("53" in v.message for v in alone.verdicts)


class TestNginxProxyTargets:
    """nginx-a-map-if-variables.conf: proxy_pass through map, set and if, and the other
    *_pass modules are proxies too."""

    def test_map_set_if(self, tmp_path: Path) -> None:
        conf = write(
            tmp_path / "a.conf",
            """\
            events {}
            http {
                map $http_x_canary $pool { default stable; "1" canary; }
                upstream stable { server 10.0.1.10:8000; keepalive 4; keepalive_timeout 700s; }
                upstream canary { server 10.0.2.10:8000; keepalive 4; keepalive_timeout 30s; }
                server {
                    listen 80;
                    set $direct "canary";
                    location / {
                        if ($request_method = POST) {
                            proxy_pass http://canary;
                            proxy_next_upstream error non_idempotent;
                        }
                        proxy_pass http://$pool;
                    }
                    location /d { proxy_pass http://$direct/d; }
                }
            }
            """,
        )
        b = write(
            tmp_path / "b.conf",
            "events {}\nstream { server {\n"
            "listen 8000; proxy_pass 10.0.3.10:8000; proxy_timeout 600s; } }\n",
        )
        result = check([], conf, b)
        retries = verdict(result, "chain-retries-safe", "tier-a")
        assert retries[0] == "fail"
        assert "if ($request_method = POST)" in retries[1]
        keep = [
            v
            for v in result.verdicts
            if v.rule == "chain-keepalive-timeouts-ordered" and v.status == "fail"
        ]
        assert any("700" in v.message for v in keep), keep  # the map's `stable` pool is found

    @pytest.mark.parametrize("module", ["grpc", "fastcgi", "uwsgi"])
    def test_other_pass_modules(self, tmp_path: Path, module: str) -> None:
        conf = write(
            tmp_path / "a.conf",
            f"events {{}}\nhttp {{ client_max_body_size 1m; server {{ listen 80;\n"
            f"location / {{ {module}_pass 10.0.0.1:9000; }} }} }}\n",
        )
        status, message = verdict(check([], conf), "chain-body-size-accepted", "tier-a")
        assert status == "fail", message


# ---------------------------------------------------------------------------------------------
# Kong
# ---------------------------------------------------------------------------------------------

KONG_YML = """\
    _format_version: "{version}"
    services:
    - name: rt
      host: rt.shop.svc.cluster.local
      port: 8080
      retries: 2
      connect_timeout: 5000
      routes: [{{name: rt, paths: [/]}}]
    """


class TestKongInputs:
    """kong-spec-burst-1.1.yml and deck-expected30-3.0.yaml are bare kong.yml files; a
    ConfigMap may hold them under any key (cm-kong-yaml-key.yaml); KONG_* env is no Kong
    (k8s-edge-cases.yaml's admin UI)."""

    @pytest.mark.parametrize("version", ["1.1", "3.0"])
    def test_bare_kong_yml(self, tmp_path: Path, version: str) -> None:
        kong = write(tmp_path / "kong.yml", KONG_YML.format(version=version))
        result = check([kong])
        status, message = verdict(result, "chain-retries-safe", "kong.yml")
        assert status == "pass", message

    def test_configmap_any_key(self, tmp_path: Path) -> None:
        text = textwrap.dedent(KONG_YML.format(version="3.0"))
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kong-config", "namespace": "kong"},
            "data": {"declarative.yaml": text.replace("retries: 2", "retries: 5")},
        }
        result = check([manifests(tmp_path / "cm.yaml", cm)])
        status, message = verdict(result, "chain-retries-safe", "kong-config")
        assert status == "fail", message

    def test_kong_env_is_not_kong(self, tmp_path: Path) -> None:
        ui = deployment(
            "admin-ui", container={"env": [{"name": "KONG_ADMIN_URL", "value": "http://kong:8001"}]}
        )
        result = check([manifests(tmp_path / "ui.yaml", ui, pdb("admin-ui"))])
        _, message = verdict(result, "deployment-prestop-covers-propagation", "admin-ui")
        assert "preStop sleep 15 >= 10" in message  # a runtime's lag, not Kong's 30 s

    def test_kong_quit_in_shell(self, tmp_path: Path) -> None:
        """kic-config-base-kong-ingress-dbless.yaml: `/bin/bash -c "kong quit"`: Kong's default
        --timeout 10 (kong/cmd/quit.lua), wait 0."""
        kong = deployment(
            "kong",
            container={
                "name": "proxy",
                "image": "kong-placeholder:placeholder",
                "lifecycle": {
                    "preStop": {
                        "exec": {"command": ["/bin/bash", "-c", "sleep 5 && kong quit --wait=25"]}
                    }
                },
            },
        )
        result = check([manifests(tmp_path / "kong.yaml", kong, pdb("kong"))])
        status, message = verdict(result, "deployment-prestop-covers-propagation", "kong")
        assert status == "pass", message
        assert "preStop kong-quit 30 >= 30" in message  # sleep 5 + --wait=25, Kong's lag
        _, grace = verdict(result, "deployment-grace-covers-drain", "kong")
        # preStop 30 + drain 10 (kong quit's default --timeout) + margin 15
        assert "terminationGracePeriodSeconds 90 >= 55" in grace


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------


class TestKubernetesInputs:
    """gke-hpa-v1.yaml, k8sex-cockroachdb-statefulset.yaml (policy/v1beta1),
    gke-deployment-with-hpa-v1beta1.yaml: older apiVersions are judged, with a notice."""

    def test_old_api_versions(self, tmp_path: Path) -> None:
        dep = deployment("web", spec={"replicas": 1})
        dep["apiVersion"] = "apps/v1beta2"
        hpa = {
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "web"},
                "minReplicas": 3,
                "maxReplicas": 5,
            },
        }
        result = check([manifests(tmp_path / "m.yaml", dep, hpa, pdb("web", "policy/v1beta1"))])
        assert verdict(result, "deployment-min-replicas", "web")[0] == "pass"
        assert verdict(result, "pdb-matches-deployment", "web")[0] == "pass"
        assert any("apps/v1beta2" in n and "1.16" in n for n in result.notices)
        assert any("policy/v1beta1" in n and "1.25" in n for n in result.notices)

    def test_sidecar_first(self, tmp_path: Path) -> None:
        """sidecar-first.yaml: a cloud-sql-proxy listed first with a port is not the app."""
        sidecar = {
            "name": "cloud-sql-proxy",
            "image": "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11.0",
            "ports": [{"containerPort": 9801}],
            **HARDENED,
        }
        app = deployment("api")["spec"]["template"]["spec"]["containers"][0]
        result = check(
            [
                manifests(
                    tmp_path / "m.yaml",
                    deployment("api", containers=[sidecar, app]),
                    pdb("api"),
                    network_policy(),
                )
            ]
        )
        status, message = verdict(result, "deployment-prestop-covers-propagation", "api")
        assert status == "pass", message
        assert result.exit_code() == EXIT_CLEAN

    def test_containers_without_ports(self, tmp_path: Path) -> None:
        """two-containers-no-ports.yaml: the worker with a readiness probe serves."""
        app = deployment("w")["spec"]["template"]["spec"]["containers"][0]
        app.pop("ports")
        shipper = {"name": "log-shipper", "image": "fluent/fluent-bit:3.0"}
        result = check(
            [manifests(tmp_path / "m.yaml", deployment("w", containers=[app, shipper]), pdb("w"))]
        )
        assert verdict(result, "deployment-readiness-probe", "w")[0] == "pass"

    def test_duplicates(self, tmp_path: Path) -> None:
        first = manifests(tmp_path / "a.yaml", deployment("web", spec={"replicas": 1}))
        second = manifests(tmp_path / "b.yaml", deployment("web"), pdb("web"))
        result = check([first, second])
        assert verdict(result, "deployment-min-replicas", "web")[0] == "pass"  # the last one
        assert any("1 duplicate" in n and "Deployment shop/web" in n for n in result.notices)

    def test_generate_name_list_and_skipped_kinds(self, tmp_path: Path) -> None:
        """generate-name.yaml, kind-list.yaml, unknown-kinds.yaml: only kinds no rule reads are
        skipped; StatefulSets and DaemonSets are read (the container and isolation rules judge
        them: here without a pod template, so not judged)."""
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"generateName": "job-"},
            "data": {"k": "v"},
        }
        items = {"apiVersion": "v1", "kind": "List", "items": [deployment("web"), pdb("web")]}
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}}
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}}
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {}}
        result = check(
            [
                manifests(
                    tmp_path / "m.yaml",
                    cm,
                    items,
                    sts,
                    ds,
                    sts | {"metadata": {"name": "db2"}},
                    secret,
                    secret | {"metadata": {"name": "api"}},
                    role,
                    network_policy(),
                )
            ]
        )
        assert dict(result.skipped) == {"Secret": 2, "Role": 1}
        assert "3 skipped (Role 1, Secret 2)" in result.summary()
        assert verdict(result, "no-plaintext-secrets", "job-<generated>")[0] == "pass"
        for name in ("db", "db2", "agent"):
            assert verdict(result, "container-security-context", name)[0] == "not-judged"
        assert result.exit_code() == EXIT_CLEAN

    def test_every_kind_extraction_reads_is_read(self) -> None:
        """`hitless check` reads (never skips) every Kubernetes kind the extraction gives facts
        for, under the type token the rules see."""
        tokens = {
            k8s.DEPLOYMENT,
            k8s.PDB,
            k8s.SERVICE,
            k8s.HPA,
            k8s.CONFIG_MAP,
            *security.WORKLOADS,
            security.NETWORK_POLICY,
            security.CONFIG_MAP,
            *(t for r in RULES for t in r.types if t.startswith("kubernetes:")),
        }
        for token in sorted(tokens):
            group_version, kind = token.removeprefix("kubernetes:").rsplit(":", 1)
            api = group_version.removeprefix("core/")
            assert k8s.SERVED_API_VERSIONS[kind][api] == api, token
            assert type_token(api, kind) == token

    def test_kinds_the_rules_read(self, tmp_path: Path) -> None:
        """A NetworkPolicy isolates the workloads it selects; a StatefulSet's containers and any
        ConfigMap's data are judged (the rendered chain's policies once read as skipped)."""
        sts = deployment("db")
        sts["kind"] = "StatefulSet"
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop"},
            "data": {"db_password": "hunter2"},
        }
        isolated = check([manifests(tmp_path / "a.yaml", sts, network_policy(), cm)])
        status, message = verdict(isolated, "workload-network-policy", "db")
        assert status == "pass", message
        assert "default-deny" in message
        assert verdict(isolated, "container-security-context", "db")[0] == "pass"
        assert verdict(isolated, "no-plaintext-secrets", "settings")[0] == "fail"
        assert not isolated.skipped
        open_ = check([manifests(tmp_path / "b.yaml", sts, network_policy("other"))])
        assert verdict(open_, "workload-network-policy", "db")[0] == "fail"
        assert open_.exit_code() == EXIT_FAIL

    @pytest.mark.parametrize("value", ["0", "1"])
    def test_quoted_integers_in_int_or_string(self, tmp_path: Path, value: str) -> None:
        """intorstr-strings.yaml: the API server rejects "0"/"1"; reported, not read as 0/1."""
        dep = deployment(
            "web", spec={"strategy": {"rollingUpdate": {"maxSurge": value, "maxUnavailable": 0}}}
        )
        result = check([manifests(tmp_path / "m.yaml", dep, pdb("web"))])
        status, message = verdict(result, "deployment-rolling-update-hitless", "web")
        assert status == "not-judged"
        assert f"is the string '{value}', which the API server rejects" in message

    def test_sleep_with_unit(self, tmp_path: Path) -> None:
        """probes-named-exec-grpc.yaml: `sh -c "sleep 1m"` is 60 s."""
        dep = deployment(
            "web",
            container={
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 1m"]}}}
            },
        )
        result = check([manifests(tmp_path / "m.yaml", dep, pdb("web"))])
        _, message = verdict(result, "deployment-prestop-covers-propagation", "web")
        assert "preStop exec-sleep 60 >= 10" in message
        status, grace = verdict(result, "deployment-grace-covers-drain", "web")
        assert status == "fail", grace  # 90 < 60 + longest request + margin

    def test_http_prestop_not_judged(self, tmp_path: Path) -> None:
        dep = deployment(
            "web",
            container={"lifecycle": {"preStop": {"httpGet": {"path": "/drain", "port": 8080}}}},
        )
        result = check([manifests(tmp_path / "m.yaml", dep, pdb("web"))])
        assert verdict(result, "deployment-prestop-covers-propagation", "web")[0] == "not-judged"

    @pytest.mark.parametrize(
        "pod",
        [
            {
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {"app": "web"}},
                    }
                ]
            },
            {
                "topologySpreadConstraints": [],
                "affinity": {
                    "podAntiAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 100,
                                "podAffinityTerm": {
                                    "topologyKey": "kubernetes.io/hostname",
                                    "labelSelector": {"matchLabels": {"app": "web"}},
                                },
                            }
                        ]
                    }
                },
            },
        ],
        ids=["schedule-anyway", "preferred-anti-affinity"],
    )
    def test_soft_spread_is_no_spread(self, tmp_path: Path, pod: dict[str, Any]) -> None:
        """argocd-ha-namespace-install.yaml mixes required and preferred anti-affinity."""
        result = check([manifests(tmp_path / "m.yaml", deployment("web", pod=pod), pdb("web"))])
        assert verdict(result, "deployment-spread-across-failure-domains", "web")[0] == "fail"


# ---------------------------------------------------------------------------------------------
# Scope and exclusion
# ---------------------------------------------------------------------------------------------


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 8080}]},
    }


class TestScope:
    """msdemo-release-kubernetes-manifests.yaml: redis-cart and loadgenerator are no runtimes
    behind Kong; Kong's service targets, a label selector or (with a notice) all decide."""

    def test_kong_targets(self, tmp_path: Path) -> None:
        redis = deployment("redis", spec={"replicas": 1})
        files = [
            manifests(
                tmp_path / "m.yaml",
                deployment("rt"),
                pdb("rt"),
                _service("rt"),
                redis,
                pdb("redis"),
            ),
            write(tmp_path / "kong.yml", KONG_YML.format(version="3.0")),
        ]
        result = check(files)
        assert not [v for v in result.verdicts if v.resource.endswith("/redis")]
        assert result.skipped["Deployment (not behind Kong)"] == 1
        assert result.skipped["PodDisruptionBudget (not behind Kong)"] == 1
        assert any(
            "Services named in Kong's config" in n and "shop/redis" in n for n in result.notices
        )

    def test_selector(self, tmp_path: Path) -> None:
        gen = deployment("loadgen", spec={"replicas": 1})
        result = check(
            [manifests(tmp_path / "m.yaml", deployment("rt"), pdb("rt"), gen, network_policy())],
            runtime_selector="app=rt",
        )
        assert not [v for v in result.verdicts if v.resource.endswith("/loadgen")]
        assert result.exit_code() == EXIT_CLEAN

    def test_all_with_notice(self, tmp_path: Path) -> None:
        gen = deployment("loadgen", spec={"replicas": 1})
        result = check([manifests(tmp_path / "m.yaml", deployment("rt"), pdb("rt"), gen)])
        assert verdict(result, "deployment-min-replicas", "loadgen")[0] == "fail"
        assert any("all 2 non-Kong Deployments are judged as runtimes" in n for n in result.notices)

    def test_selector_syntax(self) -> None:
        assert parse_selector("app=rt,tier!=batch,canary,!legacy") == [
            ("app", "=", "rt"),
            ("tier", "!=", "batch"),
            ("canary", "exists", None),
            ("legacy", "!exists", None),
        ]
        with pytest.raises(ValueError, match="cannot read"):
            parse_selector("app in (a,b)")


class TestIgnoreAnnotation:
    """hitless.dev/ignore sets a rule aside for one object, with a reason, listed in the output."""

    def test_ignored_and_listed(self, tmp_path: Path) -> None:
        dep = deployment(
            "batch",
            spec={"replicas": 1},
            metadata={
                "annotations": {
                    "hitless.dev/ignore": "deployment-min-replicas, pdb-matches-deployment",
                    "hitless.dev/ignore-reason": "nightly batch API, downtime accepted",
                }
            },
        )
        result = check([manifests(tmp_path / "m.yaml", dep, network_policy())])
        assert not [v for v in result.verdicts if v.rule == "deployment-min-replicas"]
        assert [
            (i.verdict.rule, i.verdict.status, i.reason)
            for i in result.ignored
            if i.verdict.rule == "deployment-min-replicas"
        ] == [("deployment-min-replicas", "fail", "nightly batch API, downtime accepted")]
        assert result.exit_code() == EXIT_CLEAN
        assert "ignored by annotation" in result.summary()

    @pytest.mark.parametrize(
        ("annotations", "words"),
        [
            (
                {"hitless.dev/ignore": "no-such-rule", "hitless.dev/ignore-reason": "x"},
                "unknown rule",
            ),
            (
                {"hitless.dev/ignore": "deployment-min-replicas"},
                "needs a hitless.dev/ignore-reason",
            ),
        ],
    )
    def test_bad_annotation(self, tmp_path: Path, annotations: dict[str, str], words: str) -> None:
        dep = deployment("web", metadata={"annotations": annotations})
        path = manifests(tmp_path / "m.yaml", dep)
        with pytest.raises(InputError, match=words) as caught:
            check([path])
        assert caught.value.file == str(path)


# ---------------------------------------------------------------------------------------------
# Verdicts, exit codes, output size, formats
# ---------------------------------------------------------------------------------------------


class TestVerdicts:
    """Empty input and "nothing judged" are not clean; --strict fails not-judged verdicts."""

    def test_nothing_given(self) -> None:
        with pytest.raises(InputError, match="nothing to check"):
            check([])

    def test_empty_file(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="empty input"):
            check([write(tmp_path / "e.yaml", "# nothing\n---\n")])

    def test_nothing_judged(self, tmp_path: Path) -> None:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": []},
        }
        result = check([manifests(tmp_path / "m.yaml", pod, _service("p"))])
        assert result.exit_code() == EXIT_NOTHING_JUDGED
        assert "1 skipped (Pod 1)" in result.summary()

    def test_strict(self, tmp_path: Path) -> None:
        path = manifests(tmp_path / "m.yaml", deployment("web"), pdb("web"), network_policy())
        assert check([path]).exit_code() == EXIT_CLEAN
        strict = check([path], strict=True)
        assert strict.exit_code() == EXIT_FAIL
        assert strict.failing()
        assert {v.status for v in strict.failing()} == {"not-judged"}

    def test_folder_recursive(self, tmp_path: Path) -> None:
        (tmp_path / "deploy" / "a").mkdir(parents=True)
        manifests(tmp_path / "deploy" / "a" / "web.yaml", deployment("web"))
        manifests(tmp_path / "deploy" / "pdb.yml", pdb("web"))
        write(tmp_path / "deploy" / ".hidden" / "x.yaml", "not: [valid\n")
        result = check([tmp_path / "deploy"])
        assert verdict(result, "pdb-matches-deployment", "web")[0] == "pass"

    def test_output_linear(self, tmp_path: Path) -> None:
        """960 Deployments once gave 174 MB of JSON: each not-judged hop listed every runtime."""

        def size(count: int) -> int:
            docs = [deployment(f"rt{n}") for n in range(count)]
            result = check([manifests(tmp_path / f"m{count}.yaml", *docs)])
            return len(json.dumps(result.to_json()))

        small, large = size(40), size(160)
        assert large < 4.6 * small, (small, large)


SARIF_LEVELS = {"none", "note", "warning", "error"}


class TestSarif:
    """SARIF 2.1.0: the fields the specification requires, and a location for each result."""

    def test_shape(self, tmp_path: Path) -> None:
        path = manifests(tmp_path / "m.yaml", deployment("web", spec={"replicas": 1}))
        log = check([path]).to_sarif()
        assert log["version"] == "2.1.0"
        assert log["$schema"].endswith("sarif-2.1.0.json")
        (run,) = log["runs"]
        driver = run["tool"]["driver"]
        assert driver["name"] == "hitless"
        rule_ids = [r["id"] for r in driver["rules"]]
        assert all(r["shortDescription"]["text"] for r in driver["rules"])
        assert run["results"]
        for result in run["results"]:
            assert result["message"]["text"]
            assert result["level"] in SARIF_LEVELS
            assert rule_ids[result["ruleIndex"]] == result["ruleId"]
            for location in result.get("locations", []):
                physical = location["physicalLocation"]
                assert physical["artifactLocation"]["uri"]
                assert physical["region"]["startLine"] >= 1
        web = [r for r in run["results"] if r["ruleId"] == "deployment-min-replicas"]
        assert web[0]["level"] == "error"
        assert (
            web[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path.as_posix()
        )
        assert run["invocations"][0]["exitCode"] == EXIT_FAIL
