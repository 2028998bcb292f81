"""Tests of the PyTorch reference: the two SSD forms agree, the export is a valid ONNX graph of
the right interface, and the pieces behave as documented."""

import math
import os
import tempfile

import onnx
import pytest
import torch

from mamba2ref import variants
from mamba2ref.export import export_chunked, export_step
from mamba2ref.model import (Mamba2Config, Mamba2LM, count_parameters, load_checkpoint,
                             save_checkpoint, segment_sum, ssd_chunked, ssd_step)

from mamba2ref.variants import VARIANTS

torch.set_num_threads(1)


def small_model(ngroups=1, chunk=8, dtype=torch.float64, seed=0):
    cfg = Mamba2Config(d_model=32, n_layer=2, d_state=8, headdim=8, ngroups=ngroups,
                       chunk_size=chunk)
    m = Mamba2LM(cfg)
    m.init_weights(torch.Generator().manual_seed(seed))
    return m.to(dtype).eval()


@pytest.mark.parametrize("ngroups", [1, 2, 4])
@pytest.mark.parametrize("length", [1, 7, 8, 21])
def test_chunked_equals_recurrent_float64(ngroups, length):
    m = small_model(ngroups=ngroups)
    ids = torch.randint(0, 256, (2, length), generator=torch.Generator().manual_seed(length))
    with torch.no_grad():
        a = m(ids)
        b, _ = m.forward_recurrent(ids)
    assert a.shape == (2, length, 256)
    assert torch.allclose(a, b, rtol=0, atol=1e-10), float((a - b).abs().max())


def test_chunked_equals_recurrent_float32_within_1e5():
    m = small_model(ngroups=2, dtype=torch.float32)
    ids = torch.randint(0, 256, (1, 40), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a = m(ids)
        b, _ = m.forward_recurrent(ids)
    assert float((a - b).abs().max()) <= 1e-5


def test_forms_disagree_when_a_weight_differs():
    """The equality test can fail: perturb one recurrent-only path and see it."""
    m = small_model()
    ids = torch.randint(0, 256, (1, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = m(ids)
        m.layers[0].mixer.D.add_(0.5)
        b, _ = m.forward_recurrent(ids)
    assert float((a - b).abs().max()) > 1e-3


def test_segment_sum_matches_definition():
    a = torch.randn(3, 6, dtype=torch.float64)
    s = segment_sum(a)
    for i in range(6):
        for j in range(6):
            if i >= j:
                assert math.isclose(float(s[1, i, j]), float(a[1, j + 1:i + 1].sum()),
                                    abs_tol=1e-12)
            else:
                assert s[1, i, j] == -math.inf


def test_ssd_chunked_final_state_and_initial_state_match_steps():
    g = torch.Generator().manual_seed(3)
    b, l, h, p, n = 2, 13, 3, 4, 5
    x = torch.randn(b, l, h, p, generator=g, dtype=torch.float64)
    dt = torch.rand(b, l, h, generator=g, dtype=torch.float64) * 0.5
    A = -torch.rand(h, generator=g, dtype=torch.float64) * 4
    B = torch.randn(b, l, h, n, generator=g, dtype=torch.float64)
    C = torch.randn(b, l, h, n, generator=g, dtype=torch.float64)
    s0 = torch.randn(b, h, p, n, generator=g, dtype=torch.float64)
    y, final = ssd_chunked(x, dt, A, B, C, chunk_size=4, initial_state=s0)
    state = s0
    for t in range(l):
        yt, state = ssd_step(state, x[:, t], dt[:, t], A, B[:, t], C[:, t])
        assert torch.allclose(y[:, t], yt, atol=1e-10)
    assert torch.allclose(final, state, atol=1e-10)


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="headdim"):
        Mamba2LM(Mamba2Config(d_model=30, headdim=8))
    with pytest.raises(ValueError, match="ngroups"):
        Mamba2LM(Mamba2Config(d_model=32, headdim=8, ngroups=3))
    with pytest.raises(ValueError, match="unknown Mamba2Config fields"):
        Mamba2Config.from_dict({"d_model": 8, "bogus": 1})


def test_checkpoint_round_trip(tmp_path):
    m = small_model(dtype=torch.float32)
    path = str(tmp_path / "m.pt")
    save_checkpoint(m, path)
    m2 = load_checkpoint(path)
    ids = torch.randint(0, 256, (1, 9), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(m(ids), m2(ids))
    assert count_parameters(m2) == count_parameters(m)


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_chunked_export_interface(tmp_path):
    m = small_model(ngroups=2, dtype=torch.float32)
    path = str(tmp_path / "m.onnx")
    export_chunked(m, path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == "input_ids" and inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert _dims(inp) == ["batch", "sequence"]
    assert out.name == "logits" and _dims(out) == ["batch", "sequence", 256]
    ops = {n.op_type for n in model.graph.node}
    assert {"MatMul", "Conv", "CumSum", "Softplus", "Einsum"} <= ops


def test_step_export_interface(tmp_path):
    m = small_model(dtype=torch.float32)
    path = str(tmp_path / "s.onnx")
    export_step(m, path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    names = [i.name for i in model.graph.input]
    assert names == ["input_ids", "conv_states", "ssm_states"]
    assert [o.name for o in model.graph.output] == ["logits", "conv_states_out", "ssm_states_out"]
    assert _dims(model.graph.input[2]) == [2, "batch", 8, 8, 8]


def test_greedy_generation_is_deterministic():
    m = small_model(dtype=torch.float32)
    a = m.generate_greedy([72, 101, 108], 10)
    b = m.generate_greedy([72, 101, 108], 10)
    assert a == b and len(a) == 10 and all(0 <= t < 256 for t in a)


@pytest.mark.parametrize("names", [[v] for v in VARIANTS] + [list(VARIANTS)])
def test_export_variants_compute_the_same_function(names):
    m = small_model(ngroups=2)
    ids = torch.randint(0, 256, (2, 21), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = m(ids)
        got = variants.apply(m, names)(ids)
    assert torch.allclose(ref, got, rtol=0, atol=1e-10), float((ref - got).abs().max())


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown variants"):
        variants.apply(small_model(), ["conv-fft"])
