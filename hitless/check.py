"""`hitless check`: judge a team's own manifests, Kong and nginx configs with the pack's rules.

Inputs are recognised by content: Kubernetes objects (any mix of files and directories, `kind:
List` included), bare DB-less `kong.yml` (`_format_version`), Kong config inside a ConfigMap
under any key, and nginx configs given with their tier (includes followed). Older apiVersions
the API server served until recently are read as the current one, with a notice; kinds no rule
reads are counted as skipped. Tiers are inferred: a Deployment running a Kong image is tier C;
the runtimes (tier D) are the Deployments Kong's services reach, else those a label selector
picks, else every other Deployment (with a notice). Chain hops whose two sides are present are
judged; the others are listed as not judged. See docs/check.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hitless_policy.extract import NGINX_FILE, ResourceInput, collect_facts
from hitless_policy.extract import k8s as k8s_extract
from hitless_policy.extract.kong import (
    FORMAT_KEY,
    KONG_FILE,
    KongConfigError,
    config_keys,
    parse_declarative,
    target_hosts,
)
from hitless_policy.extract.nginx import ParsedConf, parse_file, reach_ports
from hitless_policy.extract.props import Props
from hitless_policy.facts import Facts, LabelSelector
from hitless_policy.identity import Tier
from hitless_policy.loader import InputError, clip, load_file, load_one_file
from hitless_policy.profile import PackConfig
from hitless_policy.rules import RULE_IDS, RULES, Level, rule
from hitless_policy.runner import Verdict, judge

CheckInputError = InputError
"""An input file that cannot be read or understood; the CLI exits with status 2."""

EXIT_CLEAN = 0
"""Something was judged and no mandatory rule failed."""
EXIT_FAIL = 1
"""A mandatory rule failed (with `--strict`: or could not be judged)."""
EXIT_BAD_INPUT = 2
"""An input could not be read or understood, or there was nothing to check."""
EXIT_NOTHING_JUDGED = EXIT_BAD_INPUT
"""Inputs were read but no workload, Kong or nginx config could be judged (every verdict is
not-judged, or every workload is of a kind no rule judges, e.g. bare Pods): not clean, and not a
rule failure either, so the input contract's code (the exit codes are 0/1/2/3 for every
command); the summary line says what was read and skipped."""

IGNORE_ANNOTATION = "hitless.dev/ignore"
"""Annotation listing rule ids (comma-separated) not to apply to this object."""
IGNORE_REASON_ANNOTATION = "hitless.dev/ignore-reason"
"""Annotation saying why; required with `hitless.dev/ignore`."""

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""Files a directory given to `-f` is searched for (recursively; hidden entries skipped)."""

_JUDGED_KINDS = frozenset(k8s_extract.SERVED_API_VERSIONS)
"""Kinds some rule reads (every other kind is counted as skipped)."""
_ROLLED_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "KongDeclarative"})
"""Kinds that roll or route by themselves: one of them judged makes a check clean."""
_NAMED_NOTICES = 5
"""How many names a notice lists before it counts the rest (output stays linear)."""


def type_token(api_version: str, kind: str) -> str:
    """Pulumi type token of a Kubernetes object (`apps/v1` + `Deployment`)."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


@dataclass(frozen=True)
class Location:
    """Where an object was read."""

    file: str
    """The file."""
    line: int
    """1-based line of its document (or of its item in a `kind: List`)."""


@dataclass(frozen=True)
class Ignored:
    """A verdict a resource's `hitless.dev/ignore` annotation set aside."""

    verdict: Verdict
    """The verdict as the rule gave it."""
    reason: str
    """`hitless.dev/ignore-reason`."""

    def to_json(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {**self.verdict.to_json(), "ignored": "true", "reason": self.reason}


@dataclass
class CheckResult:
    """Everything `hitless check` reports: verdicts, what it set aside and why, and counts."""

    verdicts: list[Verdict]
    """Every rule's verdict on every judged resource (ignored ones excluded)."""
    ignored: list[Ignored] = field(default_factory=list)
    """Verdicts excluded by `hitless.dev/ignore`."""
    notices: list[str] = field(default_factory=list)
    """What the reader should know: old apiVersions, duplicates, how runtimes were chosen."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Objects no rule judges, by kind (and `Deployment (not behind Kong)` for out-of-scope)."""
    locations: dict[str, Location] = field(default_factory=dict)
    """Where each resource was read, by resource id."""
    strict: bool = False
    """Whether not-judged verdicts of mandatory rules count as failures."""
    primary: set[str] = field(default_factory=set)
    """Resources that roll or route (workloads, Kong and nginx configs): a check is clean only
    when one of them was judged; a Service, PDB or NetworkPolicy alone is not enough."""

    def objects(self) -> tuple[int, int]:
        """(judged, not judged): objects with a pass or fail verdict, and those only not-judged.

        Objects no rule gives a verdict of its own (a NetworkPolicy, read for the workloads it
        selects; an HPA, read for its Deployment) count in neither.
        """
        every = [*self.verdicts, *(i.verdict for i in self.ignored)]
        judged = {v.resource for v in every if v.status != "not-judged"}
        verdicted = {v.resource for v in every}
        read = set(self.locations)
        return len(read & judged), len((read & verdicted) - judged)

    def failing(self) -> list[Verdict]:
        """The verdicts that fail the check."""
        bad = {"fail", "not-judged"} if self.strict else {"fail"}
        return [v for v in self.verdicts if v.level == "mandatory" and v.status in bad]

    def exit_code(self) -> int:
        """0 clean, 1 a mandatory failure, 2 nothing judged (see the EXIT_* constants)."""
        if self.failing():
            return EXIT_FAIL
        judged = {v.resource for v in self.verdicts if v.status != "not-judged"}
        return EXIT_CLEAN if judged & self.primary else EXIT_NOTHING_JUDGED

    def summary(self) -> str:
        """One line: objects judged, not judged and skipped (by kind), and the verdict counts."""
        judged, not_judged = self.objects()
        counts = Counter(
            f"{v.level} fail" if v.status == "fail" else v.status for v in self.verdicts
        )
        skipped = ", ".join(f"{kind} {n}" for kind, n in sorted(self.skipped.items()))
        total = sum(self.skipped.values())
        parts = [
            f"{judged} objects judged",
            f"{not_judged} not judged",
            f"{total} skipped" + (f" ({skipped})" if skipped else ""),
            ", ".join(
                f"{counts[key]} {key}"
                for key in ("mandatory fail", "advisory fail", "not-judged", "pass")
            ),
        ]
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored by annotation")
        if self.strict:
            parts.append("strict: not-judged counts as failure")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The JSON document `--format json` prints (docs/check.md)."""
        judged, not_judged = self.objects()
        return {
            "summary": {
                "judged": judged,
                "not_judged": not_judged,
                "skipped": dict(sorted(self.skipped.items())),
                "exit_code": self.exit_code(),
                "text": self.summary(),
            },
            "notices": list(self.notices),
            "verdicts": [v.to_json() for v in self.verdicts],
            "ignored": [i.to_json() for i in self.ignored],
        }

    def to_sarif(self) -> dict[str, Any]:
        """A SARIF 2.1.0 log: one result per fail and not-judged verdict, located in its file."""
        used = sorted({v.rule for v in self.verdicts})
        index = {rule_id: n for n, rule_id in enumerate(used)}
        results: list[dict[str, Any]] = []
        for verdict in self.verdicts:
            if verdict.status == "pass":
                continue
            level = "note"
            if verdict.status == "fail":
                level = "error" if verdict.level == "mandatory" else "warning"
            result: dict[str, Any] = {
                "ruleId": verdict.rule,
                "ruleIndex": index[verdict.rule],
                "level": level,
                "kind": "fail" if verdict.status == "fail" else "review",
                "message": {"text": verdict.message},
                "properties": {"status": verdict.status, "resource": verdict.resource},
            }
            where = self.locations.get(verdict.resource)
            if where is not None:
                result["locations"] = [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": Path(where.file).as_posix()},
                            "region": {"startLine": max(where.line, 1)},
                        }
                    }
                ]
            results.append(result)
        return {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "hitless",
                            "informationUri": "https://github.com/hitless/hitless",
                            "rules": [
                                {
                                    "id": rule_id,
                                    "shortDescription": {"text": rule(rule_id).description},
                                    "defaultConfiguration": {
                                        "level": "error"
                                        if rule(rule_id).level == "mandatory"
                                        else "warning"
                                    },
                                }
                                for rule_id in used
                            ],
                        }
                    },
                    "results": results,
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "exitCode": self.exit_code(),
                            "toolExecutionNotifications": [
                                {"message": {"text": text}, "level": "note"}
                                for text in [*self.notices, self.summary()]
                            ],
                        }
                    ],
                }
            ],
        }


# --------------------------------------------------------------------------------------------
# Reading inputs
# --------------------------------------------------------------------------------------------


@dataclass
class _Object:
    """One Kubernetes object (or bare Kong config) read from a file."""

    input: ResourceInput
    kind: str
    namespace: str
    name: str
    where: Location
    labels: dict[str, str]
    raw: dict[str, Any]
    pod_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class _Inputs:
    objects: dict[tuple[str, str, str], _Object] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    notices: list[str] = field(default_factory=list)
    old_apis: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    kong_hosts: list[str] = field(default_factory=list)
    documents: int = 0


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files of `paths`, directories searched recursively for manifest files (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in MANIFEST_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(path, 0, f"no {'/'.join(MANIFEST_SUFFIXES)} file in this folder")
            out.extend(found)
        else:
            out.append(path)
    return out


def _labels(item: dict[str, Any]) -> dict[str, str]:
    metadata = item.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _kong_file(path: Path, line: int, doc: dict[str, Any], inputs: _Inputs) -> None:
    name = path.name
    try:
        parse_declarative_mapping(doc)
    except KongConfigError as error:
        raise InputError(path, line, f"Kong declarative config: {error.reason}") from None
    resource = ResourceInput(
        urn=f"{path}:KongDeclarative/{name}", type=KONG_FILE, name=name, props={"config": doc}
    )
    inputs.kong_hosts.extend(target_hosts(doc))
    key = ("KongDeclarative", str(path), str(line))
    inputs.objects[key] = _Object(
        resource, "KongDeclarative", "", name, Location(str(path), line), {}, doc
    )


def parse_declarative_mapping(doc: dict[str, Any]) -> None:
    """Check that a mapping is a Kong declarative config (KongConfigError otherwise)."""
    version = doc.get(FORMAT_KEY)
    if not isinstance(version, str | int | float):
        raise KongConfigError(1, f"{FORMAT_KEY} must be a version string such as '3.0'")
    for key in ("services", "upstreams", "routes", "targets"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], list):
            raise KongConfigError(1, f"{key} must be a list")


def _object(path: Path, line: int, item: object, inputs: _Inputs) -> None:
    if not isinstance(item, dict):
        raise InputError(path, line, "a document is not a Kubernetes object (a mapping)")
    if FORMAT_KEY in item and "kind" not in item:
        _kong_file(path, line, item, inputs)
        return
    api, kind = item.get("apiVersion"), item.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        raise InputError(
            path,
            line,
            "not a Kubernetes object (apiVersion and kind are required) nor a Kong declarative "
            f"config ({FORMAT_KEY}); give -f Kubernetes manifests or kong.yml files",
        )
    if kind == "List":
        items = item.get("items")
        if not isinstance(items, list):
            raise InputError(path, line, "a List needs an items list")
        for entry in items:
            _object(path, line, entry, inputs)
        return
    metadata = item.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name")
    if not isinstance(name, str):
        generated = metadata.get("generateName")
        if isinstance(generated, str):
            name = f"{generated}<generated>"
    if kind not in _JUDGED_KINDS:
        inputs.skipped[kind] += 1
        return
    if not isinstance(name, str) or not name:
        raise InputError(path, line, f"{kind}: metadata.name (or generateName) is required")
    current = k8s_extract.SERVED_API_VERSIONS[kind].get(api)
    if current is None:
        inputs.skipped[f"{kind} {api}"] += 1
        return
    if current != api:
        inputs.old_apis[f"{kind} {api}"] += 1
    namespace = str(metadata.get("namespace") or "default")
    data = item.get("data")
    if kind == "ConfigMap":  # every ConfigMap: no-plaintext-secrets reads its data
        for data_key in config_keys(data):
            try:
                doc = parse_declarative(str(data[data_key]) if isinstance(data, dict) else "")
            except KongConfigError as error:
                raise InputError(
                    path,
                    line,
                    f"ConfigMap {name} data.{data_key} line {error.line}: {error.reason}",
                ) from None
            inputs.kong_hosts.extend(target_hosts(doc))
    resource = ResourceInput(
        urn=f"{path}:{kind}/{name}"
        if namespace == "default"
        else f"{path}:{kind}/{namespace}/{name}",
        type=type_token(current, kind),
        name=name,
        props=item,
    )
    key = (kind, namespace, name)
    if key in inputs.objects:
        before = inputs.objects[key].where
        inputs.duplicates.append(
            f"{kind} {namespace}/{name} ({before.file}:{before.line} and {path}:{line})"
        )
    inputs.objects[key] = _Object(
        resource,
        kind,
        namespace,
        name,
        Location(str(path), line),
        _labels(item),
        item,
        _template_labels(item) if kind == "Deployment" else {},
    )


def _read_manifests(paths: Sequence[Path], inputs: _Inputs) -> None:
    for path in expand_paths(paths):
        for doc in load_file(path):
            if doc.data is None:
                continue
            inputs.documents += 1
            _object(path, doc.line, doc.data, inputs)


def _nginx(
    path: Path, tier: Tier, prefix: Path | None, reach: Iterable[int] = ()
) -> tuple[ResourceInput, ParsedConf]:
    context = "stream" if tier is Tier.B else "http"
    parsed = parse_file(str(path), str(prefix) if prefix else None, context)
    if parsed.located_errors:
        file, line, message = parsed.located_errors[0]
        more = len(parsed.located_errors) - 1
        extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        raise InputError(file, line, f"nginx config: {message}{extra}")
    if tier is Tier.A and not parsed.http:
        what = "only a stream block (an L4 proxy)" if parsed.stream else "no http block"
        hint = "; pass it as --nginx-b" if parsed.stream else ""
        raise InputError(
            path,
            0,
            f"tier A expects an http reverse proxy (nginx L7) but this config has {what}{hint}",
        )
    if tier is Tier.B and not parsed.stream:
        raise InputError(
            path,
            0,
            "tier B expects a stream block (an nginx L4 proxy) but this config has none"
            + ("; an http-only config is tier A: pass it as --nginx-a" if parsed.http else ""),
        )
    props: dict[str, Any] = {
        "tier": tier.value,
        "path": str(path),
        "prefix": str(prefix) if prefix else None,
        "metadata": {},
    }
    ports = sorted(set(reach))
    if ports:
        props["reach_ports"] = ports
    resource = ResourceInput(
        urn=f"{path}:NginxConf/tier-{tier.value}", type=NGINX_FILE, name=path.name, props=props
    )
    return resource, parsed


# --------------------------------------------------------------------------------------------
# Scope: which Deployments are runtimes behind Kong
# --------------------------------------------------------------------------------------------

_SELECTOR_TERM = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*))?\s*$")


def parse_selector(text: str) -> list[tuple[str, str, str | None]]:
    """A kubectl-style equality selector as (key, op, value) terms (ValueError otherwise).

    Terms: `app=rt`, `tier!=batch`, `canary` (exists), `!legacy` (does not exist).
    """
    terms: list[tuple[str, str, str | None]] = []
    for part in text.split(","):
        match = _SELECTOR_TERM.match(part)
        if match is None or (match.group(1) and match.group(3)):
            raise ValueError(f"cannot read selector term {part.strip()!r}")
        negate, key, op, value = match.groups()
        if op is None:
            terms.append((key, "!exists" if negate else "exists", None))
        else:
            terms.append((key, "!=" if op == "!=" else "=", value))
    return terms


def _selects(terms: list[tuple[str, str, str | None]], labels: dict[str, str]) -> bool:
    for key, op, value in terms:
        ok = {
            "exists": key in labels,
            "!exists": key not in labels,
            "=": labels.get(key) == value,
            "!=": labels.get(key) != value,
        }[op]
        if not ok:
            return False
    return True


def _service_key(host: str) -> tuple[str, str | None]:
    """(Service name, namespace or None) a cluster DNS name points to."""
    parts = host.rstrip(".").split(".")
    if len(parts) >= 2 and (len(parts) == 2 or parts[2] == "svc"):
        return parts[0], parts[1]
    return parts[0], None


def _template_labels(item: dict[str, Any]) -> dict[str, str]:
    spec = item.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    metadata = template.get("metadata") if isinstance(template, dict) else None
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _is_kong(obj: _Object) -> bool:
    return k8s_extract.looks_like_kong(Props(obj.raw))


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_NAMED_NOTICES])
    rest = len(items) - _NAMED_NOTICES
    return f"{shown} and {rest} more" if rest > 0 else shown


def _scope(inputs: _Inputs, selector: str | None) -> None:
    """Keep the Deployments that are runtimes behind Kong (and Kong itself).

    The others are dropped with the PDBs and Services that only concern them, and a notice
    says how the choice was made.
    """
    deployments = [o for o in inputs.objects.values() if o.kind == "Deployment"]
    runtimes = [o for o in deployments if not _is_kong(o)]
    if not runtimes:
        return
    chosen: list[_Object] | None = None
    how = ""
    if inputs.kong_hosts:
        by_name: dict[str, list[_Object]] = {}
        for obj in inputs.objects.values():
            if obj.kind == "Service":
                by_name.setdefault(obj.name, []).append(obj)
        by_label = _LabelIndex(runtimes)
        picked: dict[int, _Object] = {}
        for host in dict.fromkeys(inputs.kong_hosts):
            name, namespace = _service_key(host)
            for service in by_name.get(name, []):
                if namespace is not None and service.namespace != namespace:
                    continue
                spec = service.raw.get("spec")
                wanted = spec.get("selector") if isinstance(spec, dict) else None
                if not isinstance(wanted, dict) or not wanted:
                    continue
                match = LabelSelector({str(k): str(v) for k, v in wanted.items()})
                for dep in by_label.candidates(service.namespace, match):
                    if match.matches(dep.pod_labels):
                        picked[id(dep)] = dep
        if picked:
            chosen = [d for d in runtimes if id(d) in picked]
            how = "the Deployments the Services named in Kong's config select"
    if chosen is None and selector:
        try:
            terms = parse_selector(selector)
        except ValueError as error:
            raise InputError("--runtime-selector", 0, str(error)) from None
        chosen = [d for d in runtimes if _selects(terms, {**d.labels, **d.pod_labels})]
        how = f"the Deployments --runtime-selector {selector!r} selects"
    if chosen is None:
        inputs.notices.append(
            f"runtimes: no Kong service target reaches a Deployment here and no "
            f"--runtime-selector was given, so all {len(runtimes)} non-Kong Deployments are "
            "judged as runtimes behind Kong; give --runtime-selector (e.g. app=rt) to scope"
        )
        return
    keep = {id(d) for d in chosen}
    dropped = [d for d in runtimes if id(d) not in keep]
    inputs.notices.append(
        f"runtimes: {len(chosen)} Deployment(s) judged as runtimes behind Kong ({how}); "
        f"{len(dropped)} other Deployment(s) skipped"
        + (f": {_names([f'{d.namespace}/{d.name}' for d in dropped])}" if dropped else "")
    )
    for dep in dropped:
        del inputs.objects[(dep.kind, dep.namespace, dep.name)]
        inputs.skipped["Deployment (not behind Kong)"] += 1
    kept = [d for d in deployments if id(d) in keep or _is_kong(d)]
    _drop_companions(inputs, dropped, kept)


class _LabelIndex:
    """Deployments by (namespace, label, value) of their pod labels: a selector's candidates."""

    def __init__(self, objects: Sequence[_Object]) -> None:
        self.objects = list(objects)
        self.table: dict[tuple[str, str, str], list[int]] = {}
        for n, obj in enumerate(self.objects):
            for key, value in obj.pod_labels.items():
                self.table.setdefault((obj.namespace, key, value), []).append(n)
            self.table.setdefault((obj.namespace, "", ""), []).append(n)

    def candidates(self, namespace: str, selector: LabelSelector) -> list[_Object]:
        """The Deployments of `namespace` that may match `selector` (a superset)."""
        pairs = sorted(selector.match_labels.items())
        key = (namespace, *pairs[0]) if pairs else (namespace, "", "")
        return [self.objects[n] for n in self.table.get(key, [])]


def _drop_companions(inputs: _Inputs, dropped: list[_Object], kept: list[_Object]) -> None:
    """Drop PDBs, Services and HPAs that concern only skipped Deployments."""
    gone = {(d.namespace, d.name) for d in dropped}
    dropped_index, kept_index = _LabelIndex(dropped), _LabelIndex(kept)
    for key, obj in list(inputs.objects.items()):
        if obj.kind not in ("PodDisruptionBudget", "Service", "HorizontalPodAutoscaler"):
            continue
        spec = obj.raw.get("spec") if isinstance(obj.raw.get("spec"), dict) else {}
        if obj.kind == "HorizontalPodAutoscaler":
            target = spec.get("scaleTargetRef") if isinstance(spec, dict) else None
            name = target.get("name") if isinstance(target, dict) else None
            if (obj.namespace, name) in gone:
                del inputs.objects[key]
                inputs.skipped[f"{obj.kind} (not behind Kong)"] += 1
            continue
        raw = spec.get("selector") if isinstance(spec, dict) else None
        if obj.kind == "PodDisruptionBudget":
            found = k8s_extract.selector(
                Props(raw, "spec.selector") if isinstance(raw, dict) else None
            )
            if not isinstance(found, LabelSelector):
                continue
            selector = found
        else:
            if not isinstance(raw, dict) or not raw:
                continue
            selector = LabelSelector({str(k): str(v) for k, v in raw.items()})
        namespace = obj.namespace
        if any(
            selector.matches(d.pod_labels) for d in dropped_index.candidates(namespace, selector)
        ) and not any(
            selector.matches(d.pod_labels) for d in kept_index.candidates(namespace, selector)
        ):
            del inputs.objects[key]
            inputs.skipped[f"{obj.kind} (not behind Kong)"] += 1


# --------------------------------------------------------------------------------------------
# Judging
# --------------------------------------------------------------------------------------------


def _ignores(inputs: _Inputs) -> dict[str, tuple[frozenset[str], str]]:
    """Resource id -> (rule ids, reason) from `hitless.dev/ignore` annotations."""
    out: dict[str, tuple[frozenset[str], str]] = {}
    for obj in inputs.objects.values():
        metadata = obj.raw.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if not isinstance(annotations, dict) or IGNORE_ANNOTATION not in annotations:
            continue
        where = obj.where
        listed = [r.strip() for r in str(annotations[IGNORE_ANNOTATION]).split(",") if r.strip()]
        unknown = [r for r in listed if r not in RULE_IDS]
        if unknown or not listed:
            raise InputError(
                where.file,
                where.line,
                f"{obj.kind} {obj.name}: {IGNORE_ANNOTATION} names unknown rule(s) "
                f"{clip(', '.join(unknown) or '(none)')}; use rule ids such as "
                "deployment-min-replicas (docs/check.md)",
            )
        reason = annotations.get(IGNORE_REASON_ANNOTATION)
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(
                where.file,
                where.line,
                f"{obj.kind} {obj.name}: {IGNORE_ANNOTATION} needs a "
                f"{IGNORE_REASON_ANNOTATION} annotation saying why the rule does not apply",
            )
        out[obj.input.urn] = (frozenset(listed), reason.strip())
    return out


_LEVELS: dict[str, Level | None] = {"mandatory": "mandatory", "advisory": "advisory"}


def load_config(path: Path) -> tuple[PackConfig, dict[str, Level | None]]:
    """The PackConfig and the per-rule level overrides (None: disabled) of a config file."""
    raw = load_one_file(path) or {}
    if not isinstance(raw, dict):
        raise CheckInputError(path, 1, "the config must be a mapping")
    levels: dict[str, Level | None] = {}
    if set(raw) <= {"profile", "thresholds"}:
        bodies = [raw]
    else:
        bodies = []
        unknown = sorted(set(raw) - set(RULE_IDS) - {"all"})
        if unknown:
            raise CheckInputError(path, 1, f"unknown policies {', '.join(unknown)}")
        for key, value in raw.items():
            level = value if isinstance(value, str) else None
            if isinstance(value, dict):
                level = value.get("enforcementLevel")
                body = {k: v for k, v in value.items() if k != "enforcementLevel"}
                if body:
                    bodies.append(body)
            if level is not None:
                if level not in ("mandatory", "advisory", "disabled"):
                    raise CheckInputError(path, 1, f"{key}: unknown enforcementLevel {level!r}")
                for rule_id in RULE_IDS if key == "all" else [key]:
                    levels.setdefault(rule_id, _LEVELS.get(level))
                    if key != "all":
                        levels[rule_id] = _LEVELS.get(level)
    try:
        configs = [PackConfig.model_validate(body) for body in bodies] or [PackConfig()]
    except ValidationError as error:
        raise CheckInputError(path, 1, f"invalid policy config: {error}") from error
    if any(config != configs[0] for config in configs[1:]):
        raise CheckInputError(path, 1, "policies are given different profiles or thresholds")
    return configs[0], levels


@dataclass
class ReadInputs:
    """What `check` reads before judging: the resources and the policy config."""

    config: PackConfig
    """The traffic profile and thresholds (`--config`, else the defaults)."""
    levels: dict[str, Level | None]
    """Per-rule level overrides of the config file (None: disabled)."""
    inputs: _Inputs
    """The manifests read."""
    resources: list[ResourceInput]
    """Every resource the rules judge, nginx configs first."""
    locations: dict[str, Location]
    """Where each resource was read, by resource id."""
    nginx: list[str] = field(default_factory=list)
    """The resource ids of the nginx configs."""


def read_inputs(
    manifest_paths: Sequence[Path] = (),
    nginx_a: Path | None = None,
    nginx_b: Path | None = None,
    config_file: Path | None = None,
    *,
    runtime_selector: str | None = None,
    nginx_prefix: Path | None = None,
) -> ReadInputs:
    """Read every input of `check` (InputError on bad or empty input); `report` reads the same."""
    if not manifest_paths and nginx_a is None and nginx_b is None:
        raise InputError(
            "hitless check",
            0,
            "nothing to check: give -f (files or folders), --nginx-a or --nginx-b",
        )
    config, levels = load_config(config_file) if config_file else (PackConfig(), {})
    inputs = _Inputs()
    _read_manifests(manifest_paths, inputs)
    resources: list[ResourceInput] = []
    locations: dict[str, Location] = {}
    reach: frozenset[int] = frozenset()
    if nginx_a is not None:
        resource, parsed = _nginx(nginx_a, Tier.A, nginx_prefix)
        reach = reach_ports(parsed)
        resources.append(resource)
        locations[resource.urn] = Location(str(nginx_a), 1)
    if nginx_b is not None:
        resource, _ = _nginx(nginx_b, Tier.B, nginx_prefix, reach)
        resources.append(resource)
        locations[resource.urn] = Location(str(nginx_b), 1)
    if not inputs.objects and not resources and not inputs.skipped:
        where = ", ".join(str(p) for p in manifest_paths)
        raise InputError(
            where, 0, "no Kubernetes object, Kong config or nginx config found (empty input)"
        )
    _scope(inputs, runtime_selector)
    nginx = list(locations)
    for obj in inputs.objects.values():
        resources.append(obj.input)
        locations[obj.input.urn] = obj.where
    return ReadInputs(config, levels, inputs, resources, locations, nginx)


def read_facts(
    manifest_paths: Sequence[Path],
    nginx_a: Path | None = None,
    nginx_b: Path | None = None,
    *,
    runtime_selector: str | None = None,
) -> Facts:
    """The facts of the given files, read as `check` reads them (InputError on bad input)."""
    read = read_inputs(manifest_paths, nginx_a, nginx_b, runtime_selector=runtime_selector)
    return collect_facts(read.resources)


def check(
    manifest_paths: Sequence[Path] = (),
    nginx_a: Path | None = None,
    nginx_b: Path | None = None,
    config_file: Path | None = None,
    *,
    runtime_selector: str | None = None,
    nginx_prefix: Path | None = None,
    strict: bool = False,
) -> CheckResult:
    """Read and judge every input (InputError on bad or empty input)."""
    read = read_inputs(
        manifest_paths,
        nginx_a,
        nginx_b,
        config_file,
        runtime_selector=runtime_selector,
        nginx_prefix=nginx_prefix,
    )
    config, levels, inputs = read.config, read.levels, read.inputs
    resources, locations = read.resources, read.locations
    ignores = _ignores(inputs)
    primary = set(read.nginx)  # the nginx configs
    for obj in inputs.objects.values():
        if obj.kind in _ROLLED_KINDS or (
            obj.kind == "ConfigMap" and config_keys(obj.raw.get("data"))
        ):
            primary.add(obj.input.urn)
    rules = [r for r in RULES if levels.get(r.id, r.level) is not None]
    verdicts: list[Verdict] = []
    ignored: list[Ignored] = []
    for found in judge(resources, config, rules):
        level = levels.get(found.rule)
        verdict = found if level is None else dataclasses.replace(found, level=level)
        skip = ignores.get(verdict.resource)
        if skip is not None and verdict.rule in skip[0]:
            ignored.append(Ignored(verdict, skip[1]))
        else:
            verdicts.append(verdict)
    notices = list(inputs.notices)
    for api, count in sorted(inputs.old_apis.items()):
        kind, version = api.split(" ", 1)
        current = k8s_extract.SERVED_API_VERSIONS[kind][version]
        removed = k8s_extract.REMOVED_IN.get(version)
        served = (
            f"which Kubernetes stopped serving in {removed}; update the apiVersion before "
            "applying to a current cluster"
            if removed
            else "still served"
        )
        notices.append(
            f"{count} {kind} object(s) use {version} ({served}): judged as {current}, whose "
            "fields the rules read have the same meaning"
        )
    if inputs.duplicates:
        notices.append(
            f"{len(inputs.duplicates)} duplicate object(s), the last one read is judged: "
            f"{_names(inputs.duplicates)}"
        )
    return CheckResult(
        verdicts=verdicts,
        ignored=ignored,
        notices=notices,
        skipped=inputs.skipped,
        locations=locations,
        strict=strict,
        primary=primary,
    )


def run_check(
    manifest_files: Sequence[Path],
    nginx_a: Path | None,
    nginx_b: Path | None,
    config_file: Path | None,
) -> list[Verdict]:
    """The verdicts of `check` (kept for callers that only need them)."""
    return check(manifest_files, nginx_a, nginx_b, config_file).verdicts
