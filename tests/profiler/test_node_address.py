"""run.distributed.addresses: where the other hosts of a multi-node job reach each one.

The addresses not in the config come from the real ``ssh -G`` (it reads the client config
without connecting anywhere), with a client config written here as a user's ~/.ssh/config is.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from profiler.config import Config, ConfigError, parse_config
from profiler.distributed import (
    ENV_COORDINATOR,
    DistributedLaunch,
    Node,
    Rendezvous,
    build_launch,
)
from profiler.multinode import check_addresses
from profiler.node_address import (
    FROM_CONFIG,
    FROM_SSH,
    AddressError,
    NodeAddress,
    address_problem,
    host_port,
    is_loopback,
    pick_addresses,
)
from profiler.scaling_session import run_scaling
from profiler.session import RunOptions
from profiler.store import Store
from tests.profiler.test_cli import frameduel

needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is missing")

# As ~/.ssh/config has them on a desktop: a box behind a forwarded port (its hostname is this
# machine), two servers by their management addresses, one by an IPv6 address.
SSH_CONFIG = """\
Host fwd-box
  HostName 127.0.0.1
  Port 2222
Host fwd-box-2
  HostName localhost
  Port 2223
Host lan-a
  HostName 10.0.0.5
Host lan-b
  HostName 10.0.0.6
Host v6-box
  HostName fd00::6
"""


@pytest.fixture
def ssh_args(tmp_path: Path) -> tuple[str, ...]:
    path = tmp_path / "ssh_config"
    path.write_text(SSH_CONFIG)
    return ("-F", str(path))


def _data(hosts: list[str], addresses: object, workers: list[int] | None = None) -> dict:
    return {
        "name": "addresses",
        "frameworks": ["torch"],
        "device": "cpu",
        "model": {"family": "mlp", "input_dim": 8, "hidden": [16], "num_classes": 3},
        "train": {"batch_size": 8, "steps": 10, "warmup_steps": 2},
        "run": {
            "repeats": 1,
            "hosts": hosts,
            "distributed": {"workers": workers or [1, 2], "addresses": addresses},
        },
    }


def _config(
    hosts: list[str], addresses: dict[str, str], workers: list[int] | None = None
) -> Config:
    return Config.model_validate(_data(hosts, addresses, workers))


def _refusal(hosts: list[str], addresses: object) -> ConfigError:
    text = json.dumps(_data(hosts, addresses))
    with pytest.raises(ConfigError) as err:
        parse_config(text, ".json", "nodes.json", check_memory=False)
    return err.value


# -- the config ---------------------------------------------------------------------------------


def test_addresses_are_read_for_hosts_of_run_hosts() -> None:
    config = _config(["node-a", "node-b"], {"node-a": "10.1.0.7", "node-b": "ib-b.cluster"})
    assert config.run.distributed is not None
    assert config.run.distributed.addresses == {"node-a": "10.1.0.7", "node-b": "ib-b.cluster"}
    # every config without the field reads as before: no addresses
    plain = _config(["node-a", "node-b"], {}).run.distributed
    assert plain is not None and plain.addresses == {}
    assert (
        Config.model_validate({**_data(["a"], {}), "run": {"hosts": ["a"]}}).run.distributed is None
    )


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("10.1.0.7:29500", "has a port: give the address alone"),
        ("[fd00::7]", "without brackets"),
        ("10.1.0 .7", "has a space"),
        ("", "is empty"),
        ("10.1.0.256", "is not an IPv4 address"),
        ("ib_b.cluster", "neither an IP address nor a host name"),
        ("-ib-b", "neither an IP address nor a host name"),
        ("fd00::7::1", "is not an IPv6 address"),
        ("0.0.0.0", "no address another host can connect to"),
        ("x" * 254, "longer than 253 characters"),
    ],
)
def test_a_bad_address_is_refused_naming_the_host_field(address: str, words: str) -> None:
    err = _refusal(["node-a", "node-b"], {"node-a": address})
    assert err.field == "run.distributed.addresses.node-a"
    assert words in err.message


def test_an_address_for_a_host_not_in_run_hosts_is_refused() -> None:
    err = _refusal(["node-a", "node-b"], {"node-c": "10.1.0.7"})
    assert err.field == "run.distributed.addresses.node-c"
    assert "not a host in run.hosts" in err.message
    # nor without any host: a local job's ranks meet on this machine
    text = json.dumps(
        {**_data(["x"], {}), "run": {"distributed": {"addresses": {"a": "10.0.0.1"}}}}
    )
    with pytest.raises(ConfigError) as err_local:
        parse_config(text, ".json", "nodes.json", check_memory=False)
    assert err_local.value.field == "run.distributed.addresses.a"


def test_an_address_that_is_not_a_string_is_refused() -> None:
    err = _refusal(["node-a", "node-b"], {"node-a": 10})
    assert err.field == "run.distributed.addresses.node-a"
    assert "valid string" in err.message


def test_good_addresses_pass() -> None:
    for good in (
        "10.1.0.7",
        "fd00::7",
        "fe80::1%ib0",
        "ib-a.cluster.example.",
        "gpu7",
        "127.0.0.2",
    ):
        assert address_problem(good) is None, good


def test_the_printed_schema_has_the_field_and_checks_its_values() -> None:
    res = frameduel("schema")
    assert res.returncode == 0, res.stderr
    schema = json.loads(res.stdout)
    field = schema["$defs"]["DistributedConfig"]["properties"]["addresses"]
    assert field["additionalProperties"] == {"type": "string"}
    validator = jsonschema.Draft202012Validator(schema)
    good = _data(["node-a", "node-b"], {"node-a": "10.1.0.7"})
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors(_data(["node-a", "node-b"], {"node-a": 7})))


# -- picking the addresses ----------------------------------------------------------------------


def test_loopback_addresses_are_recognised() -> None:
    for lo in (
        "127.0.0.1",
        "127.0.0.2",
        "127.255.0.9",
        "::1",
        "localhost",
        "LOCALHOST.",
        "a.localhost",
    ):
        assert is_loopback(lo), lo
    for far in ("10.0.0.5", "128.0.0.1", "fd00::1", "gpu-box", "localhost-2", "::ffff:10.0.0.1"):
        assert not is_loopback(far), far
    assert is_loopback("::ffff:127.0.0.1")  # IPv4-mapped


@needs_ssh
def test_hosts_not_listed_keep_their_ssh_hostname(ssh_args: tuple[str, ...]) -> None:
    assert pick_addresses(["lan-a", "lan-b"], {}, ssh_args) == [
        NodeAddress("lan-a", "10.0.0.5", FROM_SSH),
        NodeAddress("lan-b", "10.0.0.6", FROM_SSH),
    ]
    assert pick_addresses(["lan-a", "lan-b"], {"lan-b": "10.1.0.6"}, ssh_args) == [
        NodeAddress("lan-a", "10.0.0.5", FROM_SSH),
        NodeAddress("lan-b", "10.1.0.6", FROM_CONFIG),
    ]


@needs_ssh
def test_a_forwarded_host_beside_a_real_one_is_refused_naming_where_it_came_from(
    ssh_args: tuple[str, ...],
) -> None:
    with pytest.raises(AddressError) as err:
        pick_addresses(["fwd-box", "lan-b"], {}, ssh_args)
    message = str(err.value)
    assert message.startswith(
        "host fwd-box would be reached at 127.0.0.1 (from ssh -G fwd-box), a loopback address, "
        "while host lan-b is at 10.0.0.6 (from ssh -G lan-b): lan-b could never reach fwd-box"
    )
    assert "Set run.distributed.addresses.fwd-box to the address" in message
    # the order of the hosts does not matter: node 0 or not, the pair cannot meet
    with pytest.raises(AddressError, match=r"host fwd-box would be reached at 127\.0\.0\.1"):
        pick_addresses(["lan-a", "fwd-box"], {}, ssh_args)
    # an address the config gives is named as the config's
    with pytest.raises(AddressError) as err:
        pick_addresses(["lan-a", "lan-b"], {"lan-a": "localhost"}, ssh_args)
    assert "host lan-a would be reached at localhost (from run.distributed.addresses.lan-a)" in str(
        err.value
    )
    # an IPv6 far side counts as far
    with pytest.raises(AddressError, match="while host v6-box is at fd00::6"):
        pick_addresses(["fwd-box", "v6-box"], {}, ssh_args)


@needs_ssh
def test_setting_the_address_fixes_it_and_all_loopback_stays_allowed(
    ssh_args: tuple[str, ...],
) -> None:
    fixed = pick_addresses(["fwd-box", "lan-b"], {"fwd-box": "10.1.0.9"}, ssh_args)
    assert [(n.address, n.source) for n in fixed] == [
        ("10.1.0.9", FROM_CONFIG),
        ("10.0.0.6", FROM_SSH),
    ]
    # every "host" on this machine (the tests' setup): they all meet on loopback
    same = pick_addresses(["fwd-box", "fwd-box-2"], {"fwd-box": "127.0.0.2"}, ssh_args)
    assert [n.address for n in same] == ["127.0.0.2", "localhost"]
    # one node has no one to meet
    assert pick_addresses(["fwd-box"], {}, ssh_args)[0].loopback


@needs_ssh
def test_the_check_before_any_run_covers_the_hosts_the_largest_job_uses(
    ssh_args: tuple[str, ...],
) -> None:
    # 2 workers over 3 hosts use the first two only: fwd-box takes no part
    assert check_addresses(_config(["lan-a", "lan-b", "fwd-box"], {}), ssh_args, "c.yaml") == {
        "lan-a": {"address": "10.0.0.5", "from": FROM_SSH},
        "lan-b": {"address": "10.0.0.6", "from": FROM_SSH},
    }
    config = _config(["lan-a", "lan-b", "fwd-box"], {"lan-b": "10.1.0.6"}, workers=[1, 3])
    with pytest.raises(ConfigError) as err:
        check_addresses(config, ssh_args, "c.yaml")
    assert err.value.field == "run.distributed.addresses"
    assert str(err.value).startswith("c.yaml: run.distributed.addresses: host fwd-box would be")
    # a local job has no hosts to reach
    local = Config.model_validate({**_data(["x"], {}), "run": {"distributed": {"workers": [1, 2]}}})
    assert check_addresses(local, ssh_args) == {}


@needs_ssh
def test_a_session_refuses_the_mix_before_recording_anything(
    ssh_args: tuple[str, ...], store: Store
) -> None:
    config = _config(["fwd-box", "lan-b"], {})
    with pytest.raises(ConfigError, match=r"host fwd-box would be reached at 127\.0\.0\.1"):
        run_scaling(config, store, options=RunOptions(ssh_args=ssh_args))
    assert store.sessions() == []


# -- the rendezvous -----------------------------------------------------------------------------


def test_every_framework_meets_at_the_chosen_addresses() -> None:
    rdzv = Rendezvous(29500, (Node("10.1.0.7", 1), Node("fd00::8", 1)))

    def launch(framework: str) -> DistributedLaunch:
        return build_launch(
            framework,
            ("-m", "workloads.worker"),
            python="py",
            workers=2,
            scaling="weak",
            batch_size=8,
            rendezvous=rdzv,
            event_dir="/e",
        )

    assert all("--master-addr=10.1.0.7" in p.argv for p in launch("torch").processes)
    tf_config = json.loads(launch("tensorflow").processes[1].env["TF_CONFIG"])
    # an IPv6 address in brackets, as gRPC takes host:port
    assert tf_config["cluster"]["worker"] == ["10.1.0.7:29500", "[fd00::8]:29501"]
    assert {p.env[ENV_COORDINATOR] for p in launch("jax").processes} == {"10.1.0.7:29500"}
    assert host_port("fd00::8", 1) == "[fd00::8]:1"
