from pathlib import Path

import pytest

from moneytrail.config import Config, ConfigError, load_config


def test_defaults_are_the_embedded_deployment() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.paths.lake == Path("data/lake")
    assert config.currency.rates_to_reporting["USD"] == 1.0


def test_toml_overrides_a_subset(tmp_path: Path) -> None:
    path = tmp_path / "moneytrail.toml"
    path.write_text('seed = 5\n[alerts]\nbudget_share = 0.02\n[paths]\nlake = "elsewhere"\n')
    config = load_config(path)
    assert (config.seed, config.alerts.budget_share, config.paths.lake) == (5, 0.02, Path("elsewhere"))
    assert config.features == Config().features
    assert config.fingerprint() != Config().fingerprint()


@pytest.mark.parametrize(
    ("text", "needle"),
    [("sede = 5\n", "sede"), ("[alerts]\nbudget_share = 'lots'\n", "budget_share"), ("seed = \n", "")],
)
def test_bad_settings_fail_with_the_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)) as info:
        load_config(path)
    assert needle in str(info.value)


def test_fingerprint_is_stable() -> None:
    assert Config().fingerprint() == Config().fingerprint()


def test_reporting_threshold_must_agree_between_features_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[features]\nreporting_threshold = 3000\n")
    with pytest.raises(ConfigError, match="reporting_threshold"):
        load_config(path)
    path.write_text("[features]\nreporting_threshold = 3000\n[detectors]\nreporting_threshold = 3000\n")
    assert load_config(path).features.reporting_threshold == 3000
