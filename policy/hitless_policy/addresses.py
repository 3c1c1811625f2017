"""Address space a source-range list admits, judged as sets of addresses, not as strings.

A firewall's `sourceRanges` are read as one set: `[0.0.0.0/1, 128.0.0.0/1]` admits the whole
IPv4 internet exactly as `0.0.0.0/0` does, and overlapping ranges count once. The chain's
instances are reached only by Google's front ends and health checkers and by private ranges
(the previous tier's subnet); anything else is public address space a firewall should not admit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
"""An IPv4 or IPv6 network."""

GOOGLE_FRONTEND_RANGES: tuple[ipaddress.IPv4Network, ...] = (
    ipaddress.IPv4Network("35.191.0.0/16"),
    ipaddress.IPv4Network("130.211.0.0/22"),
)
"""Source ranges of Google's health checkers and GFE proxies (admitted to GCE backends).

Source: https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges (health
checks and the global external Application LB's proxies use 35.191.0.0/16 and 130.211.0.0/22).
"""

PRIVATE_RANGES: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv6Network("fc00::/7"),
)
"""Non-internet ranges a VPC's subnets use (RFC 1918, RFC 6598 shared space, IPv6 ULA)."""


def parse_ranges(sources: Iterable[str]) -> list[IPNetwork]:
    """CIDR strings as networks (host bits ignored); raises ValueError naming a bad entry."""
    out: list[IPNetwork] = []
    for source in sources:
        try:
            out.append(ipaddress.ip_network(source.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{source!r} is not a CIDR") from None
    return out


def _subtract(networks: Sequence[IPNetwork], excluded: Sequence[IPNetwork]) -> list[IPNetwork]:
    """`networks` without the addresses of `excluded` (same IP version only)."""
    current = list(networks)
    for cut in excluded:
        nxt: list[IPNetwork] = []
        for net in current:
            if net.version != cut.version or not net.overlaps(cut):
                nxt.append(net)
            elif net.subnet_of(cut):  # type: ignore[arg-type]
                continue
            else:
                nxt.extend(net.address_exclude(cut))  # type: ignore[arg-type]
        current = nxt
    return current


def collapsed(networks: Sequence[IPNetwork]) -> list[IPNetwork]:
    """The union of `networks`, per IP version, as the fewest networks."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def address_count(networks: Sequence[IPNetwork]) -> int:
    """Addresses in the union of `networks` (overlaps counted once)."""
    return sum(net.num_addresses for net in collapsed(networks))


def whole_internet(networks: Sequence[IPNetwork]) -> list[str]:
    """The IP versions (`IPv4`, `IPv6`) whose entire address space the union admits."""
    union = collapsed(networks)
    return [
        f"IPv{version}"
        for version in (4, 6)
        if any(net.version == version and net.prefixlen == 0 for net in union)
    ]


def public_outside(
    networks: Sequence[IPNetwork], allowed: Sequence[IPNetwork] = GOOGLE_FRONTEND_RANGES
) -> list[IPNetwork]:
    """The part of the union that is neither private nor in `allowed` (Google's ranges)."""
    return collapsed(_subtract(collapsed(networks), [*PRIVATE_RANGES, *allowed]))


def describe(networks: Sequence[IPNetwork], limit: int = 4) -> str:
    """`N addresses (a, b, ...)` for a message, listing at most `limit` networks."""
    shown = ", ".join(str(net) for net in networks[:limit])
    more = f", +{len(networks) - limit} more" if len(networks) > limit else ""
    return f"{address_count(networks):,} addresses ({shown}{more})"
