"""Atomic writes: the old file survives a failed write, and the new file gets normal permissions."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from evalstudio.core.atomic import atomic_write


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_new_file_mode_follows_umask_and_replacement_keeps_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = tmp_path / "a.txt"
        with atomic_write(target, "w") as fh:
            fh.write("x")
        assert target.read_text() == "x"
        assert target.stat().st_mode & 0o777 == 0o644
        os.chmod(target, 0o600)
        with atomic_write(target, "w") as fh:
            fh.write("y")
        assert target.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="UNIX sockets")
def test_a_socket_is_never_replaced_by_a_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(OSError, match="it is a socket; evalstudio writes its outputs only to files"):
            with atomic_write(path) as fh:
                fh.write("x")
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        server.close()
