"""`hitless check`: existing manifests and nginx files judged offline, bad input rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hitless.check import CheckInputError, run_check, type_token
from tests.policy.baseline import A_CONF, B_CONF, KONG_YML

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_rt.yaml"


class TestSeedManifest:
    """The user's original RT manifest breaks the rules their 502s came from."""

    def test_reports_broken_rules(self) -> None:
        verdicts = run_check([SEED], None, None, None)
        failed = {v.rule for v in verdicts if v.status == "fail"}
        assert {
            "deployment-rolling-update-hitless",
            "deployment-readiness-probe",
            "deployment-prestop-covers-propagation",
            "deployment-grace-covers-drain",
            "pdb-matches-deployment",
        } <= failed
        # The runtime's drain (grace - preStop) has one judge: deployment-grace-covers-drain.
        assert "chain-drain-covers-longest-request" not in failed
        assert "deployment-spread-across-failure-domains" not in failed
        assert "deployment-min-replicas" not in failed

    def test_messages_name_values_and_fix(self) -> None:
        verdicts = run_check([SEED], None, None, None)
        rolling = next(v for v in verdicts if v.rule == "deployment-rolling-update-hitless")
        assert rolling.resource == f"{SEED}:Deployment/api/rt"
        assert "maxSurge 2 -> 2, maxUnavailable 1 -> 1 at 2 replicas" in rolling.message
        grace = next(v for v in verdicts if v.rule == "deployment-grace-covers-drain")
        assert (
            "(must be >= 45.4: preStop 0 + longest request of D 30.4 + margin 15)" in grace.message
        )
        assert grace.message.endswith("Fix: raise terminationGracePeriodSeconds to >= 46")

    def test_missing_hops_not_judged(self) -> None:
        verdicts = run_check([SEED], None, None, None)
        chain = [v for v in verdicts if v.rule == "chain-idle-timeouts-cover-silence"]
        assert [v.status for v in chain] == ["not-judged"]
        assert "tier A (nginx L7 config) is missing" in chain[0].message


class TestWithNginxAndKong:
    """Given A, B and a Kong ConfigMap, hops whose sides are present are judged."""

    def test_hops_judged(self, tmp_path: Path) -> None:
        a, b = tmp_path / "a.conf", tmp_path / "b.conf"
        a.write_text(A_CONF)
        b.write_text(B_CONF.replace("proxy_timeout 620s", "proxy_timeout 30s"))
        kong = tmp_path / "kong.yaml"
        kong.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "kong-config"},
                    "data": {"kong.yml": KONG_YML},
                }
            )
        )
        verdicts = run_check([SEED, kong], a, b, None)
        idle = [v for v in verdicts if v.rule == "chain-idle-timeouts-cover-silence"]
        assert [(v.status, v.resource) for v in idle] == [("fail", f"{b}:NginxConf/tier-b")]
        timeouts = {v.resource: v for v in verdicts if v.rule == "chain-request-timeouts-ordered"}
        # A->C holds, but the LB in front of A is absent: A is not passed on half its hops.
        a_verdict = timeouts[f"{a}:NginxConf/tier-a"]
        assert a_verdict.status == "not-judged"
        assert "LB->A: the backend service in front of tier A is missing" in a_verdict.message


class TestAbsentSideNotPassedSilently:
    """A's pooled connections must idle out before B *and* Kong close them: with only A and B
    given, the A->C comparison is listed as not judged, and A is not passed on A->B alone."""

    def test_kong_missing(self, tmp_path: Path) -> None:
        a, b = tmp_path / "a.conf", tmp_path / "b.conf"
        a.write_text(A_CONF)
        b.write_text(B_CONF)
        verdicts = run_check([], a, b, None)
        keep = [
            (v.status, v.message)
            for v in verdicts
            if v.rule == "chain-keepalive-timeouts-ordered" and v.resource.startswith(str(a))
        ]
        # A->B holds, A->C cannot be compared: the verdict on A is not-judged, never a pass.
        assert keep == [
            (
                "not-judged",
                "NginxConf 'a.conf': cannot judge: A->C keepalive: tier C (Kong Deployment) is "
                "missing",
            )
        ], keep


class TestConfigFile:
    """--config takes the engine's per-policy document (or a bare profile/thresholds mapping)."""

    def test_engine_document(self, tmp_path: Path) -> None:
        config = tmp_path / "cfg.json"
        config.write_text(
            json.dumps(
                {
                    "all": "advisory",
                    "deployment-readiness-probe": {"thresholds": {"max_probe_period_seconds": 30}},
                    "pdb-matches-deployment": "disabled",
                }
            )
        )
        verdicts = run_check([SEED], None, None, config)
        assert not [v for v in verdicts if v.rule == "pdb-matches-deployment"]
        readiness = next(v for v in verdicts if v.rule == "deployment-readiness-probe")
        assert readiness.status == "pass"
        assert {v.level for v in verdicts} == {"advisory"}

    def test_conflicting_profiles(self, tmp_path: Path) -> None:
        config = tmp_path / "cfg.yaml"
        config.write_text(
            "deployment-readiness-probe: {profile: {max_body_mib: 10}}\n"
            "pdb-matches-deployment: {profile: {max_body_mib: 20}}\n"
        )
        with pytest.raises(CheckInputError, match="different profiles"):
            run_check([SEED], None, None, config)


class TestBadInput:
    """Unreadable input raises CheckInputError(file, line, reason) for the CLI's exit 2."""

    def test_bad_yaml(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x\n")
        with pytest.raises(CheckInputError) as caught:
            run_check([bad], None, None, None)
        assert caught.value.file == str(bad)
        assert caught.value.line >= 3
        assert "not valid YAML" in caught.value.reason

    def test_not_an_object(self, tmp_path: Path) -> None:
        bad = tmp_path / "list.yaml"
        bad.write_text("---\n- a\n- b\n")
        with pytest.raises(CheckInputError, match="not a Kubernetes object"):
            run_check([bad], None, None, None)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(CheckInputError, match="cannot read"):
            run_check([tmp_path / "nope.yaml"], None, None, None)

    def test_bad_nginx(self, tmp_path: Path) -> None:
        conf = tmp_path / "a.conf"
        conf.write_text("http {\n  server {\n    listen 80;\n")
        with pytest.raises(CheckInputError) as caught:
            run_check([SEED], conf, None, None)
        assert caught.value.file == str(conf)

    def test_b_must_be_stream(self, tmp_path: Path) -> None:
        conf = tmp_path / "b.conf"
        conf.write_text(A_CONF)
        with pytest.raises(CheckInputError, match="expects a stream block"):
            run_check([SEED], None, conf, None)

    def test_bad_kong_config(self, tmp_path: Path) -> None:
        cm = tmp_path / "cm.yaml"
        cm.write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata:\n  kong.yml: '[a: b'\n"
        )
        with pytest.raises(CheckInputError, match=r"kong\.yml"):
            run_check([cm], None, None, None)


def test_type_tokens() -> None:
    assert type_token("apps/v1", "Deployment") == "kubernetes:apps/v1:Deployment"
    assert type_token("v1", "Service") == "kubernetes:core/v1:Service"
    assert type_token("networking.k8s.io/v1", "NetworkPolicy") == (
        "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    )
