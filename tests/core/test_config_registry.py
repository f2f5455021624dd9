"""Config validation names the field; registries list their names; per-item RNG is independent."""

from __future__ import annotations

import pytest

from reasonmill.config import BuildConfig, load_config, validate_config
from reasonmill.errors import ConfigError, RegistryError
from reasonmill.registry import Registry
from reasonmill.rng import item_rng


def test_defaults_are_valid_and_hash_is_stable():
    assert BuildConfig().config_hash() == BuildConfig().config_hash()
    assert BuildConfig(seed=1).config_hash() != BuildConfig().config_hash()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"seeds": [{"generator": "arithmetic_chain", "count": -1}]}, "seeds[0].count"),
        ({"distil": {}}, "distil"),
        ({"distill": {"samples": 0}}, "distill.samples"),
        ({"seeds": [{"generator": "x", "count": 3, "levels": [0]}]}, "seeds[0]"),
        ({"compose": {"rules": [{"principle": "bridging", "count": 1, "hops": 1}]}}, "compose.rules[0].hops"),
        ({"verify": {"timeout_s": 0}}, "verify.timeout_s"),
    ],
)
def test_config_errors_name_the_field(data, field):
    with pytest.raises(ConfigError) as err:
        validate_config(data)
    assert err.value.field == field
    assert field in str(err.value)


def test_yaml_config_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: mine\nseed: 7\nshard_rows: 10\n")
    cfg = load_config(p)
    assert (cfg.name, cfg.seed, cfg.shard_rows) == ("mine", 7, 10)
    p.write_text("seed: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_registry_error_lists_known_names():
    reg: Registry[int] = Registry("widget")
    reg.register("alpha", 1)
    reg.register("beta", 2)
    with pytest.raises(RegistryError) as err:
        reg.get("gamma")
    assert "unknown widget 'gamma'" in str(err.value) and "alpha, beta" in str(err.value)
    with pytest.raises(ValueError):
        reg.register("alpha", 3)


def test_item_rng_does_not_share_items_between_neighbouring_seeds():
    # seed + index seeding would make these equal
    assert item_rng("s", 0, 1).random() != item_rng("s", 1, 0).random()
    assert item_rng("s", 3, 4).random() == item_rng("s", 3, 4).random()
    assert item_rng("a", 0, 0).random() != item_rng("b", 0, 0).random()
