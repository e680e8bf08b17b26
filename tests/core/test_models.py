"""Model definitions: Python files, TorchScript, input width, output meaning, summary, end to end."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from evalstudio.core.errors import CheckpointError, ModelError
from evalstudio.core.models.loading import (
    UnsafeCheckpointError,
    check_input_width,
    infer_output_kind,
    load_for_evaluation,
    load_model,
    model_summary,
)
from evalstudio.core.models.outputs import OutputKind
from evalstudio.resources import resource_path


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source).lstrip())
    return path


NET_SOURCE = textwrap.dedent("""
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.out = nn.Linear(4, 1)
            self.act = nn.Sigmoid()

        def forward(self, x):
            return self.act(self.out(self.fc(x)))
""")


# -- finding the model in a Python file -------------------------------------------------------


def test_build_model_gets_the_sizes_its_signature_names(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", """
        import torch.nn as nn

        def build_model(n_features, n_classes=2, hidden=5):
            return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
    """)
    loaded = load_model(f, n_features=6, n_classes=3)
    assert loaded.kind == "python" and loaded.source == f
    assert loaded.entry == "build_model(n_features=6, n_classes=3)"
    assert loaded.module[0].in_features == 6 and loaded.module[2].out_features == 3
    assert any("build_model()" in n for n in loaded.notes)


def test_build_model_naming_only_n_features(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", """
        import torch.nn as nn

        def build_model(n_features=8):
            return nn.Linear(n_features, 1)
    """)
    loaded = load_model(f, n_features=5, n_classes=2)
    assert loaded.entry == "build_model(n_features=5)"
    assert loaded.module.in_features == 5


def test_the_pima_demo_model_file_loads() -> None:
    loaded = load_model(resource_path("demo", "pima_model.py"), n_features=8, n_classes=2)
    assert loaded.entry == "build_model(n_features=8)"
    assert infer_output_kind(loaded.module, 8, 2) is OutputKind.PROBABILITY


def test_module_level_model_instance_and_a_fresh_builder(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", """
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(3, 2))
    """)
    loaded = load_model(f)
    assert isinstance(loaded.module, nn.Sequential)
    assert loaded.builder is not None
    fresh = loaded.builder()
    assert fresh is not loaded.module
    assert [tuple(p.shape) for p in fresh.parameters()] == [(2, 3), (2,)]


def test_the_single_module_class_with_size_keywords(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", """
        import torch.nn as nn

        class Classifier(nn.Module):
            def __init__(self, n_features=4, n_classes=2):
                super().__init__()
                self.fc = nn.Linear(n_features, n_classes)

            def forward(self, x):
                return self.fc(x)
    """)
    loaded = load_model(f, n_features=7, n_classes=3)
    assert loaded.entry == "Classifier(n_features=7, n_classes=3)"
    assert tuple(loaded.module.fc.weight.shape) == (3, 7)
    torch.manual_seed(0)
    a = loaded.builder()
    torch.manual_seed(0)
    b = loaded.builder()
    assert a is not b and torch.equal(a.fc.weight, b.fc.weight)  # fresh, built the same way


def test_classes_imported_into_the_file_do_not_count(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "from torch.nn import Linear, ReLU\n" + NET_SOURCE)
    assert load_model(f).entry == "Net()"


def test_two_module_classes_need_entry(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", NET_SOURCE + "\nclass Block(nn.Module):\n    def forward(self, x):\n        return x\n")
    with pytest.raises(ModelError) as err:
        load_model(f)
    msg = str(err.value)
    assert "defines 2 nn.Module classes (Net, Block)" in msg and "--entry NAME" in msg
    assert load_model(f, entry="Net").entry == "Net()"


def test_entry_that_does_not_exist_lists_the_choices(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", NET_SOURCE + "\ndef make():\n    return Net()\n")
    with pytest.raises(ModelError, match=r"has no 'Netz'\. Names --entry can take in this file: Net, make\."):
        load_model(f, entry="Netz")
    assert load_model(f, entry="make").entry == "make()"


def test_entry_that_is_not_a_model(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "SIZE = 3\n")
    with pytest.raises(ModelError, match=r"'SIZE' in .* is a int, not a model"):
        load_model(f, entry="SIZE")


def test_a_file_without_a_model(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "import torch\nx = 1\n")
    with pytest.raises(ModelError, match=r"defines no model\. Define build_model\(\) returning an nn.Module"):
        load_model(f)


def test_builder_returning_something_else(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "def build_model():\n    return 42\n")
    with pytest.raises(ModelError, match=r"build_model\(\) in .* returned int, not a torch.nn.Module"):
        load_model(f)


def test_a_required_argument_evalstudio_cannot_pass(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "import torch.nn as nn\ndef build_model(width):\n    return nn.Linear(width, 1)\n")
    with pytest.raises(ModelError, match=r"needs the argument 'width'; evalstudio can only pass n_features and n_classes"):
        load_model(f)


def test_n_features_required_but_unknown(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "import torch.nn as nn\ndef build_model(n_features):\n    return nn.Linear(n_features, 1)\n")
    with pytest.raises(ModelError, match=r"build_model in .* needs n_features, which is not known yet"):
        load_model(f)


# -- files that fail ----------------------------------------------------------------------------


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.py", "import torch\n\ndef build_model(:\n    pass\n")
    with pytest.raises(ModelError) as err:
        load_model(f)
    msg = str(err.value)
    assert str(f) in msg and "syntax error at line 3" in msg and "def build_model(:" in msg


def test_exception_while_importing_names_file_line_and_exception(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.py", "import torch\nscale = 1 / 0\n")
    with pytest.raises(ModelError) as err:
        load_model(f)
    msg = str(err.value)
    assert msg == (f"model file {str(f)!r} failed at line 2: ZeroDivisionError: division by zero. "
                   "Fix the file and load it again (it is re-read every time).")
    assert "Traceback" not in msg


def test_exception_inside_build_model_names_the_line(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.py", "def build_model():\n    raise ValueError('no weights here')\n")
    with pytest.raises(ModelError, match=r"build_model\(\) in .* failed at line 2: ValueError: no weights here"):
        load_model(f)


def test_missing_import_in_the_model_file(tmp_path: Path) -> None:
    f = write(tmp_path / "bad.py", "import torch\nimport not_a_real_package_xyz\n")
    with pytest.raises(ModelError, match=r"failed at line 2: ModuleNotFoundError: No module named 'not_a_real_package_xyz'"):
        load_model(f)


def test_sys_exit_in_the_file_is_an_error_not_an_exit(tmp_path: Path) -> None:
    f = write(tmp_path / "script.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(ModelError) as err:
        load_model(f)
    msg = str(err.value)
    assert "calls sys.exit(3) at line 2 while being loaded" in msg
    assert 'if __name__ == "__main__":' in msg


def test_main_block_does_not_run(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", NET_SOURCE + "\nif __name__ == '__main__':\n    raise SystemExit('training...')\n")
    assert load_model(f).entry == "Net()"


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    f = write(tmp_path / "m.py", "import torch.nn as nn\ndef build_model():\n    return nn.Linear(4, 1)\n")
    first = load_model(f)
    write(f, "import torch.nn as nn\ndef build_model():\n    return nn.Linear(4, 3)\n")
    second = load_model(f)
    assert first.module.out_features == 1 and second.module.out_features == 3
    assert first.namespace is not None and second.namespace is not None
    assert first.namespace.__name__ != second.namespace.__name__


def test_the_file_can_import_its_sibling_modules(tmp_path: Path) -> None:
    write(tmp_path / "layers_helper_h2.py", "import torch.nn as nn\ndef head(n):\n    return nn.Linear(n, 1)\n")
    f = write(tmp_path / "m.py", "from layers_helper_h2 import head\ndef build_model(n_features=2):\n    return head(n_features)\n")
    assert load_model(f, n_features=9).module.in_features == 9
    assert str(tmp_path) not in sys.path  # the folder was only on the path while importing


def test_missing_file_folder_and_binary_junk(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model file '.*nope.py' does not exist\. Check the path given to --model"):
        load_model(tmp_path / "nope.py")
    with pytest.raises(ModelError, match=r"is a folder, not a model file"):
        load_model(tmp_path)
    junk = tmp_path / "model.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ModelError, match=r"is a binary file of unknown type, not a model definition"):
        load_model(junk)


def test_a_checkpoint_passed_as_the_model(tmp_path: Path) -> None:
    f = tmp_path / "weights.py"  # the extension lies; the content decides
    torch.save(nn.Linear(2, 1).state_dict(), f)
    with pytest.raises(ModelError) as err:
        load_model(f)
    assert "is a torch.save file: weights or a pickled model, not a model definition" in str(err.value)
    assert "Pass it with --checkpoint" in str(err.value)


# -- TorchScript ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@pytest.mark.parametrize("name", ["scripted.pt", "model.weights"])
def test_torchscript_by_content_needs_no_checkpoint(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    f = tmp_path / name
    torch.jit.script(net).save(str(f))
    loaded, ckpt, report = load_for_evaluation(f, None)
    assert loaded.kind == "torchscript" and loaded.builder is None and ckpt is None and report is None
    x = torch.randn(4, 5)
    with torch.no_grad():
        assert torch.allclose(loaded.module(x), net(x))
    assert infer_output_kind(loaded.module, 5, 2) is OutputKind.PROBABILITY
    assert model_summary(loaded.module).expected_features == 5


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_rejects_entry(tmp_path: Path) -> None:
    f = tmp_path / "m.pt"
    torch.jit.script(nn.Linear(2, 1)).save(str(f))
    with pytest.raises(ModelError, match=r"--entry 'x' applies to Python model files"):
        load_model(f, entry="x")


# -- input width -----------------------------------------------------------------------------------


def test_input_width_mismatch_message() -> None:
    net = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 1))
    cols = [f"f{i}" for i in range(7)]
    with pytest.raises(ModelError) as err:
        check_input_width(net, cols)
    assert str(err.value).startswith(
        "the model expects 8 features; the CSV has 7 (columns: f0, f1, f2, f3, f4, f5, f6)."
    )
    check_input_width(net, cols + ["f7"])  # fits: no error


def test_input_width_lists_at_most_twelve_columns() -> None:
    with pytest.raises(ModelError, match=r"the CSV has 20 \(columns: c0, .*, c11, \.\.\. \(8 more\)\)"):
        check_input_width(nn.Linear(3, 1), [f"c{i}" for i in range(20)])


def test_input_width_failure_without_a_linear_layer() -> None:
    class Odd(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.view(-1, 5)

    with pytest.raises(ModelError, match=r"the model fails on rows of the CSV's 3 features \(columns: a, b, c\): RuntimeError"):
        check_input_width(Odd(), ["a", "b", "c"])


def test_dry_runs_restore_the_train_mode_and_batchnorm_statistics() -> None:
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.5), nn.Linear(3, 2))
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    check_input_width(net, list("abcd"))
    infer_output_kind(net, 4, 2)
    assert all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


# -- what the outputs mean -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "n_classes", "outputs", "expected"),
    [
        ([nn.Linear(4, 1)], 2, "auto", OutputKind.LOGIT),
        ([nn.Linear(4, 1), nn.Sigmoid()], 2, "auto", OutputKind.PROBABILITY),
        ([nn.Linear(4, 1)], 2, "probabilities", OutputKind.PROBABILITY),
        ([nn.Linear(4, 1), nn.Sigmoid()], 2, "logits", OutputKind.LOGIT),
        ([nn.Linear(4, 2)], 2, "auto", OutputKind.LOGITS),
        ([nn.Linear(4, 3)], 3, "auto", OutputKind.LOGITS),
        ([nn.Linear(4, 3), nn.Softmax(dim=1)], 3, "auto", OutputKind.PROBABILITIES),
        ([nn.Linear(4, 3), nn.LogSoftmax(dim=1)], 3, "auto", OutputKind.LOGITS),  # softmax(log p) = p
        ([nn.Linear(4, 3)], 3, "probabilities", OutputKind.PROBABILITIES),
    ],
)
def test_infer_output_kind(layers: list[nn.Module], n_classes: int, outputs: str, expected: OutputKind) -> None:
    assert infer_output_kind(nn.Sequential(*layers), 4, n_classes, outputs=outputs) is expected


def test_flat_single_output_is_binary() -> None:
    class Flat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x).squeeze()  # a batch of one would become a 0-d tensor

    assert infer_output_kind(Flat(), 4, 2) is OutputKind.LOGIT


def test_output_width_that_does_not_match_the_classes() -> None:
    with pytest.raises(ModelError, match=r"the model gives 4 output columns but the data has 3 classes"):
        infer_output_kind(nn.Linear(4, 4), 4, 3)
    with pytest.raises(ModelError, match=r"the model gives 1 output column \(a binary score\) but the data has 3 classes"):
        infer_output_kind(nn.Linear(4, 1), 4, 3)


def test_output_that_is_not_a_tensor_and_a_bad_outputs_setting() -> None:
    class Pair(nn.Module):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return x, x

    with pytest.raises(ModelError, match=r"the model returns a tuple, not a tensor"):
        infer_output_kind(Pair(), 4, 2)
    with pytest.raises(ModelError, match=r"output for a batch of 2 rows has shape \(2, 1, 3\); expected \(2,\), \(2, 1\) or \(2, K\)"):
        infer_output_kind(nn.Sequential(nn.Linear(4, 3), nn.Unflatten(1, (1, 3))), 4, 3)
    with pytest.raises(ModelError, match=r"unknown outputs setting 'probs'\. Use one of: auto, logits, probabilities"):
        infer_output_kind(nn.Linear(4, 1), 4, 2, outputs="probs")


# -- summary ---------------------------------------------------------------------------------------


def test_model_summary_counts_and_stochastic_layers() -> None:
    net = nn.Sequential(nn.Linear(13, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    net[0].weight.requires_grad_(False)
    s = model_summary(net)
    assert s.n_params == sum(p.numel() for p in net.parameters()) == 13 * 32 + 32 + 64 + 32 * 3 + 3
    assert s.n_trainable == s.n_params - 13 * 32
    assert s.dropout_layers == ("3: Dropout(p=0.3, inplace=False)",)
    assert s.batchnorm_layers[0].startswith("1: BatchNorm1d(32")
    assert s.expected_features == 13 and "Linear(in_features=13" in s.text


# -- load_for_evaluation -------------------------------------------------------------------------


def test_python_model_with_a_checkpoint(tmp_path: Path) -> None:
    f = write(tmp_path / "net.py", NET_SOURCE)
    ref = load_model(f).module
    ck = tmp_path / "weights.pt"
    torch.save({"model_state_dict": ref.state_dict(), "epoch": 7}, ck)
    loaded, ckpt, report = load_for_evaluation(f, ck, n_features=8, n_classes=2)
    assert ckpt is not None and ckpt.meta["epoch"] == 7
    assert report is not None and report.loaded and report.summary() == "all 4 tensors loaded"
    for k, v in ref.state_dict().items():
        assert torch.equal(loaded.module.state_dict()[k], v)


def test_checkpoint_trained_on_another_width_names_the_csv_columns(tmp_path: Path) -> None:
    # build_model(n_features) follows the CSV, so only the checkpoint knows the width it was trained on.
    f = write(tmp_path / "net.py", """
        import torch.nn as nn
        def build_model(n_features):
            return nn.Sequential(nn.Linear(n_features, 4), nn.ReLU(), nn.Linear(4, 1))
    """)
    ck = tmp_path / "weights.pt"
    torch.save({"state_dict": {"model." + k: v for k, v in load_model(f, n_features=8).module.state_dict().items()}},
               ck)
    cols = [f"f{i}" for i in range(7)]
    for strict in (True, False):  # a partial load would leave the input layer random: never useful here
        with pytest.raises(ModelError) as err:
            load_for_evaluation(f, ck, strict=strict, n_features=7, n_classes=2, feature_names=cols)
        assert str(err.value) == (
            "the checkpoint expects 8 features (its model.0.weight has shape (4, 8)); the CSV has 7 "
            "(columns: f0, f1, f2, f3, f4, f5, f6). Choose the right target column (--target) or a CSV with "
            "the feature columns the checkpoint was trained on."
        )
    _, _, report = load_for_evaluation(f, ck, n_features=8, n_classes=2, feature_names=cols + ["f7"])
    assert report is not None and report.loaded


def test_python_model_without_a_checkpoint_says_so(tmp_path: Path) -> None:
    loaded, ckpt, report = load_for_evaluation(write(tmp_path / "net.py", NET_SOURCE), None)
    assert ckpt is None and report is None
    assert "no checkpoint given: evaluating the weights the model file builds" in loaded.notes


def test_no_model_at_all() -> None:
    with pytest.raises(ModelError, match=r"no model given\. Pass the model's Python file"):
        load_for_evaluation(None, None)


def test_weights_without_a_model_file(tmp_path: Path) -> None:
    ck = tmp_path / "w.pt"
    torch.save(nn.Linear(2, 1).state_dict(), ck)
    with pytest.raises(ModelError, match=r"holds weights only \(state_dict\); they need a model to go into"):
        load_for_evaluation(None, ck)


def test_whole_pickled_model_needs_trust_then_no_model_file(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1))
    f = tmp_path / "whole.pth"
    torch.save(net, f)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_for_evaluation(None, f)
    assert err.value.pickled_model and "torch.nn.modules.linear.Linear" in err.value.unsafe_globals
    # `--model whole.pth --trust-pickle` reads the file as the checkpoint it is.
    for args in ((None, f), (f, None)):
        loaded, ckpt, report = load_for_evaluation(*args, trust_pickle=True)
        assert loaded.kind == "pickle" and loaded.builder is None and report is None
        x = torch.randn(5, 3)
        with torch.no_grad():
            assert torch.allclose(loaded.module(x), net(x))
        assert infer_output_kind(loaded.module, 3, 2) is OutputKind.PROBABILITIES


def test_pickled_model_from_a_script_finds_its_class_in_the_model_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch.save(model) in a script pickles the class as __main__.Net; the model file supplies it."""
    f = write(tmp_path / "net.py", NET_SOURCE)
    cls = load_model(f).namespace.Net
    net = cls()
    with monkeypatch.context() as m:
        m.setattr(cls, "__module__", "__main__")
        m.setattr(sys.modules["__main__"], "Net", cls, raising=False)
        torch.save(net, tmp_path / "whole.pt")
    with pytest.raises(CheckpointError) as err:
        load_for_evaluation(None, tmp_path / "whole.pt", trust_pickle=True)
    assert "needs a class that cannot be imported here" in str(err.value)
    assert "Pass the Python file that defines those classes with --model" in str(err.value)
    loaded, ckpt, report = load_for_evaluation(f, tmp_path / "whole.pt", trust_pickle=True)
    assert ckpt is not None and ckpt.pickled_module is not None and report is not None and report.loaded
    assert np.allclose(loaded.module.fc.weight.detach().numpy(), net.fc.weight.detach().numpy())


def test_a_python_model_file_with_another_extension(tmp_path: Path) -> None:
    f = write(tmp_path / "net.model", NET_SOURCE)
    assert load_model(f).entry == "Net()"


def test_a_csv_passed_as_the_model(tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    f.write_text("a,b,target\n1,2,0\n")  # valid Python (a tuple), so it must be caught before running
    with pytest.raises(ModelError, match=r"is a CSV text file, not a model definition\. Pass the data with --data"):
        load_model(f)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_with_a_checkpoint_applies_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    f = tmp_path / "ts.pt"
    torch.jit.script(nn.Sequential(nn.Linear(3, 1))).save(str(f))
    other = nn.Sequential(nn.Linear(3, 1))
    torch.save(other.state_dict(), tmp_path / "w.pt")
    loaded, ckpt, report = load_for_evaluation(f, tmp_path / "w.pt")
    assert report is not None and report.loaded
    assert torch.equal(loaded.module.state_dict()["0.weight"], other[0].weight)
