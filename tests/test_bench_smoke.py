"""A tiny run of the benchmark harness: results.json and the Markdown table have their shape.

No timing is asserted anywhere: the figures are whatever this machine gives; only their presence,
their consistency (ratio = the better-is-higher quotient of ours and the baseline) and the
correctness checks the items make along the way are tested.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"id", "item", "title", "measured", "unit", "ours", "baseline", "baseline_name", "ratio", "target", "met",
        "note", "details"}


@pytest.fixture
def bench_main(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.__main__ import main

    threads = torch.get_num_threads()
    yield main
    torch.set_num_threads(threads)  # the harness sets torch's thread count for its run


def test_tiny_run_writes_results_and_table(bench_main, tmp_path: Path) -> None:
    out, md = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    assert bench_main(["--scale", "tiny", "--only", "1,2,3,4,5,6,8,9,10,11,12", "--json", str(out), "--markdown", str(md)]) == 0
    res = json.loads(out.read_text())
    assert res["mode"] == "tiny" and res["seconds"] > 0 and res["device"] == "cpu"
    m = res["machine"]
    assert m["cores"] >= 1 and m["cpu"] and m["torch"] == torch.__version__ and m["torch_threads"] == 1
    items = res["items"]
    assert sorted({it["item"] for it in items}) == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]
    for it in items:
        assert set(it) == KEYS, it["id"]
        assert it["target"] and it["measured"] != "failed", it["note"]
        assert isinstance(it["ours"], float) and isinstance(it["baseline"], float), it["id"]
        assert it["met"] in (True, False)
        assert it["ratio"] > 0
    by_id = {it["id"]: it for it in items}
    # Correctness checked along the way: identical threshold counts, AUC equal to sklearn's,
    # stacked folds equal to sequential ones.
    assert by_id["3-lookup-1e+04"]["details"]["mismatches"] == 0
    assert by_id["4-roc-1e+04"]["details"]["auc_abs_diff"] <= 1e-12
    assert by_id["4-roc-1e+04"]["details"]["curve_equal_to_sklearn"] is True
    kf = by_id["5-kfold-stacked"]
    assert kf["details"]["path"] == "bmm" and kf["details"]["max_param_diff"] < 1e-4
    assert kf["details"]["batchnorm_fallback"]["path"] == "sequential"
    assert kf["ratio"] == pytest.approx(kf["baseline"] / kf["ours"])
    iv = by_id["10-intervals-5e+03"]
    assert iv["details"]["max_abs_diff_vs_sklearn"] <= 1e-12  # the same resamples give the same numbers
    assert iv["details"]["log_loss_abs_diff_vs_sklearn"] <= 1e-5  # scikit-learn sums float32 in float32
    assert iv["ratio"] == pytest.approx(iv["baseline"] / iv["ours"])
    # Item 11: DeLong's z equals the midrank-loop reference's; the paired differences equal scikit-learn's.
    assert by_id["11-delong-5e+03"]["details"]["z_abs_diff"] <= 1e-9
    assert by_id["11-paired-bootstrap-5e+03"]["details"]["max_abs_diff"] <= 1e-12
    ev = by_id["1-tutorial-vs-limit"]
    assert ev["ratio"] == pytest.approx(ev["ours"] / ev["baseline"])
    text = md.read_text()
    assert "| item | measured | ours | baseline |" in text and "GPU" in text
    for it in items:
        assert it["id"] in text
    # --render rebuilds the same table from results.json alone.
    again = tmp_path / "again.md"
    assert bench_main(["--render", "--json", str(out), "--markdown", str(again)]) == 0
    assert again.read_text() == text


def test_a_failing_item_is_recorded_not_lost(bench_main, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.__main__ as entry
    import bench.evaluation

    def broken(scale):
        raise RuntimeError("no such device")

    monkeypatch.setattr(bench.evaluation, "roc_auc", broken)
    out = tmp_path / "r.json"
    assert entry.main(["--scale", "tiny", "--only", "4", "--json", str(out), "--markdown", ""]) == 0
    (item,) = json.loads(out.read_text())["items"]
    assert item["met"] is None and item["ours"] is None
    assert item["note"].startswith("not measured: the item raised RuntimeError: no such device")


def test_unknown_item_is_refused(bench_main, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--only", "99"]) == 2
    from bench.__main__ import ITEMS

    assert f"unknown item(s) 99; the items are {', '.join(ITEMS)}." in capsys.readouterr().err
