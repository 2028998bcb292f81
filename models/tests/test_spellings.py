"""The randomised-spelling generator (mamba2ref.spellings): seeded, and every spelling computes
the reference's function (the dt clamps change it on purpose, and are checked to)."""

import copy

import torch

from mamba2ref import spellings


def test_choices_are_seeded_and_cover_every_block():
    a, b = spellings.choose(3, 7), spellings.choose(3, 7)
    assert a == b
    assert spellings.choose(3, 8) != a
    assert all(set(layer) == set(spellings.SPELLINGS) for layer in a["layers"])
    # Over a few dozen seeds every spelling of every block is drawn at least once.
    drawn = {block: set() for block in spellings.SPELLINGS}
    for seed in range(1, 25):
        for layer in spellings.choose(3, seed)["layers"]:
            for block, how in layer.items():
                drawn[block].add(how)
    assert drawn == {block: set(options) for block, options in spellings.SPELLINGS.items()}


def test_every_unclamped_spelling_computes_the_reference_function():
    torch.manual_seed(0)
    ref = spellings.tiny_model(5).eval()
    ids = torch.randint(0, 256, (2, 40))
    with torch.no_grad():
        want = ref(ids)
        for block, options in spellings.SPELLINGS.items():
            for how in options:
                if block == "dt_limit" and how != "none":
                    continue
                layer = {b: o[0] for b, o in spellings.SPELLINGS.items()}
                layer["dt_limit"] = "none"
                layer[block] = how
                m = spellings.apply(copy.deepcopy(ref), {"layers": [layer] * 3, "norm_f": "div"})
                got = m(ids)
                assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (block, how)


def test_a_finite_dt_limit_changes_the_function():
    ref = spellings.tiny_model(5).eval()
    ids = torch.randint(0, 256, (1, 40), generator=torch.Generator().manual_seed(1))
    layer = {b: o[0] for b, o in spellings.SPELLINGS.items()}
    layer["dt_limit"] = "finite"
    with torch.no_grad():
        want = ref(ids)
        got = spellings.apply(copy.deepcopy(ref), {"layers": [layer] * 3, "norm_f": "rsqrt"})(ids)
    assert not torch.allclose(got, want, atol=1e-4, rtol=1e-4)
