"""Where the other nodes of a multi-node run reach each host: its rendezvous address.

A host's address is ``run.distributed.addresses[host]`` when the config names one, else the
``hostname`` its ssh config gives it (``ssh -G``). The second is often wrong on real clusters: an
alias that goes through a ProxyJump or a forwarded port has ``127.0.0.1`` or ``localhost`` as its
hostname on the desktop, and a fast interconnect (InfiniBand, a 10.x network) has an address of
its own beside the management one ssh uses. ``pick_addresses`` refuses the case that can never
work (one node at a loopback address while another is not: that other node cannot reach it) and
says where each address came from, so the error and the run's record can name it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from profiler.ssh import SshTarget, ssh_hostname

# Where a node's address came from, as errors and records name it.
FROM_CONFIG = "run.distributed.addresses"
FROM_SSH = "ssh -G"
ADDRESS_MAX_CHARS = 253  # a DNS name's limit
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Names that mean this machine whatever the resolver says (RFC 6761, Debian's /etc/hosts).
_LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


class AddressError(ValueError):
    """Node addresses a multi-node job cannot rendezvous at; the message names the host."""


@dataclass(frozen=True)
class NodeAddress:
    """A host of ``run.hosts``, the address the other nodes reach it at, and where it came
    from (``FROM_CONFIG`` or ``FROM_SSH``)."""

    host: str
    address: str
    source: str

    @property
    def loopback(self) -> bool:
        """Whether the address means "this machine" wherever it is used."""
        return is_loopback(self.address)

    def record(self) -> dict[str, str]:
        """What a run's record keeps about it (JSON-ready)."""
        return {"address": self.address, "from": self.source}


def is_loopback(address: str) -> bool:
    """Whether ``address`` is a loopback address (127.0.0.0/8, ::1, an IPv4-mapped 127.x) or a
    name for one (``localhost``, ``*.localhost``)."""
    name = address.strip().rstrip(".").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def address_problem(value: str) -> str | None:
    """Why ``value`` cannot be a node's address (None: it can): it must be an IPv4 or IPv6
    address or a host name, without a port, brackets or spaces."""
    if not value:
        return "is empty: give the IP address or host name the other hosts reach this one at"
    if len(value) > ADDRESS_MAX_CHARS:
        return f"is longer than {ADDRESS_MAX_CHARS} characters: not a host name"
    if any(c.isspace() for c in value):
        return f"{value!r} has a space: give one IP address or host name"
    if value.startswith("["):
        return f"{value!r}: give an IPv6 address without brackets (and without a port)"
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_unspecified or ip.is_multicast:
            return f"{value} is no address another host can connect to"
        return None
    if value.count(":") == 1:
        return (
            f"{value!r} has a port: give the address alone (the rendezvous port is one the "
            "first host's agent finds free)"
        )
    if ":" in value:
        return f"{value!r} is not an IPv6 address"
    if re.fullmatch(r"[0-9.]+", value):
        return f"{value!r} is not an IPv4 address"
    if not all(_LABEL.match(label) for label in value.removesuffix(".").split(".")):
        return (
            f"{value!r} is neither an IP address nor a host name (letters, digits, hyphens and "
            "dots)"
        )
    return None


def pick_addresses(
    hosts: Sequence[str], configured: Mapping[str, str], ssh_args: Sequence[str] = ()
) -> list[NodeAddress]:
    """Each host's rendezvous address, in ``hosts``' order: ``configured[host]``, else the
    hostname of ``ssh -G host`` (with ``ssh_args``).

    Raises AddressError when several hosts mix loopback and other addresses (the job could
    never meet: the message names the host, its address and where it came from), and
    ``profiler.ssh.RemoteHostError`` when ssh names no hostname. All-loopback is allowed: every
    "host" is this machine.
    """
    picked = []
    for host in hosts:
        if host in configured:
            picked.append(NodeAddress(host, configured[host], FROM_CONFIG))
        else:
            picked.append(
                NodeAddress(host, ssh_hostname(SshTarget.parse(host), ssh_args), FROM_SSH)
            )
    loopback = [n for n in picked if n.loopback]
    other = [n for n in picked if not n.loopback]
    if loopback and other:
        lo, far = loopback[0], other[0]
        raise AddressError(
            f"host {lo.host} would be reached at {lo.address} (from {_said(lo)}), a loopback "
            f"address, while host {far.host} is at {far.address} (from {_said(far)}): "
            f"{far.host} could never reach {lo.host} there. Set run.distributed.addresses."
            f"{lo.host} to the address the other hosts reach it at (its interconnect IP)"
        )
    return picked


def _said(node: NodeAddress) -> str:
    return f"ssh -G {node.host}" if node.source == FROM_SSH else f"{FROM_CONFIG}.{node.host}"


def host_port(address: str, port: int) -> str:
    """``address:port`` as TF_CONFIG and the JAX coordinator take it (an IPv6 address in
    brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
