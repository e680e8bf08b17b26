"""Inputs are regular files, outputs never replace an input, folder locks, stale temp files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalstudio.core.atomic import atomic_write, clear_stale_temps, pid_alive
from evalstudio.core.errors import EvalStudioError
from evalstudio.core.paths import (
    FolderLock,
    check_output_folder,
    check_outputs,
    require_regular_file,
    same_file,
    special_file_kind,
)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_same_file_sees_through_links_and_dotdot(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x\n")
    (tmp_path / "sub").mkdir()
    os.link(a, tmp_path / "hard.csv")
    os.symlink(a, tmp_path / "soft.csv")
    assert same_file(tmp_path / "sub" / ".." / "a.csv", a)
    assert same_file(tmp_path / "hard.csv", a) and same_file(tmp_path / "soft.csv", a)
    assert not same_file(tmp_path / "new.csv", a)
    assert same_file(tmp_path / "new.csv", tmp_path / "sub" / ".." / "new.csv")


def test_check_outputs_names_both_flags(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x\n")
    with pytest.raises(EvalStudioError, match="--json .* is the same file as --data"):
        check_outputs([("--json", a)], [("--data", a)])
    check_outputs([("--json", tmp_path / "out.json"), ("--predictions", None)], [("--data", a), ("--model", None)])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_named(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert special_file_kind(fifo) == "a named pipe (FIFO)"
    assert special_file_kind(tmp_path) is None and special_file_kind(tmp_path / "missing") is None
    with pytest.raises(EvalStudioError, match="--data .* is a named pipe \\(FIFO\\), not a regular file"):
        require_regular_file(fifo, "--data")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes and /dev/null")
def test_check_output_folder_explains_what_is_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvalStudioError, match="--out .* is a file, not a folder"):
        check_output_folder(tmp_path / "file", "--out")
    with pytest.raises(EvalStudioError, match="--out '/dev/null' is a character device, not a folder"):
        check_output_folder("/dev/null", "--out")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(EvalStudioError, match="symbolic link that loops back on itself"):
        check_output_folder(tmp_path / "loop", "--out")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root writes anywhere
            pytest.skip("running as root")
        with pytest.raises(EvalStudioError, match="cannot write into --out .*: permission denied"):
            check_output_folder(ro, "--out")
    finally:
        ro.chmod(0o755)
    assert check_output_folder(tmp_path / "new" / "deeper", "--out").is_dir()


def test_folder_lock_is_exclusive_across_processes_and_freed_on_release(tmp_path: Path) -> None:
    code = ("import sys\nfrom evalstudio.core.paths import FolderLock\n"
            "try:\n    FolderLock(sys.argv[1]).acquire('--out')\nexcept Exception as e:\n    print(e)\n")
    with FolderLock(tmp_path).acquire():
        assert (tmp_path / FolderLock.NAME).read_text().split("\n")[0] == str(os.getpid())
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True).stdout
        assert f"is in use by another evalstudio run (process {os.getpid()}" in out
    assert not (tmp_path / FolderLock.NAME).exists()
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True).stdout
    assert out == ""


def test_only_temp_files_of_ended_processes_are_cleared(tmp_path: Path) -> None:
    target = tmp_path / "best.pt"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mine = tmp_path / f".best.pt.{os.getpid()}.abcd1234.tmp"
        theirs = tmp_path / f".best.pt.{live.pid}.abcd1234.tmp"
        gone = tmp_path / f".best.pt.{dead_pid()}.abcd1234.tmp"
        legacy = tmp_path / ".best.pt.k2j3h4g5.tmp"
        other = tmp_path / f".last.pt.{dead_pid()}.abcd1234.tmp"
        for f in (mine, theirs, gone, legacy, other):
            f.write_bytes(b"partial")
        assert clear_stale_temps(target) == [gone]
        assert mine.exists() and theirs.exists() and legacy.exists() and other.exists()
    finally:
        live.kill()
        live.wait()
    assert pid_alive(os.getpid()) and not pid_alive(dead_pid())


def test_atomic_write_names_its_temp_file_after_the_process(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "x.txt") as fh:
        fh.write("hi")
        names = [p.name for p in tmp_path.iterdir()]
        assert any(n.startswith(f".x.txt.{os.getpid()}.") and n.endswith(".tmp") for n in names), names
    assert (tmp_path / "x.txt").read_text() == "hi"


def test_save_checkpoint_keeps_another_live_runs_temp_file(tmp_path: Path) -> None:
    """The collision the issue saw: each save deleted every `.best.pt.*.tmp`, including another run's in flight."""
    from evalstudio.core.models.checkpoint_format import save_checkpoint

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        in_flight = tmp_path / f".best.pt.{live.pid}.zz99yy88.tmp"
        in_flight.write_bytes(b"being written")
        save_checkpoint(tmp_path / "best.pt", {"x": 1})
        assert in_flight.exists()
    finally:
        live.kill()
        live.wait()
