"""The full-size shape generator, exercised on its tiny shape."""

import warnings

import numpy as np
import onnx
import pytest
import torch

from mamba2ref import fullsize

warnings.filterwarnings("ignore")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("fullsize")
    plain = fullsize.generate("tiny", str(out / "plain"), seed=5)
    spiky = fullsize.generate("tiny", str(out / "spiky"), seed=5, outliers=3, outlier_scale=50.0)
    return plain, spiky


def test_external_data_layout(generated):
    plain, _ = generated
    model = onnx.load(plain["onnx"], load_external_data=False)
    size = plain["data_bytes"]
    seen = 0
    for t in model.graph.initializer:
        assert t.data_location == onnx.TensorProto.EXTERNAL, t.name
        kv = {e.key: e.value for e in t.external_data}
        off, length = int(kv["offset"]), int(kv["length"])
        assert off % fullsize.ALIGN == 0 and off + length <= size
        assert length == 4 * int(np.prod(t.dims))
        seen += 1
    assert seen > 10
    onnx.checker.check_model(plain["onnx"], full_check=True)


def test_weights_are_seeded(tmp_path, generated):
    plain, _ = generated
    again = fullsize.generate("tiny", str(tmp_path), seed=5)
    assert open(again["data"], "rb").read() == open(plain["data"], "rb").read()


def test_outlier_injection_preserves_the_function(generated):
    plain, spiky = generated
    a = fullsize.load_generated(plain["onnx"])
    b = fullsize.load_generated(spiky["onnx"])
    ids = torch.randint(0, 300, (1, 19), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        la, lb = a(ids), b(ids)
    assert float((la - lb).abs().max()) <= 1e-5 * float(la.abs().max()) + 1e-6


def test_outlier_channels_dominate_in_proj_inputs(generated):
    plain, spiky = generated
    model = fullsize.load_generated(spiky["onnx"])
    seen = {}

    def record(module, inputs, output):  # returns None: the output is left alone
        seen["x"] = inputs[0]

    hook = model.layers[1].mixer.in_proj.register_forward_hook(record)
    ids = torch.randint(0, 300, (1, 17), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        model(ids)
    hook.remove()
    mag = seen["x"].abs().amax(dim=(0, 1))  # (d_model,)
    chans = spiky["outlier_channels"]
    others = torch.ones_like(mag, dtype=torch.bool)
    others[chans] = False
    assert len(chans) == 3
    assert float(mag[chans].min()) > 10 * float(mag[others].median())


def test_shapes_of_the_published_models():
    c130 = fullsize.SHAPES["mamba2-130m"]
    assert (c130.d_model, c130.n_layer, c130.d_inner, c130.nheads, c130.d_state,
            c130.padded_vocab_size) == (768, 24, 1536, 24, 128, 50288)
    c27 = fullsize.SHAPES["mamba2-2.7b"]
    assert (c27.d_model, c27.n_layer, c27.d_inner, c27.nheads) == (2560, 64, 5120, 80)
    plans, total = fullsize.plan_tensors(c130, [], 1.0)
    params = sum(int(np.prod(t.shape)) for t in plans if t.name != "lm_head_t")
    assert 125e6 < params < 135e6
