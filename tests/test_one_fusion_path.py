"""Validation, ``hdrdesk eval``, the app's fusion job and Refine's scoring all fuse through
prepare_fusion/finish_fusion: the same frames and model give the same image and score."""

from __future__ import annotations

import numpy as np
import torch

from hdrdesk.core.fusion import FusionOptions, finish_fusion, prepare_fusion
from hdrdesk.core.io import ExposureInfo, Frame
from hdrdesk.core.model import FusionNet, NetConfig
from hdrdesk.evaluate import score_fusion
from hdrdesk.training.validate import Validator, make_case
from synth import expose, make_scene


def _bracket():
    rad = make_scene(72, 100, seed=3)
    return [expose(rad, ev) for ev in (-2.0, 0.0, 2.0)]


def test_validator_eval_and_the_app_give_the_same_image_and_score():
    torch.manual_seed(0)
    model = FusionNet(NetConfig(widths=(4, 8))).eval()
    rgb8 = _bracket()
    validator = Validator([], (), working_size=48)
    case = make_case("synthetic", "seq", rgb8)
    via_validator = validator.fuse_case(model, case)

    frames = [Frame(f.path, f.data, ExposureInfo(), None) for f in case.frames]
    opts = FusionOptions(method="cnn", working_size=48, align=False, keep_weights=True)
    via_app = finish_fusion(prepare_fusion(frames, opts), model=model)  # what the window's fusion job runs
    np.testing.assert_array_equal(via_validator, via_app.image)

    # eval's scoring of that image equals validation's (Refine scores with Validator.score_case)
    assert score_fusion(frames, via_app.image) == validator.score_case(model, case)
    # the case really is the network's fusion (not an input passed through)
    assert not np.allclose(via_validator, rgb8[1].astype(np.float32) / 255, atol=1e-3)
