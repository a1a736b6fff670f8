"""A Docker engine for `sam local`: the running one, or (root on Debian) one this target installs and starts.

The engine it starts keeps containers off every network but its own bridge (`--iptables=false`: no NAT, so no
route out), and stores images with overlay2, or vfs where overlay2 does not work (vfs copies the whole image for
every container: about 35 s instead of 1.5 s here). Lambda's arm64 functions need the kernel to run arm64 binaries
(SAM's arm64 runtime interface emulator): Debian's qemu-user-static registers them with binfmt_misc.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess  # nosec B404 - runs docker, dockerd, apt-get, debootstrap, tar, pip and sam with arguments built here
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Engine", "EngineUnavailable", "ensure_engine"]

DEBIAN_PACKAGES = ("docker.io", "qemu-user-static", "debootstrap", "binfmt-support")
BINFMT = Path("/proc/sys/fs/binfmt_misc")
ARM64_HANDLER = BINFMT / "qemu-aarch64"
STARTUP_SECONDS = 30.0


class EngineUnavailable(RuntimeError):
    """No usable Docker engine and none can be started here; the message says what is missing."""


@dataclass(frozen=True)
class Engine:
    """A Docker engine this process can use, and the bridge gateway address containers reach the host on."""

    bridge_gateway: str
    started_here: bool


def _run(*argv: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)  # noqa: S603  # nosec B603


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return _run("docker", "info", "--format", "{{.ServerVersion}}", check=False, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _interface_ipv4(name: str) -> str | None:
    """The first IPv4 address on this host's interface `name`, or None (no such interface, or no `ip` command)."""
    try:
        done = _run("ip", "-j", "-4", "addr", "show", "dev", name, check=False, timeout=20)
    except FileNotFoundError:
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    for interface in json.loads(done.stdout):
        for address in interface.get("addr_info", []):
            if address.get("family") == "inet" and address.get("local"):
                return str(address["local"])
    return None


def _bridge_gateway() -> str:
    """The default bridge's gateway: as the engine reports it, else the bridge interface's own address.

    An engine on its first boot (no docker0 and no network store yet: every CI run) leaves Gateway out of the default
    bridge's IPAM config (moby issue 26799) although docker0 carries it; a restart would show it.
    """
    done = _run("docker", "network", "inspect", "bridge", "--format", "{{json .}}")
    network = json.loads(done.stdout)
    network = network[0] if isinstance(network, list) else network
    for config in (network.get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
    interface = (network.get("Options") or {}).get("com.docker.network.bridge.name", "docker0")
    address = _interface_ipv4(interface)
    if address is None:
        raise EngineUnavailable(
            "the Docker engine's default bridge network has no gateway address: none in its IPAM config and "
            f"none on this host's {interface} interface"
        )
    return address


def _can_install() -> str | None:
    """Why this machine cannot install an engine itself, or None when it can (root with apt-get)."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("apt-get") is None:
        return "no apt-get (the automatic install covers Debian and Ubuntu only)"
    return None


def _install_packages(log: Path) -> None:
    missing = [name for name in DEBIAN_PACKAGES if _run("dpkg", "-s", name, check=False).returncode != 0]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log.open("a") as out:
        for argv in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        ):
            subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=True, env=env, timeout=900)  # noqa: S603  # nosec B603


def _arm64_enabled() -> bool:
    return ARM64_HANDLER.exists() and "enabled" in ARM64_HANDLER.read_text()


def _enable_arm64() -> None:
    if not (BINFMT / "register").exists():
        _run("mount", "binfmt_misc", "-t", "binfmt_misc", str(BINFMT))
    if not ARM64_HANDLER.exists():
        _run("update-binfmts", "--enable", "qemu-aarch64")
    if not _arm64_enabled():
        raise EngineUnavailable("arm64 binaries cannot run: qemu-aarch64 is not registered with binfmt_misc")


def _start_dockerd(state: Path) -> None:
    for driver in ("overlay2", "vfs"):
        log = state / f"dockerd-{driver}.log"
        with log.open("w") as out:
            # The engine outlives this run on purpose, like the service it stands in for.
            process = subprocess.Popen(  # noqa: S603  # nosec B603 B607
                ["dockerd", f"--storage-driver={driver}", "--iptables=false", f"--data-root=/var/lib/docker-{driver}"],  # noqa: S607
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _engine_answers():
                return
            time.sleep(0.5)
        process.terminate()
        process.wait(timeout=30)
    raise EngineUnavailable(f"dockerd did not start with overlay2 or vfs; see {state}/dockerd-*.log")


def ensure_engine(state: Path) -> Engine:
    """The running engine, else one installed and started here; EngineUnavailable says what is missing."""
    state.mkdir(parents=True, exist_ok=True)
    started = False
    if not _engine_answers():
        reason = _can_install()
        if reason is not None:
            raise EngineUnavailable(
                f"no Docker engine answers (`docker info` fails) and this target cannot start one: {reason}. "
                "Start Docker (or Finch with DOCKER_HOST set), or run as root on Debian/Ubuntu."
            )
        _install_packages(state / "apt.log")
        _start_dockerd(state)
        started = True
    if platform.system() == "Linux" and not _arm64_enabled():
        if os.geteuid() != 0 or shutil.which("update-binfmts") is None:
            raise EngineUnavailable(
                "arm64 binaries cannot run here (no qemu-aarch64 in binfmt_misc): install qemu-user-static"
            )
        _enable_arm64()
    return Engine(bridge_gateway=_bridge_gateway(), started_here=started)
