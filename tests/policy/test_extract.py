"""Extractors: nginx inheritance and defaults, pulumi-kong entities, tier inference, proxies."""

from __future__ import annotations

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from hitless_policy.extract import ResourceInput, collect_facts
from hitless_policy.extract.nginx import parse_text, seconds, size_bytes
from hitless_policy.extract.props import Props, plain
from hitless_policy.facts import Unknown
from hitless_policy.identity import Tier


class TestNginx:
    """Directives inherit http -> server -> location; absent ones take nginx's defaults."""

    def test_units(self) -> None:
        assert seconds("1m 30s") == 90
        assert seconds("500ms") == 0.5
        assert seconds("650") == 650
        assert size_bytes("64m") == 64 * 1024 * 1024
        assert size_bytes("0") == 0

    def test_inheritance_and_defaults(self) -> None:
        conf = parse_text(
            "http { proxy_read_timeout 90s; server { listen 80; client_max_body_size 8m;"
            " location /a { proxy_pass http://up; } location /b { proxy_read_timeout 5s;"
            " proxy_pass http://up; } location /health { return 200; } } }"
        )
        by_where = {p.where: p for p in conf.proxies}
        a, b = by_where["server :80 location /a"], by_where["server :80 location /b"]
        assert (a.read_timeout_seconds, b.read_timeout_seconds) == (90, 5)
        assert a.client_max_body_bytes == 8 * 1024 * 1024
        assert a.client_keepalive_seconds == 75
        assert a.request_buffering
        assert a.next_upstream == ("error", "timeout")
        assert len(conf.proxies) == 2
        assert conf.worker_shutdown_seconds is None

    def test_stream(self) -> None:
        conf = parse_text("stream { server { listen 8000; proxy_pass 10.0.0.1:80; } }")
        assert conf.stream
        assert conf.proxies[0].read_timeout_seconds == 600


class TestKongEntities:
    """pulumi-kong resources (wire camelCase) give the same facts as declarative config."""

    def test_entities(self) -> None:
        tags = ["hitless-chain=main", "hitless-tier=c", "hitless-role=proxy"]
        resources = [
            ResourceInput(
                "urn:s",
                "kong:index/service:Service",
                "svc",
                {
                    "name": "rt",
                    "connectTimeout": 2000,
                    "readTimeout": 50000,
                    "retries": 2,
                    "tags": tags,
                },
            ),
            ResourceInput(
                "urn:r",
                "kong:index/route:Route",
                "route",
                {"serviceId": UNKNOWN_STRING_VALUE, "requestBuffering": False, "tags": tags},
            ),
            ResourceInput(
                "urn:u",
                "kong:index/upstream:Upstream",
                "up",
                {
                    "name": "rt-up",
                    "healthchecks": {"active": {"unhealthy": {"interval": 5, "tcpFailures": 2}}},
                    "tags": tags,
                },
            ),
            ResourceInput(
                "urn:t",
                "kong:index/target:Target",
                "target",
                {"upstreamId": UNKNOWN_STRING_VALUE, "target": "rt.api.svc:8080", "tags": tags},
            ),
        ]
        (config,) = collect_facts(resources).kong_configs
        assert config.place.chain == "main"
        assert isinstance(config.services, list)
        service = config.services[0]
        assert (service.connect_timeout_ms, service.read_timeout_ms, service.retries) == (
            2000,
            50000,
            2,
        )
        assert config.route_request_buffering == [False]
        assert isinstance(config.upstreams, list)
        upstream = config.upstreams[0]
        assert upstream.targets == ["rt.api.svc:8080"]
        assert upstream.active_ejects is True
        assert config.ref_of("rt-up").id == "urn:u"


class TestInference:
    """Without identity labels a Kong Deployment is tier C, any other tier D, one chain."""

    def test_tiers(self) -> None:
        def dep(name: str, image: str) -> ResourceInput:
            return ResourceInput(
                f"f:{name}",
                "kubernetes:apps/v1:Deployment",
                name,
                {
                    "metadata": {"name": name},
                    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
                },
            )

        facts = collect_facts([dep("gw", "kong/kong-gateway:3.9"), dep("rt", "rt:1")])
        tiers = {d.ref.name: d.place.tier for d in facts.deployments}
        assert tiers == {"gw": Tier.C, "rt": Tier.D}
        assert facts.chains() == ["default"]


class TestProps:
    """Proxied props are unwrapped without tripping the proxy; sentinels become Unknown."""

    def test_plain_from_proxy(self) -> None:
        proxied = unknown_checking_proxy({"spec": {"replicas": UNKNOWN_STRING_VALUE, "x": [1]}})
        data = plain(proxied)
        assert data == {"spec": {"replicas": UNKNOWN_STRING_VALUE, "x": [1]}}
        value = Props(data).integer("spec", "replicas", default=1)
        assert value == Unknown("spec.replicas")

    def test_engine_floats(self) -> None:
        assert Props({"replicas": 2.0}).integer("replicas", default=1) == 2
        assert Props({"maxSurge": 1.0}).int_or_str("maxSurge") == 1
        assert isinstance(Props({"replicas": "x"}).integer("replicas", default=1), Unknown)
