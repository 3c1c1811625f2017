"""kube-score's own testdata (../shared/peer/kube-score) judged by `hitless check`.

kube-score (github zegl/kube-score @06dedc9) asserts a grade per check in its Go tests;
`cases.tsv` and `derived-cases.tsv` map each case to the nearest hitless rule. The table below
is the verdict hitless must give under its own intent (no failed request while a tier rolls or a
node drains), decided by reading each file; where it differs from kube-score the reason says why.
Every kube-score defect that a hitless rule covers is found: its object fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from hitless.check import EXIT_CLEAN, EXIT_FAIL, CheckResult, check

PEER = "peer/kube-score"

FAIL, PASS, SKIPPED, NO_VERDICT = "fail", "pass", "skipped", "no verdict"


@dataclass(frozen=True)
class Case:
    """One row of the peer tables, as read from the TSV."""

    id: str
    file: str
    grade: str
    rule: str
    target: str


# id -> (verdict of the mapped rule on the target object, why)
EXPECTED: dict[str, tuple[str, str]] = {
    **{
        f"P{n:02d}": (SKIPPED, "a bare Pod is not rolled by a controller; no rule judges it")
        for n in range(1, 14)
    },
    **{
        f"T{n:02d}": (SKIPPED, "a bare Pod is not rolled by a controller; no rule judges it")
        for n in range(1, 8)
    },
    **{
        f"S{n:02d}": (
            NO_VERDICT,
            "the mapped rule judges Deployments only; the StatefulSet is read, and the container "
            "and isolation rules judge it",
        )
        for n in range(1, 10)
    },
    "B01": (PASS, "1 replica: a PDB is moot (deployment-min-replicas fails instead)"),
    "B02": (PASS, "1 replica: a PDB is moot"),
    "B03": (PASS, "1 replica: PDB moot; the Deployment fails deployment-min-replicas"),
    "B04": (PASS, "1 replica: PDB moot; the Deployment fails deployment-min-replicas"),
    "B05": (FAIL, "no minAvailable/maxUnavailable: the budget protects nothing"),
    "B06": (FAIL, "no minAvailable/maxUnavailable: the budget protects nothing"),
    "B07": (PASS, "1 replica: a PDB is moot"),
    "B08": (PASS, "1 replica: PDB moot; the Deployment fails deployment-min-replicas"),
    "B09": (PASS, "1 replica: PDB moot; the Deployment fails deployment-min-replicas"),
    "A01": (FAIL, "preferred anti-affinity is dropped when nodes are short: not a spread"),
    "A02": (FAIL, "preferred, and its selector does not select the pods"),
    "A03": (FAIL, "preferred anti-affinity is a hint, not a spread"),
    "A04": (PASS, "required anti-affinity on the hostname"),
    "A05": (FAIL, "no anti-affinity, no topology spread"),
    "A06": (FAIL, "one replica, no spread (deployment-min-replicas fails too)"),
    "H01": (FAIL, "autoscaling/v1 HPA read as v2: minReplicas 1"),
    "H02": (FAIL, "autoscaling/v1 HPA minReplicas 1"),
    "D01": (PASS, "2 replicas, default 25%: surge 1, unavailable 0"),
    "D02": (PASS, "1 replica, default 25%: surge 1, unavailable 0"),
    "D03": (FAIL, "Recreate"),
    "D04": (PASS, "no strategy: RollingUpdate 25%/25% resolves to surge 1, unavailable 0"),
    "R01": (PASS, "replicas 2"),
    "R02": (FAIL, "replicas 1 (not behind a Service, still one pod)"),
    "R03": (FAIL, "replicas 1"),
    "R04": (FAIL, "replicas 1 (kube-score's min 1 is not hitless' 2)"),
    "R05": (FAIL, "replicas 1"),
    "R06": (FAIL, "HPA minReplicas 1"),
    "R07": (PASS, "HPA minReplicas 2"),
    "R08": (FAIL, "HPA minReplicas 1"),
    "R09": (FAIL, "HPA minReplicas 1"),
    "R10": (FAIL, "HPA minReplicas 1 (kube-score's min 1 is not hitless' 2)"),
    **{f"W-P0{n}": (FAIL, "no readiness probe, or the same as liveness") for n in range(1, 9)},
    "W-P09": (FAIL, "no readiness probe: every Deployment judged is a runtime here"),
    "W-P10": (FAIL, "no readiness probe (same premise)"),
    "W-P11": (FAIL, "no readiness probe (same premise)"),
    "W-P12": (PASS, "the probed container serves; the other declares nothing"),
    "W-P13": (PASS, "an init container does not serve"),
    "W-T01": (FAIL, "'zone' is no node label: no host spread"),
    "X-T01h": (PASS, "hostname spread, DoNotSchedule, own selector"),
    "W-T02": (FAIL, "keys 'zone' and 'node' are no node labels"),
    "W-T03": (FAIL, "no labelSelector: the constraint counts no pods"),
    "X-T03h": (FAIL, "no labelSelector: the constraint counts no pods"),
    "W-T04": (FAIL, "maxSkew 0 is invalid"),
    "X-T04h": (FAIL, "maxSkew 0 is invalid: the constraint does not count"),
    "W-T05": (FAIL, "minDomains 0 is invalid"),
    "X-T05h": (FAIL, "minDomains 0 is invalid: the constraint does not count"),
    "W-T06": (FAIL, "no topologyKey"),
    "W-T07": (FAIL, "invalid whenUnsatisfiable"),
    "X-T07h": (FAIL, "invalid whenUnsatisfiable: the constraint does not count"),
    "X-A1": (PASS, "required anti-affinity on the hostname"),
    "X-A2": (PASS, "required zone anti-affinity keeps pods on distinct nodes too"),
    "X-A3": (PASS, "required region anti-affinity keeps pods on distinct nodes too"),
    "X-A4": (FAIL, "an unknown topology key is no spread"),
    "X-A5": (FAIL, "the selector does not select the pods themselves"),
    "X-B01r": (PASS, "policy/v1beta1 read as policy/v1 (a notice names the old API)"),
    "X-B02r": (PASS, "policy/v1beta1 read as policy/v1, matchExpressions match"),
    "X-B03r": (FAIL, "3 replicas, no PDB selects them"),
    "X-B04r": (FAIL, "3 replicas, no PDB selects them"),
    "X-B05r": (FAIL, "no policy: the budget protects nothing"),
    "X-B05m": (PASS, "the PDB selects the pods; pdb-allows-disruption fails it"),
    "X-B06r": (FAIL, "no policy: the budget protects nothing"),
    "X-B06m": (PASS, "the PDB selects the pods; pdb-allows-disruption fails it"),
    "X-B07r": (PASS, "one PDB selects the pods"),
    "X-B08r": (FAIL, "3 replicas, no PDB selects them"),
    "X-B09r": (FAIL, "the PDB is in another namespace"),
    "X-H01v2": (FAIL, "HPA minReplicas 1"),
    "X-R06v2": (FAIL, "HPA minReplicas 1"),
    "X-H01v2m2": (PASS, "HPA minReplicas 2; static replicas under an HPA is no rollout hazard"),
    "X-P12p": (PASS, "the probed container serves"),
    "X-P03t": (PASS, "liveness gives up after readiness: the pod leaves rotation first"),
    "X-P03f": (FAIL, "liveness on the same endpoint gives up no later than readiness"),
}

NOT_COVERED = {
    "X-H01v2m2": "kube-score's 'replicas set under an HPA' has no hitless rule",
    "X-P03t": "identical endpoint but liveness gives up later: not a rollout hazard by design",
}
"""kube-score defects hitless deliberately does not report, and why."""


def _cases(shared: Path) -> list[Case]:
    out: list[Case] = []
    for name in ("cases.tsv", "derived-cases.tsv"):
        for line in (shared / PEER / name).read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            case_id, file, _, _, _, grade, rule, target = line.split("\t")
            out.append(Case(case_id, file, grade, rule.split(" ")[0], target))
    return out


def _target_verdicts(result: CheckResult, case: Case) -> list[str]:
    kind, name = case.target.split("/")
    return [
        v.status
        for v in result.verdicts
        if v.rule == case.rule and f":{kind}/" in v.resource and v.resource.endswith(f"/{name}")
    ]


def test_table_covers_every_case(shared: Path) -> None:
    assert {case.id for case in _cases(shared)} == set(EXPECTED)


def test_every_case(shared: Path) -> None:
    """Each case's mapped rule gives the expected verdict on its object; skipped kinds are
    counted and never make the check clean; kinds the mapped rule does not judge get no verdict
    from it but are read (other rules judge them), not skipped."""
    wrong: list[str] = []
    for case in _cases(shared):
        expected, why = EXPECTED[case.id]
        result = check([shared / PEER / case.file])
        if expected == SKIPPED:
            kind = case.target.split("/")[0]
            if result.skipped[kind] < 1 or result.exit_code() == EXIT_CLEAN:
                wrong.append(f"{case.id}: {kind} not listed as skipped or exit 0 ({why})")
            continue
        found = _target_verdicts(result, case)
        if expected == NO_VERDICT:
            kind, name = case.target.split("/")
            judged = [
                v
                for v in result.verdicts
                if f":{kind}/" in v.resource and (name == "*" or v.resource.endswith(f"/{name}"))
            ]
            if found or not judged or result.skipped[kind]:
                wrong.append(f"{case.id}: {case.rule} gave {found}, or {kind} skipped ({why})")
            continue
        if found != [expected]:
            wrong.append(
                f"{case.id} {case.file}: {case.rule} gave {found}, want {expected} ({why})"
            )
    assert not wrong, "\n".join(wrong)


def test_kube_score_defects_found(shared: Path) -> None:
    """A kube-score defect on a Deployment or PDB fails that object (with the mapped rule or,
    for a 1-replica Deployment whose PDB is moot, deployment-min-replicas)."""
    missed: list[str] = []
    found = 0
    for case in _cases(shared):
        kind = case.target.split("/")[0]
        if case.grade not in ("CRITICAL", "WARNING") or kind not in (
            "Deployment",
            "PodDisruptionBudget",
        ):
            continue
        if case.id in NOT_COVERED:
            continue
        result = check([shared / PEER / case.file])
        name = case.target.split("/")[1]
        fails = [
            v
            for v in result.verdicts
            if v.status == "fail" and f":{kind}/" in v.resource and v.resource.endswith(f"/{name}")
        ]
        if fails and result.exit_code() == EXIT_FAIL:
            found += 1
        else:
            missed.append(case.id)
    assert not missed, missed
    assert found == 43  # all of them: 47 defects, 4 on Deployments in NOT_COVERED or Pods


@pytest.mark.parametrize("case_id", ["X-B01r", "H01"])
def test_old_api_versions_named(shared: Path, case_id: str) -> None:
    """policy/v1beta1 and autoscaling/v1 objects are judged, with a notice naming the API."""
    case = next(c for c in _cases(shared) if c.id == case_id)
    result = check([shared / PEER / case.file])
    assert any("policy/v1beta1" in n or "autoscaling/v1" in n for n in result.notices), (
        result.notices
    )
