"""Build the frozen app and its installers, then check them (minutes: not in the default suite).

Run with::

    .venv/bin/python -m pytest tests/packaging -m packaging -v

It needs PyInstaller (``pip install -e .[packaging]``) and dpkg-deb. ``EVALSTUDIO_REUSE_BUILD=1``
re-packages an existing ``packaging/dist/evalstudio`` instead of running PyInstaller again.
``EVALSTUDIO_DEBOOTSTRAP=1`` (as root, with debootstrap and the network to this machine's Debian
mirror) also installs the .deb with apt into a fresh minimal Debian root and runs it there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "packaging" / "dist"


def _headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.pop("PYTHONPATH", None)  # the frozen app must not lean on the source tree
    return env


@pytest.fixture(scope="module")
def build() -> dict[str, Path]:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    reuse = os.environ.get("EVALSTUDIO_REUSE_BUILD") == "1" and (DIST / "evalstudio" / "evalstudio").is_file()
    cmd = ["bash", str(REPO / "packaging" / "build.sh")] + (["--package"] if reuse else [])
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (deb,) = DIST.glob("evalstudio_*.deb")
    (tarball,) = DIST.glob("evalstudio-*-linux-*.tar.gz")
    return {"app": DIST / "evalstudio", "deb": deb, "tarball": tarball, "log": proc.stdout}


def _self_test(executable: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(executable), "--self-test"], capture_output=True, text=True,
                          env=_headless_env(), cwd="/", timeout=600)


def test_frozen_app_passes_its_self_test_without_a_display(build: dict[str, Path]) -> None:
    proc = _self_test(build["app"] / "evalstudio")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test (frozen" in proc.stdout
    assert "metrics (trained checkpoint, 154 rows" in proc.stdout
    assert "on the 'offscreen' platform" in proc.stdout


def test_frozen_cli_evaluates_the_demo(build: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    demo = REPO / "resources" / "demo"
    cmd = [str(build["app"] / "evalstudio"), "evaluate", "--data", str(demo / "pima-indians-diabetes.csv"),
           "--model", str(demo / "pima_model.py"), "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_headless_env(), cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"roc_auc"' in out.read_text()


def test_tarball_holds_the_app_and_its_resources(build: dict[str, Path]) -> None:
    with tarfile.open(build["tarball"]) as tar:
        names = set(tar.getnames())
    assert "evalstudio/evalstudio" in names
    assert any(n.endswith("resources/demo/pima-indians-diabetes.csv") for n in names)
    assert any(n.endswith("resources/icons/evalstudio.svg") for n in names)
    # slimmed: no C++ headers or torch test binaries
    assert not any("/torch/include/" in n for n in names)


def test_deb_metadata_and_files(build: dict[str, Path], tmp_path: Path) -> None:
    info = subprocess.run(["dpkg-deb", "-f", str(build["deb"]), "Package", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: evalstudio" in info
    for dep in ("libgl1", "libegl1", "fonts-dejavu-core", "libxcb-cursor0", "libxkbcommon-x11-0"):
        assert dep in info
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(build["deb"]), str(root)], check=True)
    launcher = root / "usr" / "bin" / "evalstudio"
    assert os.access(launcher, os.X_OK)
    assert (root / "opt" / "evalstudio" / "evalstudio").is_file()
    desktop = (root / "usr" / "share" / "applications" / "evalstudio.desktop").read_text()
    assert "Exec=evalstudio %F" in desktop and "Icon=evalstudio" in desktop
    assert (root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "evalstudio.svg").is_file()
    assert (root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps" / "evalstudio.png").is_file()

    # The launcher finds the app relative to itself, so the extracted package runs as installed.
    proc = _self_test(launcher)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("self-test passed")


def test_deb_installs_into_a_scratch_root(build: dict[str, Path], tmp_path: Path) -> None:
    """dpkg itself installs the package (with its own database) into an empty root."""
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is not installed")
    root = tmp_path / "root"
    admin = root / "var" / "lib" / "dpkg"
    for sub in ("info", "updates", "triggers"):
        (admin / sub).mkdir(parents=True)
    (admin / "status").touch()
    (admin / "available").touch()
    proc = subprocess.run(
        ["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "--force-script-chrootless",
         "--log=/dev/null", "-i", str(build["deb"])],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = (admin / "status").read_text()
    assert "Package: evalstudio" in status and "Status: install ok installed" in status
    listed = (admin / "info" / "evalstudio.list").read_text().split()
    assert "/usr/bin/evalstudio" in listed and "/opt/evalstudio/evalstudio" in listed
    proc = _self_test(root / "usr" / "bin" / "evalstudio")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _host_debian_mirror() -> tuple[str, str]:
    """(suite, mirror URL) of this machine's own apt sources, so the test names no host itself."""
    release = Path("/etc/os-release").read_text()
    suite = re.search(r"^VERSION_CODENAME=(\S+)", release, re.M)
    texts = [p.read_text() for p in Path("/etc/apt/sources.list.d").glob("*.sources")]
    texts += [Path("/etc/apt/sources.list").read_text()] if Path("/etc/apt/sources.list").exists() else []
    for text in texts:
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(r"^deb\s+(\S+/debian)\s", text, re.M)
        if m and suite:
            return suite.group(1), m.group(1)
    pytest.skip("no Debian apt source found on this machine")


@pytest.mark.skipif(os.environ.get("EVALSTUDIO_DEBOOTSTRAP") != "1", reason="set EVALSTUDIO_DEBOOTSTRAP=1")
def test_deb_installs_with_apt_into_a_fresh_debian_and_runs(build: dict[str, Path], tmp_path: Path) -> None:
    """Only the .deb's Depends on a minimal Debian: apt installs it and the self-test passes there."""
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip("needs root and debootstrap")
    suite, mirror = _host_debian_mirror()
    root = tmp_path / "debian"
    subprocess.run(["debootstrap", "--variant=minbase", suite, str(root), mirror],
                   check=True, capture_output=True, timeout=1800)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    shutil.copy(build["deb"], root / "tmp" / build["deb"].name)
    # Only /proc is mounted (debootstrap made the root's own /dev nodes): no bind mount of the
    # host's /dev can be left under tmp_path for pytest's clean-up to walk into.
    proc_dir = root / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc_dir)], check=True)
    try:
        install = subprocess.run(
            ["chroot", str(root), "/bin/sh", "-c",
             f"apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/{build['deb'].name}"],
            capture_output=True, text=True, timeout=1800,
        )
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        run = subprocess.run(
            ["chroot", str(root), "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=/root",
             "/usr/bin/evalstudio", "--self-test"],
            capture_output=True, text=True, timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "self-test passed" in run.stdout
        assert "UTF-8 locale" not in run.stderr  # the launcher chose one
    finally:
        subprocess.run(["umount", "-l", str(proc_dir)], capture_output=True)
        assert not os.path.ismount(proc_dir), f"could not unmount {proc_dir}; unmount it by hand"
