"""One table of file signatures: the CSV reader and the model/checkpoint sniffer name a file alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalstudio.core.data import file_kinds
from evalstudio.core.data.dataset import load_csv
from evalstudio.core.errors import DataError


@pytest.mark.parametrize(("magic", "words", "hint"), file_kinds.BINARY_MAGIC, ids=lambda v: str(v)[:12])
def test_both_sniffers_name_a_binary_file_alike(tmp_path: Path, magic: bytes, words: str, hint: str) -> None:
    p = tmp_path / "file.csv"
    p.write_bytes(magic + b"\x00\x01\x02" * 40)
    kind = file_kinds.sniff(p)
    assert (kind.kind, kind.description) == (file_kinds.OTHER, words)
    with pytest.raises(DataError) as err:
        load_csv(p)
    assert str(err.value) == f"{p} looks like {words}, not a CSV text file. {hint}"


def test_pickle_and_safetensors_heads() -> None:
    assert file_kinds.is_pickle(b"\x80\x04\x95") and not file_kinds.is_pickle(b"\x80\x09")
    assert file_kinds.has_safetensors_header(b"\x10" + bytes(7) + b'{"w": 1}')
    assert not file_kinds.has_safetensors_header(b"a,b,c\n1,2,3\n")
