"""check_data_fit: a checkpoint's recorded target, columns and classes against the data's."""

from __future__ import annotations

from dataclasses import dataclass

from evalstudio.core.models.data_fit import check_data_fit

FEATURES = ("NumTimesPrg", "PlGlcConc", "BloodP", "BMI", "Age")


@dataclass
class Recorded:
    feature_names: list[str] | None = None
    classes: list[str] | None = None
    target: str | None = None


@dataclass
class Data:
    feature_names: tuple[str, ...]
    classes: tuple[str, ...]
    target_name: str


TRAINED = Recorded(list(FEATURES), ["0", "1"], "target")


def test_the_data_it_was_trained_on_fits() -> None:
    fit = check_data_fit(TRAINED, Data(FEATURES, ("0", "1"), "target"))
    assert fit.fits and fit.problems == ()
    assert fit.compared == ("target", "columns", "classes")


def test_a_file_with_only_some_of_the_classes_still_fits() -> None:
    assert check_data_fit(TRAINED, Data(FEATURES, ("1",), "target")).fits


def test_another_target_column_is_named_three_ways() -> None:
    # The demo's mistake: NumTimesPrg picked as the target, the label column becomes a feature.
    data = Data(FEATURES[1:] + ("target",), tuple(str(k) for k in range(18)), "NumTimesPrg")
    fit = check_data_fit(TRAINED, data)
    assert not fit.fits
    target, missing, extra, classes = fit.problems
    assert target == "the checkpoint was trained to predict 'target', but the data's target is 'NumTimesPrg'"
    assert missing == ("the checkpoint was trained on feature column 'NumTimesPrg' that the data does not have "
                       "as features ('NumTimesPrg' is now the target)")
    assert extra == "the data has feature column 'target' that the checkpoint was not trained on"
    assert classes.startswith("the data's target has classes '2', '3', '4', '5', '6', '7' and 10 more that the "
                              "checkpoint does not know (it was trained on '0', '1')")
    assert fit.summary() == "; ".join(fit.problems)


def test_the_same_columns_in_another_order_are_flagged() -> None:
    data = Data(tuple(reversed(FEATURES)), ("0", "1"), "target")
    (problem,) = check_data_fit(TRAINED, data).problems
    assert problem.startswith("the data has the checkpoint's feature columns in another order")


def test_nothing_recorded_compares_nothing() -> None:
    fit = check_data_fit(Recorded(), Data(("a",), ("x", "y"), "label"))
    assert fit.fits and fit.compared == ()
    assert "cannot be checked" in fit.summary()
    assert check_data_fit(None, Data(("a",), ("x", "y"), "label")).compared == ()


def test_only_what_was_recorded_is_compared() -> None:
    fit = check_data_fit(Recorded(classes=["a", "b"]), Data(("x",), ("a", "c"), "y"))
    assert fit.compared == ("classes",)
    assert fit.problems == ("the data's target has class 'c' that the checkpoint does not know (it was trained "
                            "on 'a', 'b')",)
